"""Stripe API-version eras: every object read as the current (basil and later) shape (pure).

Webhook endpoints render events in the API version they were created with, and the SDK fetches
objects in its own; :func:`normalize` fills the current fields from whatever era an object comes
in (see ``docs/stripe.md``), so nothing downstream reads a legacy field.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from stripe_efactura.intake.plain import as_dict, as_int, as_list, object_name, ref_id


def normalize(obj: Mapping[str, Any], api_version: str | None = None) -> dict[str, Any]:
    """A deep copy of ``obj`` with the canonical (basil+) fields filled; the input is untouched.

    Fields are only *added* when absent (or ``null``), never removed, so hybrid objects keep
    both sets and code may still read a legacy link (``pi.invoice``, ``charge.invoice``).
    The era is detected from the shape, not from ``api_version`` (hybrids exist, and fetched
    objects are rendered in the SDK's version); ``api_version`` is accepted for the record.

    - PaymentIntent before 2022-11-15: ``latest_charge`` from the ``charges`` list.
    - Charge: ``amount_captured`` / ``status`` on very old charges.
    - Invoice before basil: ``parent`` from ``subscription``, ``total_taxes`` from
      ``total_tax_amounts``, ``payments`` (a list of one InvoicePayment) from
      ``payment_intent`` / ``charge``, ``total_excluding_tax`` from ``tax``; each line gets
      ``pricing``, ``taxes`` (from ``tax_amounts``) and ``parent``.
    - Checkout Session before basil: ``collected_information.shipping_details`` from
      ``shipping_details`` (or the older ``shipping``).
    """
    del api_version  # shape wins; see the docstring
    out = copy.deepcopy(dict(obj))
    name = object_name(out)
    if name is not None and "object" not in out:
        out["object"] = name
    if name == "payment_intent":
        _norm_payment_intent(out)
    elif name == "charge":
        _norm_charge(out)
    elif name == "invoice":
        _norm_invoice(out)
    elif name == "line_item":
        _norm_invoice_line(out)
    elif name == "checkout.session":
        _norm_session(out)
    return out


def _missing(obj: Mapping[str, Any], key: str) -> bool:
    return obj.get(key) is None


def _norm_payment_intent(pi: dict[str, Any]) -> None:
    charges = [c for c in as_list(pi.get("charges")) if isinstance(c, dict)]
    if _missing(pi, "latest_charge") and charges:
        newest = max(charges, key=lambda c: as_int(c.get("created")) or 0)
        pi["latest_charge"] = ref_id(newest)


def _norm_charge(ch: dict[str, Any]) -> None:
    if _missing(ch, "amount_captured") and as_int(ch.get("amount")) is not None:
        ch["amount_captured"] = ch["amount"] if ch.get("captured", True) else 0
    if _missing(ch, "status") and "paid" in ch:
        ch["status"] = "succeeded" if ch.get("paid") else "failed"


def _norm_invoice(inv: dict[str, Any]) -> None:
    subscription = ref_id(inv.get("subscription"))
    if _missing(inv, "parent") and subscription:
        meta = as_dict(inv.get("subscription_details")).get("metadata")
        inv["parent"] = {
            "type": "subscription_details",
            "subscription_details": {"subscription": subscription, "metadata": meta or {}},
            "quote_details": None,
        }
    elif "parent" not in inv:
        inv["parent"] = None
    if _missing(inv, "total_taxes"):
        inv["total_taxes"] = [_tax_from_legacy(t) for t in as_list(inv.get("total_tax_amounts"))]
    if _missing(inv, "total_excluding_tax"):
        total, tax = as_int(inv.get("total")), as_int(inv.get("tax"))
        if total is not None:
            inv["total_excluding_tax"] = total - (tax or 0)
    if _missing(inv, "payments"):
        payments = _payments_from_legacy(inv)
        if payments is not None:
            inv["payments"] = payments
    lines = inv.get("lines")
    if isinstance(lines, dict) and isinstance(lines.get("data"), list):
        for line in lines["data"]:
            if isinstance(line, dict):
                _norm_invoice_line(line)


def _tax_from_legacy(item: object) -> dict[str, Any]:
    t = as_dict(item)
    return {
        "amount": t.get("amount"),
        "tax_behavior": "inclusive" if t.get("inclusive") else "exclusive",
        "tax_rate_details": {"tax_rate": ref_id(t.get("tax_rate"))},
        "taxability_reason": t.get("taxability_reason"),
        "taxable_amount": t.get("taxable_amount"),
        "type": "tax_rate_details",
    }


def _payments_from_legacy(inv: Mapping[str, Any]) -> dict[str, Any] | None:
    pi, charge = ref_id(inv.get("payment_intent")), ref_id(inv.get("charge"))
    if pi:
        payment: dict[str, Any] = {"type": "payment_intent", "payment_intent": pi}
    elif charge:
        payment = {"type": "charge", "charge": charge}
    else:
        return None
    paid = inv.get("status") == "paid"
    entry = {
        "object": "invoice_payment",
        "invoice": inv.get("id"),
        "is_default": True,
        "status": "paid" if paid else "open",
        "amount_paid": inv.get("amount_paid") if paid else None,
        "currency": inv.get("currency"),
        "payment": payment,
    }
    return {"object": "list", "data": [entry], "has_more": False, "url": "/v1/invoice_payments"}


def _norm_invoice_line(line: dict[str, Any]) -> None:
    price = line.get("price")
    if _missing(line, "pricing") and isinstance(price, dict):
        line["pricing"] = {
            "type": "price_details",
            "price_details": {"price": ref_id(price), "product": ref_id(price.get("product"))},
            "unit_amount_decimal": price.get("unit_amount_decimal"),
        }
    if _missing(line, "taxes"):
        line["taxes"] = [_tax_from_legacy(t) for t in as_list(line.get("tax_amounts"))]
    if "parent" not in line:
        line["parent"] = _line_parent(line)


def _line_parent(line: Mapping[str, Any]) -> dict[str, Any] | None:
    subscription = ref_id(line.get("subscription"))
    proration = bool(line.get("proration", False))
    if line.get("type") == "subscription" or line.get("subscription_item"):
        return {
            "type": "subscription_item_details",
            "subscription_item_details": {
                "subscription": subscription,
                "subscription_item": ref_id(line.get("subscription_item")),
                "invoice_item": None,
                "proration": proration,
            },
        }
    invoice_item = ref_id(line.get("invoice_item"))
    if line.get("type") == "invoiceitem" or invoice_item:
        return {
            "type": "invoice_item_details",
            "invoice_item_details": {
                "invoice_item": invoice_item,
                "subscription": subscription,
                "proration": proration,
            },
        }
    return None


def _norm_session(cs: dict[str, Any]) -> None:
    legacy_shipping = cs.get("shipping_details") or cs.get("shipping")
    info = cs.get("collected_information")
    if not isinstance(info, dict):
        cs["collected_information"] = {
            "business_name": None,
            "individual_name": None,
            "shipping_details": legacy_shipping,
        }
    elif info.get("shipping_details") is None and legacy_shipping is not None:
        info["shipping_details"] = legacy_shipping
