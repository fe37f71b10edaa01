"""Stripe event envelopes, API-version normalisation and the trigger rules (pure, plain dicts).

Three steps, each a function of values only:

1. :func:`.envelope.parse_envelope` reads the raw (already verified) webhook body into an
   :class:`Envelope`.
   Snapshot events (``object: "event"``) carry the resource in ``data.object``; thin events
   (``object: "v2.core.event"``, types prefixed ``v1.``) carry only ``related_object`` and the
   resource must be fetched from the API.
2. :func:`.versions.normalize` returns a copy of a Stripe object with the current (basil and
   later) fields filled from whatever era the webhook endpoint renders in (``docs/stripe.md``).
3. :func:`classify` applies the trigger rules: a :class:`Trigger` for an event that confirms a
   payment, an :class:`Ignored` (with a reason code) for everything else.

Nothing here does I/O or reads the clock, and no input is mutated.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from stripe_efactura.errors import EfacturaError
from stripe_efactura.intake.plain import as_dict, as_int, as_list, object_name, ref_id
from stripe_efactura.intake.versions import normalize

# --- kinds ----------------------------------------------------------------------------------

KIND_INVOICE = "invoice"
KIND_SESSION = "checkout_session"
KIND_PAYMENT_INTENT = "payment_intent"
KIND_CHARGE = "charge"

STRIPE_OBJECT_KIND = {
    "invoice": KIND_INVOICE,
    "checkout.session": KIND_SESSION,
    "payment_intent": KIND_PAYMENT_INTENT,
    "charge": KIND_CHARGE,
}
"""Stripe's ``object`` value -> our kind name (also ``Sale.owner_type``)."""

KIND_STRIPE_OBJECT = {v: k for k, v in STRIPE_OBJECT_KIND.items()}

TRIGGER_TYPES: Mapping[str, str] = {
    "checkout.session.completed": KIND_SESSION,
    "checkout.session.async_payment_succeeded": KIND_SESSION,
    "payment_intent.succeeded": KIND_PAYMENT_INTENT,
    "payment_intent.created": KIND_PAYMENT_INTENT,
    "invoice.paid": KIND_INVOICE,
    "invoice.finalized": KIND_INVOICE,
    "charge.succeeded": KIND_CHARGE,
    "charge.captured": KIND_CHARGE,
}
"""Event types that may confirm a payment, and the kind of object they carry."""

FAILED_TYPES = frozenset(
    {
        "checkout.session.async_payment_failed",
        "checkout.session.expired",
        "payment_intent.payment_failed",
        "payment_intent.canceled",
        "charge.failed",
        "charge.expired",
        "invoice.payment_failed",
        "invoice.voided",
        "invoice.marked_uncollectible",
    }
)
"""Event types that say a payment failed or will not happen."""

# --- value types ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RelatedObject:
    """``related_object`` of a thin event."""

    id: str
    type: str
    """Stripe's object name, e.g. ``checkout.session``."""
    url: str | None = None


@dataclass(frozen=True)
class Envelope:
    """A webhook event, snapshot or thin, with the resource left as a plain dict."""

    id: str
    type: str
    """Type; thin events lose their ``v1.`` prefix (``v1.invoice.paid`` -> ``invoice.paid``)."""
    api_version: str | None
    livemode: bool
    created: int | None
    """Unix seconds (thin events send an ISO timestamp; it is converted)."""
    account: str | None
    """Connected account id for Connect events."""
    object: dict[str, Any] | None
    """``data.object`` as sent (not normalised); ``None`` for thin events."""
    thin: bool = False
    related_object: RelatedObject | None = None
    previous_attributes: dict[str, Any] | None = None


@dataclass(frozen=True)
class Reason:
    """Why an event or object does not confirm a payment."""

    code: str
    message_en: str
    message_ro: str


@dataclass(frozen=True)
class Ignored:
    """An event that issues nothing; ``code`` is stable (``I-…``), the texts are for humans."""

    event_id: str
    event_type: str
    code: str
    message_en: str
    message_ro: str

    @classmethod
    def of(cls, event_id: str, event_type: str, reason: Reason) -> Ignored:
        return cls(event_id, event_type, reason.code, reason.message_en, reason.message_ro)

    @property
    def reason(self) -> str:
        """The English text (for logs and the events table)."""
        return self.message_en


@dataclass(frozen=True)
class Trigger:
    """An event that confirms a payment; :func:`correlate.resolve` turns it into a Sale."""

    event_id: str
    event_type: str
    kind: str
    """``invoice`` | ``checkout_session`` | ``payment_intent`` | ``charge``."""
    object_id: str
    object: dict[str, Any] | None
    """The normalised resource; ``None`` when ``needs_fetch``."""
    livemode: bool
    api_version: str | None = None
    created: int | None = None
    needs_fetch: bool = False
    """Thin event: the resource must come from the API (and the rules are applied then)."""
    hints: tuple[str, ...] = ()
    """Candidate payment keys found in the payload, best first (``pi_``, ``in_``, ``ch_``)."""
    zero_allowed: bool = False
    """The ``invoice_zero_amount`` policy this event was classified with."""
    account: str | None = None


class EventMalformed(EfacturaError, ValueError):
    """The body is not a Stripe event (after a valid signature this is Stripe's or our bug)."""

    code = "E-EVENT-MALFORMED"


# --- reasons --------------------------------------------------------------------------------

NOT_TRIGGER = Reason(
    "I-NOT-TRIGGER",
    "This event type does not confirm a payment; nothing to invoice.",
    "Acest tip de eveniment nu confirmă o plată; nu se emite factură.",
)
NOT_PAID = Reason(
    "I-NOT-PAID",
    "The payment is not complete yet; the invoice is issued on the event that confirms it.",
    "Plata nu este încă finalizată; factura se emite la evenimentul care o confirmă.",
)
FAILED = Reason(
    "I-FAILED",
    "The payment failed, was canceled or expired.",
    "Plata a eșuat, a fost anulată sau a expirat.",
)
UNCAPTURED = Reason(
    "I-UNCAPTURED",
    "The charge is only authorised, not captured; the invoice is issued on capture.",
    "Plata este doar autorizată, nu încasată; factura se emite la încasare.",
)
ZERO_AMOUNT = Reason(
    "I-ZERO-AMOUNT",
    "Nothing was paid (trial or 100 % discount); invoices for 0 are turned off.",
    "Nu s-a plătit nimic (perioadă de probă sau reducere 100 %); facturile de 0 sunt dezactivate.",
)
NO_OBJECT = Reason(
    "I-NO-OBJECT",
    "The event carries no object.",
    "Evenimentul nu conține niciun obiect.",
)
SUBSCRIPTION_SESSION = Reason(
    "I-SUBSCRIPTION-SESSION",
    "A subscription Checkout Session that names no invoice; the subscription's invoice.paid "
    "event issues the invoice.",
    "Sesiune Checkout de abonament fără factură Stripe asociată; factura se emite la "
    "evenimentul invoice.paid al abonamentului.",
)
MALFORMED = Reason(
    "I-MALFORMED",
    "The object in the event is not what this event type carries, or its amount is not an integer.",
    "Obiectul din eveniment nu corespunde tipului de eveniment sau suma nu este un număr întreg.",
)


# --- trigger rules ----------------------------------------------------------------------------


def classify(env: Envelope, *, invoice_zero_amount: bool) -> Trigger | Ignored:
    """Apply the trigger rules (docs/stripe.md, "Trigger rules") to one event."""
    if env.type in FAILED_TYPES:
        return Ignored.of(env.id, env.type, FAILED)
    kind = TRIGGER_TYPES.get(env.type)
    if kind is None:
        return Ignored.of(env.id, env.type, NOT_TRIGGER)
    if env.thin:
        return _thin_trigger(env, kind, invoice_zero_amount)
    if env.object is None:
        return Ignored.of(env.id, env.type, NO_OBJECT)
    obj = normalize(env.object, env.api_version)
    reason = trigger_rule(env.type, obj, invoice_zero_amount=invoice_zero_amount)
    if reason is not None:
        return Ignored.of(env.id, env.type, reason)
    return Trigger(
        event_id=env.id,
        event_type=env.type,
        kind=kind,
        object_id=str(obj["id"]),
        object=obj,
        livemode=env.livemode,
        api_version=env.api_version,
        created=env.created,
        hints=payment_hints(kind, obj),
        zero_allowed=invoice_zero_amount,
        account=env.account,
    )


def _thin_trigger(env: Envelope, kind: str, zero_allowed: bool) -> Trigger | Ignored:
    rel = env.related_object
    if rel is None or STRIPE_OBJECT_KIND.get(rel.type) != kind:
        return Ignored.of(env.id, env.type, NO_OBJECT)
    return Trigger(
        event_id=env.id,
        event_type=env.type,
        kind=kind,
        object_id=rel.id,
        object=None,
        livemode=env.livemode,
        api_version=env.api_version,
        created=env.created,
        needs_fetch=True,
        hints=_sorted_keys([rel.id]),
        zero_allowed=zero_allowed,
        account=env.account,
    )


def trigger_rule(
    event_type: str, obj: Mapping[str, Any], *, invoice_zero_amount: bool
) -> Reason | None:
    """``None`` when ``obj`` (normalised) confirms a payment for ``event_type``, else why not.

    Also used after fetching the object behind a thin event.
    """
    kind = TRIGGER_TYPES.get(event_type)
    if kind is None:
        return FAILED if event_type in FAILED_TYPES else NOT_TRIGGER
    name = object_name(obj)
    if name is None or STRIPE_OBJECT_KIND.get(name) != kind or not isinstance(obj.get("id"), str):
        return MALFORMED
    check = _CHECKS[kind]
    amount_or_reason = check(event_type, obj)
    if isinstance(amount_or_reason, Reason):
        return amount_or_reason
    if amount_or_reason == 0 and not invoice_zero_amount:
        return ZERO_AMOUNT
    return None


def _check_session(event_type: str, cs: Mapping[str, Any]) -> int | Reason:
    status = cs.get("payment_status")
    if status == "no_payment_required":
        return 0
    if event_type == "checkout.session.completed" and status != "paid":
        return NOT_PAID
    amount = as_int(cs.get("amount_total"))
    return MALFORMED if amount is None else amount


def _check_payment_intent(event_type: str, pi: Mapping[str, Any]) -> int | Reason:
    del event_type  # created and succeeded follow the same rule: status must be succeeded
    status = pi.get("status")
    if status == "canceled":
        return FAILED
    if status != "succeeded":
        return NOT_PAID
    amount = as_int(pi.get("amount_received"))
    return MALFORMED if amount is None else amount


def _check_invoice(event_type: str, inv: Mapping[str, Any]) -> int | Reason:
    status = inv.get("status")
    if status in ("void", "uncollectible"):
        return FAILED
    amount = invoice_paid_amount(inv)
    remaining = as_int(inv.get("amount_remaining"))
    if amount is None:
        return MALFORMED
    if status == "paid":
        return amount
    if event_type == "invoice.finalized" and remaining == 0 and amount > 0:
        return amount
    return NOT_PAID


def invoice_paid_amount(inv: Mapping[str, Any]) -> int | None:
    """``amount_paid``; for an invoice marked paid out of band with 0 paid, ``amount_due``."""
    paid = as_int(inv.get("amount_paid"))
    if paid == 0 and inv.get("paid_out_of_band") and inv.get("status") == "paid":
        return as_int(inv.get("amount_due"))
    return paid


def _check_charge(event_type: str, ch: Mapping[str, Any]) -> int | Reason:
    del event_type
    status = ch.get("status")
    if status == "failed":
        return FAILED
    if status != "succeeded" or ch.get("paid") is False:
        return NOT_PAID
    if ch.get("captured") is False:
        return UNCAPTURED
    amount = charge_amount(ch)
    return MALFORMED if amount is None else amount


def charge_amount(ch: Mapping[str, Any]) -> int | None:
    """The captured amount: ``amount_captured``, else ``amount`` for very old charges (also
    when a captured charge says ``amount_captured: 0``, as older API versions rendered it)."""
    amount = as_int(ch.get("amount"))
    if ch.get("amount_captured") is None:
        return amount
    captured = as_int(ch.get("amount_captured"))
    if captured == 0 and ch.get("captured") is True and amount:
        return amount
    return captured


_CHECKS = {
    KIND_SESSION: _check_session,
    KIND_PAYMENT_INTENT: _check_payment_intent,
    KIND_INVOICE: _check_invoice,
    KIND_CHARGE: _check_charge,
}


# --- payment-key hints ----------------------------------------------------------------------

_KEY_PREFIXES = ("pi_", "in_", "ch_", "py_")


def _sorted_keys(ids: list[str | None]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for prefix in _KEY_PREFIXES:
        for i in ids:
            if i and i.startswith(prefix):
                seen.setdefault(i, None)
    return tuple(seen)


def invoice_payment_refs(inv: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(type, id)`` of the payments in a (normalised) invoice's ``payments`` list, paid first."""
    entries = [as_dict(p) for p in as_list(inv.get("payments"))]
    entries.sort(key=lambda p: (p.get("status") != "paid", not p.get("is_default")))
    refs: list[tuple[str, str]] = []
    for entry in entries:
        payment = as_dict(entry.get("payment"))
        ptype = payment.get("type")
        pid = ref_id(payment.get(ptype)) if isinstance(ptype, str) else None
        if isinstance(ptype, str) and pid:
            refs.append((ptype, pid))
    return refs


def payment_hints(kind: str, obj: Mapping[str, Any]) -> tuple[str, ...]:
    """Candidate payment keys in normalised ``obj``, best first: ``pi_``, ``in_``, ``ch_``."""
    ids: list[str | None] = []
    if kind == KIND_SESSION:
        ids = [ref_id(obj.get("payment_intent")), ref_id(obj.get("invoice"))]
    elif kind == KIND_INVOICE:
        ids = [pid for _, pid in invoice_payment_refs(obj)]
        ids += [ref_id(obj.get("payment_intent")), ref_id(obj.get("id")), ref_id(obj.get("charge"))]
    elif kind == KIND_PAYMENT_INTENT:
        ids = [ref_id(obj.get("id")), ref_id(obj.get("invoice")), ref_id(obj.get("latest_charge"))]
    elif kind == KIND_CHARGE:
        ids = [ref_id(obj.get("payment_intent")), ref_id(obj.get("invoice")), ref_id(obj.get("id"))]
    return _sorted_keys(ids)


@dataclass(frozen=True)
class EventPage:
    """One page of ``GET /v1/events`` (newest first), for reconciliation."""

    events: list[dict[str, Any]] = field(default_factory=list)
    has_more: bool = False

    @property
    def last_id(self) -> str | None:
        return ref_id(self.events[-1]) if self.events else None
