"""Invoice lines from a Sale: ONE documented precedence, amounts as Stripe charged them (pure).

:func:`lines_draft` takes the lines from the first source that has any (a
:class:`~stripe_efactura.invoicing.draft.LinesDraft`; the builder settles them with
:func:`stripe_efactura.invoicing.lines.settle_lines`):

a. **Merchant metadata** (:mod:`.metadata`): ``Order Item #N``, else ``lineitemN``, else a
   ``lines``/``line_items`` JSON array — from one metadata dict, owner first.
b. **Stripe's structured lines**, in owner order:
   1. Invoice lines (``sale.objects['invoice_lines']``, all pages, else ``invoice.lines.data``);
      line discounts (``discount_amounts``, which include invoice-level discounts Stripe
      allocated to the line) are subtracted from the line;
   2. Checkout ``line_items``: ``amount_total`` (after discounts, tax included) and
      ``amount_tax``/``taxes``;
   3. PaymentIntent ``amount_details`` line items: ``unit_cost × quantity − discount_amount``
      plus ``tax.total_tax_amount`` when given.
c. **One line** for the whole amount collected, named by the metadata ``product_name``, else
   metadata ``description``, else the object's ``description``, else ``Comanda <order id>`` /
   ``Plată online``; the quantity is the metadata ``quantity`` when given (the amount is the line
   total, not a unit price).

**Tax inclusion.** Amounts Stripe charged are taken as charged: Checkout ``amount_total``,
invoice lines without taxes, shipping and the single line (c) already include any VAT. When
Stripe Tax / tax rates computed tax, the line carries Stripe's tax amount and whether the price
included it (``tax_behavior``/``inclusive``). Metadata totals and PaymentIntent line items
without a tax amount follow ``[vat] prices_include_vat`` (``RawLine.amount_includes_tax is
None``).

**Shipping and discounts** so the lines add up to what Stripe collected:

- Shipping (Checkout ``total_details.amount_shipping``/``shipping_cost``, the invoice's
  ``shipping_cost``, PaymentIntent ``amount_details.shipping.amount``) becomes a ``Transport``
  line when the source lines do not already include it (Stripe's structured sources never do;
  for metadata lines only when the metadata lines fall short by exactly the shipping amount).
  The draft carries the shipping line and the discount (``LineAdjustments``); the builder
  decides, knowing ``[vat] prices_include_vat``.
- A Checkout/invoice-level discount (``total_details.amount_discount``) is spread over metadata
  lines proportionally (largest remainder, in minor units) when the metadata totals exceed the
  amount collected by exactly that discount. Stripe's own lines already carry their discounts.

Whether the result adds up to the ban is checked by the builder (``P-LINES-MISMATCH``); nothing
here adjusts an amount to force a match.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from ..errors import Problem
from ..invoicing.draft import LineAdjustments, LinesDraft, RawLine
from ..invoicing.model import Period
from ..invoicing.problems import problem
from ..money import from_minor, parse_decimal
from ..tz import BUCHAREST
from . import units
from .metadata import (
    MAX_QUANTITY,
    MetaLine,
    iter_metadata,
    metadata_lines,
    metadata_sources,
    parse_quantity,
)
from .plain import as_map as _map
from .plain import as_objects as _list
from .sale import Sale
from .taxes import _int, _minor, _taxes, _text, canonical_rate

SHIPPING_NAME = "Transport"


def _qty(value: object) -> Decimal:
    """A Stripe quantity; 0 (reported as invalid) when it is not a sane number."""
    if value is None or isinstance(value, bool):
        return Decimal(1)
    try:
        qty = parse_decimal(str(value))
    except ValueError:
        return Decimal(0)
    if abs(qty) >= MAX_QUANTITY or qty != qty.quantize(Decimal("0.000001")):
        return Decimal(0)
    return qty


GOODS_TAX_CODES = frozenset({"txcd_99999999"})
"""Stripe product tax codes of physical goods ("General - Tangible Goods")."""


def _is_goods(product: Mapping[str, Any]) -> bool:
    code = product.get("tax_code")
    if isinstance(code, Mapping):
        code = code.get("id")
    return code in GOODS_TAX_CODES or product.get("type") == "good"


def _product(sale: Sale, ref: object) -> Mapping[str, Any]:
    if isinstance(ref, Mapping):
        return ref
    if isinstance(ref, str):
        return _map(_map(sale.objects.get("products")).get(ref))
    return {}


def _named(name: str | None, description: str | None, fallback: str) -> tuple[str, str | None]:
    main = name or description or fallback
    desc = description if description and description != main else None
    return main, desc


def _period(value: object) -> Period | None:
    """A Stripe line ``period`` (``{start, end}``, Unix seconds) as days in Europe/Bucharest.

    Stripe's end is the instant the next period starts; the last day covered is the day of the
    second before it (a month from 20 Nov 10:00 to 20 Dec 10:00 ends on 20 Dec, one ending at
    midnight ends the day before)."""
    period = _map(value)
    start, end = _int(period.get("start")), _int(period.get("end"))
    if start is None or end is None or start <= 0 or end < start:
        return None
    last = end - 1 if end > start else end
    return Period(
        datetime.fromtimestamp(start, BUCHAREST).date(),
        datetime.fromtimestamp(last, BUCHAREST).date(),
    )


def _invoice_lines(sale: Sale) -> list[RawLine]:
    invoice = _map(sale.objects.get("invoice"))
    items = _list(sale.objects.get("invoice_lines")) or _list(invoice.get("lines"))
    cur = sale.currency
    out: list[RawLine] = []
    for li in items:
        amount = _minor(li.get("amount"), cur)
        amount -= sum(
            (_minor(d.get("amount"), cur) for d in _list(li.get("discount_amounts"))), Decimal(0)
        )
        taxes = _taxes(_list(li.get("taxes")) or _list(li.get("tax_amounts")), cur, sale)
        pricing = _map(li.get("pricing"))
        details = _map(pricing.get("price_details"))
        price = li.get("price")
        product_ref = details.get("product") or _map(price).get("product")
        product = _product(sale, product_ref)
        if not product:
            product = _product(sale, _map(price).get("product"))
        price_id = _text(details.get("price")) or (
            _text(price) if isinstance(price, str) else _text(_map(price).get("id"))
        )
        name, desc = _named(_text(product.get("name")), _text(li.get("description")), "Servicii")
        out.append(
            RawLine(
                name=name,
                quantity=_qty(li.get("quantity")),
                amount=amount,
                amount_includes_tax=taxes.inclusive if taxes.amount is not None else True,
                tax_amount=taxes.amount,
                tax_rate=taxes.rate,
                tax_rate_ids=taxes.rate_ids,
                taxability_reason=taxes.reason,
                tax_country=taxes.country,
                tax_count=taxes.count,
                item_id=price_id or _text(product_ref if isinstance(product_ref, str) else None),
                description=desc,
                goods=_is_goods(product),
                period=_period(li.get("period")),
            )
        )
    return out


def _checkout_lines(sale: Sale) -> list[RawLine]:
    cur = sale.currency
    out: list[RawLine] = []
    for li in _list(sale.objects.get("line_items")):
        price = _map(li.get("price"))
        product = _product(sale, price.get("product"))
        taxes = _taxes(_list(li.get("taxes")), cur, sale)
        amount_tax = _minor(li.get("amount_tax"), cur)
        has_tax = taxes.amount is not None or amount_tax != 0
        tax_amount = amount_tax if li.get("amount_tax") is not None else taxes.amount
        total = li.get("amount_total")
        if total is None:
            total = _int(li.get("amount_subtotal")) or 0
            total -= _int(li.get("amount_discount")) or 0
        name, desc = _named(_text(product.get("name")), _text(li.get("description")), "Produs")
        out.append(
            RawLine(
                name=name,
                quantity=_qty(li.get("quantity")),
                amount=_minor(total, cur),
                amount_includes_tax=True,
                tax_amount=tax_amount if has_tax else None,
                tax_rate=taxes.rate,
                tax_rate_ids=taxes.rate_ids,
                taxability_reason=taxes.reason,
                tax_country=taxes.country,
                tax_count=taxes.count if taxes.amount is not None else (1 if has_tax else 0),
                item_id=_text(price.get("id")),
                description=desc,
                goods=_is_goods(product),
            )
        )
    return out


def _amount_details_lines(sale: Sale) -> list[RawLine]:
    cur = sale.currency
    pi = _map(sale.objects.get("payment_intent"))
    items = _list(sale.objects.get("amount_details_line_items")) or _list(
        _map(pi.get("amount_details")).get("line_items")
    )
    out: list[RawLine] = []
    for li in items:
        qty = _qty(li.get("quantity"))
        unit = _minor(li.get("unit_cost"), cur)
        net = unit * qty - _minor(li.get("discount_amount"), cur)
        tax = _map(li.get("tax"))
        tax_amount = (
            _minor(tax.get("total_tax_amount"), cur)
            if tax.get("total_tax_amount") is not None
            else None
        )
        unit_code = _text(li.get("unit_of_measure"))
        out.append(
            RawLine(
                name=_text(li.get("product_name")) or "Produs",
                quantity=qty,
                amount=net,
                amount_includes_tax=False if tax_amount is not None else None,
                tax_amount=tax_amount,
                tax_count=1 if tax_amount is not None else 0,
                item_id=_text(li.get("product_code")),
                unit_code=units.unit_code(unit_code),
            )
        )
    return out


def _shipping_amount(sale: Sale) -> Decimal:
    """Shipping charged on top of the lines (gross), in major units; 0 when none."""
    cur = sale.currency
    session = _map(sale.objects.get("checkout_session"))
    cost = _map(session.get("shipping_cost"))
    if cost.get("amount_total") is not None:
        return _minor(cost.get("amount_total"), cur)
    details = _map(session.get("total_details"))
    if details.get("amount_shipping"):
        return _minor(details.get("amount_shipping"), cur)
    invoice_cost = _map(_map(sale.objects.get("invoice")).get("shipping_cost"))
    if invoice_cost.get("amount_total") is not None:
        return _minor(invoice_cost.get("amount_total"), cur)
    pi_details = _map(_map(sale.objects.get("payment_intent")).get("amount_details"))
    pi_ship = _map(pi_details.get("shipping"))
    if pi_ship.get("amount") is not None:
        return _minor(pi_ship.get("amount"), cur)
    return Decimal(0)


def _discount_amount(sale: Sale) -> Decimal:
    session = _map(sale.objects.get("checkout_session"))
    details = _map(session.get("total_details"))
    if details.get("amount_discount"):
        return _minor(details.get("amount_discount"), sale.currency)
    invoice = _map(sale.objects.get("invoice"))
    total = sum(
        (_int(d.get("amount")) or 0 for d in _list(invoice.get("total_discount_amounts"))), 0
    )
    return from_minor(total, sale.currency)


def _shipping(sale: Sale) -> RawLine | None:
    """The shipping line (gross, with Stripe's shipping tax when given), or None."""
    amount = _shipping_amount(sale)
    if amount <= 0:
        return None
    cost = _map(_map(sale.objects.get("checkout_session")).get("shipping_cost"))
    if not cost:
        cost = _map(_map(sale.objects.get("invoice")).get("shipping_cost"))
    taxes = _taxes(_list(cost.get("taxes")), sale.currency, sale)
    amount_tax = _minor(cost.get("amount_tax"), sale.currency)
    has_tax = taxes.amount is not None or amount_tax != 0
    return RawLine(
        name=SHIPPING_NAME,
        quantity=Decimal(1),
        amount=amount,
        amount_includes_tax=True,
        tax_amount=(amount_tax if cost.get("amount_tax") is not None else taxes.amount)
        if has_tax
        else None,
        tax_rate=taxes.rate,
        tax_rate_ids=taxes.rate_ids,
        taxability_reason=taxes.reason,
        tax_country=taxes.country,
        tax_count=max(taxes.count, 1) if has_tax else 0,
        kind="shipping",
    )


def _meta_raw(ml: MetaLine) -> RawLine:
    return RawLine(
        name=ml.name,
        quantity=ml.quantity,
        amount=ml.total,
        amount_includes_tax=None,
        tax_rate=None if ml.vat_rate is None else canonical_rate(ml.vat_rate),
        item_id=ml.item_id,
    )


def _single_line(sale: Sale) -> tuple[list[RawLine], list[Problem]]:
    sources = metadata_sources(sale)
    problems: list[Problem] = []
    name: str | None = None
    for _, _, value in iter_metadata(sources, "product_name", "productname", "description"):
        name = _text(value)
        break
    if name is None:
        for obj in ("payment_intent", "invoice", "charge"):
            name = _text(_map(sale.objects.get(obj)).get("description"))
            if name:
                break
    if name is None:
        order = next(iter_metadata(sources, "order_id"), None)
        ref = _text(_map(sale.objects.get("checkout_session")).get("client_reference_id"))
        ref = order[2] if order else ref
        name = f"Comanda {ref}" if ref else "Plată online"
    quantity = Decimal(1)
    for _, key, value in iter_metadata(sources, "quantity"):
        try:
            quantity = parse_quantity(value)
        except ValueError:
            problems.append(
                problem(
                    "P-LINE-QUANTITY-INVALID",
                    field=f"metadata.{key}",
                    line=1,
                    name=name,
                    value=value[:40],
                )
            )
            quantity = Decimal(1)
        break
    cur = sale.currency
    collected = from_minor(sale.amount, cur)
    session = _map(sale.objects.get("checkout_session"))
    details = _map(session.get("total_details"))
    tax = _minor(details.get("amount_tax"), cur) if details.get("amount_tax") else None
    shipping = _shipping_amount(sale)
    main = RawLine(
        name=name,
        quantity=quantity,
        amount=collected,
        amount_includes_tax=True,
        tax_amount=tax,
        tax_count=1 if tax is not None else 0,
    )
    ship = _shipping(sale)
    if tax is None and ship is not None and ship.tax_amount is None and shipping < collected:
        return [replace(main, amount=collected - shipping), ship], problems
    return [main], problems


def lines_draft(sale: Sale) -> LinesDraft:
    """The lines of ``sale`` by the precedence in the module docs."""
    meta = metadata_lines(sale)
    if meta is not None:
        lines = tuple(_meta_raw(ml) for ml in meta.lines)
        adjust = None
        if not meta.problems:
            adjust = LineAdjustments(shipping=_shipping(sale), discount=_discount_amount(sale))
        return LinesDraft(lines, meta.source, meta.problems, adjust)
    for source, reader in (
        ("invoice_lines", _invoice_lines),
        ("line_items", _checkout_lines),
        ("amount_details_line_items", _amount_details_lines),
    ):
        found = reader(sale)
        if found:
            ship = _shipping(sale)
            if ship is not None:
                found.append(ship)
            return LinesDraft(tuple(found), source, ())
    single, problems = _single_line(sale)
    return LinesDraft(tuple(single), "single_line", tuple(problems))
