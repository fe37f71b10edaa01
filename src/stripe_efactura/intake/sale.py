"""A confirmed Stripe payment as intake records it: the Stripe objects that describe it.

A :class:`Sale` is stored with its payment (``payments.sale``) and read again to issue, rebuild
or reverse the invoice; :func:`stripe_efactura.intake.draft.draft_of` turns it into the
Stripe-free :class:`~stripe_efactura.invoicing.draft.SaleDraft` the builder takes. The raw
objects never reach the core.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Sale:
    """A confirmed Stripe payment, neutral of event types: what intake hands to invoicing.

    ``objects`` holds the plain-JSON Stripe objects that describe the payment, keyed by
    role: ``invoice``, ``checkout_session``, ``line_items`` (list), ``payment_intent``,
    ``charge``, ``customer``, ``invoice_lines`` (list, all pages), ``amount_details_line_items``
    (list), ``tax_rates`` (dict id -> TaxRate), ``products`` (dict id -> Product).
    """

    payment_key: str
    """``pi_…``, else ``in_…``, else ``ch_…``."""
    owner_type: str
    """``invoice`` | ``checkout_session`` | ``payment_intent`` | ``charge``."""
    owner_id: str
    currency: str
    """Upper-case ISO 4217 of the amount Stripe collected."""
    amount: int
    """Amount collected, in minor units."""
    paid_at: datetime
    """UTC, timezone-aware."""
    livemode: bool
    objects: Mapping[str, Any]
    degraded: bool = False
    """True when built from the webhook payload alone (no Stripe API key)."""
    api_version: str | None = None
