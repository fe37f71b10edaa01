"""Merchant metadata: Order Item #N, lineitemN, lines; key matching; property tests."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from stripe_efactura.config import Settings
from stripe_efactura.intake.draft import draft_of
from stripe_efactura.intake.metadata import (
    MetaLine,
    metadata_address,
    metadata_lines,
    metadata_sources,
    parse_order_item,
)
from stripe_efactura.invoicing.build import build_invoice

from .conftest import make_sale


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            "123id121, Nume produs, 3, 232.0",
            MetaLine("Nume produs", Decimal(3), Decimal("232.0"), "123id121"),
        ),
        ("Nume produs, 3, 232.0", MetaLine("Nume produs", Decimal(3), Decimal("232.0"))),
        ("Tricou, 2, 99,90", MetaLine("Tricou", Decimal(2), Decimal("99.90"))),
        ("Tricou,2,99.90", MetaLine("Tricou", Decimal(2), Decimal("99.90"))),
        ("SKU-7,Tricou,2,99.90", MetaLine("Tricou", Decimal(2), Decimal("99.90"), "SKU-7")),
        # names with commas (comma + space separates fields, so the name keeps its comma+space)
        (
            "77, Carte, ediția a 2-a, 1, 45.50",
            MetaLine("Carte, ediția a 2-a", Decimal(1), Decimal("45.50"), "77"),
        ),
        # first field without a digit is part of the name
        ("Cafea, boabe, 2, 80", MetaLine("Cafea, boabe", Decimal(2), Decimal("80"))),
        # a comma without space inside the name in comma-space mode
        ("Lapte 1,5%, 4, 31,96", MetaLine("Lapte 1,5%", Decimal(4), Decimal("31.96"))),
        ("Abonament, 1.5, 1.234,50", MetaLine("Abonament", Decimal("1.5"), Decimal("1234.50"))),
        ("  Spații  , 1 , 10  ", MetaLine("Spații", Decimal(1), Decimal("10"))),
    ],
)
def test_parse_order_item(value: str, expected: MetaLine) -> None:
    got = parse_order_item("Order Item #1", value, "RON")
    assert (got.name, got.quantity, got.total, got.item_id) == (
        expected.name,
        expected.quantity,
        expected.total,
        expected.item_id,
    )


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("Tricou, 99.90", "expected 'name, quantity, total'"),
        ("Tricou, 0, 99.90", "the quantity must be greater than zero"),
        ("Tricou, 2, -5", "the total is negative"),
        ("Tricou, 2, 9.999", "the total has more decimals than RON allows"),
        ("Tricou, doi, 10", "not a number: 'doi'"),
        (", 2, 10", "the product name is empty"),
    ],
)
def test_parse_order_item_errors(value: str, reason: str) -> None:
    with pytest.raises(ValueError, match="^" + reason.replace("(", r"\(").replace(")", r"\)")):
        parse_order_item("Order Item #1", value, "RON")


def test_order_item_keys_matched_loosely_and_sorted_numerically() -> None:
    md = {
        "Order Item #10": "J, 1, 10",
        "order item #2": "B, 1, 2",
        "OrderItem#1": "A, 1, 1",
        "ORDER_ITEM_3": "C, 1, 3",
        "order_id": "5",
    }
    sale = make_sale(payment_intent={"id": "pi_1", "metadata": md})
    res = metadata_lines(sale)
    assert res is not None
    assert [ln.name for ln in res.lines] == ["A", "B", "C", "J"]
    assert res.source == "metadata.payment_intent.order_item"
    assert res.problems == ()


def test_zero_decimal_currency_totals() -> None:
    assert parse_order_item("k", "Ceai, 1, 1200", "JPY").total == Decimal(1200)
    with pytest.raises(ValueError, match="more decimals than JPY"):
        parse_order_item("k", "Ceai, 1, 12.5", "JPY")


def test_lineitem_json_and_lines_array() -> None:
    md = {
        "lineitem2": '{"productname":"produs 2","quantity":"2","itemtotal":"100"}',
        "lineitem1": '{"productname":"produs 1","quantity":"1","itemtotal":"400", "vat": "11"}',
    }
    res = metadata_lines(make_sale(payment_intent={"id": "pi_1", "metadata": md}))
    assert res is not None
    assert [(ln.name, ln.quantity, ln.total, ln.vat_rate) for ln in res.lines] == [
        ("produs 1", Decimal(1), Decimal(400), Decimal(11)),
        ("produs 2", Decimal(2), Decimal(100), None),
    ]
    md2 = {"lines": '[{"name":"A","quantity":2,"total":"10.50"},{"name":"B","total":5}]'}
    res2 = metadata_lines(make_sale(payment_intent={"id": "pi_1", "metadata": md2}))
    assert res2 is not None
    assert [(ln.name, ln.quantity, ln.total) for ln in res2.lines] == [
        ("A", Decimal(2), Decimal("10.50")),
        ("B", Decimal(1), Decimal(5)),
    ]
    assert res2.source == "metadata.payment_intent.lines"


@pytest.mark.parametrize(
    ("md", "code"),
    [
        ({"lineitem1": "{not json"}, "P-METADATA-LINEITEM-INVALID"),
        ({"lineitem1": '{"productname":"x"}'}, "P-METADATA-LINEITEM-INVALID"),
        ({"lines": "[]"}, "P-METADATA-LINES-INVALID"),
        ({"line_items": '{"a":1}'}, "P-METADATA-LINES-INVALID"),
        ({"Order Item #1": "x"}, "P-METADATA-ORDER-ITEM-INVALID"),
    ],
)
def test_malformed_line_metadata_is_a_problem(md: dict[str, str], code: str) -> None:
    res = metadata_lines(make_sale(payment_intent={"id": "pi_1", "metadata": md}))
    assert res is not None
    assert [p.code for p in res.problems] == [code]
    assert res.problems[0].field == f"metadata.{next(iter(md))}"


def test_order_item_wins_over_lineitem_and_owner_metadata_first() -> None:
    sale = make_sale(
        owner_type="checkout_session",
        checkout_session={
            "id": "cs_1",
            "metadata": {"lineitem1": '{"productname":"S","itemtotal":"1"}'},
        },
        payment_intent={"id": "pi_1", "metadata": {"Order Item #1": "P, 1, 1"}},
    )
    assert [s.name for s in metadata_sources(sale)] == ["checkout_session", "payment_intent"]
    res = metadata_lines(sale)
    assert res is not None and res.source == "metadata.checkout_session.lineitem"
    md = {"lineitem1": '{"productname":"L","itemtotal":"1"}', "Order Item #1": "O, 1, 1"}
    res2 = metadata_lines(make_sale(payment_intent={"id": "pi_1", "metadata": md}))
    assert res2 is not None and [ln.name for ln in res2.lines] == ["O"]


@pytest.mark.parametrize(
    ("md", "expected"),
    [
        (
            {
                "address": '{"line1":"Str. A 1","city":"Cluj-Napoca","state":"CJ",'
                '"country":"RO","cui":"RO18547290"}'
            },
            {
                "line1": "Str. A 1",
                "city": "Cluj-Napoca",
                "state": "CJ",
                "country": "RO",
                "cui": "RO18547290",
            },
        ),
        (
            {"address.city": "Iași", "address.line1": "Str. B 2"},
            {"city": "Iași", "line1": "Str. B 2"},
        ),
        (
            {"address[city]": "Iași", "address[postal_code]": "700001"},
            {"city": "Iași", "postal_code": "700001"},
        ),
        ({"address_city": "Iași", "Address_Country": "RO"}, {"city": "Iași", "country": "RO"}),
        ({"customer_address_line1": "Str. C 3"}, {"line1": "Str. C 3"}),
    ],
)
def test_metadata_address_forms(md: dict[str, str], expected: dict[str, str]) -> None:
    fields, problems, _ = metadata_address(md)
    assert fields == expected
    assert problems == []


def test_metadata_address_invalid_json_is_a_problem() -> None:
    fields, problems, _ = metadata_address({"address": "Str. A 1, Cluj"})
    assert fields == {}
    assert [p.code for p in problems] == ["P-BUYER-METADATA-INVALID"]


# --- properties ----------------------------------------------------------------------------

_KEYS = st.sampled_from(
    [
        "Order Item #1",
        "order item #2",
        "OrderItem#3",
        "lineitem1",
        "lines",
        "line_items",
        "address",
        "address.city",
        "cui",
        "cnp",
        "name",
        "quantity",
        "product_name",
        "tax_ids",
    ]
)
_VALUES = st.one_of(
    st.text(max_size=60),
    st.from_regex(
        r"[A-Za-z0-9 ,.#-]{0,20}, ?-?[0-9]{1,3}([.,][0-9]{1,3})?, ?-?[0-9]{1,5}([.,][0-9]{1,3})?",
        fullmatch=True,
    ),
    st.from_regex(r"[A-Za-z ]{1,8}, ?[-+0-9.eE]{1,10}, ?[-+0-9.,eEIinfNa]{1,12}", fullmatch=True),
    st.just('{"productname":"x","quantity":"2","itemtotal":"3.5"}'),
    st.just('{"productname":"x","quantity":"1e9999","itemtotal":"1","vat":"NaN"}'),
    st.just('[{"name":"x","total":"1"}]'),
)


@hsettings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(md=st.dictionaries(_KEYS, _VALUES, max_size=6), amount=st.integers(0, 10**7))
@example(md={"Order Item #1": "A, 1, 1e999999"}, amount=100)
@example(md={"Order Item #1": "A, 1e999999, 10"}, amount=1000)
@example(md={"quantity": "1e99999"}, amount=1000)
@example(md={"lines": '[{"name":"x","total":"NaN"}]'}, amount=1000)
def test_any_metadata_never_crashes_and_adds_up_or_is_a_problem(
    settings: Settings, md: dict[str, str], amount: int
) -> None:
    sale = make_sale(amount, payment_intent={"id": "pi_1", "metadata": md})
    result = build_invoice(draft_of(sale), settings.invoicing, number="T1", fx=None)
    if result.invoice is not None:
        assert result.invoice.totals.tax_inclusive == Decimal(amount).scaleb(-2)
        assert (
            sum(ln.net_amount for ln in result.invoice.lines)
            == result.invoice.totals.line_net_total
        )
    else:
        assert result.problems, "no invoice must come with a reason"


@hsettings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    items=st.lists(
        st.tuples(
            st.text(
                alphabet=st.characters(blacklist_characters=",", blacklist_categories=["Cs", "Cc"]),
                min_size=1,
                max_size=15,
            ).filter(lambda s: s.strip()),
            st.integers(1, 20),
            st.integers(0, 500_000),
        ),
        min_size=1,
        max_size=5,
    ),
    delta=st.sampled_from([0, 0, 1, -1, 250]),
)
def test_parsed_order_adds_up_or_yields_mismatch(
    settings: Settings, items: list[tuple[str, int, int]], delta: int
) -> None:
    md: dict[str, Any] = {
        f"Order Item #{i}": f"{name.strip()}, {qty}, {cents // 100},{cents % 100:02d}"
        for i, (name, qty, cents) in enumerate(items, 1)
    }
    total = sum(c for _, _, c in items)
    sale = make_sale(max(total + delta, 0), payment_intent={"id": "pi_1", "metadata": md})
    result = build_invoice(draft_of(sale), settings.invoicing, number="T1", fx=None)
    codes = [p.code for p in result.problems]
    if total + delta == total:
        assert codes == [], codes
        assert result.invoice is not None
        assert [ln.name for ln in result.invoice.lines] == [n.strip() for n, _, _ in items]
        assert result.invoice.totals.tax_inclusive == Decimal(total).scaleb(-2)
    elif total + delta >= 0:
        assert codes == ["P-LINES-MISMATCH"]


def test_broken_item_is_reported_alone(settings: Settings) -> None:
    md = {"Order Item #1": "A, 1, 10", "Order Item #2": "B, x, 5"}
    sale = make_sale(1500, payment_intent={"id": "pi_1", "metadata": md})
    res = build_invoice(draft_of(sale), settings.invoicing, number="T1", fx=None)
    assert [(p.code, p.field) for p in res.problems] == [
        ("P-METADATA-ORDER-ITEM-INVALID", "metadata.Order Item #2")
    ]
    assert res.problems[0].message_en == (
        "Metadata 'Order Item #2' = 'B, x, 5' cannot be read: not a number: 'x'."
    )
