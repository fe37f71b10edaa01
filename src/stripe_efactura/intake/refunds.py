"""Refund and dispute events: which ones reverse a payment (pure).

A succeeded refund (``refund.created``, ``refund.updated``, ``charge.refund.updated``) and a
lost dispute (``charge.dispute.closed`` with ``status = lost``) become a :class:`Reversal`:
a :class:`~stripe_efactura.intake.sale.Sale` whose payment key is the ``re_…`` / ``dp_…``
id, the original payment's key it refers to, and its kind. Everything else about refunds and
disputes is ignored with a code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from .events import MALFORMED, Envelope, Ignored, Reason
from .plain import as_dict, as_int, ref_id
from .sale import Sale

REFUND_TYPES = frozenset(
    {"refund.created", "refund.updated", "refund.failed", "charge.refund.updated"}
)
DISPUTE_TYPES = frozenset(
    {
        "charge.dispute.created",
        "charge.dispute.updated",
        "charge.dispute.closed",
        "charge.dispute.funds_withdrawn",
        "charge.dispute.funds_reinstated",
    }
)

REFUND_NOT_SUCCEEDED = Reason(
    "I-REFUND-NOT-SUCCEEDED",
    "The refund has not succeeded (pending, failed or canceled); a storno is issued when it does.",
    "Rambursarea nu a reușit (în așteptare, eșuată sau anulată); stornarea se emite când reușește.",
)
DISPUTE_NOT_LOST = Reason(
    "I-DISPUTE-NOT-LOST",
    "The dispute is not closed as lost; only a lost dispute reverses the invoice.",
    "Disputa nu este închisă ca pierdută; doar o dispută pierdută stornează factura.",
)


@dataclass(frozen=True)
class Reversal:
    """A refund or a lost dispute to issue a storno for."""

    kind: str
    """``refund`` | ``dispute``."""
    refers_to: str
    """The original payment key (``pi_…``, else ``ch_…``)."""
    sale: Sale
    """``payment_key`` = the ``re_…`` / ``dp_…`` id; ``objects`` = ``{kind: the object}``."""


def handles(env: Envelope) -> bool:
    """Whether this module decides the event (snapshot refund and dispute events)."""
    return not env.thin and (env.type in REFUND_TYPES or env.type in DISPUTE_TYPES)


def classify(env: Envelope) -> Reversal | Ignored:
    """The reversal an event confirms, or why it is ignored."""
    obj = as_dict(env.object)
    if env.type in REFUND_TYPES:
        kind, prefix = "refund", "re_"
        if obj.get("status") != "succeeded":
            return Ignored.of(env.id, env.type, REFUND_NOT_SUCCEEDED)
        created = as_int(obj.get("created"))
    else:
        kind, prefix = "dispute", "dp_"
        if env.type != "charge.dispute.closed" or obj.get("status") != "lost":
            return Ignored.of(env.id, env.type, DISPUTE_NOT_LOST)
        # the storno is dated when the dispute was lost (the event), not when it was opened
        created = env.created if env.created is not None else as_int(obj.get("created"))
    key = obj.get("id")
    amount = as_int(obj.get("amount"))
    currency = obj.get("currency")
    refers_to = ref_id(obj.get("payment_intent")) or ref_id(obj.get("charge"))
    if (
        not isinstance(key, str)
        or not key.startswith(prefix)
        or amount is None
        or amount <= 0
        or not isinstance(currency, str)
        or refers_to is None
        or created is None
    ):
        return Ignored.of(env.id, env.type, MALFORMED)
    sale = Sale(
        payment_key=key,
        owner_type=kind,
        owner_id=key,
        currency=currency.upper(),
        amount=amount,
        paid_at=datetime.fromtimestamp(created, UTC),
        livemode=env.livemode,
        objects={kind: obj},
        api_version=env.api_version,
    )
    return Reversal(kind=kind, refers_to=refers_to, sale=sale)


def reversal_label(kind: str, sale: Sale) -> str:
    """``Rambursare (requested_by_customer)`` / ``Dispută pierdută (fraudulent)``: the storno's
    reason, from the refund's or dispute's own ``reason``."""
    label = "Rambursare" if kind == "refund" else "Dispută pierdută"
    obj = sale.objects.get(kind)
    why = obj.get("reason") if isinstance(obj, dict) else None
    return f"{label} ({why})" if isinstance(why, str) and why else label


def reversal_charge(kind: str, sale: Sale) -> str | None:
    """The Charge a refund or dispute names (a sale recorded from a Charge alone is keyed by
    ``ch_…``)."""
    obj = sale.objects.get(kind)
    return ref_id(obj.get("charge")) if isinstance(obj, dict) else None
