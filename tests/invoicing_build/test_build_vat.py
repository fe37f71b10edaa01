"""VAT categories and rates by date, EN 16931 totals to the ban, currencies, the preview."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from stripe_efactura.config import Settings, VatPolicy
from stripe_efactura.intake.draft import draft_of
from stripe_efactura.invoicing.build import build_invoice, issue_date_of
from stripe_efactura.invoicing.model import FxInfo, TaxClass, VatCategory
from stripe_efactura.invoicing.preview import preview_dict
from stripe_efactura.invoicing.totals import PricedLine, compute, unit_price

from .conftest import make_sale

D = Decimal
S21 = TaxClass(VatCategory.STANDARD, D(21))


def _items(*items: str) -> dict[str, object]:
    md = {f"Order Item #{i}": v for i, v in enumerate(items, 1)}
    return {"payment_intent": {"id": "pi_1", "metadata": md}}


def test_issue_date_is_bucharest_date() -> None:
    assert issue_date_of(datetime(2026, 11, 20, 22, 30, tzinfo=UTC)) == date(2026, 11, 21)
    assert issue_date_of(datetime(2026, 7, 31, 20, 59, tzinfo=UTC)) == date(2026, 7, 31)
    assert issue_date_of(datetime(2026, 7, 31, 21, 0, tzinfo=UTC)) == date(2026, 8, 1)


@pytest.mark.parametrize(
    ("paid_at", "rate", "net", "vat"),
    [
        (datetime(2025, 7, 31, 20, 0, tzinfo=UTC), D(19), D("101.68"), D("19.32")),
        # 23:30 Bucharest on 31 July is still the 19 % day; 00:30 on 1 August is 21 %.
        (datetime(2025, 7, 31, 21, 30, tzinfo=UTC), D(21), D("100.00"), D("21.00")),
        (datetime(2026, 11, 20, 10, 0, tzinfo=UTC), D(21), D("100.00"), D("21.00")),
    ],
)
def test_default_standard_rate_by_issue_date(
    settings: Settings, paid_at: datetime, rate: Decimal, net: Decimal, vat: Decimal
) -> None:
    res = build_invoice(
        draft_of(make_sale(12100, paid_at=paid_at)), settings.invoicing, number="T1", fx=None
    )
    assert res.invoice is not None, res.problems
    (b,) = res.invoice.vat_breakdown
    assert (b.tax.category, b.tax.rate, b.taxable_amount, b.tax_amount) == (
        VatCategory.STANDARD,
        rate,
        net,
        vat,
    )
    t = res.invoice.totals
    assert (
        t.line_net_total,
        t.tax_exclusive,
        t.tax_total,
        t.tax_inclusive,
        t.prepaid,
        t.payable,
    ) == (
        net,
        net,
        vat,
        D("121.00"),
        D("121.00"),
        D("0.00"),
    )


def test_reduced_and_housing_rates(settings: Settings) -> None:
    reduced = settings.with_(vat=VatPolicy(default_rate="reduced"))
    res = build_invoice(draft_of(make_sale(11100)), reduced.invoicing, number="T1", fx=None)
    assert res.invoice is not None
    assert res.invoice.vat_breakdown[0].tax.rate == D(11)
    housing = settings.with_(vat=VatPolicy(default_rate="housing"))
    ok = build_invoice(
        draft_of(make_sale(10900, paid_at=datetime(2026, 7, 1, 9, tzinfo=UTC))),
        housing.invoicing,
        number="T1",
        fx=None,
    )
    assert ok.invoice is not None and ok.invoice.vat_breakdown[0].tax.rate == D(9)
    late = build_invoice(draft_of(make_sale(10900)), housing.invoicing, number="T1", fx=None)
    assert [p.code for p in late.problems] == ["P-VAT-RATE-UNKNOWN"]
    assert late.invoice is None


def test_percent_default_rate_must_be_in_force(settings: Settings) -> None:
    bad = settings.with_(vat=VatPolicy(default_rate="19"))
    res = build_invoice(draft_of(make_sale(11900)), bad.invoicing, number="T1", fx=None)
    assert [p.code for p in res.problems] == ["P-VAT-RATE-UNKNOWN"]


def test_seller_not_vat_payer_gets_category_o(settings: Settings) -> None:
    s = settings.with_(company=replace(settings.company, vat_payer=False))
    billing = {
        "name": "Firma X",
        "address": {"line1": "Str. A 1", "city": "Cluj-Napoca", "state": "Cluj", "country": "RO"},
    }
    sale = make_sale(
        12100,
        billing=billing,
        payment_intent={"id": "pi_1", "metadata": {"cui": "RO18547290"}},
    )
    res = build_invoice(draft_of(sale), s.invoicing, number="T1", fx=None)
    assert res.invoice is not None, res.problems
    inv = res.invoice
    (b,) = inv.vat_breakdown
    assert (b.tax.category, b.tax.exemption_code, b.taxable_amount, b.tax_amount) == (
        VatCategory.NOT_SUBJECT,
        "VATEX-EU-O",
        D("121.00"),
        D("0.00"),
    )
    assert inv.seller.vat_id is None and inv.seller.legal_id == "18547290"
    assert inv.buyer.vat_id is None and inv.buyer.legal_id == "18547290"  # BR-O-02


def test_eu_b2b_reverse_charge(settings: Settings) -> None:
    billing = {
        "name": "Muster GmbH",
        "address": {
            "line1": "Hauptstr. 1",
            "city": "Berlin",
            "postal_code": "10115",
            "country": "DE",
        },
    }
    sale = make_sale(
        50000,
        "EUR",
        owner_type="checkout_session",
        billing=billing,
        checkout_session={
            "id": "cs_1",
            "customer_details": {"tax_ids": [{"type": "eu_vat", "value": "DE123456789"}]},
        },
    )
    fx = FxInfo(D("5.0861"), date(2026, 11, 19))
    res = build_invoice(draft_of(sale), settings.invoicing, number="T1", fx=fx)
    assert res.invoice is not None, res.problems
    inv = res.invoice
    (b,) = inv.vat_breakdown
    reason = "Taxare inversă (art. 278 alin. (2) Cod fiscal; art. 196 Directiva 2006/112/CE)"
    assert b.tax == TaxClass(VatCategory.REVERSE_CHARGE, D(0), "VATEX-EU-AE", reason)
    assert (b.taxable_amount, b.tax_amount) == (D("500.00"), D("0.00"))
    assert inv.buyer.vat_id == "DE123456789"
    assert inv.totals.tax_total_ron == D("0.00")
    assert inv.tax_currency == "RON"
    off = settings.with_(vat=VatPolicy(reverse_charge_eu_b2b=False))
    res2 = build_invoice(draft_of(sale), off.invoicing, number="T1", fx=fx)
    assert res2.invoice is not None
    assert res2.invoice.vat_breakdown[0].tax.category is VatCategory.STANDARD


def test_ro_company_with_plain_cui_is_not_reverse_charge(settings: Settings) -> None:
    sale = make_sale(12100, payment_intent={"id": "pi_1", "metadata": {"cui": "18547290"}})
    res = build_invoice(draft_of(sale), settings.invoicing, number="T1", fx=None)
    assert res.invoice is not None
    assert res.invoice.vat_breakdown[0].tax.category is VatCategory.STANDARD


def test_stripe_tax_exclusive_invoice(settings: Settings) -> None:
    invoice = {
        "id": "in_1",
        "lines": {
            "data": [
                {
                    "amount": 10000,
                    "quantity": 1,
                    "description": "1 × Plan (at 100.00 lei / month)",
                    "taxes": [
                        {
                            "amount": 2100,
                            "tax_behavior": "exclusive",
                            "tax_rate_details": {"tax_rate": "txr_21"},
                            "taxability_reason": "standard_rated",
                            "taxable_amount": 10000,
                        }
                    ],
                },
                {
                    "amount": 5000,
                    "quantity": 2,
                    "description": "Carte",
                    "taxes": [
                        {
                            "amount": 550,
                            "tax_behavior": "exclusive",
                            "tax_rate_details": {"tax_rate": "txr_11"},
                            "taxability_reason": "reduced_rated",
                        }
                    ],
                },
            ]
        },
    }
    sale = make_sale(
        17650,
        owner_type="invoice",
        invoice=invoice,
        tax_rates={"txr_21": {"percentage": 21.0}, "txr_11": {"percentage": 11}},
    )
    res = build_invoice(draft_of(sale), settings.invoicing, number="T1", fx=None)
    assert res.invoice is not None, res.problems
    inv = res.invoice
    assert [(b.tax.rate, b.taxable_amount, b.tax_amount) for b in inv.vat_breakdown] == [
        (D(21), D("100.00"), D("21.00")),
        (D(11), D("50.00"), D("5.50")),
    ]
    assert [(ln.quantity, ln.unit_price, ln.net_amount) for ln in inv.lines] == [
        (D(1), D("100.00"), D("100.00")),
        (D(2), D("25.00"), D("50.00")),
    ]
    assert inv.totals.tax_inclusive == D("176.50")


def test_stripe_tax_inclusive_checkout_uses_stripe_amounts(settings: Settings) -> None:
    sale = make_sale(
        10000,
        owner_type="checkout_session",
        checkout_session={"id": "cs_1"},
        line_items=[
            {
                "description": "Curs",
                "quantity": 3,
                "amount_total": 10000,
                "amount_tax": 1736,
                "taxes": [
                    {
                        "amount": 1736,
                        "rate": {"id": "txr_1", "percentage": 21, "inclusive": True},
                        "taxability_reason": "standard_rated",
                    }
                ],
            }
        ],
    )
    res = build_invoice(draft_of(sale), settings.invoicing, number="T1", fx=None)
    assert res.invoice is not None, res.problems
    (ln,) = res.invoice.lines
    assert (ln.quantity, ln.unit_price, ln.net_amount, ln.gross_amount) == (
        D(3),
        D("27.547"),
        D("82.64"),
        D("100.00"),
    )
    assert res.invoice.vat_breakdown[0].tax_amount == D("17.36")


def test_stripe_tax_rate_inferred_when_rate_object_missing(settings: Settings) -> None:
    sale = make_sale(
        12100,
        owner_type="checkout_session",
        checkout_session={"id": "cs_1"},
        line_items=[{"description": "X", "quantity": 1, "amount_total": 12100, "amount_tax": 2100}],
    )
    res = build_invoice(draft_of(sale), settings.invoicing, number="T1", fx=None)
    assert res.invoice is not None
    assert res.invoice.vat_breakdown[0].tax.rate == D(21)
    odd = make_sale(
        12100,
        owner_type="checkout_session",
        checkout_session={"id": "cs_1"},
        line_items=[{"description": "X", "quantity": 1, "amount_total": 12100, "amount_tax": 1700}],
    )
    res2 = build_invoice(draft_of(odd), settings.invoicing, number="T1", fx=None)
    assert [p.code for p in res2.problems] == ["P-VAT-RATE-UNKNOWN"]


def test_stripe_rate_not_romanian_is_a_problem(settings: Settings) -> None:
    sale = make_sale(
        11900,
        owner_type="checkout_session",
        checkout_session={"id": "cs_1"},
        line_items=[
            {
                "description": "X",
                "quantity": 1,
                "amount_total": 11900,
                "amount_tax": 1900,
                "taxes": [
                    {
                        "amount": 1900,
                        "rate": {"percentage": 19},
                        "taxability_reason": "standard_rated",
                    }
                ],
            }
        ],
    )
    res = build_invoice(draft_of(sale), settings.invoicing, number="T1", fx=None)
    assert [p.code for p in res.problems] == ["P-VAT-RATE-UNKNOWN"]


def test_multiple_taxes_on_a_line_is_a_problem(settings: Settings) -> None:
    sale = make_sale(
        13000,
        owner_type="invoice",
        invoice={
            "id": "in_1",
            "lines": {
                "data": [
                    {
                        "amount": 10000,
                        "quantity": 1,
                        "taxes": [
                            {
                                "amount": 2100,
                                "tax_behavior": "exclusive",
                                "tax_rate_details": {"tax_rate": "txr_a"},
                            },
                            {
                                "amount": 900,
                                "tax_behavior": "exclusive",
                                "tax_rate_details": {"tax_rate": "txr_b"},
                            },
                        ],
                    }
                ]
            },
        },
    )
    res = build_invoice(draft_of(sale), settings.invoicing, number="T1", fx=None)
    assert [p.code for p in res.problems] == ["P-VAT-MULTIPLE-RATES"]


def test_stripe_reverse_charge_reason(settings: Settings) -> None:
    sale = make_sale(
        10000,
        owner_type="checkout_session",
        checkout_session={"id": "cs_1"},
        line_items=[
            {
                "description": "X",
                "quantity": 1,
                "amount_total": 10000,
                "amount_tax": 0,
                "taxes": [
                    {"amount": 0, "rate": {"percentage": 0}, "taxability_reason": "reverse_charge"}
                ],
            }
        ],
    )
    res = build_invoice(draft_of(sale), settings.invoicing, number="T1", fx=None)
    assert res.invoice is not None, res.problems
    assert res.invoice.vat_breakdown[0].tax.category is VatCategory.REVERSE_CHARGE


def test_exempt_default_category(settings: Settings) -> None:
    s = settings.with_(
        vat=VatPolicy(default_category=VatCategory.EXEMPT, exemption_code="VATEX-EU-132-1I")
    )
    res = build_invoice(draft_of(make_sale(5000)), s.invoicing, number="T1", fx=None)
    assert res.invoice is not None, res.problems
    (b,) = res.invoice.vat_breakdown
    assert (b.tax.category, b.tax.exemption_code, b.taxable_amount, b.tax_amount) == (
        VatCategory.EXEMPT,
        "VATEX-EU-132-1I",
        D("50.00"),
        D("0.00"),
    )


def test_prices_exclusive_metadata_adds_vat(settings: Settings) -> None:
    s = settings.with_(vat=VatPolicy(prices_include_vat=False))
    sale = make_sale(12100, **_items("A, 2, 60", "B, 1, 40"))
    res = build_invoice(draft_of(sale), s.invoicing, number="T1", fx=None)
    assert res.invoice is not None, res.problems
    assert [ln.net_amount for ln in res.invoice.lines] == [D("60.00"), D("40.00")]
    assert res.invoice.totals.tax_total == D("21.00")
    assert res.invoice.totals.tax_inclusive == D("121.00")


def test_mixed_rates_from_metadata(settings: Settings) -> None:
    md = {
        "lineitem1": '{"productname":"Carte","quantity":"1","itemtotal":"111","vat":"11"}',
        "lineitem2": '{"productname":"Pix","quantity":"1","itemtotal":"12.10"}',
    }
    res = build_invoice(
        draft_of(make_sale(12310, payment_intent={"id": "pi_1", "metadata": md})),
        settings.invoicing,
        number="T1",
        fx=None,
    )
    assert res.invoice is not None, res.problems
    assert [(b.tax.rate, b.taxable_amount, b.tax_amount) for b in res.invoice.vat_breakdown] == [
        (D(11), D("100.00"), D("11.00")),
        (D(21), D("10.00"), D("2.10")),
    ]


def test_inclusive_rounding_spreads_bani_and_total_is_exact(settings: Settings) -> None:
    # three lines of 0.10 at 21 %: per line 0.08 net, the class 0.25 net -> one line gets +1 ban
    sale = make_sale(30, **_items("A, 1, 0.10", "B, 1, 0.10", "C, 1, 0.10"))
    res = build_invoice(draft_of(sale), settings.invoicing, number="T1", fx=None)
    assert res.invoice is not None, res.problems
    inv = res.invoice
    assert [ln.net_amount for ln in inv.lines] == [D("0.09"), D("0.08"), D("0.08")]
    (b,) = inv.vat_breakdown
    assert (b.taxable_amount, b.tax_amount) == (D("0.25"), D("0.05"))
    assert inv.totals.tax_inclusive == D("0.30")


def test_compute_brco_rules_hold() -> None:
    lines = [PricedLine(S21, "incl", D(v)) for v in ("19.99", "0.01", "7.77", "1234.56")]
    c = compute(lines)
    (b,) = c.breakdown
    assert sum(c.nets) == b.taxable_amount == D("1043.25")
    assert b.tax_amount == D("219.08")
    assert b.taxable_amount + b.tax_amount == D("1262.33")
    assert abs(b.tax_amount - (b.taxable_amount * D("0.21")).quantize(D("0.01"))) <= D("0.01")
    assert c.problems == ()


@pytest.mark.parametrize(
    ("net", "qty", "price", "signed_qty"),
    [
        (D("100.00"), D(4), D("25.00"), D(4)),
        (D("82.64"), D(3), D("27.547"), D(3)),
        (D("10.00"), D(3), D("3.333"), D(3)),
        (D("-10.00"), D(1), D("10.00"), D(-1)),
        (D("0.00"), D(2), D("0.00"), D(2)),
    ],
)
def test_unit_price(net: Decimal, qty: Decimal, price: Decimal, signed_qty: Decimal) -> None:
    assert unit_price(net, qty) == (price, signed_qty)
    assert (price * abs(signed_qty)).quantize(D("0.01")) == abs(net)


def test_proration_credit_line_has_negative_quantity(settings: Settings) -> None:
    invoice = {
        "id": "in_1",
        "lines": {
            "data": [
                {"amount": 12100, "quantity": 1, "description": "Plan Pro"},
                {"amount": -6050, "quantity": 1, "description": "Unused time on Plan Pro"},
            ]
        },
    }
    res = build_invoice(
        draft_of(make_sale(6050, owner_type="invoice", invoice=invoice)),
        settings.invoicing,
        number="T1",
        fx=None,
    )
    assert res.invoice is not None, res.problems
    assert [(ln.quantity, ln.unit_price, ln.net_amount) for ln in res.invoice.lines] == [
        (D(1), D("100.00"), D("100.00")),
        (D(-1), D("50.00"), D("-50.00")),
    ]
    assert res.invoice.totals.tax_inclusive == D("60.50")


# --- currencies ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("currency", "amount", "total", "net", "vat"),
    [
        ("RON", 12345, D("123.45"), D("102.02"), D("21.43")),
        ("EUR", 12345, D("123.45"), D("102.02"), D("21.43")),
        ("JPY", 1000, D("1000.00"), D("826.45"), D("173.55")),
        ("KWD", 12340, D("12.34"), D("10.20"), D("2.14")),
    ],
)
def test_currency_exponents(
    settings: Settings, currency: str, amount: int, total: Decimal, net: Decimal, vat: Decimal
) -> None:
    fx = None if currency == "RON" else FxInfo(D("0.5"), date(2026, 11, 19))
    res = build_invoice(
        draft_of(make_sale(amount, currency)), settings.invoicing, number="T1", fx=fx
    )
    assert res.invoice is not None, res.problems
    t = res.invoice.totals
    assert (t.tax_inclusive, t.line_net_total, t.tax_total) == (total, net, vat)
    assert res.warnings == ()


def test_three_decimal_amount_is_rounded_with_a_warning(settings: Settings) -> None:
    fx = FxInfo(D("14.2"), date(2026, 11, 19))
    sale = make_sale(12345, "KWD", **_items("A, 1, 6.172", "B, 1, 6.173"))
    res = build_invoice(draft_of(sale), settings.invoicing, number="T1", fx=fx)
    assert res.invoice is not None, res.problems
    assert [ln.gross_amount for ln in res.invoice.lines] == [D("6.17"), D("6.18")]
    assert res.invoice.totals.tax_inclusive == D("12.35")
    assert [w.code for w in res.warnings] == ["P-AMOUNT-ROUNDED"]


def test_foreign_currency_needs_fx_and_states_vat_in_ron(settings: Settings) -> None:
    sale = make_sale(12100, "EUR")
    waiting = build_invoice(draft_of(sale), settings.invoicing, number="T1", fx=None)
    assert (waiting.invoice, waiting.needs_fx, waiting.problems) == (None, True, ())
    fx = FxInfo(D("5.0861"), date(2026, 11, 19))
    res = build_invoice(draft_of(sale), settings.invoicing, number="T1", fx=fx)
    assert res.invoice is not None
    assert res.invoice.totals.tax_total == D("21.00")
    assert res.invoice.totals.tax_total_ron == D("106.81")
    assert (res.invoice.fx, res.invoice.tax_currency) == (fx, "RON")


def test_currency_without_bnr_rate_is_unsupported(settings: Settings) -> None:
    res = build_invoice(draft_of(make_sale(1234, "KWD")), settings.invoicing, number="T1", fx=None)
    assert (res.needs_fx, [p.code for p in res.problems]) == (False, ["P-CURRENCY-UNSUPPORTED"])
    bad = build_invoice(draft_of(make_sale(100, "X1")), settings.invoicing, number="T1", fx=None)
    assert [p.code for p in bad.problems] == ["P-CURRENCY-UNSUPPORTED"]


def test_mismatch_is_reported_with_amounts(settings: Settings) -> None:
    res = build_invoice(
        draft_of(make_sale(20000, **_items("A, 1, 100"))), settings.invoicing, number="T1", fx=None
    )
    assert res.invoice is None
    (p,) = res.problems
    assert p.code == "P-LINES-MISMATCH"
    assert p.message_en == (
        "The invoice lines (metadata.payment_intent.order_item) add up to 100,00 RON but "
        "Stripe collected 200,00 RON."
    )


def test_seller_profile_problems(settings: Settings) -> None:
    from stripe_efactura.invoicing.model import Address

    company = replace(
        settings.company, cui="123", address=Address(line1="", city="X", country="RO")
    )
    res = build_invoice(
        draft_of(make_sale()), settings.with_(company=company).invoicing, number="T1", fx=None
    )
    assert [(p.code, p.field) for p in res.problems] == [
        ("P-SELLER-PROFILE-INCOMPLETE", "company.address.line1"),
        ("P-SELLER-CUI-INVALID", "company.cui"),
        ("P-SELLER-PROFILE-INCOMPLETE", "company.address.county"),
    ]


def test_invoice_fields_and_preview(settings: Settings) -> None:
    sale = make_sale(
        23200,
        payment_intent={
            "id": "pi_1",
            "metadata": {"Order Item #1": "123id121, Nume produs, 3, 232.0", "order_id": "1234"},
        },
    )
    res = build_invoice(draft_of(sale), settings.invoicing, number="TEST000001", fx=None)
    inv = res.invoice
    assert inv is not None, res.problems
    assert (inv.number, inv.issue_date, inv.currency, inv.order_reference, inv.payment_key) == (
        "TEST000001",
        date(2026, 11, 20),
        "RON",
        "1234",
        "pi_1",
    )
    assert inv.seller.vat_id == "RO18547290" and inv.seller.address.county == "RO-B"
    assert inv.payment is not None
    assert (inv.payment.means_code, inv.payment.method_label) == ("48", "Card Visa •••• 4242")
    data = preview_dict(res)
    json.dumps(data)  # JSON-able
    assert data["lines"] == [
        {
            "id": "1",
            "name": "Nume produs",
            "description": None,
            "quantity": "3",
            "unit_code": "H87",
            "unit_price": "63.913",
            "net_amount": "191.74",
            "gross_amount": "232.00",
            "tax": {
                "category": "S",
                "rate": "21",
                "exemption_code": None,
                "exemption_reason": None,
            },
            "seller_item_id": "123id121",
        }
    ]
    assert data["totals"] == {
        "line_net_total": "191.74",
        "tax_exclusive": "191.74",
        "tax_total": "40.26",
        "tax_inclusive": "232.00",
        "prepaid": "232.00",
        "payable": "0.00",
        "tax_total_ron": None,
    }
    assert (
        data["ok"] is True
        and data["problems"] == []
        and data["line_source"] == "metadata.payment_intent.order_item"
    )


def test_long_names_are_cut_with_a_warning(settings: Settings) -> None:
    name = "Produs " + "x" * 120
    res = build_invoice(
        draft_of(make_sale(1000, **_items(f"{name}, 1, 10"))),
        settings.invoicing,
        number="T1",
        fx=None,
    )
    assert res.invoice is not None
    (ln,) = res.invoice.lines
    assert len(ln.name) == 100 and ln.name.endswith("…") and ln.description == name
    assert [w.code for w in res.warnings] == ["P-LINE-NAME-TRUNCATED"]


def test_inputs_are_not_mutated(settings: Settings) -> None:
    sale = make_sale(23200, **_items("A, 1, 232"))
    before = json.dumps(dict(sale.objects), sort_keys=True, default=str)
    build_invoice(draft_of(sale), settings.invoicing, number="T1", fx=None)
    assert json.dumps(dict(sale.objects), sort_keys=True, default=str) == before


_GOODS = {"id": "prod_g", "name": "Cană", "tax_code": "txcd_99999999"}
_SERVICE = {"id": "prod_s", "name": "Curs", "tax_code": "txcd_10000000"}
_DE_ADDRESS = {"line1": "Hauptstr. 1", "city": "Berlin", "postal_code": "10115", "country": "DE"}
_DE_COMPANY = {"name": "Muster GmbH", "address": {**_DE_ADDRESS, "state": "Berlin"}}
_DE_NO_STATE = {"name": "Muster GmbH", "address": _DE_ADDRESS}
_US = {
    "name": "John Doe",
    "address": {"line1": "1 Main St", "city": "Springfield", "state": "IL", "country": "US"},
}


@pytest.mark.parametrize(
    ("reason", "product", "billing", "category", "exemption"),
    [
        ("standard_rated", _SERVICE, None, VatCategory.STANDARD, None),
        ("zero_rated", _SERVICE, None, VatCategory.ZERO, None),
        ("zero_rated", _GOODS, _US, VatCategory.EXPORT, "VATEX-EU-G"),
        ("reverse_charge", _SERVICE, _DE_COMPANY, VatCategory.REVERSE_CHARGE, "VATEX-EU-AE"),
        ("reverse_charge", _GOODS, _DE_COMPANY, VatCategory.INTRA_COMMUNITY, "VATEX-EU-IC"),
        ("product_exempt", _SERVICE, None, VatCategory.EXEMPT, "VATEX-EU-132"),
        ("not_subject_to_tax", _SERVICE, _US, VatCategory.NOT_SUBJECT, "VATEX-EU-O"),
        ("not_collecting", _GOODS, _US, VatCategory.EXPORT, "VATEX-EU-G"),
    ],
)
def test_stripe_taxability_reason_to_category(
    settings: Settings,
    reason: str,
    product: dict[str, str],
    billing: dict[str, object] | None,
    category: VatCategory,
    exemption: str | None,
) -> None:
    rate = 21 if reason == "standard_rated" else 0
    tax = 2100 if rate else 0
    sale = make_sale(
        12100 if rate else 10000,
        "EUR",
        owner_type="checkout_session",
        billing=billing,
        checkout_session={"id": "cs_1"},
        line_items=[
            {
                "quantity": 1,
                "amount_total": 12100 if rate else 10000,
                "amount_tax": tax,
                "price": {"id": "price_1", "product": product},
                "taxes": [
                    {"amount": tax, "rate": {"percentage": rate}, "taxability_reason": reason}
                ],
            }
        ],
    )
    res = build_invoice(
        draft_of(sale), settings.invoicing, number="T1", fx=FxInfo(D("5"), date(2026, 11, 19))
    )
    assert res.invoice is not None, res.problems
    (b,) = res.invoice.vat_breakdown
    assert (b.tax.category, b.tax.exemption_code, b.taxable_amount) == (
        category,
        exemption,
        D("100.00"),
    )


def test_policy_reverse_charge_for_goods_is_intra_community(settings: Settings) -> None:
    sale = make_sale(
        10000,
        "EUR",
        owner_type="checkout_session",
        billing=_DE_NO_STATE,
        checkout_session={
            "id": "cs_1",
            "customer_details": {"tax_ids": [{"type": "eu_vat", "value": "DE123456789"}]},
        },
        line_items=[
            {"quantity": 2, "amount_total": 10000, "price": {"id": "p", "product": _GOODS}}
        ],
    )
    res = build_invoice(
        draft_of(sale), settings.invoicing, number="T1", fx=FxInfo(D("5"), date(2026, 11, 19))
    )
    # no region outside Romania is fine: the renderer repeats the city (BR-RO-211)
    assert res.problems == ()
    assert res.invoice is not None and res.invoice.delivery_address is not None
    assert res.invoice.delivery_address.county is None
    assert res.vat_breakdown[0].tax.category is VatCategory.INTRA_COMMUNITY
    no_street = replace(
        sale,
        objects={
            **sale.objects,
            "charge": {"billing_details": {**_DE_NO_STATE, "address": {"country": "DE"}}},
        },
    )
    res0 = build_invoice(
        draft_of(no_street), settings.invoicing, number="T1", fx=FxInfo(D("5"), date(2026, 11, 19))
    )
    assert ("P-DELIVERY-ADDRESS-INCOMPLETE", "buyer.address.line1") in [
        (p.code, p.field) for p in res0.problems
    ]
    sale2 = replace(sale, objects={**sale.objects, "charge": {"billing_details": _DE_COMPANY}})
    res2 = build_invoice(
        draft_of(sale2), settings.invoicing, number="T1", fx=FxInfo(D("5"), date(2026, 11, 19))
    )
    assert res2.invoice is not None, res2.problems
    assert (res2.invoice.delivery_date, res2.invoice.delivery_address) == (
        date(2026, 11, 20),
        res2.invoice.buyer.address,
    )
    assert res2.invoice.buyer.address.county == "Berlin"


def test_not_vat_payer_uses_configured_o_reason(settings: Settings) -> None:
    s = settings.with_(
        company=replace(settings.company, vat_payer=False),
        vat=VatPolicy(
            default_category=VatCategory.NOT_SUBJECT,
            exemption_reason="Neplătitor de TVA (art. 310 Cod fiscal)",
        ),
    )
    res = build_invoice(draft_of(make_sale(5000)), s.invoicing, number="T1", fx=None)
    assert res.invoice is not None, res.problems
    assert res.invoice.vat_breakdown[0].tax == TaxClass(
        VatCategory.NOT_SUBJECT, D(0), "VATEX-EU-O", "Neplătitor de TVA (art. 310 Cod fiscal)"
    )
