"""A recorded Sale -> the Stripe-free draft the invoice builder takes.

:func:`draft_of` is the one crossing from Stripe's shapes into the core: the buyer candidates
(:mod:`.buyer`), the lines (:mod:`.lines`), how the buyer paid and the order reference. The
builder (:func:`stripe_efactura.invoicing.build.build_invoice`) never sees a Stripe object.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from typing import Any

from ..invoicing.draft import BuyerField, DeliveryDraft, PaymentFacts, SaleDraft
from .buyer import buyer_draft, shipping_address
from .lines import lines_draft
from .metadata import iter_metadata, metadata_sources
from .sale import Sale

_MEANS = {
    "card": "48",
    "card_present": "48",
    "link": "48",
    "sepa_debit": "59",
    "bacs_debit": "49",
    "au_becs_debit": "49",
    "acss_debit": "49",
    "us_bank_account": "49",
    "customer_balance": "42",
}
"""Stripe payment method type -> UNCL4461 payment means code (anything else: 1, other).

59 is "SEPA direct debit", 49 any other direct debit. A Stripe bank transfer
(``customer_balance``) is money the buyer sent to a virtual account held by Stripe: 42
"payment to bank account", never 30/58 (credit transfer), which would need that account as
BT-84 (BR-61) — the Charge does not carry it, and the seller's own IBAN is not where the money
went."""

_DEBIT_LABELS = {
    "sepa_debit": "Debit direct SEPA",
    "bacs_debit": "Debit direct Bacs",
    "au_becs_debit": "Debit direct BECS",
    "acss_debit": "Debit direct ACSS",
    "us_bank_account": "Debit direct ACH",
}
"""Romanian label of a bank debit (BT-82), followed by the account's last four digits."""

BANK_TRANSFER_LABEL = "Transfer bancar în contul Stripe"


def _label(kind: str, details: Mapping[str, Any]) -> str | None:
    own = details.get(kind) if details else None
    own = own if isinstance(own, Mapping) else {}
    last4 = own.get("last4")
    if kind == "customer_balance":
        return BANK_TRANSFER_LABEL
    if kind in _DEBIT_LABELS:
        return f"{_DEBIT_LABELS[kind]} •••• {last4}" if last4 else _DEBIT_LABELS[kind]
    if _MEANS.get(kind) == "48" and last4:
        brand = str(own.get("brand") or "").capitalize()
        return f"Card {brand} •••• {last4}".replace("  ", " ")
    return None


def payment_facts(sale: Sale) -> PaymentFacts:
    """How the buyer paid, from the Charge's ``payment_method_details`` (card by default)."""
    charge = sale.objects.get("charge")
    details: Mapping[str, Any] = {}
    if isinstance(charge, Mapping):
        pmd = charge.get("payment_method_details")
        details = pmd if isinstance(pmd, Mapping) else {}
    kind = str(details.get("type") or "card") if details else "card"
    return PaymentFacts(
        means_code=_MEANS.get(kind, "1"),
        method_label=_label(kind, details),
        paid_into_stripe=kind == "customer_balance",
    )


def order_reference(sale: Sale) -> str | None:
    """BT-13: Checkout's ``client_reference_id``, else metadata ``order_id``/``order_number``."""
    session = sale.objects.get("checkout_session")
    if isinstance(session, Mapping) and isinstance(session.get("client_reference_id"), str):
        ref = str(session["client_reference_id"]).strip()
        if ref:
            return ref[:200]
    hit = next(iter_metadata(metadata_sources(sale), "order_id", "order_number"), None)
    return hit[2][:200] if hit else None


def delivery_draft(sale: Sale) -> DeliveryDraft | None:
    """The shipping address (Stripe's shipping details) and the delivery date the merchant
    gave in metadata (``delivery_date``, ``shipped_on`` or ``shipping_date``, ``YYYY-MM-DD``;
    anything else is ignored)."""
    address = shipping_address(sale)
    on: date | None = None
    hit = next(
        iter_metadata(metadata_sources(sale), "delivery_date", "shipped_on", "shipping_date"),
        None,
    )
    if hit is not None:
        try:
            on = date.fromisoformat(hit[2].strip()[:10])
        except ValueError:
            on = None
    if address is None and on is None:
        return None
    return DeliveryDraft(address=address, on=on)


def draft_of(sale: Sale) -> SaleDraft:
    """The neutral draft of ``sale`` (the currency upper-cased first). Never raises on Stripe
    data and never mutates it."""
    currency = sale.currency.upper()
    if currency != sale.currency:
        sale = replace(sale, currency=currency)
    return SaleDraft(
        payment_key=sale.payment_key,
        currency=currency,
        amount=sale.amount,
        paid_at=sale.paid_at,
        livemode=sale.livemode,
        buyer=buyer_draft(sale),
        lines=lines_draft(sale),
        payment=payment_facts(sale),
        order_reference=order_reference(sale),
        degraded=sale.degraded,
        delivery=delivery_draft(sale),
    )


SEARCH_MAX = 500
_SEARCHED = (
    BuyerField.NAME,
    BuyerField.BUSINESS_NAME,
    BuyerField.INDIVIDUAL_NAME,
    BuyerField.EMAIL,
)


def search_text(sale: Sale) -> str:
    """What a text search of the payments looks in, lower-cased: the payment key, the owner
    id, and every buyer name, e-mail and tax id any source of ``sale`` gives (at most
    :data:`SEARCH_MAX` characters)."""
    words = [sale.payment_key, sale.owner_id]
    for layer in buyer_draft(sale).layers:
        words += [layer.fields[f].value for f in _SEARCHED if f in layer.fields]
        words += [i.value for i in layer.ids]
    seen: dict[str, None] = {}
    for word in words:
        text = " ".join(word.lower().split())
        if text:
            seen.setdefault(text, None)
    return " ".join(seen)[:SEARCH_MAX]
