"""A basket as a whole: shipping follows the goods' VAT, not-subject lines beside taxable ones.

Legal basis: Fiscal Code art. 286 (1) b (incidental costs — transport — charged by the supplier
are part of the taxable amount of the supply they accompany; Directive 2006/112 art. 78 b;
CJEU C-349/96 *CPP*); EN 16931 BR-O-11/BR-O-12 (category O stands alone), BR-O-02, BR-S-02,
BR-RO-065 (a taxable invoice names the seller's VAT id), BR-E-10 (an exempt line states why).
"""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

from stripe_efactura.config import Settings
from stripe_efactura.intake.draft import draft_of
from stripe_efactura.invoicing.basket import NOT_IN_SCOPE_REASON
from stripe_efactura.invoicing.build import BuildResult, build_invoice
from stripe_efactura.invoicing.model import Invoice
from stripe_efactura.ubl.render import render

from .conftest import Validator, golden, make_sale

R11 = {"id": "txr_11", "percentage": 11, "inclusive": True}
R21 = {"id": "txr_21", "percentage": 21, "inclusive": True}
R0 = {"id": "txr_0", "percentage": 0, "inclusive": True}


def _item(
    name: str, qty: int, total: int, tax: int, rate: dict[str, Any], reason: str
) -> dict[str, Any]:
    return {
        "description": name,
        "quantity": qty,
        "amount_total": total,
        "amount_tax": tax,
        "taxes": [{"amount": tax, "rate": rate, "taxability_reason": reason}],
        "price": {"id": f"price_{name[:4].lower()}", "product": {"name": name}},
    }


def _session(shipping: int, shipping_tax: int) -> dict[str, Any]:
    return {
        "id": "cs_1",
        "mode": "payment",
        "payment_intent": "pi_1",
        "total_details": {"amount_shipping": shipping, "amount_discount": 0},
        "shipping_cost": {
            "amount_total": shipping,
            "amount_tax": shipping_tax,
            "taxes": [{"amount": shipping_tax, "rate": R21, "taxability_reason": "standard_rated"}],
        },
    }


def _build(
    settings: Settings, amount: int, items: list[dict[str, Any]], session: dict[str, Any]
) -> BuildResult:
    sale = make_sale(
        amount, owner_type="checkout_session", checkout_session=session, line_items=items
    )
    return build_invoice(draft_of(sale), settings.invoicing, number="TST0000001", fx=None)


def _lines(inv: Invoice) -> list[tuple[str, str, D, D | None]]:
    return [(ln.name, ln.tax.category.value, ln.tax.rate, ln.gross_amount) for ln in inv.lines]


def test_shipping_of_books_at_11_is_taxed_at_11_not_21(
    settings: Settings, cius_ro: Validator, ubl_xsd: Validator
) -> None:
    """Art. 286 (1) b: the transport of books (11 %) is part of the books' taxable amount, so it
    is taxed at 11 % even though Stripe put 21 % on it; the 20.00 lei charged stay."""
    items = [_item("Carte", 2, 22200, 2200, R11, "reduced_rated")]
    result = _build(settings, 24200, items, _session(2000, 347))
    assert result.problems == ()
    inv = result.invoice
    assert inv is not None
    assert _lines(inv) == [
        ("Carte", "S", D(11), D("222.00")),
        ("Transport", "S", D(11), D("20.00")),
    ]
    assert [(b.tax.rate, b.taxable_amount, b.tax_amount) for b in inv.vat_breakdown] == [
        (D(11), D("218.02"), D("23.98")),
    ]
    assert inv.totals.tax_inclusive == D("242.00")
    xml = render(inv)
    golden("shipping_follows_books_11", xml)
    assert ubl_xsd(xml) == []
    assert cius_ro(xml) == []


def test_shipping_of_a_mixed_basket_is_split_pro_rata_by_value(
    settings: Settings, cius_ro: Validator, ubl_xsd: Validator
) -> None:
    """Art. 286 (1) b in a mixed basket: 30.00 lei of transport for 111.00 lei of books (11 %)
    and 121.00 lei of toys (21 %) splits 14.35 / 15.65 (pro rata by value, to the ban)."""
    items = [
        _item("Carte", 1, 11100, 1100, R11, "reduced_rated"),
        _item("Jucărie", 1, 12100, 2100, R21, "standard_rated"),
    ]
    result = _build(settings, 26200, items, _session(3000, 521))
    assert result.problems == ()
    inv = result.invoice
    assert inv is not None
    assert _lines(inv) == [
        ("Carte", "S", D(11), D("111.00")),
        ("Jucărie", "S", D(21), D("121.00")),
        ("Transport (TVA 11 %)", "S", D(11), D("14.35")),
        ("Transport (TVA 21 %)", "S", D(21), D("15.65")),
    ]
    assert [(b.tax.rate, b.taxable_amount, b.tax_amount) for b in inv.vat_breakdown] == [
        (D(11), D("112.93"), D("12.42")),
        (D(21), D("112.93"), D("23.72")),
    ]
    assert inv.totals.tax_inclusive == D("262.00")
    xml = render(inv)
    golden("shipping_split_mixed_rates", xml)
    assert ubl_xsd(xml) == []
    assert cius_ro(xml) == []


def test_not_subject_line_beside_a_taxable_line_is_exempt_with_its_reason(
    settings: Settings, cius_ro: Validator, ubl_xsd: Validator
) -> None:
    """BR-O-11/12: O cannot share an invoice with S, and BR-S-02/BR-RO-065 want the seller's
    VAT id that BR-O-02 forbids. The line Stripe Tax marks not subject to tax is written as E
    keeping its art. 275-278 mention (BR-E-10), the course keeps its 21 %."""
    items = [
        _item("Curs online", 1, 12100, 2100, R21, "standard_rated"),
        _item("Donație", 1, 5000, 0, R0, "not_subject_to_tax"),
    ]
    session = {"id": "cs_1", "mode": "payment", "payment_intent": "pi_1", "total_details": {}}
    result = _build(settings, 17100, items, session)
    assert result.problems == ()
    inv = result.invoice
    assert inv is not None
    assert [(ln.name, ln.tax.category.value, ln.tax.exemption_reason) for ln in inv.lines] == [
        ("Curs online", "S", None),
        (
            "Donație",
            "E",
            (
                "Neimpozabil în România: locul livrării/prestării în afara României"
                " (art. 275-278 Cod fiscal)"
            ),
        ),
    ]
    assert [ln.tax.exemption_code for ln in inv.lines] == [None, None]
    assert inv.seller.vat_id == settings.invoicing.company.vat_id
    xml = render(inv)
    assert inv.seller.vat_id is not None
    assert f"<cbc:CompanyID>{inv.seller.vat_id}</cbc:CompanyID>".encode() in xml
    golden("mixed_basket_not_subject_line", xml)
    assert ubl_xsd(xml) == []
    assert cius_ro(xml) == []


def test_not_subject_line_without_a_mention_gets_the_generic_one() -> None:
    """A mixed-basket O line with no mention of its own gets "outside the scope" (BR-E-10)."""
    from stripe_efactura.invoicing.basket import harmonise
    from stripe_efactura.invoicing.draft import RawLine
    from stripe_efactura.invoicing.line_vat import LineTax
    from stripe_efactura.invoicing.model import TaxClass, VatCategory

    raws = [RawLine("A", D(1), D("12.10")), RawLine("B", D(1), D("5.00"))]
    taxed = [
        LineTax(TaxClass(VatCategory.STANDARD, D(21)), "incl", D("12.10"), D(0)),
        LineTax(TaxClass(VatCategory.NOT_SUBJECT, D(0)), "incl", D("5.00"), D(0)),
    ]
    _, out = harmonise(raws, taxed, "RON")
    assert [t.tax for t in out] == [
        TaxClass(VatCategory.STANDARD, D(21)),
        TaxClass(VatCategory.EXEMPT, D(0), None, NOT_IN_SCOPE_REASON),
    ]


def test_only_not_subject_lines_stay_o(settings: Settings) -> None:
    """A basket of only not-subject lines stays category O (nothing to mix with)."""
    items = [_item("Donație", 1, 5000, 0, R0, "not_subject_to_tax")]
    session = {"id": "cs_1", "mode": "payment", "payment_intent": "pi_1", "total_details": {}}
    result = _build(settings, 5000, items, session)
    assert result.invoice is not None
    assert [ln.tax.category.value for ln in result.invoice.lines] == ["O"]


def test_shipping_at_the_goods_rate_is_left_alone(settings: Settings) -> None:
    """Shipping Stripe already taxed like the goods keeps Stripe's own amounts."""
    items = [_item("Jucărie", 1, 12100, 2100, R21, "standard_rated")]
    result = _build(settings, 14100, items, _session(2000, 347))
    inv = result.invoice
    assert inv is not None
    assert [(ln.name, ln.tax.rate, ln.net_amount) for ln in inv.lines] == [
        ("Jucărie", D(21), D("100.00")),
        ("Transport", D(21), D("16.53")),
    ]
