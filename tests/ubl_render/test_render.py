"""Behaviour of ``render`` beyond the golden files: determinism, limits, edge cases."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from lxml import etree

from factories.ubl_cases import (
    B2C_RO_NO_CNP,
    COMPANY_TM,
    CONSUMER_BV,
    EU_REVERSE_CHARGE_EUR,
    SELLER,
    SELLER_NOT_VAT_REGISTERED,
    STORNO_FULL,
    TWO_RATES,
    Validator,
    breakdown,
    invoice,
    line,
    totals,
)
from stripe_efactura.invoicing.model import Address, PaymentInfo, TaxClass, VatCategory
from stripe_efactura.ubl.render import RenderError, render

NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}


def texts(xml: bytes, path: str) -> list[str]:
    return [e.text or "" for e in etree.fromstring(xml).xpath(path, namespaces=NS)]


def test_same_invoice_gives_identical_bytes() -> None:
    assert render(TWO_RATES) == render(TWO_RATES)
    assert render(STORNO_FULL, credit_note=True) == render(STORNO_FULL, credit_note=True)


def test_equal_decimals_with_other_exponents_give_identical_bytes() -> None:
    # given a line whose quantity and rate are written 1.000 and 21.0 instead of 1 and 21
    ln = B2C_RO_NO_CNP.lines[0]
    other = replace(
        ln,
        quantity=Decimal("1.000"),
        tax=replace(ln.tax, rate=Decimal("21.0")),
        unit_price=Decimal("99.0"),
    )
    twin = replace(B2C_RO_NO_CNP, lines=(other,))
    # then the document is byte-identical
    assert render(twin) == render(B2C_RO_NO_CNP)


def test_starts_with_declaration_and_has_no_schema_location() -> None:
    xml = render(B2C_RO_NO_CNP)
    assert xml.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<Invoice xmlns="urn:')
    assert b"schemaLocation" not in xml
    assert b"xsi" not in xml


def test_storno_keeps_prices_positive_and_negates_quantities() -> None:
    xml = render(STORNO_FULL)
    assert texts(xml, "//cbc:InvoiceTypeCode") == ["380"]
    assert texts(xml, "//cac:InvoiceLine/cbc:InvoicedQuantity") == ["-1"]
    assert texts(xml, "//cbc:PriceAmount") == ["99.00"]
    assert texts(xml, "//cac:LegalMonetaryTotal/*") == [
        "-99.00",
        "-99.00",
        "-119.79",
        "-119.79",
        "0.00",
    ]
    assert texts(xml, "//cac:InvoiceDocumentReference/*") == ["NDG0000101", "2026-11-20"]


def test_credit_note_has_positive_values() -> None:
    xml = render(STORNO_FULL, credit_note=True)
    assert etree.QName(etree.fromstring(xml)).localname == "CreditNote"
    assert texts(xml, "//cbc:CreditNoteTypeCode") == ["381"]
    assert texts(xml, "//cbc:CreditedQuantity") == ["1"]
    assert texts(xml, "//cac:LegalMonetaryTotal/*") == [
        "99.00",
        "99.00",
        "119.79",
        "119.79",
        "0.00",
    ]
    assert texts(xml, "/*/cac:TaxTotal/cbc:TaxAmount") == ["20.79"]


def test_credit_note_setting_does_not_touch_ordinary_invoices() -> None:
    assert render(B2C_RO_NO_CNP, credit_note=True) == render(B2C_RO_NO_CNP)


def test_type_code_381_alone_selects_the_credit_note_syntax() -> None:
    cn = replace(STORNO_FULL, type_code="381")
    assert render(cn) == render(STORNO_FULL, credit_note=True)


def test_buyer_without_any_id_gets_thirteen_zeros_same_as_explicit() -> None:
    explicit = replace(B2C_RO_NO_CNP, buyer=replace(CONSUMER_BV, legal_id="0000000000000"))
    assert render(explicit) == render(B2C_RO_NO_CNP)
    assert texts(render(B2C_RO_NO_CNP), "//cac:AccountingCustomerParty//cbc:CompanyID") == [
        "0000000000000"
    ]


def test_not_subject_invoice_never_carries_vat_ids(cius_ro: Validator) -> None:
    # given category O lines but a seller and a buyer that both have VAT ids (a builder slip)
    inv = replace(SELLER_NOT_VAT_REGISTERED, seller=SELLER, buyer=COMPANY_TM)
    xml = render(inv)
    # then no PartyTaxScheme is written (BR-O-02) and both stay identified by BT-30 / BT-47
    assert texts(xml, "//cac:PartyTaxScheme/cbc:CompanyID") == []
    assert texts(xml, "//cac:PartyLegalEntity/cbc:CompanyID") == ["12345674", "34567892"]
    assert texts(xml, "//cbc:Percent") == []
    # and the seller's VAT code stays on the document as a note
    assert texts(xml, "/*/cbc:Note") == [
        "Cod de înregistrare în scopuri de TVA al furnizorului: RO12345674"
    ]
    assert cius_ro(xml) == []


def test_not_subject_buyer_vat_id_becomes_legal_id_when_no_legal_id() -> None:
    buyer = replace(COMPANY_TM, legal_id=None)
    xml = render(replace(SELLER_NOT_VAT_REGISTERED, buyer=buyer))
    assert texts(xml, "//cac:AccountingCustomerParty//cbc:CompanyID") == ["RO34567892"]


def test_missing_exemption_reason_gets_the_category_default(cius_ro: Validator) -> None:
    bare = TaxClass(VatCategory.REVERSE_CHARGE, Decimal("0"))
    lines = tuple(replace(ln, tax=bare) for ln in EU_REVERSE_CHARGE_EUR.lines)
    inv = replace(EU_REVERSE_CHARGE_EUR, lines=lines, vat_breakdown=breakdown(lines))
    xml = render(inv)
    assert texts(xml, "//cac:TaxCategory/cbc:TaxExemptionReasonCode") == ["VATEX-EU-AE"]
    assert texts(xml, "//cac:TaxCategory/cbc:TaxExemptionReason") == ["Taxare inversă"]
    assert cius_ro(xml) == []


def test_standard_rate_never_gets_an_exemption_reason() -> None:
    sloppy = TaxClass(VatCategory.STANDARD, Decimal("21"), "VATEX-EU-O", "x")
    lines = tuple(replace(ln, tax=sloppy) for ln in B2C_RO_NO_CNP.lines)
    xml = render(replace(B2C_RO_NO_CNP, lines=lines, vat_breakdown=breakdown(lines)))
    assert texts(xml, "//cbc:TaxExemptionReasonCode | //cbc:TaxExemptionReason") == []


def test_tax_total_ron_is_computed_from_the_rate_when_absent() -> None:
    lines = (line("1", "Serviciu", "1", "100.00", TaxClass(VatCategory.STANDARD, Decimal("21"))),)
    inv = invoice(
        "X1",
        B2C_RO_NO_CNP.issue_date,
        CONSUMER_BV,
        lines,
        currency="EUR",
        fx=EU_REVERSE_CHARGE_EUR.fx,
    )
    inv = replace(inv, totals=replace(inv.totals, tax_total_ron=None))
    xml = render(inv)
    # 21.00 EUR x 5.0875 = 106.8375 -> 106.84
    assert texts(xml, "/*/cac:TaxTotal/cbc:TaxAmount") == ["21.00", "106.84"]
    assert texts(xml, "//cbc:Note") == [
        "Curs BNR din 19.11.2026: 1 EUR = 5,0875 RON. Total TVA: 106,84 RON."
    ]


def test_non_ron_without_rate_or_ron_total_is_a_render_error() -> None:
    inv = replace(
        EU_REVERSE_CHARGE_EUR,
        fx=None,
        totals=replace(EU_REVERSE_CHARGE_EUR.totals, tax_total_ron=None),
    )
    with pytest.raises(RenderError) as err:
        render(inv)
    assert err.value.code == "E-UBL-RENDER"


def test_amount_with_more_than_two_decimals_is_a_render_error() -> None:
    bad = replace(B2C_RO_NO_CNP, totals=replace(B2C_RO_NO_CNP.totals, payable=Decimal("0.001")))
    with pytest.raises(RenderError, match="more than 2 decimals"):
        render(bad)


def test_amounts_always_have_two_decimals_and_prices_keep_their_precision() -> None:
    xml = render(TWO_RATES)
    assert texts(xml, "//cac:InvoiceLine/cbc:LineExtensionAmount") == [
        "91.00",
        "199.99",
        "59.97",
        "12.50",
    ]
    assert texts(xml, "//cbc:PriceAmount") == ["45.50", "199.99", "19.99", "1.25"]
    assert texts(xml, "//cbc:BaseQuantity") == ["100"]
    assert texts(xml, "//cac:TaxSubtotal/cbc:TaxAmount") == ["10.01", "57.22"]
    assert texts(xml, "//cac:LegalMonetaryTotal/*") == ["363.46", "363.46", "430.69", "430.69"]


def test_unpaid_invoice_without_due_date_gets_payment_terms(cius_ro: Validator) -> None:
    inv = replace(TWO_RATES, due_date=None)
    xml = render(inv)
    assert texts(xml, "//cbc:DueDate") == []
    assert texts(xml, "//cac:PaymentTerms/cbc:Note") == ["Plata la primirea facturii."]
    assert cius_ro(xml) == []


def test_unpaid_credit_note_states_the_amount_to_return(
    cius_ro: Validator, ubl_xsd: Validator
) -> None:
    # given a storno that was not yet refunded (prepaid 0, payable negative)
    vat = STORNO_FULL.vat_breakdown
    unpaid = replace(STORNO_FULL, totals=totals(STORNO_FULL.lines, vat, paid=False))
    xml = render(unpaid, credit_note=True)
    assert texts(xml, "//cac:PaymentTerms/cbc:Note") == [
        "Suma de 119,79 RON se restituie cumpărătorului."
    ]
    assert ubl_xsd(xml) == []
    assert cius_ro(xml) == []


def test_transfer_carries_the_seller_iban_and_card_does_not() -> None:
    assert texts(render(TWO_RATES), "//cac:PayeeFinancialAccount/cbc:ID") == [
        "RO49AAAA1B31007593840000"
    ]
    assert texts(render(B2C_RO_NO_CNP), "//cac:PayeeFinancialAccount/cbc:ID") == []


def test_payment_id_falls_back_to_the_payment_key() -> None:
    inv = replace(B2C_RO_NO_CNP, payment=PaymentInfo(means_code="48"), payment_key="ch_123")
    xml = render(inv)
    assert texts(xml, "//cbc:PaymentID") == ["ch_123"]
    assert etree.fromstring(xml).xpath("//cbc:PaymentMeansCode/@name", namespaces=NS) == []


def test_no_payment_info_means_no_payment_means() -> None:
    xml = render(replace(B2C_RO_NO_CNP, payment=None))
    assert texts(xml, "//cac:PaymentMeans") == []


def test_vat_on_collection_mention_comes_first() -> None:
    inv = replace(
        B2C_RO_NO_CNP,
        seller_extras=replace(B2C_RO_NO_CNP.seller_extras, vat_on_collection=True),
        notes=("Nota 1",),
    )
    assert texts(render(inv), "//cbc:Note") == ["TVA la încasare", "Nota 1"]


def test_escaping_and_forbidden_characters() -> None:
    buyer = replace(CONSUMER_BV, name='Ana & <Co> "SRL"\x00\x07 ')
    xml = render(replace(B2C_RO_NO_CNP, buyer=buyer))
    assert b'<cbc:Name>Ana &amp; &lt;Co&gt; "SRL"</cbc:Name>' in xml
    assert texts(xml, "//cac:AccountingCustomerParty//cbc:RegistrationName") == ['Ana & <Co> "SRL"']


def test_decomposed_diacritics_are_composed() -> None:
    buyer = replace(CONSUMER_BV, address=replace(CONSUMER_BV.address, city="Bras\u0327ov"))
    # NFC of s + combining cedilla is U+015F (ş)
    assert texts(
        render(replace(B2C_RO_NO_CNP, buyer=buyer)), "//cac:AccountingCustomerParty//cbc:CityName"
    ) == ["Bra\u015fov"]


def test_address_without_optional_parts() -> None:
    buyer = replace(CONSUMER_BV, address=Address(line1="Str. X 1", city="Sibiu", country="ro"))
    xml = render(replace(B2C_RO_NO_CNP, buyer=buyer))
    address = "//cac:AccountingCustomerParty//cac:PostalAddress"
    names = etree.fromstring(xml).xpath(f"{address}//*", namespaces=NS)
    assert [etree.QName(e).localname for e in names] == [
        "StreetName",
        "CityName",
        "Country",
        "IdentificationCode",
    ]
    assert texts(xml, f"{address}//cbc:IdentificationCode") == ["RO"]
