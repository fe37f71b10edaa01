"""Place of supply and buyer identification rules (issue 12); the golden documents are in
``tests/ubl_render/test_place_of_supply.py``."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal as D
from typing import Any

import pytest

from stripe_efactura.app.anaf_intent import upload_mode
from stripe_efactura.config import ConfigError, Settings, _vat_policy
from stripe_efactura.intake.draft import draft_of
from stripe_efactura.intake.tax_ids import classify
from stripe_efactura.invoicing.build import BuildResult, build_invoice
from stripe_efactura.invoicing.draft import BuyerId
from stripe_efactura.invoicing.model import FxInfo, TaxClass, VatCategory
from stripe_efactura.invoicing.profile import VatPolicy
from stripe_efactura.invoicing.serialize import invoice_to_json
from stripe_efactura.invoicing.vat import REASON_SERVICES_OUTSIDE_RO

from .conftest import make_sale

FX = FxInfo(D("5.0"), date(2026, 11, 19))
O_278 = TaxClass(VatCategory.NOT_SUBJECT, D(0), "VATEX-EU-O", REASON_SERVICES_OUTSIDE_RO)
LONDON = {"line1": "10 Finsbury Sq", "city": "London", "postal_code": "EC2A 1AF", "country": "GB"}
SYDNEY = {"line1": "1 George St", "city": "Sydney", "state": "NSW", "country": "AU"}
VIENNA = {"line1": "Kärntner Straße 5", "city": "Wien", "postal_code": "1010", "country": "AT"}


@pytest.mark.parametrize(
    ("stripe_type", "value", "expected"),
    [
        ("eu_vat", "DE123456789", BuyerId("eu_vat", "DE123456789", "s")),
        ("ro_tin", "18547290", BuyerId("ro_tin", "18547290", "s")),
        ("gb_vat", "GB123456789", BuyerId("vat", "GB123456789", "s", country="GB")),
        ("no_vat", "123456789MVA", BuyerId("vat", "123456789MVA", "s", country="NO")),
        ("us_ein", "12-3456789", BuyerId("legal", "12-3456789", "s", country="US")),
        ("gb_crn", "01234567", BuyerId("legal", "01234567", "s", country="GB")),
        ("au_abn", "12345678901", BuyerId("legal", "12345678901", "s", country="AU")),
        ("eu_oss_vat", "EU372000041", BuyerId("legal", "EU372000041", "s", country="EU")),
        (None, "X1", BuyerId("legal", "X1", "s")),
    ],
)
def test_stripe_tax_id_types_are_classified_in_intake(
    stripe_type: str | None, value: str, expected: BuyerId
) -> None:
    """EN 16931: only a VAT identifier is BT-48; every other id of a company is BT-47."""
    assert classify(stripe_type, value, "s") == expected


def company_sale(
    tax_id: dict[str, str], address: dict[str, str], currency: str = "EUR", **objects: Any
) -> Any:
    return make_sale(
        20000,
        currency,
        owner_type="checkout_session",
        billing={"name": "Buyer Ltd", "address": address},
        checkout_session={
            "id": "cs_1",
            "customer_details": {"business_name": "Buyer Ltd", "tax_ids": [tax_id]},
        },
        **objects,
    )


def build(sale: Any, settings: Settings) -> BuildResult:
    return build_invoice(draft_of(sale), settings.invoicing, number="T1", fx=FX)


def test_uk_company_services_are_not_taxable_in_romania_art_278_2(settings: Settings) -> None:
    """Art. 278 (2): a UK company buying services gets O, not ``S 21 %``."""
    res = build(company_sale({"type": "gb_vat", "value": "GB123456789"}, LONDON), settings)
    assert res.invoice is not None, res.problems
    assert [b.tax for b in res.vat_breakdown] == [O_278]
    assert res.totals is not None and res.totals.tax_total == D("0.00")
    # BR-O-02: the buyer VAT id moves to BT-47 on an O invoice
    assert (res.invoice.buyer.vat_id, res.invoice.buyer.legal_id) == (None, "GB123456789")


def test_non_vat_id_is_a_legal_id_never_a_vat_id_br_co_09(settings: Settings) -> None:
    """An Australian ABN is the buyer's BT-47; it was written as BT-48 and failed BR-CO-09."""
    res = build(company_sale({"type": "au_abn", "value": "12 345 678 901"}, SYDNEY), settings)
    assert res.invoice is not None, res.problems
    assert (res.invoice.buyer.vat_id, res.invoice.buyer.legal_id) == (None, "12 345 678 901")
    assert res.invoice.buyer.address.country == "AU"


def test_legal_id_gives_the_country_when_the_address_has_none(settings: Settings) -> None:
    address = {"line1": "350 Fifth Avenue", "city": "New York"}
    res = build(company_sale({"type": "us_ein", "value": "12-3456789"}, address), settings)
    assert res.buyer is not None and res.buyer.address.country == "US"
    assert [b.tax for b in res.vat_breakdown] == [O_278]


def test_stripe_reverse_charge_for_a_non_eu_business_is_o_art_278_2(settings: Settings) -> None:
    """Stripe Tax says reverse_charge for a UK business (the UK reverse-charges it); for
    Romania the service is outside the scope of VAT (art. 278 (2)), not a Romanian AE."""
    line = {
        "description": "Consultanță",
        "quantity": 1,
        "amount_total": 20000,
        "amount_tax": 0,
        "taxes": [{"amount": 0, "rate": {"percentage": 0}, "taxability_reason": "reverse_charge"}],
    }
    sale = company_sale({"type": "gb_vat", "value": "GB123456789"}, LONDON, line_items=[line])
    res = build(sale, settings)
    assert [b.tax for b in res.vat_breakdown] == [O_278]


def test_goods_to_a_non_eu_business_are_an_export_only_when_shipped_out(
    settings: Settings,
) -> None:
    """Art. 294 (1) a): goods are an export (G) only when they leave the EU; delivered in
    Romania to a UK company they are a domestic supply (the ``[vat]`` default, S 21 %)."""
    goods = settings.with_(vat=replace(settings.vat, supplies="goods"))
    res = build(company_sale({"type": "gb_vat", "value": "GB123456789"}, LONDON), goods)
    assert [b.tax.category for b in res.vat_breakdown] == [VatCategory.EXPORT]
    shipping = {
        "address": {"line1": "Str. Lungă 5", "city": "Brașov", "state": "BV", "country": "RO"}
    }
    in_ro = company_sale(
        {"type": "gb_vat", "value": "GB123456789"},
        LONDON,
        payment_intent={"id": "pi_1", "metadata": {}, "shipping": shipping},
    )
    res2 = build(in_ro, goods)
    assert [(b.tax.category, b.tax.rate) for b in res2.vat_breakdown] == [
        (VatCategory.STANDARD, D("21"))
    ]


def test_ro_vat_buyer_not_established_is_not_eu_reverse_charge(settings: Settings) -> None:
    """A company with an Austrian address and a Romanian VAT id (art. 316/317) is a Romanian
    VAT buyer: standard VAT, RO id as BT-48, CUI as BT-47, address kept in Austria."""
    res = build(company_sale({"type": "eu_vat", "value": "RO34567892"}, VIENNA), settings)
    assert res.invoice is not None, res.problems
    buyer = res.invoice.buyer
    assert (buyer.vat_id, buyer.legal_id, buyer.address.country) == ("RO34567892", "34567892", "AT")
    assert [(b.tax.category, b.tax.rate) for b in res.vat_breakdown] == [
        (VatCategory.STANDARD, D("21"))
    ]


def test_upload_routing_of_foreign_buyers(settings: Settings) -> None:
    """Since 1 January 2026 a buyer registered for VAT in Romania but not established here is
    in e-Factura's B2B scope: ``upload`` without ``extern``. A foreign company whose legal id is
    all digits (an ABN) is not a Romanian CUI: ``extern=DA``."""
    ro_vat = build(company_sale({"type": "eu_vat", "value": "RO34567892"}, VIENNA), settings)
    abn = build(company_sale({"type": "au_abn", "value": "12345678901"}, SYDNEY), settings)
    assert ro_vat.invoice is not None and abn.invoice is not None

    def mode(res: BuildResult) -> dict[str, bool]:
        assert res.invoice is not None
        return upload_mode(invoice_to_json(res.invoice))

    assert mode(ro_vat) == {"b2c": False, "extern": False}
    assert mode(abn) == {"b2c": False, "extern": True}


def test_intra_community_delivery_without_a_full_shipping_address_is_a_problem(
    settings: Settings,
) -> None:
    """BR-IC-12 / BR-RO-180: the delivery is the shipping address; without a street there it
    is named, never replaced by the billing address."""
    goods = settings.with_(vat=replace(settings.vat, supplies="goods"))
    de = {"line1": "Hauptstr. 1", "city": "Berlin", "postal_code": "10115", "country": "DE"}
    sale = company_sale(
        {"type": "eu_vat", "value": "DE123456789"},
        de,
        payment_intent={"id": "pi_1", "metadata": {}, "shipping": {"address": {"country": "DE"}}},
    )
    res = build(sale, goods)
    assert [b.tax.category for b in res.vat_breakdown] == [VatCategory.INTRA_COMMUNITY]
    assert {(p.code, p.field) for p in res.problems} >= {
        ("P-DELIVERY-ADDRESS-INCOMPLETE", "buyer.address.line1"),
        ("P-DELIVERY-ADDRESS-INCOMPLETE", "buyer.address.city"),
    }


def test_supplies_setting_is_checked() -> None:
    assert _vat_policy({"supplies": "goods"}).supplies == "goods"
    assert _vat_policy({}).supplies == "services"
    with pytest.raises(ConfigError):
        _vat_policy({"supplies": "both"})


def test_shipping_goes_with_the_goods_it_carries_art_286_1_b(settings: Settings) -> None:
    """Art. 286 (1) b): transport charged with goods is part of their supply, so an export's
    shipping line is G too (``invoicing/basket.py``), never O beside G (BR-O-11)."""
    goods = {"id": "prod_g", "name": "Cană", "tax_code": "txcd_99999999"}
    sale = company_sale(
        {"type": "gb_vat", "value": "GB123456789"},
        LONDON,
        line_items=[{"quantity": 1, "amount_total": 18000, "price": {"product": goods}}],
    )
    session = {**sale.objects["checkout_session"], "shipping_cost": {"amount_total": 2000}}
    sale = replace(sale, objects={**sale.objects, "checkout_session": session})
    res = build(sale, settings)
    assert res.problems == ()
    assert [(ln.name, ln.tax.category) for ln in res.lines] == [
        ("Cană", VatCategory.EXPORT),
        ("Transport", VatCategory.EXPORT),
    ]


def test_an_exemption_without_its_letter_warns(settings: Settings) -> None:
    """Art. 319 (20) l): the default E mention cites art. 292 (1) but cannot know the letter;
    the merchant is told to configure the exact VATEX code, which then gives no warning."""
    generic = settings.with_(vat=VatPolicy(default_category=VatCategory.EXEMPT))
    res = build(make_sale(5000), generic)
    assert res.invoice is not None
    assert [p.code for p in res.warnings] == ["P-VAT-EXEMPTION-GENERIC"]
    exact = settings.with_(
        vat=VatPolicy(default_category=VatCategory.EXEMPT, exemption_code="VATEX-EU-132-1I")
    )
    assert build(make_sale(5000), exact).warnings == ()


@pytest.mark.parametrize(
    ("typed", "vat_id", "problem_code"),
    [
        ("GB 123 4567 89", "GB123456789", None),
        ("CHE-123.456.789 MWST", "CHE123456789MWST", None),
        ("DE123456789", "DE123456789", None),
        ("DE12", None, "P-VAT-ID-INVALID"),
        ("ZZ123456789", None, "P-VAT-ID-INVALID"),
    ],
)
def test_a_typed_vat_id_of_a_country_outside_the_eu_is_kept(
    settings: Settings, typed: str, vat_id: str | None, problem_code: str | None
) -> None:
    """Metadata ``vat_id`` typed by the merchant: an EU id is format-checked, one with the
    prefix of a country outside the EU is kept (it no longer blocks the payment)."""
    sale = make_sale(
        20000,
        billing={"name": "Buyer Ltd", "address": LONDON},
        payment_intent={"id": "pi_1", "metadata": {"vat_id": typed}},
    )
    # goods exported (G) keep the buyer VAT id in BT-48 (an O invoice would move it, BR-O-02)
    res = build(sale, settings.with_(vat=replace(settings.vat, supplies="goods")))
    assert res.buyer is not None
    assert res.buyer.vat_id == vat_id
    assert [p.code for p in res.problems if p.code.startswith("P-VAT-ID")] == (
        [problem_code] if problem_code else []
    )
