"""Stripe event envelopes, API-version normalisation and the trigger rules (pure, plain dicts).

Three steps, each a function of values only:

1. :func:`parse_envelope` reads the raw (already verified) webhook body into an :class:`Envelope`.
   Snapshot events (``object: "event"``) carry the resource in ``data.object``; thin events
   (``object: "v2.core.event"``, types prefixed ``v1.``) carry only ``related_object`` and the
   resource must be fetched from the API.
2. :func:`normalize` returns a copy of a Stripe object with the current (basil and later) fields
   filled from whatever era the webhook endpoint renders in (see ``docs/stripe.md``).
3. :func:`classify` applies the trigger rules: a :class:`Trigger` for an event that confirms a
   payment, an :class:`Ignored` (with a reason code) for everything else.

Nothing here does I/O or reads the clock, and no input is mutated.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from stripe_efactura.errors import EfacturaError

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

_ID_PREFIX_OBJECT = {"in_": "invoice", "cs_": "checkout.session", "pi_": "payment_intent"}
_ID_PREFIX_OBJECT.update({"ch_": "charge", "py_": "charge"})

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

RECOMMENDED_EVENTS = (
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "invoice.paid",
    "payment_intent.succeeded",
    "refund.created",
    "refund.updated",
    "charge.dispute.closed",
)
"""What a merchant should subscribe the webhook endpoint to (docs/stripe.md)."""


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


# --- small readers for untrusted dicts ------------------------------------------------------


def as_dict(value: Any) -> dict[str, Any]:
    """``value`` if it is a dict, else an empty dict (Stripe sends ``null`` and ``{}`` freely)."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """A list from a plain list or a Stripe list object (``{"object": "list", "data": […]}``)."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict) and isinstance(value.get("data"), list):
        return list(value["data"])
    return []


def ref_id(value: Any) -> str | None:
    """The id of an expandable field: the string itself, or ``value["id"]`` when expanded."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return str(value["id"])
    return None


def as_int(value: Any) -> int | None:
    """An integer amount, or ``None`` (booleans and strings such as ``"10.00"`` are rejected)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def object_name(obj: Mapping[str, Any]) -> str | None:
    """Stripe's ``object`` value, inferred from the id prefix when absent (hand-edited data)."""
    name = obj.get("object")
    if isinstance(name, str):
        return name
    oid = obj.get("id")
    if isinstance(oid, str):
        for prefix, inferred in _ID_PREFIX_OBJECT.items():
            if oid.startswith(prefix):
                return inferred
    return None


# --- envelope -------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventMeta:
    """The envelope fields stored beside the raw payload when a webhook is received."""

    id: str
    type: str
    livemode: bool
    api_version: str | None
    account: str | None


def event_meta(raw: bytes) -> EventMeta:
    """Read only the envelope header (the webhook's hot path: the event is processed later by
    :func:`parse_envelope`). Raises :class:`EventMalformed` (a ``ValueError``)."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise EventMalformed(f"event payload is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise EventMalformed("event payload is not a JSON object")
    event_id = data.get("id")
    event_type = data.get("type")
    if not isinstance(event_id, str) or not event_id or not isinstance(event_type, str):
        raise EventMalformed("event payload has no id or type")
    api_version = data.get("api_version")
    account = data.get("account") or data.get("context")
    return EventMeta(
        id=event_id,
        type=event_type,
        livemode=bool(data.get("livemode", False)),
        api_version=api_version if isinstance(api_version, str) else None,
        account=account if isinstance(account, str) else None,
    )


def parse_envelope(raw: bytes) -> Envelope:
    """Parse a webhook body (snapshot or thin); raise :class:`EventMalformed` when it is not one."""
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise EventMalformed("The webhook body is not JSON") from exc
    return envelope_from_dict(data)


def envelope_from_dict(data: Any) -> Envelope:
    """Like :func:`parse_envelope`, for an event already decoded from JSON (``events`` list)."""
    if not isinstance(data, dict):
        raise EventMalformed("The webhook body is not a JSON object")
    kind = data.get("object")
    eid, etype = data.get("id"), data.get("type")
    if not isinstance(eid, str) or not isinstance(etype, str):
        raise EventMalformed("The event has no id or no type")
    account = data.get("account") if isinstance(data.get("account"), str) else None
    if kind == "v2.core.event":
        return _thin_envelope(data, eid, etype, account)
    if kind != "event":
        raise EventMalformed(f"Not a Stripe event: object is {kind!r}")
    body = as_dict(data.get("data"))
    obj = body.get("object")
    prev = body.get("previous_attributes")
    return Envelope(
        id=eid,
        type=etype,
        api_version=_str_or_none(data.get("api_version")),
        livemode=bool(data.get("livemode", False)),
        created=as_int(data.get("created")),
        account=account,
        object=obj if isinstance(obj, dict) else None,
        previous_attributes=prev if isinstance(prev, dict) else None,
    )


def _thin_envelope(data: dict[str, Any], eid: str, etype: str, account: str | None) -> Envelope:
    rel = as_dict(data.get("related_object"))
    related = None
    if isinstance(rel.get("id"), str) and isinstance(rel.get("type"), str):
        related = RelatedObject(str(rel["id"]), str(rel["type"]), _str_or_none(rel.get("url")))
    context = data.get("context")
    return Envelope(
        id=eid,
        type=etype.removeprefix("v1."),
        api_version=_str_or_none(data.get("api_version")),
        livemode=bool(data.get("livemode", False)),
        created=_created(data.get("created")),
        account=account or (context if isinstance(context, str) and context else None),
        object=None,
        thin=True,
        related_object=related,
    )


def _created(value: Any) -> int | None:
    number = as_int(value)
    if number is not None:
        return number
    if isinstance(value, str):
        try:
            return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
        except ValueError:
            return None
    return None


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


# --- normalisation --------------------------------------------------------------------------


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


def _tax_from_legacy(item: Any) -> dict[str, Any]:
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


# --- trigger rules --------------------------------------------------------------------------


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
