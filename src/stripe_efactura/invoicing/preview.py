"""The builder's result as JSON-able data, for ``stripe-efactura preview`` (pure)."""

from __future__ import annotations

from decimal import Decimal

from ..jsontypes import JsonObject
from .build import BuildResult
from .model import Address, Party, TaxClass


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:f}"


def _party(p: Party | None) -> JsonObject | None:
    if p is None:
        return None
    a: Address = p.address
    return {
        "name": p.name,
        "kind": p.kind.value,
        "vat_id": p.vat_id,
        "legal_id": p.legal_id,
        "trade_register": p.trade_register,
        "email": p.email,
        "phone": p.phone,
        "address": {
            "line1": a.line1,
            "line2": a.line2,
            "city": a.city,
            "county": a.county,
            "postal_code": a.postal_code,
            "country": a.country,
        },
    }


def _tax(t: TaxClass) -> JsonObject:
    return {
        "category": t.category.value,
        "rate": _dec(t.rate),
        "exemption_code": t.exemption_code,
        "exemption_reason": t.exemption_reason,
    }


def preview_dict(result: BuildResult) -> JsonObject:
    """JSON-able summary for ``stripe-efactura preview``: buyer, lines, VAT, totals, problems.

    Decimals are strings (``"121.00"``) so no precision is lost.
    """
    t = result.totals
    inv = result.invoice
    return {
        "ok": result.ok,
        "needs_fx": result.needs_fx,
        "number": inv.number if inv else None,
        "issue_date": result.issue_date.isoformat() if result.issue_date else None,
        "currency": result.currency,
        "line_source": result.line_source,
        "buyer": _party(result.buyer),
        "buyer_sources": dict(result.buyer_sources),
        "lines": [
            {
                "id": ln.line_id,
                "name": ln.name,
                "description": ln.description,
                "quantity": _dec(ln.quantity),
                "unit_code": ln.unit_code,
                "unit_price": _dec(ln.unit_price),
                "net_amount": _dec(ln.net_amount),
                "gross_amount": _dec(ln.gross_amount),
                "tax": _tax(ln.tax),
                "seller_item_id": ln.seller_item_id,
            }
            for ln in result.lines
        ],
        "vat_breakdown": [
            {
                **_tax(b.tax),
                "taxable_amount": _dec(b.taxable_amount),
                "tax_amount": _dec(b.tax_amount),
            }
            for b in result.vat_breakdown
        ],
        "totals": None
        if t is None
        else {
            "line_net_total": _dec(t.line_net_total),
            "tax_exclusive": _dec(t.tax_exclusive),
            "tax_total": _dec(t.tax_total),
            "tax_inclusive": _dec(t.tax_inclusive),
            "prepaid": _dec(t.prepaid),
            "payable": _dec(t.payable),
            "tax_total_ron": _dec(t.tax_total_ron),
        },
        "fx": None
        if inv is None or inv.fx is None
        else {
            "rate": _dec(inv.fx.rate),
            "rate_date": inv.fx.rate_date.isoformat(),
            "source": inv.fx.source,
        },
        "problems": [p.to_dict() for p in result.problems],
        "warnings": [p.to_dict() for p in result.warnings],
    }
