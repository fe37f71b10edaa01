"""The pure storno builder: full and partial stornos, exact to the ban."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal as D

import pytest

from stripe_efactura.invoicing.model import (
    Address,
    FxInfo,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    Party,
    PaymentInfo,
    PrecedingInvoice,
    TaxClass,
    Totals,
    VatBreakdown,
    VatCategory,
)
from stripe_efactura.invoicing.storno import (
    PROPORTIONAL_NOTE,
    ReturnedItem,
    StornoItemsError,
    build_storno,
)

S21 = TaxClass(VatCategory.STANDARD, D("21"))
S11 = TaxClass(VatCategory.STANDARD, D("11"))
SELLER = Party(
    "Exemplu SRL", Address("Str. Lungă 1", "Cluj-Napoca", "RO", county="RO-CJ"), vat_id="RO1"
)
BUYER = Party("Ion Pop", Address("Str. Scurtă 2", "SECTOR1", "RO", county="RO-B"))


def original(currency: str = "RON", fx: FxInfo | None = None) -> Invoice:
    """2 × 50.00 net at 21 % (121.00) and 1 × 50.00 net at 11 % (55.50): 176.50."""
    lines = (
        InvoiceLine("1", "Carte", D("2"), D("50.00"), D("100.00"), S21, gross_amount=D("121.00")),
        InvoiceLine("2", "Curs", D("1"), D("50.00"), D("50.00"), S11, gross_amount=D("55.50")),
    )
    vat = (VatBreakdown(S21, D("100.00"), D("21.00")), VatBreakdown(S11, D("50.00"), D("5.50")))
    totals = Totals(
        line_net_total=D("150.00"),
        tax_exclusive=D("150.00"),
        tax_total=D("26.50"),
        tax_inclusive=D("176.50"),
        payable=D("0.00"),
        prepaid=D("176.50"),
        tax_total_ron=None if fx is None else D("134.89"),
    )
    return Invoice(
        number="SEF0000007",
        issue_date=date(2026, 11, 2),
        currency=currency,
        seller=SELLER,
        buyer=BUYER,
        lines=lines,
        vat_breakdown=vat,
        totals=totals,
        tax_currency=None if currency == "RON" else "RON",
        fx=fx,
        payment=PaymentInfo("48", reference="pi_1"),
        notes=("Plătită cu cardul",),
        payment_key="pi_1",
    )


def build(
    orig: Invoice,
    amount: str,
    reason: str | None = None,
    payment_id: str | None = None,
    items: tuple[ReturnedItem, ...] = (),
) -> Invoice:
    return build_storno(
        orig,
        amount=D(amount),
        issue_date=date(2026, 11, 20),
        number="STO1",
        reason=reason,
        payment_id=payment_id,
        items=items,
    )


def test_full_storno_negates_every_line_and_total() -> None:
    orig = original()
    s = build(orig, "176.50", reason="Rambursare la cererea clientului", payment_id="re_1")
    assert s.kind is InvoiceKind.STORNO and s.type_code == "380" and s.number == "STO1"
    assert s.issue_date == date(2026, 11, 20)
    assert s.preceding == (PrecedingInvoice("SEF0000007", date(2026, 11, 2)),)
    assert [(ln.name, ln.quantity, ln.unit_price, ln.net_amount) for ln in s.lines] == [
        ("Carte", D("-2"), D("50.00"), D("-100.00")),
        ("Curs", D("-1"), D("50.00"), D("-50.00")),
    ]
    assert [(b.tax, b.taxable_amount, b.tax_amount) for b in s.vat_breakdown] == [
        (S21, D("-100.00"), D("-21.00")),
        (S11, D("-50.00"), D("-5.50")),
    ]
    assert s.totals == Totals(
        line_net_total=D("-150.00"),
        tax_exclusive=D("-150.00"),
        tax_total=D("-26.50"),
        tax_inclusive=D("-176.50"),
        payable=D("0.00"),
        prepaid=D("-176.50"),
        tax_total_ron=None,
    )
    assert s.notes == (
        "Stornare factura SEF0000007 din 02.11.2026",
        "Motiv: Rambursare la cererea clientului (plata re_1)",
    )
    assert (s.seller, s.buyer, s.currency) == (orig.seller, orig.buyer, "RON")
    # the payment reference (BT-83) is the refund, not the original payment
    assert s.payment == PaymentInfo("48", reference="re_1")
    assert orig.totals.tax_inclusive == D("176.50")  # the input is untouched


def test_partial_storno_splits_by_vat_rate_to_the_ban() -> None:
    """The fallback when the refund names no items: labelled proportional, one line per rate
    with the rate in its name (no two identical lines), and a note saying so."""
    s = build(original(), "50.00")
    name = "stornare parțială proporțională a facturii SEF0000007 din 02.11.2026"
    # 50.00 × 121/176.5 = 34.2776… -> 34.28; 50.00 × 55.5/176.5 = 15.7223… -> 15.72
    assert [
        (ln.line_id, ln.name, ln.quantity, ln.unit_price, ln.net_amount, ln.tax) for ln in s.lines
    ] == [
        ("1", f"Cota 21%: {name}", D("-1"), D("28.33"), D("-28.33"), S21),
        ("2", f"Cota 11%: {name}", D("-1"), D("14.16"), D("-14.16"), S11),
    ]
    assert s.notes == ("Stornare factura SEF0000007 din 02.11.2026", PROPORTIONAL_NOTE)
    assert [(b.taxable_amount, b.tax_amount) for b in s.vat_breakdown] == [
        (D("-28.33"), D("-5.95")),
        (D("-14.16"), D("-1.56")),
    ]
    assert s.totals == Totals(
        line_net_total=D("-42.49"),
        tax_exclusive=D("-42.49"),
        tax_total=D("-7.51"),
        tax_inclusive=D("-50.00"),
        payable=D("0.00"),
        prepaid=D("-50.00"),
    )


def test_partial_storno_of_one_ban_goes_to_the_largest_rate_share() -> None:
    s = build(original(), "0.01")
    assert [(ln.net_amount, ln.tax) for ln in s.lines] == [(D("-0.01"), S21)]
    assert [(b.taxable_amount, b.tax_amount) for b in s.vat_breakdown] == [(D("-0.01"), D("0.00"))]
    assert s.totals.tax_inclusive == D("-0.01")


def test_eur_storno_keeps_the_original_rate_and_recomputes_vat_in_ron() -> None:
    fx = FxInfo(D("5.0900"), date(2026, 10, 31))
    orig = original("EUR", fx)
    full = build(orig, "176.50")
    assert (full.currency, full.tax_currency, full.fx) == ("EUR", "RON", fx)
    assert full.totals.tax_total_ron == D("-134.89")  # −26.50 × 5.09 = −134.885
    part = build(orig, "55.50")
    # 55.50 × 121/176.5 = 38.0481… -> 38.05; 55.50 × 55.5/176.5 = 17.4518… -> 17.45
    assert [(b.taxable_amount, b.tax_amount) for b in part.vat_breakdown] == [
        (D("-31.45"), D("-6.60")),
        (D("-15.72"), D("-1.73")),
    ]
    assert part.totals.tax_total == D("-8.33")
    assert part.totals.tax_total_ron == D("-42.40")  # −8.33 × 5.09 = −42.3997


def test_a_long_number_keeps_the_line_name_within_100_characters() -> None:
    s = build(replace(original(), number="X" * 90), "10.00")
    assert {len(ln.name) for ln in s.lines} == {100}


@pytest.mark.parametrize("amount", ["0.00", "-1.00", "176.51"])
def test_an_impossible_amount_is_refused(amount: str) -> None:
    with pytest.raises(ValueError):
        build(original(), amount)


def test_refund_by_item_reverses_exactly_the_returned_line_at_its_rate_art_287_b() -> None:
    """Art. 287 lit. b) Cod fiscal: a return reduces the taxable amount of what was returned,
    at the rate it was taxed with: 1 of the 2 books (21 %) -> −1 × 50.00, VAT −10.50."""
    s = build(
        original(),
        "60.50",
        reason="Rambursare la cererea clientului",
        payment_id="re_2",
        items=(ReturnedItem(quantity=D("1"), line="1"),),
    )
    assert [
        (ln.line_id, ln.name, ln.quantity, ln.unit_price, ln.net_amount, ln.tax) for ln in s.lines
    ] == [("1", "Carte", D("-1"), D("50.00"), D("-50.00"), S21)]
    assert [(b.tax, b.taxable_amount, b.tax_amount) for b in s.vat_breakdown] == [
        (S21, D("-50.00"), D("-10.50"))
    ]
    assert (s.totals.tax_inclusive, s.totals.prepaid, s.totals.payable) == (
        D("-60.50"),
        D("-60.50"),
        D("0.00"),
    )
    assert PROPORTIONAL_NOTE not in s.notes


def test_refund_by_item_with_amounts_and_two_rates() -> None:
    """Each item's refunded amount (VAT included) wins over the proportional value."""
    items = (
        ReturnedItem(quantity=D("2"), line="1", amount=D("100.00")),
        ReturnedItem(quantity=D("1"), line="2"),
    )
    s = build(original(), "155.50", items=items)
    assert [(ln.name, ln.quantity, ln.unit_price, ln.net_amount) for ln in s.lines] == [
        ("Carte", D("-2"), D("41.32"), D("-82.64")),
        ("Curs", D("-1"), D("50.00"), D("-50.00")),
    ]
    assert [(b.tax, b.taxable_amount, b.tax_amount) for b in s.vat_breakdown] == [
        (S21, D("-82.64"), D("-17.36")),
        (S11, D("-50.00"), D("-5.50")),
    ]
    assert s.totals.tax_inclusive == D("-155.50")


@pytest.mark.parametrize(
    ("items", "amount", "code"),
    [
        ((ReturnedItem(quantity=D("1"), line="9"),), "60.50", "P-STORNO-ITEMS-UNKNOWN"),
        ((ReturnedItem(quantity=D("3"), line="1"),), "60.50", "P-STORNO-ITEMS-QUANTITY"),
        ((ReturnedItem(quantity=D("1"), line="1"),), "50.00", "P-STORNO-ITEMS-MISMATCH"),
        ((ReturnedItem(quantity=D("1"), item="sku-x"),), "60.50", "P-STORNO-ITEMS-UNKNOWN"),
    ],
)
def test_items_that_do_not_fit_the_invoice_are_refused(
    items: tuple[ReturnedItem, ...], amount: str, code: str
) -> None:
    with pytest.raises(StornoItemsError) as err:
        build(original(), amount, items=items)
    assert err.value.code == code


def test_an_item_is_found_by_its_product_id() -> None:
    orig = original()
    lines = (replace(orig.lines[0], seller_item_id="SKU-7"), orig.lines[1])
    s = build(replace(orig, lines=lines), "60.50", items=(ReturnedItem(D("1"), item="SKU-7"),))
    assert [(ln.name, ln.seller_item_id, ln.net_amount) for ln in s.lines] == [
        ("Carte", "SKU-7", D("-50.00"))
    ]


def test_a_credit_note_type_381_keeps_the_storno_values() -> None:
    s = build_storno(
        original(),
        amount=D("176.50"),
        issue_date=date(2026, 11, 20),
        number="STO1",
        reason=None,
        type_code="381",
    )
    assert (s.type_code, s.kind, s.totals.tax_inclusive) == (
        "381",
        InvoiceKind.STORNO,
        D("-176.50"),
    )


def test_an_item_cannot_be_returned_more_often_than_it_was_invoiced() -> None:
    """Both books came back with an earlier refund: a later refund naming one more book is
    refused, while a proportional storno before counts for no item."""
    orig = original()
    books = build(orig, "121.00", items=(ReturnedItem(D("2"), line="1"),))
    with pytest.raises(StornoItemsError) as err:
        build_storno(
            orig,
            amount=D("55.50"),
            issue_date=date(2026, 11, 21),
            number="STO2",
            reason=None,
            items=(ReturnedItem(D("1"), line="1", amount=D("55.50")),),
            earlier=(books,),
        )
    assert err.value.code == "P-STORNO-ITEMS-QUANTITY"
    proportional = build(orig, "50.00")
    course = build_storno(
        orig,
        amount=D("55.50"),
        issue_date=date(2026, 11, 21),
        number="STO3",
        reason=None,
        items=(ReturnedItem(D("1"), line="2"),),
        earlier=(books, proportional),
    )
    assert [(ln.name, ln.quantity) for ln in course.lines] == [("Curs", D("-1"))]
