"""The stand-in sale of a thin event whose own Stripe object cannot be read (pure).

A thin event (``v2.core.event``) names its object only by id and type (``related_object``);
when the API key cannot read that object (404, 403, 401) nothing says how much was paid, in
which currency or by whom. The payment is still recorded, so it shows in ``payments list``
and waits for the merchant: keyed by the related object's id (final for a PaymentIntent; a
Charge, Invoice or Checkout Session may turn out to belong to a ``pi_…`` payment once read),
with amount 0 in the ISO 4217 "no currency" code ``XXX`` and no buyer. Nothing is ever
invoiced from it: ``payments retry`` re-reads the object and records the real sale.
"""

from __future__ import annotations

from datetime import UTC, datetime

from stripe_efactura.intake.correlate import OBJECT_KEYS
from stripe_efactura.intake.events import KIND_STRIPE_OBJECT, Trigger
from stripe_efactura.intake.sale import Sale

UNREAD_CURRENCY = "XXX"
"""ISO 4217 "no currency involved": the amount of a stand-in sale is not known."""


def unread_sale(trigger: Trigger, received_at: datetime) -> Sale:
    """The stand-in sale of ``trigger`` (a thin event): its object by id and type only, paid
    at the event's time (``received_at`` when the event has none)."""
    objects: dict[str, object] = {
        k: ([] if k.endswith(("lines", "items")) else None) for k in OBJECT_KEYS
    }
    objects["tax_rates"] = {}
    objects["products"] = {}
    stripe_name = KIND_STRIPE_OBJECT.get(trigger.kind, trigger.kind)
    objects[trigger.kind] = {"id": trigger.object_id, "object": stripe_name}
    paid_at = (
        datetime.fromtimestamp(trigger.created, UTC) if trigger.created is not None else received_at
    )
    return Sale(
        payment_key=trigger.object_id,
        owner_type=trigger.kind,
        owner_id=trigger.object_id,
        currency=UNREAD_CURRENCY,
        amount=0,
        paid_at=paid_at,
        livemode=trigger.livemode,
        objects=objects,
        degraded=True,
        api_version=trigger.api_version,
    )


def is_unread(sale: Sale) -> bool:
    """True for a stand-in sale made by :func:`unread_sale`."""
    return sale.degraded and sale.currency == UNREAD_CURRENCY and sale.amount == 0
