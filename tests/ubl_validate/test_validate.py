"""The Validator: XSD first, then the schematron; findings, report, caching, threads."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from stripe_efactura.errors import Problem, ValidationArtifactsMissing
from stripe_efactura.ubl import artifacts
from stripe_efactura.ubl.validate import (
    Finding,
    ValidationReport,
    Validator,
    get_validator,
    split_message,
)

MakeInvoice = Callable[[int], bytes]


def test_split_message_anaf_rule() -> None:
    urn = "urn:cen.eu:en16931:2017#compliant#urn:efactura.mfinante.ro:CIUS-RO:1.0.1"
    text = (
        "[BR-RO-001]-Identificatorul specificatie (BT-24)\n\t\t\t#The specification identifier "
        f"(BT-24) must be ({urn})."
    )
    assert split_message(text) == (
        "Identificatorul specificatie (BT-24)",
        f"The specification identifier (BT-24) must be ({urn}).",
    )


def test_split_message_cen_rule_is_english_only() -> None:
    assert split_message("[BR-52]-Each Additional supporting document (BG-24) shall.") == (
        "",
        "Each Additional supporting document (BG-24) shall.",
    )


def test_clean_invoice(validator: Validator, make_invoice: MakeInvoice) -> None:
    report = validator.validate(make_invoice(3))
    assert report == ValidationReport((), "Invoice")
    assert (report.ok, report.fatal, report.warnings) == (True, (), ())
    assert report.to_dict() == {
        "ok": True,
        "document": "Invoice",
        "artifacts": "UBL 2.1 + CIUS-RO 1.0.9",
        "fatal": 0,
        "warnings": 0,
        "findings": [],
    }


def test_schematron_findings_in_report(validator: Validator, make_invoice: MakeInvoice) -> None:
    xml = make_invoice(1).replace(b"<cbc:ID>SEF000123</cbc:ID>", b"<cbc:ID>SEF</cbc:ID>")
    xml = xml.replace(b"</cbc:ID>", b"</cbc:ID>\n<cbc:UUID>u-1</cbc:UUID>", 1)
    report = validator.validate(xml)
    assert report.rule_ids() == [("BR-RO-010", "fatal"), ("UBL-CR-005", "warning")]
    br010 = report.fatal[0]
    assert br010 == Finding(
        rule_id="BR-RO-010",
        flag="fatal",
        location="/*[local-name()='Invoice' and "
        "namespace-uri()='urn:oasis:names:specification:ubl:schema:xsd:Invoice-2']",
        test="matches(normalize-space(cbc:ID), '([0-9])')",
        message_ro="Numarul facturii (BT-1) trebuie sa includa cel putin un caracter numeric "
        "(0—9).",
        message_en="Invoice number (BT-1) must include at least one numeric character (0-9).",
    )
    assert report.warnings[0].rule_id == "UBL-CR-005"
    assert report.warnings[0].message_ro == ""
    assert report.warnings[0].message_en == "A UBL invoice should not include the UUID"
    assert not report.ok
    assert br010.to_problem() == Problem(
        code="V-BR-RO-010",
        field=br010.location,
        message_ro=br010.message_ro,
        message_en=br010.message_en,
        fatal=True,
        context=(("flag", "fatal"),),
    )
    assert report.warnings[0].to_problem().message_ro == "A UBL invoice should not include the UUID"


def test_xsd_error_stops_before_schematron(validator: Validator, make_invoice: MakeInvoice) -> None:
    # no cbc:ID (required by the XSD; BR-02 / BR-RO-010 would fire too, but never run)
    xml = make_invoice(1).replace(b"<cbc:ID>SEF000123</cbc:ID>\n", b"")
    report = validator.validate(xml)
    assert report.document == "Invoice"
    assert report.findings == (
        Finding(
            rule_id="XSD",
            flag="xsd",
            location="/*/cbc:IssueDate",
            test="",
            message_ro="Documentul nu respectă schema UBL 2.1 (XSD) (linia 6): Element "
            "'cbc:IssueDate': This element is not expected. Expected is one of ( "
            "cbc:ProfileID, cbc:ProfileExecutionID, cbc:ID ).",
            message_en="The document is not valid against the UBL 2.1 schema (XSD) (line 6): "
            "Element 'cbc:IssueDate': This element is not expected. Expected is one of ( "
            "cbc:ProfileID, cbc:ProfileExecutionID, cbc:ID ).",
        ),
    )
    assert report.fatal == report.findings


def test_xsd_date_type(validator: Validator, make_invoice: MakeInvoice) -> None:
    xml = make_invoice(1).replace(b">2026-11-20</cbc:IssueDate>", b">20.11.2026</cbc:IssueDate>")
    report = validator.validate(xml)
    assert [(f.rule_id, f.location, f.message_en) for f in report.findings] == [
        (
            "XSD",
            "/*/cbc:IssueDate",
            (
                "The document is not valid against the UBL 2.1 schema (XSD) (line 7): Element "
                "'cbc:IssueDate': '20.11.2026' is not a valid value of the atomic type 'xs:date'."
            ),
        )
    ]


def test_credit_note_is_checked_against_the_credit_note_xsd(
    validator: Validator, make_invoice: MakeInvoice
) -> None:
    # DueDate is an Invoice element; a CreditNote must not carry it
    invoice = make_invoice(1)
    assert validator.validate(invoice).findings == ()
    credit_note = (
        invoice.replace(b"xsd:Invoice-2", b"xsd:CreditNote-2")
        .replace(b"<Invoice ", b"<CreditNote ")
        .replace(b"</Invoice>", b"</CreditNote>")
        .replace(b"InvoiceLine>", b"CreditNoteLine>")
        .replace(b"InvoicedQuantity", b"CreditedQuantity")
        .replace(b"InvoiceTypeCode>380</cbc:Invoice", b"CreditNoteTypeCode>381</cbc:CreditNote")
    )
    report = validator.validate(credit_note)
    assert report.document == "CreditNote"
    assert [(f.rule_id, f.location) for f in report.findings] == [("XSD", "/*/cbc:DueDate")]


def test_not_well_formed(validator: Validator) -> None:
    report = validator.validate(b'<?xml version="1.0"?>\n<Invoice>\n<a></b>\n</Invoice>')
    assert report == ValidationReport(
        (
            Finding(
                "XML",
                "xsd",
                "",
                "",
                "Fișierul nu este XML bine format (linia 3): "
                "Opening and ending tag mismatch: a line 3 and b",
                "The file is not well-formed XML (line 3): "
                "Opening and ending tag mismatch: a line 3 and b",
            ),
        ),
        None,
    )
    assert not report.ok


def test_wrong_root(validator: Validator) -> None:
    report = validator.validate(b"<Order xmlns='urn:x'/>")
    assert report.rule_ids() == [("XSD", "xsd")]
    assert report.findings[0].message_en == (
        "The document is not valid against the UBL 2.1 schema (XSD) (line 1): the root element "
        "is '{urn:x}Order'; expected Invoice (urn:oasis:names:specification:ubl:schema:xsd:"
        "Invoice-2) or CreditNote (urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2)"
    )


def test_doctype_is_refused_and_entities_never_resolved(
    validator: Validator, make_invoice: MakeInvoice, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET-1")
    doctype = f'<!DOCTYPE Invoice [<!ENTITY x SYSTEM "{secret.as_uri()}">]>\n<Invoice '
    xml = make_invoice(1).replace(b"<Invoice ", doctype.encode())
    xml = xml.replace(b"<cbc:Note>Plata", b"<cbc:Note>&x; Plata")
    report = validator.validate(xml)
    assert [(f.rule_id, f.flag, f.message_en) for f in report.findings] == [
        (
            "XML",
            "xsd",
            (
                "The file is not well-formed XML (line 1): "
                "a DOCTYPE declaration is not allowed in an e-Factura document"
            ),
        )
    ]


def test_validator_is_lazy_and_recovers_after_install(
    installed: artifacts.ArtifactSet,
    validator: Validator,
    make_invoice: MakeInvoice,
    tmp_path: Path,
) -> None:
    lazy = Validator(tmp_path / "v")  # nothing there yet: constructing is fine
    with pytest.raises(ValidationArtifactsMissing, match="stripe-efactura validation fetch"):
        lazy.validate(make_invoice(1))
    shutil.copytree(installed.root, tmp_path / "v")  # with the compiled cache: no recompile
    assert lazy.validate(make_invoice(1)).findings == ()


def test_get_validator_one_per_folder(tmp_path: Path) -> None:
    a = get_validator(tmp_path / "a")
    assert get_validator(tmp_path / "a") is a
    assert get_validator(tmp_path / "x" / ".." / "a") is a
    assert get_validator(tmp_path / "b") is not a
    assert a.validation_dir == (tmp_path / "a").resolve()


def test_threads_share_one_validator(validator: Validator, make_invoice: MakeInvoice) -> None:
    bad = make_invoice(2).replace(b"<cbc:ID>SEF000123</cbc:ID>", b"<cbc:ID>SEF</cbc:ID>")
    docs = [make_invoice(2), bad] * 8
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda d: validator.validate(d).rule_ids(), docs))
    assert results == [[], [("BR-RO-010", "fatal")]] * 8


def test_short_location() -> None:
    cac = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
    location = (
        "/*[local-name()='Invoice' and "
        "namespace-uri()='urn:oasis:names:specification:ubl:schema:xsd:Invoice-2']"
        f"/*[local-name()='InvoiceLine' and namespace-uri()='{cac}'][1]"
        "/*[local-name()='InvoicedQuantity' and "
        "namespace-uri()='urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2']"
        "/@unitCode"
    )
    finding = Finding("BR-CL-23", "fatal", location, "", "", "")
    assert finding.short_location == "/Invoice/cac:InvoiceLine[1]/cbc:InvoicedQuantity/@unitCode"
    assert Finding("XSD", "xsd", "/*/cbc:IssueDate", "", "", "").short_location == (
        "/*/cbc:IssueDate"
    )
