"""Facts read off a payment's owner for its Sale: the amount paid, the payment date, and the
TaxRate and Product ids an Invoice and its lines name (read when not expanded)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from stripe_efactura.intake.events import (
    KIND_INVOICE,
    KIND_PAYMENT_INTENT,
    KIND_SESSION,
    charge_amount,
    invoice_paid_amount,
)
from stripe_efactura.intake.plain import as_dict, as_int, as_list, ref_id


def owner_amount(owner_type: str, owner: Mapping[str, Any]) -> int | None:
    if owner_type == KIND_INVOICE:
        return invoice_paid_amount(owner)
    if owner_type == KIND_SESSION:
        return as_int(owner.get("amount_total"))
    if owner_type == KIND_PAYMENT_INTENT:
        return as_int(owner.get("amount_received"))
    return charge_amount(owner)


def paid_at(
    inv: Mapping[str, Any] | None,
    ch: Mapping[str, Any] | None,
    pi: Mapping[str, Any] | None,
    cs: Mapping[str, Any] | None,
    event_created: int | None,
) -> datetime | None:
    """``invoice.status_transitions.paid_at``, else ``charge.created``, ``pi.created``,
    ``session.created``, and the event's ``created`` as the last resort."""
    candidates = [
        as_int(as_dict(inv.get("status_transitions")).get("paid_at")) if inv else None,
        as_int(ch.get("created")) if ch else None,
        as_int(pi.get("created")) if pi else None,
        as_int(cs.get("created")) if cs else None,
        event_created,
    ]
    ts = next((c for c in candidates if c is not None), None)
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


def invoice_tax_rate_ids(inv: Mapping[str, Any], lines: list[Any]) -> list[str]:
    """TaxRate ids named by ``total_taxes`` and the lines' ``taxes`` (normalised), in order."""
    found: dict[str, None] = {}
    taxes = list(as_list(inv.get("total_taxes")))
    for line in lines:
        taxes += as_list(as_dict(line).get("taxes"))
    for tax in taxes:
        rid = ref_id(as_dict(as_dict(tax).get("tax_rate_details")).get("tax_rate"))
        if rid:
            found.setdefault(rid, None)
    return list(found)


def invoice_product_ids(lines: list[Any]) -> list[str]:
    found: dict[str, None] = {}
    for line in lines:
        details = as_dict(as_dict(as_dict(line).get("pricing")).get("price_details"))
        pid = details.get("product")
        if isinstance(pid, str) and pid:
            found.setdefault(pid, None)
    return list(found)
