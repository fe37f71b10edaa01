"""Refund and dispute events: which ones reverse a payment (pure).

A succeeded refund (``refund.created``, ``refund.updated``, ``charge.refund.updated``) and a
lost dispute (``charge.dispute.closed`` with ``status = lost``) become a :class:`Reversal`:
a :class:`~stripe_efactura.intake.sale.Sale` whose payment key is the ``re_…`` / ``dp_…``
id, the original payment's key it refers to, and its kind. Everything else about refunds and
disputes is ignored with a code.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..invoicing.storno import ReturnedItem
from ..money import parse_decimal
from .events import MALFORMED, Envelope, Ignored, Reason
from .metadata import norm_key, parse_quantity
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
        return refund_reversal(env, obj)
    if env.type != "charge.dispute.closed" or obj.get("status") != "lost":
        return Ignored.of(env.id, env.type, DISPUTE_NOT_LOST)
    # the storno is dated when the dispute was lost (the event), not when it was opened
    created = env.created if env.created is not None else as_int(obj.get("created"))
    return _reversal(env, "dispute", obj, created)


def refund_reversal(
    env: Envelope,
    refund: dict[str, Any],
    extra: Mapping[str, object] | None = None,
    *,
    refers_to: str | None = None,
) -> Reversal | Ignored:
    """A Refund object (from a refund event, a charge's refund list or a credit note) as the
    reversal it confirms when it succeeded; ``extra`` objects are kept on the sale (the
    credit note and its returned items); ``refers_to`` (the credit note's ``in_…``) when the
    refund itself could not be read."""
    if refund.get("status") != "succeeded":
        return Ignored.of(env.id, env.type, REFUND_NOT_SUCCEEDED)
    created = as_int(refund.get("created"))
    return _reversal(env, "refund", refund, created, extra, refers_to=refers_to)


def _reversal(
    env: Envelope,
    kind: str,
    obj: dict[str, Any],
    created: int | None,
    extra: Mapping[str, object] | None = None,
    *,
    refers_to: str | None = None,
) -> Reversal | Ignored:
    prefix = "re_" if kind == "refund" else "dp_"
    key = obj.get("id")
    amount = as_int(obj.get("amount"))
    currency = obj.get("currency")
    refers_to = ref_id(obj.get("payment_intent")) or ref_id(obj.get("charge")) or refers_to
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
        owner_type=kind if not extra else "credit_note",
        owner_id=key if not extra else str(as_dict(extra.get("credit_note")).get("id", key)),
        currency=currency.upper(),
        amount=amount,
        paid_at=datetime.fromtimestamp(created, UTC),
        livemode=env.livemode,
        objects={kind: obj, **(extra or {})},
        api_version=env.api_version,
    )
    return Reversal(kind=kind, refers_to=refers_to, sale=sale)


REFUND_REASONS_RO = {
    "requested_by_customer": "Rambursare la cererea clientului",
    "duplicate": "Rambursare: plată duplicată",
    "fraudulent": "Rambursare: plată frauduloasă",
    "expired_uncaptured_charge": "Rambursare: autorizare de plată expirată",
}
"""Stripe's Refund ``reason`` values, in Romanian."""
DISPUTE_REASONS_RO = {
    "bank_cannot_process": "banca nu a putut procesa plata",
    "check_returned": "cec returnat",
    "credit_not_processed": "rambursare promisă neefectuată",
    "customer_initiated": "inițiată de client",
    "debit_not_authorized": "debit neautorizat",
    "duplicate": "plată duplicată",
    "fraudulent": "plată frauduloasă",
    "general": "motiv general",
    "incorrect_account_details": "date de cont incorecte",
    "insufficient_funds": "fonduri insuficiente",
    "noncompliant": "neconformă cu regulile rețelei de carduri",
    "product_not_received": "produs sau serviciu neprimit",
    "product_unacceptable": "produs sau serviciu necorespunzător",
    "subscription_canceled": "abonament anulat",
    "unrecognized": "plată nerecunoscută de titularul cardului",
}
"""Stripe's Dispute ``reason`` values, in Romanian."""


def reversal_label(kind: str, sale: Sale) -> str:
    """The storno's reason in Romanian, from the refund's or dispute's own ``reason``:
    ``Rambursare la cererea clientului``, ``Dispută pierdută: plată frauduloasă``. An unknown
    reason is kept as Stripe sent it (between quotes) rather than dropped."""
    obj = sale.objects.get(kind)
    why = obj.get("reason") if isinstance(obj, dict) else None
    if kind == "refund":
        if not isinstance(why, str) or not why:
            return "Rambursare"
        return REFUND_REASONS_RO.get(why) or f"Rambursare (motiv Stripe „{why}”)"
    if not isinstance(why, str) or not why:
        return "Dispută pierdută"
    text = DISPUTE_REASONS_RO.get(why)
    return f"Dispută pierdută: {text}" if text else f"Dispută pierdută (motiv Stripe „{why}”)"


def reversal_charge(kind: str, sale: Sale) -> str | None:
    """The Charge a refund or dispute names (a sale recorded from a Charge alone is keyed by
    ``ch_…``)."""
    obj = sale.objects.get(kind)
    return ref_id(obj.get("charge")) if isinstance(obj, dict) else None


ITEMS_KEY = "efactura_items"
"""Refund metadata naming the returned lines: a JSON array of ``{"line": N}`` (the invoice's
line number) or ``{"item": "SKU-7"}`` (the line's product id), each with ``"quantity"`` and
optionally ``"amount"`` (the refunded amount for it, VAT included, in major units)."""
MAX_ITEMS = 200
CREDIT_NOTE_ITEMS = "credit_note_items"
"""Key of ``Sale.objects``: a Stripe credit note's lines as ``efactura_items`` entries
(``intake.reversals``)."""


def returned_items(kind: str, sale: Sale) -> tuple[ReturnedItem, ...]:
    """What a refund says was returned: its ``efactura_items`` metadata, else the lines of the
    Stripe credit note it came with; ``()`` when it names nothing.

    Raises ValueError (with the reason) for metadata that cannot be read.
    """
    obj = as_dict(sale.objects.get(kind))
    for key, value in as_dict(obj.get("metadata")).items():
        if norm_key(key) == norm_key(ITEMS_KEY) and isinstance(value, str) and value.strip():
            return _parse_items(value)
    listed = sale.objects.get(CREDIT_NOTE_ITEMS)
    if isinstance(listed, list) and listed:
        return tuple(_item(entry, n) for n, entry in enumerate(listed, 1))
    return ()


def _parse_items(text: str) -> tuple[ReturnedItem, ...]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{ITEMS_KEY} is not JSON: {exc.msg}") from exc
    if not isinstance(data, list) or not data or len(data) > MAX_ITEMS:
        raise ValueError(f"{ITEMS_KEY} must be a JSON array of 1..{MAX_ITEMS} objects")
    return tuple(_item(entry, n) for n, entry in enumerate(data, 1))


def _text(value: object) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | str):
        text = str(value).strip()
        return text or None
    return None


def _item(entry: object, n: int) -> ReturnedItem:
    if not isinstance(entry, dict):
        raise ValueError(f"{ITEMS_KEY}[{n}] is not an object")
    line, item = _text(entry.get("line")), _text(entry.get("item"))
    if (line is None) == (item is None):
        raise ValueError(f"{ITEMS_KEY}[{n}] needs exactly one of 'line' or 'item'")
    qty_text = _text(entry.get("quantity", 1))
    amount_text = _text(entry.get("amount"))
    try:
        quantity = parse_quantity(qty_text or "")
        amount = None if amount_text is None else parse_decimal(amount_text)
    except ValueError as exc:
        raise ValueError(f"{ITEMS_KEY}[{n}]: {exc}") from exc
    if amount is not None and (amount <= 0 or amount != round(amount, 2)):
        raise ValueError(f"{ITEMS_KEY}[{n}]: the amount must be above 0 with 2 decimals")
    return ReturnedItem(quantity=quantity, line=line, item=item, amount=amount)
