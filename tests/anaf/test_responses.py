"""Classification of ANAF answers by content (bodies as published in ANAF's swagger / ANAF.md)."""

from __future__ import annotations

import io
import zipfile
from datetime import date

import pytest

from stripe_efactura.anaf import archive as anaf_archive
from stripe_efactura.anaf import responses as r
from stripe_efactura.anaf.archive import DuplicateInfo
from stripe_efactura.anaf.errors import (
    AnafApiError,
    AnafAuthError,
    AnafDownloadExpired,
    AnafNoRights,
    AnafNotFound,
    AnafProtocolError,
    AnafQuotaExceeded,
    AnafRejected,
    AnafServerError,
    AnafTechnicalError,
    AnafWafRejected,
    UploadOutcomeUnknown,
)
from stripe_efactura.anaf.responses import Finding, MessageState, UploadResult

DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
UPLOAD_OK = (
    DECL + '<header xmlns="mfp:anaf:dgti:spv:respUploadFisier:v1" dateResponse="202108051140" '
    'ExecutionStatus="0" index_incarcare="3828"/>'
).encode()


def upload_error(message: str) -> bytes:
    return (
        DECL + '<header xmlns="mfp:anaf:dgti:spv:respUploadFisier:v1" dateResponse="202108051144" '
        f'ExecutionStatus="1">\n    <Errors errorMessage="{message}"/>\n</header>'
    ).encode()


def status_body(inner: str) -> bytes:
    return (DECL + f'<header xmlns="mfp:anaf:dgti:efactura:stareMesajFactura:v1"{inner}').encode()


WAF = (
    b"<html><head><title>Request Rejected</title></head><body>The requested URL was rejected. "
    b"Please consult with your administrator.<br><br>Your support ID is: 1234567890123<br><br>"
    b"<a href='javascript:history.back();'>[Go Back]</a></body></html>"
)


# ---- upload ----------------------------------------------------------------------------------


def test_upload_accepted() -> None:
    assert r.classify_upload(200, UPLOAD_OK) == UploadResult("3828", "202108051140")


@pytest.mark.parametrize(
    ("message", "error_type", "code"),
    [
        ("Marime fisier transmis mai mare de 10 MB.", AnafRejected, "E-ANAF-REJECTED"),
        ("CIF introdus= 123a nu este un numar", AnafRejected, "E-ANAF-REJECTED"),
        (
            "Nu exista niciun CIF pentru care sa aveti drept in SPV",
            AnafNoRights,
            "E-ANAF-NO-RIGHTS",
        ),
        ("Nu aveti drept in SPV pentru CIF=1234", AnafNoRights, "E-ANAF-NO-RIGHTS"),
        (
            "S-au incarcat deja 1000 de mesaje de tip RASP pentru cui=1234 in cursul zilei",
            AnafQuotaExceeded,
            "E-ANAF-QUOTA",
        ),
        (
            (
                "Fisierul transmis nu este valid. org.xml.sax.SAXParseException; "
                "lineNumber: 15; columnNumber: 155; cvc-elt.1.a: Cannot find the declaration of "
                "element 'Invoice1'. "
            ),
            AnafRejected,
            "E-ANAF-REJECTED",
        ),
    ],
)
def test_upload_rejected_on_http_200(
    message: str, error_type: type[AnafApiError], code: str
) -> None:
    with pytest.raises(error_type) as info:
        r.classify_upload(200, upload_error(message))
    assert type(info.value) is error_type
    assert info.value.code == code
    assert info.value.messages == (message.strip(),)
    assert info.value.http_status == 200


def test_upload_rasp_quota_is_daily_with_limit() -> None:
    body = upload_error(
        "S-au incarcat deja 1000 de mesaje de tip RASP pentru cui=1234 in cursul zilei"
    )
    with pytest.raises(AnafQuotaExceeded) as info:
        r.classify_upload(200, body)
    assert (info.value.scope, info.value.limit, info.value.retryable) == ("daily", 1000, True)


def test_upload_technical_error_is_outcome_unknown() -> None:
    with pytest.raises(UploadOutcomeUnknown) as info:
        r.classify_upload(200, upload_error("A aparut o eroare tehnica. Cod: XXX"))
    assert info.value.code == "E-ANAF-UPLOAD-UNKNOWN"
    assert info.value.cause_code == "E-ANAF-TECHNICAL"
    assert info.value.retryable is False


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_upload_5xx_is_outcome_unknown(status: int) -> None:
    with pytest.raises(UploadOutcomeUnknown) as info:
        r.classify_upload(status, b"<html>Bad gateway</html>")
    assert (info.value.cause_code, info.value.http_status) == ("E-ANAF-5XX", status)


def test_upload_unreadable_200_is_outcome_unknown() -> None:
    with pytest.raises(UploadOutcomeUnknown) as info:
        r.classify_upload(200, b"")
    assert info.value.cause_code == "E-ANAF-PROTOCOL"


def test_upload_400_json_message() -> None:
    body = (
        b'{"timestamp":"05-08-2021 12:04:01","status":400,"error":"Bad Request",'
        b'"message":"Parametrii standard si cif sunt obligatorii"}'
    )
    with pytest.raises(AnafRejected) as info:
        r.classify_upload(400, body)
    assert info.value.message == "Parametrii standard si cif sunt obligatorii"
    assert info.value.http_status == 400


@pytest.mark.parametrize("status", [200, 403])
def test_waf_page(status: int) -> None:
    expected = AnafAuthError if status == 403 else AnafWafRejected
    with pytest.raises(expected) as info:
        r.classify_upload(status, WAF)
    if status == 200:
        assert isinstance(info.value, AnafWafRejected)
        assert info.value.support_id == "1234567890123"
        assert info.value.code == "E-ANAF-WAF"
        assert info.value.retryable is False


@pytest.mark.parametrize(("status", "scope"), [(429, "global"), (204, "global")])
def test_quota_statuses(status: int, scope: str) -> None:
    for classify in (r.classify_upload, r.classify_status, r.classify_download, r.classify_list):
        with pytest.raises(AnafQuotaExceeded) as info:
            classify(status, b"")
        assert (info.value.scope, info.value.http_status, info.value.code) == (
            scope,
            status,
            "E-ANAF-QUOTA",
        )


@pytest.mark.parametrize("status", [401, 403])
def test_auth_statuses(status: int) -> None:
    with pytest.raises(AnafAuthError) as info:
        r.classify_status(status, b'{"status":401,"error":"Unauthorized","message":"Unauthorized"}')
    assert type(info.value) is AnafAuthError
    assert (info.value.code, info.value.retryable) == ("E-ANAF-AUTH", False)


# ---- stareMesaj -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("inner", "state", "download_id"),
    [
        (' stare="ok" id_descarcare="1234"/>', MessageState.OK, "1234"),
        (' stare="nok" id_descarcare="123"/>', MessageState.NOK, "123"),
        (' stare="in prelucrare"/>', MessageState.IN_PROGRESS, None),
        (' stare="In prelucrare"/>', MessageState.IN_PROGRESS, None),
        (' stare="XML cu erori nepreluat de sistem"/>', MessageState.REJECTED_AT_UPLOAD, None),
    ],
)
def test_status_states(inner: str, state: MessageState, download_id: str | None) -> None:
    result = r.classify_status(200, status_body(inner))
    assert (result.state, result.download_id) == (state, download_id)
    assert result.final is (state is not MessageState.IN_PROGRESS)


@pytest.mark.parametrize(
    ("message", "error_type"),
    [
        ("Nu exista factura cu id_incarcare= 15000", AnafNotFound),
        ("Nu aveti dreptul de inteorgare pentru id_incarcare= 18", AnafNoRights),
        ("Nu exista niciun CIF petru care sa aveti drept", AnafNoRights),
        ("Id_incarcare introdus= aaa nu este un numar intreg", AnafRejected),
        ("S-au facut deja 20 descarcari de mesaj in cursul zilei", AnafQuotaExceeded),
        ("A aparut o eroare tehnica. Cod: 4003", AnafTechnicalError),
    ],
)
def test_status_errors(message: str, error_type: type[AnafApiError]) -> None:
    body = status_body(f'>\n    <Errors errorMessage="{message}"/>\n</header>')
    with pytest.raises(error_type) as info:
        r.classify_status(200, body)
    assert type(info.value) is error_type
    assert info.value.messages == (message,)


def test_status_5xx_retryable() -> None:
    with pytest.raises(AnafServerError) as info:
        r.classify_status(503, b"Service Unavailable")
    assert (info.value.code, info.value.retryable) == ("E-ANAF-5XX", True)


def test_status_unknown_state_is_protocol_error() -> None:
    with pytest.raises(AnafProtocolError):
        r.classify_status(200, status_body(' stare="altceva"/>'))


# ---- descarcare -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "error_type", "code"),
    [
        (
            (
                "Fisierul nu mai poate fi descarcat pentru ca a trecut perioada de 60 de zile "
                "in care este disponibil"
            ),
            AnafDownloadExpired,
            "E-ANAF-EXPIRED",
        ),
        ("Pentru id=21 nu exista inregistrata nici o factura", AnafNotFound, "E-ANAF-NOT-FOUND"),
        ("Nu aveti dreptul sa descarcati acesta factura", AnafNoRights, "E-ANAF-NO-RIGHTS"),
        (
            "S-au facut deja 10 descarcari la mesajul cu id_descarcare=123 in cursul zilei",
            AnafQuotaExceeded,
            "E-ANAF-QUOTA",
        ),
        ("Id descarcare introdus= 123a nu este un numar intreg", AnafRejected, "E-ANAF-REJECTED"),
    ],
)
def test_download_errors(message: str, error_type: type[AnafApiError], code: str) -> None:
    body = ('{"eroare":"' + message + '","titlu":"Descarcare mesaj"}').encode()
    with pytest.raises(error_type) as info:
        r.classify_download(200, body)
    assert (type(info.value), info.value.code) == (error_type, code)


def test_download_zip_passthrough() -> None:
    assert r.classify_download(200, b"PK\x03\x04rest") == b"PK\x03\x04rest"


# ---- lists ------------------------------------------------------------------------------------

LIST_PAGE = (
    b'{"mesaje":[{"data_creare":"202210311452","cif":"8000000000","id_solicitare":"5001120362",'
    b'"detalii":"Erori de validare identificate la factura primita cu id_incarcare=5001120362",'
    b'"tip":"ERORI FACTURA","id":"3001474425"}],"numar_inregistrari_in_pagina":1,'
    b'"numar_total_inregistrari_per_pagina":500,"numar_total_inregistrari":14130,'
    b'"numar_total_pagini":29,"index_pagina_curenta":29,"serial":"1234AA456","cui":"8000000000",'
    b'"titlu":"Lista Mesaje disponibile din intervalul 06-09-2022 09:48:20 - 02-11-2022 11:49:24"}'
)


def test_list_page() -> None:
    page = r.classify_list(200, LIST_PAGE, page=29)
    assert (page.page, page.total_pages, page.total_records, page.per_page) == (29, 29, 14130, 500)
    assert page.has_next is False
    (entry,) = page.messages
    assert (entry.upload_index, entry.download_id, entry.kind, entry.cif) == (
        "5001120362",
        "3001474425",
        "ERORI FACTURA",
        "8000000000",
    )
    assert entry.created_at is not None
    assert entry.created_at.isoformat() == "2022-10-31T14:52:00+02:00"


@pytest.mark.parametrize(
    "message", ["Nu exista mesaje in intervalul selectat", "Nu exista mesaje in ultimele 15 zile"]
)
def test_list_empty(message: str) -> None:
    page = r.classify_list(200, ('{"eroare":"' + message + '","titlu":"Lista Mesaje"}').encode())
    assert (page.messages, page.total_pages, page.has_next) == ((), 0, False)


@pytest.mark.parametrize(
    ("message", "error_type"),
    [
        ("Nu aveti drept in SPV pentru CIF=8000000000", AnafNoRights),
        (
            "S-au facut deja 1000 interogari de lista mesaje de catre utilizator in cursul zilei",
            AnafQuotaExceeded,
        ),
        (
            "endTime = 02-12-2022 11:49:24 nu poate in viitor fata de momentul requestului",
            AnafRejected,
        ),
    ],
)
def test_list_errors(message: str, error_type: type[AnafApiError]) -> None:
    with pytest.raises(error_type) as info:
        r.classify_list(200, ('{"eroare":"' + message + '","titlu":"Lista Mesaje"}').encode())
    assert type(info.value) is error_type


# ---- validare ---------------------------------------------------------------------------------


def test_validation_nok_findings() -> None:
    body = (
        b'{"stare":"nok","Messages":[{"message":"E: validari globale  SCHEMATRON   eroare: '
        b"[BR-RO-110]-Daca Codul tarii vanzatorului (BT-40) este  RO , atunci ...     "
        b"#If the Seller's country Code (BT-40) is  RO , then ...\"}],"
        b'"trace_id":"2c9b28f2-be33-4d55-a6ac-f5f5fed01e67"}'
    )
    answer = r.classify_validation(200, body)
    assert answer.ok is False
    assert answer.trace_id == "2c9b28f2-be33-4d55-a6ac-f5f5fed01e67"
    assert answer.findings[0].rule == "BR-RO-110"
    assert (
        answer.findings[0].message_ro
        == "Daca Codul tarii vanzatorului (BT-40) este RO , atunci ..."
    )
    assert answer.findings[0].message_en == "If the Seller's country Code (BT-40) is RO , then ..."


def test_validation_ok() -> None:
    answer = r.classify_validation(200, b'{"stare":"ok","trace_id":"c8c9da20"}')
    assert (answer.ok, answer.messages, answer.trace_id) == (True, (), "c8c9da20")


def test_validation_waf() -> None:
    with pytest.raises(AnafWafRejected):
        r.classify_validation(200, WAF)


# ---- findings, duplicates, error file, archive ------------------------------------------------

BR_RO_065 = (
    "[BR-RO-065]-Identificatorul de înregistrare fiscala a Vanzatorului (BT-32) trebuie sa fie "
    "înscris.\n\t\t#The Seller tax registration identifier (BT-32) shall be present."
)


def test_parse_finding_splits_on_hash() -> None:
    assert r.parse_finding(BR_RO_065) == Finding(
        "BR-RO-065",
        "Identificatorul de înregistrare fiscala a Vanzatorului (BT-32) trebuie sa fie înscris.",
        "The Seller tax registration identifier (BT-32) shall be present.",
        BR_RO_065,
    )


def test_parse_finding_without_rule() -> None:
    assert r.parse_finding("Ceva nu e bine") == Finding(
        None, "Ceva nu e bine", None, "Ceva nu e bine"
    )


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            (
                "Factura a mai fost transmisa anterior cu index=0123456789 "
                "si data incarcare=2026-01-20"
            ),
            DuplicateInfo("0123456789", date(2026, 1, 20)),
        ),
        ("Factura a mai fost transmisa anterior cu index=42", DuplicateInfo("42", None)),
        ("Alt mesaj", None),
    ],
)
def test_parse_duplicate(message: str, expected: DuplicateInfo | None) -> None:
    assert anaf_archive.parse_duplicate(message) == expected


ERROR_FILE = (
    '<header xmlns="mfp:anaf:dgti:efactura:mesajEroriFactuta:v1" Index_incarcare="5025079551" '
    'Cif_emitent="35913862">\n'
    '  <Error errorMessage="[BR-RO-065]-Identificatorul de înregistrare fiscala a Vanzatorului '
    "(BT-32) trebuie sa fie înscris.&#xA;&#x9;&#x9;#The Seller tax registration identifier (BT-32)"
    ' shall be present."/>\n'
    '  <Error errorMessage="Factura a mai fost transmisa anterior cu index=0123456789 si data '
    'incarcare=2026-01-20"/>\n</header>'
).encode()


def test_parse_error_file_verbatim_example() -> None:
    parsed = anaf_archive.parse_error_file(ERROR_FILE)
    assert (parsed.upload_index, parsed.seller_cif) == ("5025079551", "35913862")
    assert [f.rule for f in parsed.findings] == ["BR-RO-065", None]
    assert parsed.findings[0] == r.parse_finding(BR_RO_065)
    assert parsed.duplicate == DuplicateInfo("0123456789", date(2026, 1, 20))


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_parse_archive_error_list() -> None:
    data = _zip({"5025079551.xml": ERROR_FILE, "semnatura_5025079551.xml": b"<Signature/>"})
    archive = anaf_archive.parse_archive(data)
    assert (archive.index, archive.document_name, archive.signature_name) == (
        "5025079551",
        "5025079551.xml",
        "semnatura_5025079551.xml",
    )
    assert archive.is_error is True
    assert archive.error_file == anaf_archive.parse_error_file(ERROR_FILE)


def test_parse_archive_rejects_unexpected_contents() -> None:
    with pytest.raises(AnafProtocolError):
        anaf_archive.parse_archive(_zip({"5.xml": b"<a/>"}))
    with pytest.raises(AnafProtocolError):
        anaf_archive.parse_archive(b"not a zip")


SIGNATURE = b'<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignatureValue/></Signature>'
INVOICE = (
    b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">'
    b"<ID>SEF000001</ID></Invoice>"
)


def test_parse_archive_accepts_any_file_names() -> None:
    """One document and one XML-DSig signature, told apart by content: other names, folders,
    upper-case extensions and non-XML files do not matter."""
    data = _zip(
        {
            "raspuns/factura_ANAF.XML": INVOICE,
            "raspuns/sig-4242.xml": SIGNATURE,
            "citeste.txt": b"nu este XML",
        }
    )
    archive = anaf_archive.parse_archive(data)
    assert (archive.index, archive.document_name, archive.signature_name) == (
        "4242",
        "raspuns/factura_ANAF.XML",
        "raspuns/sig-4242.xml",
    )
    assert (archive.document, archive.signature, archive.is_error) == (INVOICE, SIGNATURE, False)
    named = anaf_archive.parse_archive(_zip({"a.xml": SIGNATURE, "b.xml": INVOICE}))
    assert (named.index, named.document_name, named.signature_name) == ("", "b.xml", "a.xml")


@pytest.mark.parametrize(
    "files",
    [
        {"1.xml": INVOICE, "2.xml": INVOICE},  # no signature
        {"1.xml": SIGNATURE, "semnatura_1.xml": SIGNATURE},  # no document
        {"1.xml": INVOICE, "semnatura_1.xml": SIGNATURE, "extra.xml": INVOICE},
        {"semnatura_1.xml": SIGNATURE},
    ],
)
def test_parse_archive_wants_exactly_one_document_and_one_signature(
    files: dict[str, bytes],
) -> None:
    with pytest.raises(AnafProtocolError) as info:
        anaf_archive.parse_archive(_zip(files))
    assert info.value.message == (
        "The ANAF archive must hold one document XML and one signature XML; it holds "
        f"{sorted(files)}"
    )


def test_upload_accepted_without_index_is_outcome_unknown() -> None:
    body = UPLOAD_OK.replace(b' index_incarcare="3828"', b"")
    with pytest.raises(UploadOutcomeUnknown) as info:
        r.classify_upload(200, body)
    assert info.value.cause_code == "E-ANAF-PROTOCOL"


def test_validation_swagger_example_three_messages() -> None:
    body = (
        b'{"stare":"nok","Messages":['
        b'{"message":"E: validari globale  SCHEMATRON   eroare: [BR-CO-09]-The Seller VAT '
        b'identifier (BT-31) ... shall have a prefix."},'
        b'{"message":"E: AccountingSupplierParty (1) sectiune Party (1) sectiune PartyTaxScheme (1)'
        b" sectiune CompanyID (1)  eroare regula: R_BT_32_cui: Cui vanzator incorect / validare "
        b'CUI (1234) "}],"trace_id":"2c9b28f2"}'
    )
    answer = r.classify_validation(200, body)
    assert [(f.rule, f.message_ro, f.message_en) for f in answer.findings] == [
        ("BR-CO-09", "The Seller VAT identifier (BT-31) ... shall have a prefix.", None),
        (None, "R_BT_32_cui: Cui vanzator incorect / validare CUI (1234)", None),
    ]


def test_invoice_key() -> None:
    from stripe_efactura.anaf.fake import sample_invoice

    assert anaf_archive.invoice_key(
        sample_invoice("S-9", "2026-02-01", "ro 123")
    ) == anaf_archive.InvoiceKey("123", "S-9", "2026-02-01")
    assert anaf_archive.invoice_key(ERROR_FILE) is None
    assert anaf_archive.invoice_key(b"garbage") is None
