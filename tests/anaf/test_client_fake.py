"""AnafClient against the fake ANAF (in-process, no network): flows, faults, quotas."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from stripe_efactura.anaf.archive import DuplicateInfo, InvoiceKey, invoice_key, parse_archive
from stripe_efactura.anaf.client import AnafClient, rest_base
from stripe_efactura.anaf.errors import (
    AnafApiError,
    AnafAuthError,
    AnafDownloadExpired,
    AnafNetworkError,
    AnafNoRights,
    AnafNotFound,
    AnafQuotaExceeded,
    AnafRejected,
    AnafServerError,
    AnafTechnicalError,
    AnafTimeout,
    AnafWafRejected,
    UploadOutcomeUnknown,
)
from stripe_efactura.anaf.fake import (
    BR_02,
    BR_RO_065,
    FakeAnafState,
    FakeAnafTransport,
    Fault,
    FaultKind,
    create_fake_anaf,
    sample_invoice,
)
from stripe_efactura.anaf.responses import MessageState, UploadResult

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # as in conftest.py
BASE = "http://anaf.fake"
SELLER = "12345678"


def invoice_xml(
    number: str = "STR-0001",
    issue_date: str = "2026-03-02",
    seller: str = f"RO{SELLER}",
    *,
    with_id: bool = True,
) -> bytes:
    return sample_invoice(number, issue_date, seller, with_id=with_id)


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def finish(client: AnafClient, index: str) -> tuple[MessageState, str | None]:
    """Poll until final (the fixture's fake answers 'in prelucrare' once)."""
    first = client.status(index)
    assert first.state is MessageState.IN_PROGRESS
    final = client.status(index)
    return final.state, final.download_id


# ---- happy path ---------------------------------------------------------------------------


def test_upload_poll_download_ok(client: AnafClient, state: FakeAnafState) -> None:
    xml = invoice_xml("STR-0001")
    receipt = client.upload(xml, SELLER)
    assert receipt == UploadResult("5001130147", "202603021200")
    assert finish(client, receipt.index) == (MessageState.OK, "3001474424")
    archive = parse_archive(client.download("3001474424"))
    assert (archive.index, archive.document_name, archive.signature_name) == (
        "5001130147",
        "5001130147.xml",
        "semnatura_5001130147.xml",
    )
    assert archive.document == xml
    assert archive.is_error is False
    digest = base64.b64encode(hashlib.sha256(xml).digest()).decode()
    assert f"<DigestValue>{digest}</DigestValue>".encode() in archive.signature
    assert archive.signature.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<Signature ')
    assert state.upload_count("STR-0001") == 1


def test_uploadb2c_and_flags_reach_anaf(client: AnafClient, state: FakeAnafState) -> None:
    client.upload(invoice_xml("STR-0002"), f"RO{SELLER}", b2c=True, extern=True, autofactura=True)
    (msg,) = state.uploads("STR-0002")
    assert msg.endpoint == "uploadb2c"
    assert msg.params == {
        "standard": "UBL",
        "cif": SELLER,
        "extern": "DA",
        "autofactura": "DA",
    }


def test_prod_env_uses_prod_path(transport: FakeAnafTransport, token: dict[str, str]) -> None:
    assert rest_base("https://api.anaf.ro", "prod") == "https://api.anaf.ro/prod/FCTEL/rest"
    assert rest_base("https://x/test/FCTEL/rest/", "prod") == "https://x/test/FCTEL/rest"
    with AnafClient(BASE, "prod", lambda: token["access"], transport=transport) as prod:
        assert prod.base == f"{BASE}/prod/FCTEL/rest"
        assert prod.upload(invoice_xml(), SELLER).index == "5001130147"


def test_processing_by_clock(client: AnafClient, state: FakeAnafState) -> None:
    state.processing_polls = 1000
    state.processing_delay = timedelta(seconds=60)
    index = client.upload(invoice_xml(), SELLER).index
    assert client.status(index).state is MessageState.IN_PROGRESS
    state.clock.advance(seconds=60)
    result = client.status(index)
    assert (result.state, result.download_id, result.raw_state) == (
        MessageState.OK,
        "3001474424",
        "ok",
    )


# ---- nok, duplicates ----------------------------------------------------------------------


def test_injected_nok_error_file(client: AnafClient, state: FakeAnafState) -> None:
    state.inject_nok(BR_RO_065, invoice_number="STR-0003")
    index = client.upload(invoice_xml("STR-0003"), SELLER).index
    assert finish(client, index) == (MessageState.NOK, "3001474424")
    archive = parse_archive(client.download("3001474424"))
    assert archive.is_error is True
    assert archive.error_file is not None
    assert (archive.error_file.upload_index, archive.error_file.seller_cif) == (index, SELLER)
    (finding,) = archive.error_file.findings
    assert finding.rule == "BR-RO-065"
    assert finding.message_ro == (
        "Identificatorul de înregistrare fiscala a Vanzatorului (BT-32) trebuie sa fie înscris."
    )
    assert finding.message_en == "The Seller tax registration identifier (BT-32) shall be present."
    assert finding.raw == BR_RO_065
    assert archive.error_file.duplicate is None


def test_duplicate_upload_gets_nok_with_original_index(
    client: AnafClient, state: FakeAnafState
) -> None:
    first = client.upload(invoice_xml("STR-0004"), SELLER).index
    assert finish(client, first)[0] is MessageState.OK
    state.clock.advance(days=1)
    second = client.upload(invoice_xml("STR-0004"), SELLER).index
    state_, download_id = finish(client, second)
    assert state_ is MessageState.NOK
    assert download_id is not None
    error_file = parse_archive(client.download(download_id)).error_file
    assert error_file is not None
    assert error_file.findings[0].raw == (
        "Factura a mai fost transmisa anterior cu index=5001130147 si data incarcare=2026-03-02"
    )
    assert error_file.duplicate == DuplicateInfo(first, date(2026, 3, 2))
    assert state.upload_count("STR-0004") == 2


def test_resend_after_nok_is_not_a_duplicate(client: AnafClient, state: FakeAnafState) -> None:
    state.inject_nok()
    first = client.upload(invoice_xml("STR-0005"), SELLER).index
    assert finish(client, first)[0] is MessageState.NOK
    second = client.upload(invoice_xml("STR-0005"), SELLER).index
    assert finish(client, second)[0] is MessageState.OK


def test_same_number_other_date_is_not_a_duplicate(client: AnafClient) -> None:
    assert finish(client, client.upload(invoice_xml("A-1", "2026-03-01"), SELLER).index)[0] == "ok"
    assert finish(client, client.upload(invoice_xml("A-1", "2026-03-02"), SELLER).index)[0] == "ok"


def test_duplicate_window(client: AnafClient, state: FakeAnafState) -> None:
    state.duplicate_window = timedelta(days=30)
    assert finish(client, client.upload(invoice_xml("W-1"), SELLER).index)[0] == "ok"
    state.clock.advance(days=31)
    assert finish(client, client.upload(invoice_xml("W-1"), SELLER).index)[0] == "ok"


def test_missing_invoice_number_is_nok_br_02(client: AnafClient) -> None:
    index = client.upload(invoice_xml(with_id=False), SELLER).index
    state_, download_id = finish(client, index)
    assert state_ is MessageState.NOK
    assert download_id is not None
    error_file = parse_archive(client.download(download_id)).error_file
    assert error_file is not None
    assert [f.raw for f in error_file.findings] == [BR_02]
    assert error_file.findings[0].rule == "BR-02"


def test_seller_cif_mismatch_is_nok(client: AnafClient) -> None:
    index = client.upload(invoice_xml("M-1", seller="RO999"), SELLER).index
    assert finish(client, index)[0] is MessageState.NOK


def test_injected_xml_errors_state(client: AnafClient, state: FakeAnafState) -> None:
    state.inject_nok("x", state="xml_errors")
    index = client.upload(invoice_xml(), SELLER).index
    client.status(index)
    result = client.status(index)
    assert (result.state, result.download_id) == (MessageState.REJECTED_AT_UPLOAD, None)


# ---- rejected at upload -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("xml", "cif", "error_type", "message"),
    [
        (
            b"<Invoice><unclosed></Invoice>",
            SELLER,
            AnafRejected,
            (
                "Fisierul transmis nu este valid. org.xml.sax.SAXParseException; lineNumber: 1; "
                "columnNumber: 30; Opening and ending tag mismatch: unclosed line 1 and Invoice."
            ),
        ),
        (
            b'<Invoice1 xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"/>',
            SELLER,
            AnafRejected,
            (
                "Fisierul transmis nu este valid. org.xml.sax.SAXParseException; lineNumber: 1; "
                "columnNumber: 1; cvc-elt.1.a: Cannot find the declaration of element 'Invoice1'."
            ),
        ),
        (invoice_xml(), "123a", AnafRejected, "CIF introdus= 123a nu este un numar"),
    ],
)
def test_rejected_at_upload(
    client: AnafClient,
    state: FakeAnafState,
    xml: bytes,
    cif: str,
    error_type: type[AnafApiError],
    message: str,
) -> None:
    with pytest.raises(error_type) as info:
        client.upload(xml, cif)
    assert info.value.messages == (message,)
    assert info.value.code == "E-ANAF-REJECTED"
    assert state.messages == {}


def test_no_spv_rights(client: AnafClient, state: FakeAnafState) -> None:
    state.cifs = {SELLER}
    with pytest.raises(AnafNoRights) as info:
        client.upload(invoice_xml(seller="RO99999999"), "99999999")
    assert info.value.messages == ("Nu aveti drept in SPV pentru CIF=99999999",)
    assert info.value.code == "E-ANAF-NO-RIGHTS"


def test_empty_body_is_http_400(client: AnafClient) -> None:
    with pytest.raises(AnafRejected) as info:
        client.upload(b"", SELLER)
    assert (info.value.http_status, info.value.message) == (
        400,
        "Trebuie sa aveti atasat in request un fisier de tip xml",
    )


# ---- faults -------------------------------------------------------------------------------


@pytest.fixture
def impatient(transport: FakeAnafTransport, token: dict[str, str]) -> Iterator[AnafClient]:
    with AnafClient(BASE, "test", lambda: token["access"], transport=transport, timeout=0.05) as c:
        yield c


def test_upload_5xx_outcome_unknown(client: AnafClient, state: FakeAnafState) -> None:
    state.inject(FaultKind.SERVER_ERROR, "upload", status=502)
    with pytest.raises(UploadOutcomeUnknown) as info:
        client.upload(invoice_xml("F-1"), SELLER)
    assert (info.value.cause_code, info.value.http_status) == ("E-ANAF-5XX", 502)
    assert state.upload_count("F-1") == 0
    assert client.upload(invoice_xml("F-1"), SELLER).index == "5001130147"  # fault consumed


def test_slow_upload_times_out_before_anaf_took_it(
    impatient: AnafClient, state: FakeAnafState
) -> None:
    state.inject(FaultKind.SLOW, "upload", delay=30.0)
    with pytest.raises(UploadOutcomeUnknown) as info:
        impatient.upload(invoice_xml("F-2"), SELLER)
    assert info.value.cause_code == "E-ANAF-TIMEOUT"
    assert state.upload_count("F-2") == 0


def test_answer_lost_after_upload_taken_then_reconciled(
    impatient: AnafClient, client: AnafClient, state: FakeAnafState
) -> None:
    state.inject(FaultKind.TIMEOUT_AFTER_ACCEPT, "upload", delay=30.0)
    with pytest.raises(UploadOutcomeUnknown) as info:
        impatient.upload(invoice_xml("F-3"), SELLER)
    assert info.value.cause_code == "E-ANAF-TIMEOUT"
    assert state.upload_count("F-3") == 1
    # Reconcile: ANAF processed it; the SPV list shows which index it got.
    state.clock.advance(minutes=5)
    state.processing_delay = timedelta(seconds=60)
    page = client.list_messages(SELLER, ms(START - timedelta(hours=1)), ms(state.clock.now()), 1)
    assert [(m.upload_index, m.kind) for m in page.messages] == [("5001130147", "FACTURA TRIMISA")]
    archive = parse_archive(client.download(page.messages[0].download_id or ""))
    assert invoice_key(archive.document) == InvoiceKey(SELLER, "F-3", "2026-03-02")


def test_connection_dropped_after_upload_taken(client: AnafClient, state: FakeAnafState) -> None:
    state.inject(FaultKind.DROP_AFTER_ACCEPT, "upload")
    with pytest.raises(UploadOutcomeUnknown) as info:
        client.upload(invoice_xml("F-4"), SELLER)
    assert info.value.cause_code == "E-ANAF-NETWORK"
    assert state.upload_count("F-4") == 1


def test_upload_technical_error_outcome_unknown(client: AnafClient, state: FakeAnafState) -> None:
    state.inject(FaultKind.TECHNICAL, "upload")
    with pytest.raises(UploadOutcomeUnknown) as info:
        client.upload(invoice_xml(), SELLER)
    assert info.value.cause_code == "E-ANAF-TECHNICAL"
    assert info.value.messages == ("A aparut o eroare tehnica. Cod: XXX",)


def test_waf_page_on_upload(client: AnafClient, state: FakeAnafState) -> None:
    state.inject(FaultKind.WAF, "upload")
    with pytest.raises(AnafWafRejected) as info:
        client.upload(invoice_xml("F-5"), SELLER)
    assert info.value.support_id == "7000000000000000003"
    assert state.upload_count("F-5") == 0


@pytest.mark.parametrize(
    ("kind", "status"), [(FaultKind.QUOTA_204, 204), (FaultKind.QUOTA_429, 429)]
)
def test_quota_faults(
    client: AnafClient, state: FakeAnafState, kind: FaultKind, status: int
) -> None:
    state.inject(kind, "*", times=2)
    with pytest.raises(AnafQuotaExceeded) as info:
        client.upload(invoice_xml(), SELLER)
    assert (info.value.scope, info.value.http_status) == ("global", status)
    with pytest.raises(AnafQuotaExceeded):
        client.status("5001130147")
    assert state.messages == {}
    assert state.faults == []


def test_status_faults(client: AnafClient, impatient: AnafClient, state: FakeAnafState) -> None:
    index = client.upload(invoice_xml(), SELLER).index
    state.inject(Fault(FaultKind.SERVER_ERROR, "stareMesaj", status=503))
    with pytest.raises(AnafServerError) as server:
        client.status(index)
    assert (server.value.http_status, server.value.retryable) == (503, True)
    state.inject(FaultKind.TECHNICAL, "stareMesaj")
    with pytest.raises(AnafTechnicalError):
        client.status(index)
    state.inject(FaultKind.SLOW, "stareMesaj")
    with pytest.raises(AnafTimeout):
        impatient.status(index)
    state.inject(FaultKind.UNAUTHORIZED, "stareMesaj")
    with pytest.raises(AnafAuthError):
        client.status(index)
    state.inject(FaultKind.DROP_AFTER_ACCEPT, "stareMesaj")
    with pytest.raises(AnafNetworkError):
        client.status(index)


# ---- auth ---------------------------------------------------------------------------------


def test_expired_and_unknown_tokens(
    client: AnafClient, state: FakeAnafState, token: dict[str, str]
) -> None:
    state.clock.advance(days=90)
    with pytest.raises(AnafAuthError) as info:
        client.upload(invoice_xml(), SELLER)
    assert (info.value.http_status, info.value.code) == (401, "E-ANAF-AUTH")
    token["access"] = "not-a-token"
    with pytest.raises(AnafAuthError):
        client.status("1")
    assert state.messages == {}


# ---- status and download errors ------------------------------------------------------------


def test_status_unknown_index(client: AnafClient) -> None:
    with pytest.raises(AnafNotFound) as info:
        client.status("15000")
    assert info.value.messages == ("Nu exista factura cu id_incarcare= 15000",)


def test_download_unknown_and_expired(client: AnafClient, state: FakeAnafState) -> None:
    with pytest.raises(AnafNotFound) as info:
        client.download("21")
    assert info.value.message == "Pentru id=21 nu exista inregistrata nici o factura"
    index = client.upload(invoice_xml(), SELLER).index
    _, download_id = finish(client, index)
    assert download_id is not None
    state.clock.advance(days=60, seconds=1)
    with pytest.raises(AnafDownloadExpired):
        client.download(download_id)


# ---- quotas -------------------------------------------------------------------------------


def test_status_quota_100_per_message_per_day(client: AnafClient, state: FakeAnafState) -> None:
    state.processing_polls = 10_000
    index = client.upload(invoice_xml(), SELLER).index
    for _ in range(100):
        assert client.status(index).state is MessageState.IN_PROGRESS
    with pytest.raises(AnafQuotaExceeded) as info:
        client.status(index)
    assert (info.value.scope, info.value.limit) == ("daily", 100)
    assert info.value.messages == (
        f"S-au facut deja 100 interogari la mesajul cu id_incarcare={index} in cursul zilei",
    )
    # The day is Romania's: 22:00 UTC on 2 March is midnight in Bucharest.
    state.clock.advance(hours=12)
    assert client.status(index).state is MessageState.IN_PROGRESS


def test_download_quota_10_per_message_per_day(client: AnafClient, state: FakeAnafState) -> None:
    _, download_id = finish(client, client.upload(invoice_xml(), SELLER).index)
    assert download_id is not None
    first = client.download(download_id)
    for _ in range(9):
        assert client.download(download_id) == first
    with pytest.raises(AnafQuotaExceeded) as info:
        client.download(download_id)
    assert info.value.message == (
        f"S-au facut deja 10 descarcari la mesajul cu id_descarcare={download_id} in cursul zilei"
    )
    assert info.value.limit == 10


def test_global_rate_limit_429(client: AnafClient, state: FakeAnafState) -> None:
    state.rate_limit_per_minute = 3
    for _ in range(3):
        with pytest.raises(AnafNotFound):
            client.status("1")
    with pytest.raises(AnafQuotaExceeded) as info:
        client.status("1")
    assert (info.value.http_status, info.value.scope) == (429, "global")
    state.clock.advance(minutes=1)
    with pytest.raises(AnafNotFound):
        client.status("1")


def test_simple_list_quota(client: AnafClient, state: FakeAnafState) -> None:
    state.list_limit_per_day = 1
    assert client.list_recent(SELLER, 1).messages == ()
    with pytest.raises(AnafQuotaExceeded) as info:
        client.list_recent(SELLER, 1)
    assert info.value.message == (
        "S-au facut deja 1 interogari de lista mesaje de catre utilizator in cursul zilei"
    )


# ---- lists --------------------------------------------------------------------------------


def test_paginated_list(client: AnafClient, state: FakeAnafState) -> None:
    state.page_size = 2
    state.processing_polls = 0
    for n in range(5):
        client.status(client.upload(invoice_xml(f"P-{n}"), SELLER).index)
        state.clock.advance(minutes=1)
    start, end = ms(START - timedelta(days=1)), ms(state.clock.now())
    pages = list(client.iter_messages(SELLER, start, end))
    assert [(p.page, p.total_pages, p.records_in_page, p.total_records) for p in pages] == [
        (1, 3, 2, 5),
        (2, 3, 2, 5),
        (3, 3, 1, 5),
    ]
    indexes = [m.upload_index for p in pages for m in p.messages]
    assert indexes == [str(5001130147 + n) for n in (4, 3, 2, 1, 0)]
    assert pages[0].messages[0].created == "202603021204"
    with pytest.raises(AnafRejected) as info:
        client.list_messages(SELLER, start, end, 4)
    assert (
        info.value.message == "Pagina solicitata 4 este mai mare decat numarul toatal de pagini 3"
    )


def test_list_filter_and_window_rules(client: AnafClient, state: FakeAnafState) -> None:
    state.processing_polls = 0
    state.inject_nok()
    client.status(client.upload(invoice_xml("L-1"), SELLER).index)
    client.status(client.upload(invoice_xml("L-2"), SELLER).index)
    now = state.clock.now()
    errors = client.list_messages(SELLER, ms(now - timedelta(hours=1)), ms(now), 1, "E")
    assert [(m.upload_index, m.kind, m.details) for m in errors.messages] == [
        (
            "5001130147",
            "ERORI FACTURA",
            "Erori de validare identificate la factura transmisa cu id_incarcare=5001130147",
        )
    ]
    empty = client.list_messages(SELLER, ms(now - timedelta(days=2)), ms(now - timedelta(days=1)))
    assert (empty.messages, empty.total_pages) == ((), 0)
    with pytest.raises(AnafRejected) as old:
        client.list_messages(SELLER, ms(now - timedelta(days=61)), ms(now))
    assert old.value.message == (
        "startTime = 31-12-2025 12:00:00 nu poate fi mai vechi de 60 de zile fata de momentul "
        "requestului"
    )
    with pytest.raises(AnafRejected) as future:
        client.list_messages(SELLER, ms(now - timedelta(hours=1)), ms(now + timedelta(minutes=1)))
    assert future.value.message == (
        "endTime = 02-03-2026 12:01:00 nu poate in viitor fata de momentul requestului"
    )


def test_list_delay(client: AnafClient, state: FakeAnafState) -> None:
    state.processing_polls = 0
    state.list_delay = timedelta(minutes=15)
    client.status(client.upload(invoice_xml(), SELLER).index)
    assert client.list_recent(SELLER, 1).messages == ()
    state.clock.advance(minutes=15)
    assert [m.created for m in client.list_recent(SELLER, 1).messages] == ["202603021215"]


# ---- public validation ----------------------------------------------------------------------


def test_validate(client: AnafClient) -> None:
    ok = client.validate(invoice_xml())
    assert (ok.ok, ok.messages, ok.trace_id) == (True, (), "00000000-0000-0000-0000-000000000003")
    nok = client.validate(invoice_xml(with_id=False), "FCN")
    assert nok.ok is False
    assert nok.messages == (f"E: validari globale  SCHEMATRON   eroare: {BR_02}",)
    assert nok.findings[0].rule == "BR-02"
    with pytest.raises(AnafWafRejected):
        client.validate(invoice_xml().replace(b"STR-0001", b"Str. X;CP 1"))


def test_validate_not_on_test_host(state: FakeAnafState) -> None:
    transport = FakeAnafTransport(create_fake_anaf(state))
    with (
        AnafClient(
            BASE, "test", str, transport=transport, public_base=f"{BASE}/test/FCTEL/rest"
        ) as c,
        pytest.raises(AnafRejected) as info,
    ):
        c.validate(invoice_xml())
    assert info.value.http_status == 404


def test_official_anaf_example_invoice(
    client: AnafClient, state: FakeAnafState, validation_src: Path
) -> None:
    xml = (validation_src / "samples/anaf-examples/eInvoice_ex.xml").read_bytes()
    receipt = client.upload(xml, "1234567890")
    (msg,) = state.uploads()
    assert (msg.index, msg.invoice_number, msg.issue_date, msg.seller_cif, msg.buyer_cif) == (
        receipt.index,
        "6422451356",
        "2022-05-31",
        "1234567890",
        "987456123",
    )
    state_, download_id = finish(client, receipt.index)
    assert state_ is MessageState.OK
    assert download_id is not None
    assert parse_archive(client.download(download_id)).document == xml


def test_fake_transport_inside_a_running_event_loop(client: AnafClient) -> None:
    """The web app (async) may call the sync client: the transport then uses a worker thread."""
    import anyio

    async def inside() -> str:
        return client.upload(invoice_xml("LOOP-1"), SELLER).index

    assert anyio.run(inside) == "5001130147"


def test_rasp_daily_limit(client: AnafClient, state: FakeAnafState) -> None:
    state.rasp_limit_per_day = 2
    rasp = b'<header xmlns="mfp:anaf:dgti:spv:reqMesaj:v1" index_incarcare="1" message="ok"/>'
    assert client.upload(rasp, SELLER, standard="RASP").index == "5001130147"
    assert client.upload(rasp, SELLER, standard="RASP").index == "5001130148"
    with pytest.raises(AnafQuotaExceeded) as info:
        client.upload(rasp, SELLER, standard="RASP")
    assert info.value.messages == (
        f"S-au incarcat deja 2 de mesaje de tip RASP pentru cui={SELLER} in cursul zilei",
    )
    assert (info.value.scope, info.value.limit) == ("daily", 2)


def test_wildcard_faults_do_not_hit_the_token_endpoint(state: FakeAnafState) -> None:
    state.inject(FaultKind.SERVER_ERROR, "*")
    assert state.take_fault("token", wildcard=False) is None
    assert state.take_fault("upload") is not None


def test_request_log_records_api_calls(client: AnafClient, state: FakeAnafState) -> None:
    index = client.upload(invoice_xml(), SELLER).index
    client.status(index)
    assert [(m, t) for _, m, t in state.request_log] == [
        ("POST", "/test/FCTEL/rest/upload?standard=UBL&cif=12345678"),
        ("GET", f"/test/FCTEL/rest/stareMesaj?id_incarcare={index}"),
    ]


def test_unknown_upload_resolved_by_duplicate_nok(client: AnafClient, state: FakeAnafState) -> None:
    """Lost answer, then a deliberate second upload: ANAF's duplicate nok names the first index."""
    state.inject(FaultKind.DROP_AFTER_ACCEPT, "upload")
    with pytest.raises(UploadOutcomeUnknown):
        client.upload(invoice_xml("D-1"), SELLER)
    (lost,) = state.uploads("D-1")
    assert finish(client, lost.index) == (MessageState.OK, "3001474424")
    retry = client.upload(invoice_xml("D-1"), SELLER).index
    state_, download_id = finish(client, retry)
    assert (state_, download_id) == (MessageState.NOK, "3001474425")
    error_file = parse_archive(client.download("3001474425")).error_file
    assert error_file is not None
    assert error_file.duplicate == DuplicateInfo(lost.index, date(2026, 3, 2))
    assert state.upload_count("D-1") == 2
