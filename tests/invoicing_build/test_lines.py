"""Line sources in their precedence, shipping and discounts, and the totals they give."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from stripe_efactura.config import Settings
from stripe_efactura.intake.draft import draft_of
from stripe_efactura.invoicing.build import build_invoice
from stripe_efactura.invoicing.draft import RawLine
from stripe_efactura.invoicing.lines import settle_lines

from .conftest import make_sale

D = Decimal


def _summary(lines: tuple[RawLine, ...]) -> list[tuple[Any, ...]]:
    return [
        (ln.name, ln.quantity, ln.amount, ln.amount_includes_tax, ln.tax_amount, ln.kind)
        for ln in lines
    ]


INVOICE = {
    "id": "in_1",
    "lines": {
        "has_more": True,
        "data": [{"amount": 1, "quantity": 1, "description": "first page only"}],
    },
    "shipping_cost": None,
}
INVOICE_LINES = [
    {
        "amount": 10000,
        "quantity": 2,
        "description": "2 × Plan (at 50.00 lei / month)",
        "discount_amounts": [{"amount": 1000, "discount": "di_1"}],
        "pricing": {
            "type": "price_details",
            "price_details": {"price": "price_1", "product": "prod_1"},
        },
    },
    {"amount": 2100, "quantity": 1, "description": "Setup"},
]


def test_sources_in_precedence(settings: Settings) -> None:
    md = {"Order Item #1": "A, 1, 10"}
    both = make_sale(
        1000,
        owner_type="invoice",
        invoice=INVOICE,
        invoice_lines=INVOICE_LINES,
        payment_intent={"id": "pi_1", "metadata": {}},
        checkout_session={"id": "cs_1", "metadata": md},
        line_items=[{"description": "X", "quantity": 1, "amount_total": 1000}],
    )
    assert (
        settle_lines(draft_of(both), settings.vat).source == "metadata.checkout_session.order_item"
    )
    rows = [
        (
            {
                "owner_type": "invoice",
                "invoice": INVOICE,
                "invoice_lines": INVOICE_LINES,
                "line_items": [{"amount_total": 1}],
            },
            "invoice_lines",
        ),
        (
            {
                "owner_type": "checkout_session",
                "line_items": [{"description": "X", "amount_total": 1}],
                "amount_details_line_items": [{"product_name": "Y", "unit_cost": 1, "quantity": 1}],
            },
            "line_items",
        ),
        (
            {"amount_details_line_items": [{"product_name": "Y", "unit_cost": 1, "quantity": 1}]},
            "amount_details_line_items",
        ),
        ({}, "single_line"),
    ]
    for objects, source in rows:
        assert settle_lines(draft_of(make_sale(1, **objects)), settings.vat).source == source


def test_invoice_lines_all_pages_discounts_and_product_names(settings: Settings) -> None:
    sale = make_sale(
        11100,
        owner_type="invoice",
        invoice=INVOICE,
        invoice_lines=INVOICE_LINES,
        products={"prod_1": {"id": "prod_1", "name": "Plan Pro"}},
    )
    res = settle_lines(draft_of(sale), settings.vat)
    assert _summary(res.lines) == [
        ("Plan Pro", D(2), D("90.00"), True, None, "item"),
        ("Setup", D(1), D("21.00"), True, None, "item"),
    ]
    assert res.lines[0].description == "2 × Plan (at 50.00 lei / month)"
    assert res.lines[0].item_id == "price_1"
    built = build_invoice(draft_of(sale), settings.invoicing, number="T1", fx=None)
    assert built.invoice is not None, built.problems
    assert [(ln.quantity, ln.unit_price, ln.net_amount) for ln in built.invoice.lines] == [
        (D(2), D("37.19"), D("74.38")),
        (D(1), D("17.36"), D("17.36")),
    ]
    assert built.invoice.totals.tax_inclusive == D("111.00")


def test_invoice_pre_basil_tax_amounts(settings: Settings) -> None:
    invoice = {
        "id": "in_1",
        "lines": {
            "data": [
                {
                    "amount": 12100,
                    "quantity": 1,
                    "description": "Plan",
                    "price": {"id": "price_9", "product": {"id": "prod_9", "name": "Plan Vechi"}},
                    "tax_amounts": [
                        {
                            "amount": 2100,
                            "inclusive": True,
                            "tax_rate": {"id": "txr_1", "percentage": 21},
                        }
                    ],
                }
            ]
        },
    }
    res = settle_lines(
        draft_of(make_sale(12100, owner_type="invoice", invoice=invoice)), settings.vat
    )
    (ln,) = res.lines
    assert (ln.name, ln.amount, ln.amount_includes_tax, ln.tax_amount, ln.tax_rate, ln.item_id) == (
        "Plan Vechi",
        D("121.00"),
        True,
        D("21.00"),
        D(21),
        "price_9",
    )


def test_checkout_line_items_with_shipping_cost(settings: Settings) -> None:
    sale = make_sale(
        15000,
        owner_type="checkout_session",
        checkout_session={
            "id": "cs_1",
            "total_details": {"amount_discount": 500, "amount_shipping": 2000, "amount_tax": 0},
            "shipping_cost": {"amount_subtotal": 2000, "amount_tax": 0, "amount_total": 2000},
        },
        line_items=[
            {
                "description": "Tricou",
                "quantity": 2,
                "amount_subtotal": 10000,
                "amount_discount": 500,
                "amount_tax": 0,
                "amount_total": 9500,
                "price": {"id": "price_t", "product": {"id": "prod_t", "name": "Tricou alb"}},
            },
            {"description": "Cană", "quantity": 1, "amount_subtotal": 3500, "amount_total": 3500},
        ],
    )
    res = settle_lines(draft_of(sale), settings.vat)
    assert _summary(res.lines) == [
        ("Tricou alb", D(2), D("95.00"), True, None, "item"),
        ("Cană", D(1), D("35.00"), True, None, "item"),
        ("Transport", D(1), D("20.00"), True, None, "shipping"),
    ]
    built = build_invoice(draft_of(sale), settings.invoicing, number="T1", fx=None)
    assert built.invoice is not None, built.problems
    assert built.invoice.totals.tax_inclusive == D("150.00")


def test_payment_intent_amount_details(settings: Settings) -> None:
    pi = {
        "id": "pi_1",
        "metadata": {},
        "amount_details": {"shipping": {"amount": 1500}},
    }
    items = [
        {
            "product_name": "Cafea",
            "product_code": "CAF-1",
            "quantity": 2,
            "unit_cost": 5000,
            "discount_amount": 1000,
            "tax": {"total_tax_amount": 1890},
            "unit_of_measure": "KGM",
        },
        {
            "product_name": "Filtru",
            "quantity": 1,
            "unit_cost": 1000,
            "tax": {"total_tax_amount": 210},
        },
    ]
    sale = make_sale(13600, payment_intent=pi, amount_details_line_items=items)
    res = settle_lines(draft_of(sale), settings.vat)
    assert _summary(res.lines) == [
        ("Cafea", D(2), D("90.00"), False, D("18.90"), "item"),
        ("Filtru", D(1), D("10.00"), False, D("2.10"), "item"),
        ("Transport", D(1), D("15.00"), True, None, "shipping"),
    ]
    assert (res.lines[0].item_id, res.lines[0].unit_code) == ("CAF-1", "KGM")
    built = build_invoice(draft_of(sale), settings.invoicing, number="T1", fx=None)
    assert built.invoice is not None, built.problems
    assert [(b.tax.rate, b.taxable_amount, b.tax_amount) for b in built.invoice.vat_breakdown] == [
        (D(21), D("112.40"), D("23.60"))
    ]
    assert built.invoice.totals.tax_inclusive == D("136.00")


@pytest.mark.parametrize(
    ("objects", "name", "quantity"),
    [
        (
            {
                "payment_intent": {
                    "id": "pi_1",
                    "metadata": {"product_name": "Consultanță", "quantity": "2"},
                    "description": "Shop - Order 1",
                }
            },
            "Consultanță",
            D(2),
        ),
        (
            {
                "payment_intent": {
                    "id": "pi_1",
                    "metadata": {"description": "Din metadate"},
                    "description": "Shop - Order 1",
                }
            },
            "Din metadate",
            D(1),
        ),
        (
            {
                "payment_intent": {
                    "id": "pi_1",
                    "metadata": {},
                    "description": "Shop - Comanda 1234",
                }
            },
            "Shop - Comanda 1234",
            D(1),
        ),
        (
            {"payment_intent": {"id": "pi_1", "metadata": {"order_id": "1234"}}},
            "Comanda 1234",
            D(1),
        ),
        ({"payment_intent": {"id": "pi_1", "metadata": {}}}, "Plată online", D(1)),
    ],
)
def test_single_line_names(
    settings: Settings, objects: dict[str, Any], name: str, quantity: Decimal
) -> None:
    res = settle_lines(draft_of(make_sale(5000, **objects)), settings.vat)
    assert res.source == "single_line"
    assert _summary(res.lines) == [(name, quantity, D("50.00"), True, None, "item")]


def test_single_line_bad_quantity_is_a_problem(settings: Settings) -> None:
    sale = make_sale(5000, payment_intent={"id": "pi_1", "metadata": {"quantity": "doi"}})
    res = settle_lines(draft_of(sale), settings.vat)
    assert [(p.code, p.field) for p in res.problems] == [
        ("P-LINE-QUANTITY-INVALID", "metadata.quantity")
    ]


def test_single_line_splits_shipping_and_uses_session_tax(settings: Settings) -> None:
    split = make_sale(
        12000,
        owner_type="checkout_session",
        checkout_session={
            "id": "cs_1",
            "total_details": {"amount_shipping": 2000, "amount_tax": 0},
        },
    )
    assert _summary(settle_lines(draft_of(split), settings.vat).lines) == [
        ("Plată online", D(1), D("100.00"), True, None, "item"),
        ("Transport", D(1), D("20.00"), True, None, "shipping"),
    ]
    taxed = make_sale(
        12100,
        owner_type="checkout_session",
        checkout_session={"id": "cs_1", "total_details": {"amount_tax": 2100}},
    )
    res = build_invoice(draft_of(taxed), settings.invoicing, number="T1", fx=None)
    assert res.invoice is not None, res.problems
    assert res.invoice.vat_breakdown[0].tax_amount == D("21.00")


def test_metadata_lines_get_shipping_when_short_by_it(settings: Settings) -> None:
    sale = make_sale(
        13000,
        owner_type="checkout_session",
        checkout_session={
            "id": "cs_1",
            "metadata": {"Order Item #1": "A, 1, 100"},
            "total_details": {"amount_shipping": 3000},
        },
    )
    res = build_invoice(draft_of(sale), settings.invoicing, number="T1", fx=None)
    assert res.invoice is not None, res.problems
    assert [(ln.name, ln.gross_amount) for ln in res.invoice.lines] == [
        ("A", D("100.00")),
        ("Transport", D("30.00")),
    ]


def test_metadata_lines_spread_a_coupon(settings: Settings) -> None:
    sale = make_sale(
        9000,
        owner_type="checkout_session",
        checkout_session={
            "id": "cs_1",
            "metadata": {"Order Item #1": "A, 1, 66.66", "Order Item #2": "B, 1, 33.34"},
            "total_details": {"amount_discount": 1000},
        },
    )
    res = build_invoice(draft_of(sale), settings.invoicing, number="T1", fx=None)
    assert res.invoice is not None, res.problems
    assert [ln.gross_amount for ln in res.invoice.lines] == [D("59.99"), D("30.01")]
    assert res.invoice.totals.tax_inclusive == D("90.00")


def test_metadata_lines_with_coupon_and_shipping(settings: Settings) -> None:
    sale = make_sale(
        11000,
        owner_type="checkout_session",
        checkout_session={
            "id": "cs_1",
            "metadata": {"Order Item #1": "A, 2, 100"},
            "total_details": {"amount_discount": 1000, "amount_shipping": 2000},
        },
    )
    res = build_invoice(draft_of(sale), settings.invoicing, number="T1", fx=None)
    assert res.invoice is not None, res.problems
    assert [(ln.name, ln.gross_amount) for ln in res.invoice.lines] == [
        ("A", D("90.00")),
        ("Transport", D("20.00")),
    ]


def test_zero_lines_are_dropped_and_bad_quantities_reported(settings: Settings) -> None:
    invoice = {
        "id": "in_1",
        "lines": {
            "data": [
                {"amount": 0, "quantity": 0, "description": "Metered, unused"},
                {"amount": 1000, "quantity": 1, "description": "Plan"},
                {"amount": 500, "quantity": 0, "description": "Odd"},
            ]
        },
    }
    res = build_invoice(
        draft_of(make_sale(1500, owner_type="invoice", invoice=invoice)),
        settings.invoicing,
        number="T1",
        fx=None,
    )
    assert [(p.code, p.field) for p in res.problems] == [
        ("P-LINE-QUANTITY-INVALID", "lines[2].quantity")
    ]


def test_tax_entries_of_one_rate_count_once(settings: Settings) -> None:
    tax = {"tax_behavior": "exclusive", "tax_rate_details": {"tax_rate": "txr_21"}}
    invoice = {
        "id": "in_1",
        "lines": {
            "data": [
                {
                    "amount": 10000,
                    "quantity": 1,
                    "description": "Plan",
                    "taxes": [{**tax, "amount": 1000}, {**tax, "amount": 1100}],
                }
            ]
        },
    }
    sale = make_sale(
        12100, owner_type="invoice", invoice=invoice, tax_rates={"txr_21": {"percentage": 21}}
    )
    (ln,) = settle_lines(draft_of(sale), settings.vat).lines
    assert (ln.tax_amount, ln.tax_rate, ln.tax_count) == (D("21.00"), D(21), 1)


_JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.sampled_from(["amount", "percentage", "id"]), st.integers(), max_size=2),
)
_ITEM = st.fixed_dictionaries(
    {},
    optional={
        "description": _JUNK,
        "quantity": _JUNK,
        "amount_total": _JUNK,
        "amount_subtotal": _JUNK,
        "amount_tax": _JUNK,
        "amount": _JUNK,
        "discount_amounts": st.lists(st.fixed_dictionaries({"amount": _JUNK}), max_size=2),
        "taxes": st.lists(
            st.fixed_dictionaries(
                {"amount": _JUNK},
                optional={"rate": _JUNK, "taxability_reason": _JUNK, "tax_behavior": _JUNK},
            ),
            max_size=2,
        ),
        "price": _JUNK,
        "product_name": _JUNK,
        "unit_cost": _JUNK,
        "tax": st.fixed_dictionaries({"total_tax_amount": _JUNK}),
    },
)


@hsettings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    items=st.lists(_ITEM, max_size=3),
    role=st.sampled_from(["line_items", "invoice_lines", "amount_details_line_items"]),
    amount=st.integers(0, 10**6),
)
@example(items=[{"amount_total": "²"}], role="line_items", amount=0)
@example(items=[{"amount": "9" * 40, "quantity": "1"}], role="invoice_lines", amount=0)
@example(items=[{"amount": 10**40, "quantity": 1}], role="invoice_lines", amount=0)
def test_malformed_stripe_lines_never_crash(
    settings: Settings, items: list[dict[str, Any]], role: str, amount: int
) -> None:
    sale = make_sale(amount, owner_type="checkout_session", **{role: items})
    result = build_invoice(draft_of(sale), settings.invoicing, number="T1", fx=None)
    if result.invoice is not None:
        assert result.invoice.totals.tax_inclusive == Decimal(amount).scaleb(-2)
    else:
        assert result.problems


def test_degraded_single_line_is_a_warning(settings: Settings) -> None:
    from dataclasses import replace

    sale = replace(make_sale(5000), degraded=True)
    invoice, problems, needs_fx = build_invoice(
        draft_of(sale), settings.invoicing, number="T1", fx=None
    )
    assert invoice is not None and problems == () and needs_fx is False
    res = build_invoice(draft_of(sale), settings.invoicing, number="T1", fx=None)
    assert [w.code for w in res.warnings] == ["P-LINES-DEGRADED"]
    assert res.warnings[0].fatal is False


@pytest.mark.parametrize(
    ("raw", "rate"), [(21.0, D(21)), ("21.00", D(21)), (5.5, D("5.5")), ("11", D(11))]
)
def test_stripe_percentages_have_one_spelling(
    settings: Settings, raw: object, rate: Decimal
) -> None:
    sale = make_sale(
        1,
        owner_type="checkout_session",
        line_items=[
            {
                "amount_total": 1,
                "amount_tax": 0,
                "taxes": [{"amount": 0, "rate": {"percentage": raw}}],
            }
        ],
    )
    (ln,) = settle_lines(draft_of(sale), settings.vat).lines
    assert ln.tax_rate == rate and str(ln.tax_rate) == str(rate)
