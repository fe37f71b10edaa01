"""Every way Stripe says money went back, as reversals keyed by the Refund or Dispute id.

- ``refund.*``, ``charge.refund.updated``, ``charge.dispute.*`` (snapshot): :mod:`.refunds`.
- **Thin** ``v1.refund.*`` / ``v1.charge.dispute.*`` / ``v1.charge.refunded`` /
  ``v1.credit_note.*`` events carry no object: it is fetched (``retrieve_object``) and decided
  like the snapshot event.
- ``charge.refunded`` carries a Charge with the cumulative ``amount_refunded`` and, since
  2022-11-15, no refund list: its refunds are read from the payload when embedded, else listed
  (``GET /v1/refunds?charge=``). Each succeeded refund is one reversal.
- ``credit_note.created`` / ``credit_note.updated`` (Stripe Invoicing): each refund the note
  made (``refunds[]``, or ``refund`` before basil) is one reversal **keyed by the refund's id**,
  so the note and the ``refund.*`` events of the same money give one storno whatever their
  order; the note's lines (mapped to the invoice's lines, with the API) are the returned items
  when the note made a single refund of its whole amount. A note that refunded nothing
  (customer balance credit, out of band) issues nothing (``I-CREDIT-NOTE-NO-REFUND``); a voided
  note nothing (``I-CREDIT-NOTE-VOID``).

Deduplication is the payments row of the ``re_…``/``dp_…`` id (``UNIQUE``), as for refunds.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from ..errors import ConfigError
from ..money import from_minor
from .events import MALFORMED, Envelope, Ignored, Reason
from .plain import as_dict, as_int, as_list, ref_id
from .reader import StripeReader
from .refunds import (
    CREDIT_NOTE_ITEMS,
    DISPUTE_TYPES,
    REFUND_NOT_SUCCEEDED,
    REFUND_TYPES,
    Reversal,
    classify,
    refund_reversal,
)

CHARGE_REFUNDED = "charge.refunded"
CREDIT_NOTE_TYPES = frozenset({"credit_note.created", "credit_note.updated", "credit_note.voided"})
_THIN_KIND = {"refund": "refund", "dispute": "dispute", "charge": "charge"}

CREDIT_NOTE_NO_REFUND = Reason(
    "I-CREDIT-NOTE-NO-REFUND",
    "The credit note refunded nothing through Stripe (customer balance or out of band); no "
    "storno is issued for it: correct the invoice from the console if it must be.",
    "Nota de credit nu a rambursat nimic prin Stripe (sold client sau în afara Stripe); nu se "
    "emite stornare: corectați factura din consolă dacă e nevoie.",
)
CREDIT_NOTE_VOID = Reason(
    "I-CREDIT-NOTE-VOID",
    "The credit note is void (or not issued); nothing to reverse.",
    "Nota de credit este anulată (sau neemisă); nu este nimic de stornat.",
)


def handles(env: Envelope) -> bool:
    """Whether the event is about money going back (refunds, disputes, credit notes)."""
    return env.type in (REFUND_TYPES | DISPUTE_TYPES | CREDIT_NOTE_TYPES) or (
        env.type == CHARGE_REFUNDED
    )


def resolve(env: Envelope, reader: StripeReader | None) -> list[Reversal] | Ignored:
    """The reversals an event confirms (one per refund or lost dispute), or why it is ignored.

    Raises ConfigError (``E-STRIPE-THIN-NEEDS-KEY``, ``E-STRIPE-REFUNDS-NEEDS-KEY``) when the
    event cannot be decided without the Stripe API; StripeApiError when Stripe fails.
    """
    if env.thin:
        env = _fetched(env, reader)
    if env.type == CHARGE_REFUNDED:
        return _charge_refunds(env, reader)
    if env.type in CREDIT_NOTE_TYPES:
        return _credit_note(env, reader)
    outcome = classify(env)
    return [outcome] if isinstance(outcome, Reversal) else outcome


def _fetched(env: Envelope, reader: StripeReader | None) -> Envelope:
    rel = env.related_object
    if reader is None or rel is None:
        raise ConfigError(
            f"Event {env.id} is a thin event; it needs EFACTURA_STRIPE_API_KEY",
            code="E-STRIPE-THIN-NEEDS-KEY",
        )
    obj = reader.retrieve_object(_THIN_KIND.get(rel.type, rel.type), rel.id)
    return replace(env, object=obj, thin=False)


def _charge_refunds(env: Envelope, reader: StripeReader | None) -> list[Reversal] | Ignored:
    charge = as_dict(env.object)
    listed = charge.get("refunds")
    embedded = as_list(listed)
    complete = isinstance(listed, dict) and not listed.get("has_more")
    if not complete:
        charge_id = ref_id(charge.get("id"))
        if reader is None or charge_id is None:
            raise ConfigError(
                f"Event {env.id} (charge.refunded) has no refund list; it needs "
                "EFACTURA_STRIPE_API_KEY, or subscribe to refund.created and refund.updated",
                code="E-STRIPE-REFUNDS-NEEDS-KEY",
                message_ro=f"Evenimentul {env.id} (charge.refunded) nu are lista rambursărilor; "
                "setați EFACTURA_STRIPE_API_KEY sau abonați-vă la refund.created și "
                "refund.updated",
            )
        embedded = reader.list_refunds(charge_id)
    out = [
        r for r in (refund_reversal(env, as_dict(x)) for x in embedded) if isinstance(r, Reversal)
    ]
    return out or Ignored.of(env.id, env.type, REFUND_NOT_SUCCEEDED)


def _credit_note(env: Envelope, reader: StripeReader | None) -> list[Reversal] | Ignored:
    note = as_dict(env.object)
    if env.type == "credit_note.voided" or note.get("status") != "issued":
        return Ignored.of(env.id, env.type, CREDIT_NOTE_VOID)
    currency = note.get("currency")
    if not isinstance(currency, str) or not isinstance(note.get("id"), str):
        return Ignored.of(env.id, env.type, MALFORMED)
    refunds = _note_refunds(note)
    if not refunds:
        return Ignored.of(env.id, env.type, CREDIT_NOTE_NO_REFUND)
    whole = len(refunds) == 1 and refunds[0][1] == as_int(note.get("amount"))
    items = _note_items(note, reader) if whole else []
    out: list[Reversal] = []
    for refund_id, amount in refunds:
        refund = _refund_of(refund_id, amount, note, reader)
        extra: dict[str, object] = {"credit_note": note}
        if items:
            extra[CREDIT_NOTE_ITEMS] = items
        refers_to = None if reader is not None else ref_id(note.get("invoice"))
        outcome = refund_reversal(env, refund, extra, refers_to=refers_to)
        if isinstance(outcome, Reversal):
            out.append(outcome)
    return out or Ignored.of(env.id, env.type, REFUND_NOT_SUCCEEDED)


def _note_refunds(note: dict[str, Any]) -> list[tuple[str, int]]:
    """``(re_…, amount)`` of each refund the note made (basil ``refunds[]``; older ``refund``)."""
    out: list[tuple[str, int]] = []
    for entry in as_list(note.get("refunds")):
        e = as_dict(entry)
        rid, amount = ref_id(e.get("refund")), as_int(e.get("amount_refunded"))
        if rid and amount:
            out.append((rid, amount))
    old = ref_id(note.get("refund"))
    if not out and old:
        total = as_int(note.get("amount")) or 0
        rest = sum(as_int(note.get(k)) or 0 for k in ("credit_amount", "out_of_band_amount"))
        if total - rest > 0:
            out.append((old, total - rest))
    return out


def _refund_of(
    refund_id: str, amount: int, note: dict[str, Any], reader: StripeReader | None
) -> dict[str, Any]:
    """The Refund object: read from Stripe when possible, else what the note says (succeeded:
    Stripe lists only refunds it made; the reversal then refers to the note's invoice)."""
    if reader is not None:
        return dict(reader.retrieve_object("refund", refund_id))
    return {
        "id": refund_id,
        "object": "refund",
        "amount": amount,
        "currency": note.get("currency"),
        "status": "succeeded",
        "created": note.get("created"),
        "charge": None,
        "payment_intent": None,
        "reason": note.get("reason"),
        "metadata": {},
    }


def _note_items(note: dict[str, Any], reader: StripeReader | None) -> list[dict[str, str]]:
    """The note's lines as ``efactura_items`` entries: ``item`` = the invoice line's price id
    (the invoice line's BT-155), ``quantity``, ``amount`` (VAT included). Empty when a line is a
    custom amount or cannot be mapped (the storno is then proportional)."""
    invoice_id = ref_id(note.get("invoice"))
    if reader is None or invoice_id is None:
        return []
    prices = {str(li.get("id")): _price_id(li) for li in reader.list_invoice_lines(invoice_id)}
    currency = str(note.get("currency"))
    out: list[dict[str, str]] = []
    for raw in as_list(note.get("lines")):
        line = as_dict(raw)
        price = prices.get(str(line.get("invoice_line_item")))
        amount = as_int(line.get("amount"))
        if line.get("type") != "invoice_line_item" or not price or amount is None:
            return []
        amount += sum(as_int(as_dict(t).get("amount")) or 0 for t in _exclusive_taxes(line))
        amount -= sum(
            as_int(as_dict(d).get("amount")) or 0 for d in as_list(line.get("discount_amounts"))
        )
        qty = as_int(line.get("quantity")) or 1
        gross = from_minor(amount, currency)
        out.append({"item": price, "quantity": str(Decimal(qty)), "amount": str(gross)})
    return out


def _price_id(line: dict[str, Any]) -> str | None:
    details = as_dict(as_dict(line.get("pricing")).get("price_details"))
    price = line.get("price")
    return ref_id(details.get("price")) or ref_id(price)


def _exclusive_taxes(line: dict[str, Any]) -> list[object]:
    taxes = [as_dict(t) for t in as_list(line.get("taxes"))]
    old = [as_dict(t) for t in as_list(line.get("tax_amounts"))]
    return [t for t in taxes if t.get("tax_behavior") == "exclusive"] + [
        t for t in old if t.get("inclusive") is False
    ]
