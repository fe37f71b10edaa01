"""B2C sales taxed in another member state through the One-Stop-Shop.

Legal basis: Fiscal Code art. 315 (the Union scheme: a Romanian seller declares in Romania the
VAT of the member state of consumption), art. 275 (2) / 278 (for distance sales of goods and
services to consumers the place of supply is the member state of consumption); Directive
2006/112 art. 369a-369k and art. 219a (the invoicing rules are those of the member state of
identification, Romania).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D
from typing import Any

from stripe_efactura.config import Settings
from stripe_efactura.intake.draft import draft_of
from stripe_efactura.invoicing.build import BuildResult, build_invoice
from stripe_efactura.invoicing.model import FxInfo
from stripe_efactura.ubl.render import render

from .conftest import Validator, golden, make_sale

FX = FxInfo(D("5.0875"), date(2026, 11, 19))


def _consumer(country: str, city: str, line1: str, postal: str) -> dict[str, Any]:
    return {
        "name": "Anna Schmidt",
        "email": "anna@example.de",
        "phone": None,
        "address": {
            "line1": line1,
            "line2": None,
            "city": city,
            "state": None,
            "postal_code": postal,
            "country": country,
        },
    }


DE_CONSUMER = _consumer("DE", "Berlin", "Hauptstraße 5", "10115")
FR_CONSUMER = _consumer("FR", "Paris", "12 rue de Rivoli", "75001")
NL_CONSUMER = _consumer("NL", "Amsterdam", "Damrak 1", "1012 LG")


def _line(total: int, tax: int, rate: dict[str, Any]) -> dict[str, Any]:
    return {
        "description": "Curs online de limba română",
        "quantity": 1,
        "amount_total": total,
        "amount_tax": tax,
        "taxes": [{"amount": tax, "rate": rate, "taxability_reason": "standard_rated"}],
        "price": {"id": "price_curs", "product": {"name": "Curs online de limba română"}},
    }


def _build(
    settings: Settings, amount: int, currency: str, billing: dict[str, Any], line: dict[str, Any]
) -> BuildResult:
    session = {"id": "cs_1", "mode": "payment", "payment_intent": "pi_1", "total_details": {}}
    sale = make_sale(
        amount,
        currency,
        billing=billing,
        owner_type="checkout_session",
        checkout_session=session,
        line_items=[line],
    )
    fx = FX if currency != "RON" else None
    return build_invoice(draft_of(sale), settings.invoicing, number="TST0000001", fx=fx)


def test_german_consumer_is_invoiced_at_the_german_rate_through_oss(
    settings: Settings, cius_ro: Validator, ubl_xsd: Validator
) -> None:
    """Art. 315 / Directive art. 369a-k: Stripe Tax applied Germany's 19 % to a German
    consumer; the invoice keeps 19 % (not a Romanian rate, once P-VAT-RATE-UNKNOWN), names
    Germany as the member state of consumption and keeps the seller's RO VAT id."""
    rate = {"id": "txr_de19", "percentage": 19, "inclusive": True, "country": "DE"}
    result = _build(settings, 11900, "EUR", DE_CONSUMER, _line(11900, 1900, rate))
    assert result.problems == ()
    inv = result.invoice
    assert inv is not None
    assert inv.vat_country == "DE"
    assert [
        (b.tax.category.value, b.tax.rate, b.taxable_amount, b.tax_amount)
        for b in inv.vat_breakdown
    ] == [("S", D(19), D("100.00"), D("19.00"))]
    note = "TVA datorată în statul membru de consum: Germania (DE), regimul special OSS"
    assert inv.notes == (f"{note} (schema UE, art. 315 Cod fiscal).",)
    assert inv.totals.tax_total_ron == D("96.66")
    xml = render(inv)
    golden("oss_de_consumer_eur", xml)
    assert ubl_xsd(xml) == []
    assert cius_ro(xml) == []


def test_rate_equal_to_a_romanian_one_is_still_oss_when_stripe_names_the_country(
    settings: Settings,
) -> None:
    """The Netherlands' 21 % equals Romania's standard rate: Stripe's rate country (NL) decides,
    not the percentage."""
    rate = {"id": "txr_nl21", "percentage": 21, "inclusive": True, "country": "NL"}
    result = _build(settings, 12100, "RON", NL_CONSUMER, _line(12100, 2100, rate))
    assert result.invoice is not None
    assert result.invoice.vat_country == "NL"
    assert [(b.tax.rate, b.tax_amount) for b in result.invoice.vat_breakdown] == [
        (D(21), D("21.00"))
    ]


def test_without_the_rate_country_a_foreign_rate_for_a_foreign_consumer_is_oss(
    settings: Settings, cius_ro: Validator
) -> None:
    """No country on Stripe's rate: a French consumer charged 20 % (not a Romanian rate) is
    taxed in France through OSS."""
    rate = {"id": "txr_fr20", "percentage": 20, "inclusive": True}
    result = _build(settings, 12000, "RON", FR_CONSUMER, _line(12000, 2000, rate))
    assert result.problems == ()
    assert result.invoice is not None
    assert result.invoice.vat_country == "FR"
    assert cius_ro(render(result.invoice)) == []


def test_romanian_rate_charged_to_a_foreign_consumer_stays_romanian(settings: Settings) -> None:
    """Below the EU-wide 10 000 EUR threshold the seller charges Romanian VAT (art. 275 (2)):
    Stripe's RO 21 % to a German consumer is a Romanian sale, not OSS."""
    rate = {"id": "txr_ro21", "percentage": 21, "inclusive": True, "country": "RO"}
    result = _build(settings, 12100, "RON", DE_CONSUMER, _line(12100, 2100, rate))
    assert result.invoice is not None
    assert result.invoice.vat_country is None
    assert result.invoice.notes == ()


def test_foreign_rate_for_a_romanian_buyer_is_still_unknown(settings: Settings) -> None:
    """A 19 % rate after 31 July 2025 for a buyer in Romania is no member state's OSS rate:
    P-VAT-RATE-UNKNOWN as before."""
    rate = {"id": "txr_19", "percentage": 19, "inclusive": True}
    from factories.stripe_flows import RO_BILLING

    result = _build(settings, 11900, "RON", RO_BILLING, _line(11900, 1900, rate))
    assert result.invoice is None
    assert [p.code for p in result.problems] == ["P-VAT-RATE-UNKNOWN"]
