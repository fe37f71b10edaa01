"""A recorded Sale -> the Stripe-free draft the invoice builder takes.

:func:`draft_of` is the one crossing from Stripe's shapes into the core: the buyer candidates
(:mod:`.buyer`), the lines (:mod:`.lines`), how the buyer paid and the order reference. The
builder (:func:`stripe_efactura.invoicing.build.build_invoice`) never sees a Stripe object.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ..invoicing.draft import PaymentFacts, SaleDraft
from .buyer import buyer_draft
from .lines import lines_draft
from .metadata import iter_metadata, metadata_sources
from .sale import Sale

_MEANS = {
    "card": "48",
    "card_present": "48",
    "link": "48",
    "sepa_debit": "49",
    "bacs_debit": "49",
    "au_becs_debit": "49",
    "acss_debit": "49",
    "us_bank_account": "49",
    "customer_balance": "30",
}
"""Stripe payment method type -> UNCL4461 payment means code (anything else: 1, other)."""


def payment_facts(sale: Sale) -> PaymentFacts:
    """How the buyer paid, from the Charge's ``payment_method_details`` (card by default)."""
    charge = sale.objects.get("charge")
    details: Mapping[str, Any] = {}
    if isinstance(charge, Mapping):
        pmd = charge.get("payment_method_details")
        details = pmd if isinstance(pmd, Mapping) else {}
    kind = str(details.get("type") or "card") if details else "card"
    label: str | None = None
    card = details.get(kind) if details else None
    if isinstance(card, Mapping) and card.get("last4"):
        brand = str(card.get("brand") or "").capitalize()
        label = f"Card {brand} •••• {card['last4']}".replace("  ", " ")
    return PaymentFacts(means_code=_MEANS.get(kind, "1"), method_label=label)


def order_reference(sale: Sale) -> str | None:
    """BT-13: Checkout's ``client_reference_id``, else metadata ``order_id``/``order_number``."""
    session = sale.objects.get("checkout_session")
    if isinstance(session, Mapping) and isinstance(session.get("client_reference_id"), str):
        ref = str(session["client_reference_id"]).strip()
        if ref:
            return ref[:200]
    hit = next(iter_metadata(metadata_sources(sale), "order_id", "order_number"), None)
    return hit[2][:200] if hit else None


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
    )
