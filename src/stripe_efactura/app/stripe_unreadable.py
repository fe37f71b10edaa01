"""A paid payment whose Stripe objects the API key cannot read is kept, not lost.

When Stripe answers 404 (an object of another account, a live key for a test payment, a
Connect account's object), 403 (a restricted key without a read permission) or 401 (a revoked
key) while an event's payment is being completed from the API, the event used to fail for good
and the payment only showed among ignored events. Now, when the event carries its object, the
payment is recorded from the payload alone (``degraded``) and goes to ``needs_attention`` with
``P-STRIPE-UNREADABLE`` naming the object and what to fix; nothing is invoiced from the partial
data (the key of a payment recorded so is its ``pi_…`` or legacy ``ch_…`` id, the one the
API would give; an ``invoice.*`` event whose payload names no PaymentIntent is not kept this
way, and fails with its Stripe code as before). Once the key or permission is fixed,
``stripe-efactura payments retry KEY`` re-reads it from Stripe and queues the invoice; a
later event of the same payment that can be read completes it too.

A thin event (no object in the payload) is read from the API first. When the object it names
can be read but another one cannot (a customer, a charge), that object stands in for the
payload as above. When the object it names cannot be read itself, the payment is recorded as
a stand-in (``intake.unread``: keyed by the named id, amount unknown) that needs attention
with ``P-STRIPE-UNREADABLE`` naming the object's type and id; ``payments retry KEY``
re-reads it and records the real sale (under its own key if the object belongs to a ``pi_…``
payment, closing the stand-in as ``ignored``). Transient errors (5xx, 429, network) are not
kept: the job retries them.
"""

from __future__ import annotations

import logging

from sqlalchemy.engine import Connection

from ..errors import EfacturaError, Problem, StripeApiError
from ..intake import correlate, events, unread
from ..store import db, repo
from ..store import invoices as invoice_store
from . import notices
from .context import AppContext

__all__ = ["CODE", "keep_payment", "keep_unread", "unread_problem", "unreadable_problem"]

log = logging.getLogger("stripe_efactura.intake")

CODE = "P-STRIPE-UNREADABLE"
_KEPT = {"E-STRIPE-NOT-FOUND", "E-STRIPE-PERMISSION", "E-STRIPE-AUTH"}


def _fix(exc: StripeApiError, retry: str) -> tuple[str, str, str, str]:
    """(why in English, why in Romanian, fix in English, fix in Romanian)."""
    if exc.code == "E-STRIPE-PERMISSION":
        return (
            "the restricted API key has no read permission for it",
            "cheia API restricționată nu are drept de citire pentru el",
            (
                "Give the restricted key read access to this resource (Stripe Dashboard → "
                f"Developers → API keys), then run {retry}."
            ),
            (
                "Acordați cheii restricționate drept de citire pentru această resursă (Stripe "
                f"Dashboard → Developers → API keys), apoi rulați {retry}."
            ),
        )
    if exc.code == "E-STRIPE-AUTH":
        return (
            "Stripe refused the API key",
            "Stripe a refuzat cheia API",
            f"Set a valid EFACTURA_STRIPE_API_KEY, then run {retry}.",
            f"Setați o cheie EFACTURA_STRIPE_API_KEY validă, apoi rulați {retry}.",
        )
    return (
        "the API key cannot see it (HTTP 404)",
        "cheia API nu îl vede (HTTP 404)",
        (
            "Check that EFACTURA_STRIPE_API_KEY belongs to the Stripe account that received the "
            "payment (a live key for live payments, a test key for test ones; the connected "
            f"account's key for Stripe Connect), then run {retry}."
        ),
        (
            "Verificați că EFACTURA_STRIPE_API_KEY aparține contului Stripe care a primit plata "
            "(cheie live pentru plăți live, cheie de test pentru plăți de test; cheia contului "
            f"conectat pentru Stripe Connect), apoi rulați {retry}."
        ),
    )


def unreadable_problem(payment_key: str, exc: StripeApiError) -> Problem:
    retry = f"`stripe-efactura payments retry {payment_key}`"
    why_en, why_ro, fix_en, fix_ro = _fix(exc, retry)
    return Problem(
        code=CODE,
        field="stripe",
        message_ro=f"Un obiect Stripe al plății nu poate fi citit: {why_ro} ({exc.message}).",
        message_en=f"A Stripe object of the payment cannot be read: {why_en} ({exc.message}).",
        hint=fix_en,
        hint_ro=fix_ro,
        context=(("stripe_code", exc.code),),
    )


def keep_payment(
    ctx: AppContext, event_id: str, trigger: events.Trigger, exc: StripeApiError
) -> str | None:
    """Record the payment from the payload and make it need attention (see the module);
    the event's outcome, or None when the payload alone cannot make a payment."""
    if exc.code not in _KEPT or trigger.needs_fetch or trigger.object is None:
        return None
    try:
        sale = correlate.resolve(trigger, None)
    except EfacturaError:
        return None
    if isinstance(sale, events.Ignored) or sale.payment_key.startswith("in_"):
        # an invoice's payload alone does not say which PaymentIntent paid it: its key could
        # differ from the one the API gives, and one payment would become two
        return None
    key = sale.payment_key
    problem = unreadable_problem(key, exc)
    with db.write(ctx.engine) as conn:
        recorded = repo.record_sale(conn, sale, event_id)
        pay = repo.get_payment(conn, key, for_update=True)
        open_ = invoice_store.for_payment(conn, key, "invoice") is None
        if pay is not None and open_ and pay.status in ("pending", "needs_attention"):
            repo.set_payment_status(conn, key, "needs_attention", (problem,))
        if pay is not None and open_ and pay.status == "pending":  # one notice per payment
            _notice(conn, key, problem)
        repo.mark_event(conn, event_id, "processed", payment_key=key)
    log.warning("event %s -> payment %s needs attention: %s %s", event_id, key, CODE, exc)
    return "processed" if recorded == "created" else "duplicate"


def unread_problem(trigger: events.Trigger, exc: StripeApiError) -> Problem:
    """The problem of a thin event's own object that cannot be read: names its type and id."""
    retry = f"`stripe-efactura payments retry {trigger.object_id}`"
    why_en, why_ro, fix_en, fix_ro = _fix(exc, retry)
    name = events.KIND_STRIPE_OBJECT.get(trigger.kind, trigger.kind)
    return Problem(
        code=CODE,
        field="stripe",
        message_ro=(
            f"Obiectul Stripe {name} {trigger.object_id} al plății nu poate fi citit: {why_ro} "
            f"({exc.message}); suma și cumpărătorul nu se cunosc până nu este citit."
        ),
        message_en=(
            f"The Stripe {name} {trigger.object_id} of the payment cannot be read: {why_en} "
            f"({exc.message}); its amount and buyer are unknown until it is read."
        ),
        hint=fix_en,
        hint_ro=fix_ro,
        context=(
            ("stripe_code", exc.code),
            ("object_type", name),
            ("object_id", trigger.object_id),
        ),
    )


def keep_unread(
    ctx: AppContext, event_id: str, trigger: events.Trigger, exc: StripeApiError
) -> str | None:
    """A thin event whose own object cannot be read: record the stand-in payment (see the
    module) needing attention; the event's outcome, or None when the error is not kept."""
    if exc.code not in _KEPT or not trigger.needs_fetch:
        return None
    sale = unread.unread_sale(trigger, ctx.clock())
    key = sale.payment_key
    problem = unread_problem(trigger, exc)
    with db.write(ctx.engine) as conn:
        # a payment already recorded from readable data keeps it (a stand-in never replaces it)
        known = repo.get_payment(conn, key, for_update=True) is not None
        recorded = "seen" if known else repo.record_sale(conn, sale, event_id)
        if recorded == "created":
            repo.set_payment_status(conn, key, "needs_attention", (problem,))
            _notice(conn, key, problem)
        repo.mark_event(conn, event_id, "processed", payment_key=key)
    log.warning("event %s -> payment %s needs attention: %s %s", event_id, key, CODE, exc)
    return "processed" if recorded == "created" else "duplicate"


def _notice(conn: Connection, key: str, problem: Problem) -> None:
    """The one notice of a payment that cannot be invoiced because Stripe cannot be read."""
    notices.record(
        conn,
        "payment_problem",
        key,
        f"Plata {key} nu poate fi facturată / Payment {key} cannot be invoiced",
        (problem,),
    )
