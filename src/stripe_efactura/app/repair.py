"""Fixing what needs attention: ``payments retry`` and ``reconcile``.

A payment that could not be invoiced stays ``needs_attention`` with its problems. Once the
merchant fixed the data in Stripe (or wrote buyer overrides), ``retry`` re-reads the owner
from the Stripe API (when a key is configured), stores the fresh sale and queues the invoice
again. ``reconcile`` pages through Stripe's events list (30 days) and feeds whatever was
missed through the normal intake path; both are idempotent.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.engine import Connection

from ..errors import EfacturaError, Problem
from ..intake import correlate, events, reader, unread
from ..invoicing.buyer import BuyerOverrides
from ..jobs import queue
from ..store import db, repo
from ..store import invoices as invoice_store
from ..store.repo import PaymentRecord
from .context import AppContext
from .intake import accept_event

OWNER_EVENT = {
    "invoice": "invoice.paid",
    "checkout_session": "checkout.session.completed",
    "payment_intent": "payment_intent.succeeded",
    "charge": "charge.succeeded",
}
"""The trigger rule a re-read owner must pass again."""


class RepairError(EfacturaError):
    code = "E-RETRY"


def retry_payment(
    ctx: AppContext, payment_key: str, *, overrides: BuyerOverrides | None = None
) -> str:
    """Re-read a payment from Stripe (if possible), apply overrides, queue its invoice.

    Returns a short description of what was done. Raises RepairError when the payment is
    unknown or already invoiced.
    """
    with db.read(ctx.engine) as conn:
        pay = repo.get_payment(conn, payment_key)
        existing = invoice_store.for_payment(conn, payment_key, "invoice")
        failed_event = pay is None and repo.event_failed(conn, payment_key)
    if pay is None:
        if failed_event:
            return _retry_event(ctx, payment_key)
        raise RepairError(f"no payment {payment_key}", code="E-RETRY-UNKNOWN")
    if pay.kind in ("refund", "dispute"):
        return _retry_storno(ctx, payment_key)
    if existing is not None:
        raise RepairError(
            f"payment {payment_key} already has invoice {existing.number}; corrections are "
            "made with a storno",
            code="E-RETRY-INVOICED",
        )
    if unread.is_unread(repo.sale_from_json(str(pay.sale))):
        return _retry_unread(ctx, pay, overrides)
    sale_json, refreshed = _reread_sale(ctx, pay)
    with db.write(ctx.engine) as conn:
        repo.reset_payment(
            conn,
            payment_key,
            sale=sale_json,
            overrides=overrides.to_json() if overrides is not None else None,
        )
        _enqueue_again(conn, "issue_invoice", payment_key)
    return f"payment {payment_key} queued again ({refreshed})"


def _reread_sale(ctx: AppContext, pay: PaymentRecord) -> tuple[str, str]:
    """The payment's sale re-read from Stripe when the API is there, else the stored one;
    and which it is."""
    if ctx.stripe is None:
        return str(pay.sale), "from the stored data"
    fresh = correlate.resolve(_owner_trigger(pay), ctx.stripe)
    if not isinstance(fresh, events.Ignored) and fresh.payment_key == pay.payment_key:
        return repo.sale_to_json(fresh), "re-read from Stripe"
    return str(pay.sale), "from the stored data"


def _owner_trigger(pay: PaymentRecord) -> events.Trigger:
    return events.Trigger(
        event_id=f"retry:{pay.payment_key}",
        event_type=OWNER_EVENT.get(pay.owner_type, "payment_intent.succeeded"),
        kind=pay.owner_type,
        object_id=pay.owner_id,
        object=None,
        livemode=bool(pay.livemode),
        needs_fetch=True,
        zero_allowed=True,
    )


def _retry_unread(ctx: AppContext, pay: PaymentRecord, overrides: BuyerOverrides | None) -> str:
    """A stand-in payment (``intake.unread``): read its object now and record the real sale,
    under the stand-in's key or, when the object belongs to another payment (a ``ch_…`` of a
    ``pi_…``), under that one, closing the stand-in as ``ignored``. Never issues from it."""
    key = pay.payment_key
    if ctx.stripe is None:
        raise RepairError(
            f"payment {key} was never read from Stripe; set EFACTURA_STRIPE_API_KEY first",
            code="E-RETRY-UNREAD",
        )
    fresh = correlate.resolve(_owner_trigger(pay), ctx.stripe)  # StripeApiError: still unreadable
    if isinstance(fresh, events.Ignored):
        raise RepairError(
            f"{pay.owner_type} {pay.owner_id} does not confirm a payment ({fresh.code})",
            code="E-RETRY-IGNORED",
        )
    real = fresh.payment_key
    with db.write(ctx.engine) as conn:
        repo.record_sale(conn, fresh, str(json.loads(pay.event_ids)[0]))
        if real == key:
            repo.reset_payment(
                conn, key, overrides=overrides.to_json() if overrides is not None else None
            )
        else:
            repo.set_payment_status(conn, key, "ignored", (_read_as(real),))
        if invoice_store.for_payment(conn, real, "invoice") is None:
            _enqueue_again(conn, "issue_invoice", real)
    if real == key:
        return f"payment {key} queued again (read from Stripe)"
    return f"payment {key} is payment {real}; {real} queued (read from Stripe)"


def _read_as(real: str) -> Problem:
    return Problem(
        code="I-STRIPE-READ-AS",
        field="stripe",
        message_ro=f"Citit din Stripe: obiectul aparține plății {real}, care se facturează.",
        message_en=f"Read from Stripe: the object belongs to payment {real}, which is invoiced.",
        fatal=False,
    )


def _enqueue_again(conn: Connection, task: str, payment_key: str) -> None:
    stamp = db.db_now(conn).strftime("%Y%m%dT%H%M%S%f")
    queue.enqueue(
        conn, task, {"payment_key": payment_key}, dedupe_key=f"{task}:{payment_key}:retry:{stamp}"
    )


def _retry_storno(ctx: AppContext, payment_key: str) -> str:
    """A refund or lost dispute: queue its storno again (docs/storno.md)."""
    with db.write(ctx.engine) as conn:
        existing = invoice_store.for_payment(conn, payment_key, "storno")
        if existing is not None:
            raise RepairError(
                f"{payment_key} already has storno {existing.number}",
                code="E-RETRY-INVOICED",
            )
        repo.reset_payment(conn, payment_key)
        _enqueue_again(conn, "issue_storno", payment_key)
    return f"storno of {payment_key} queued again"


def _retry_event(ctx: AppContext, event_id: str) -> str:
    with db.write(ctx.engine) as conn:
        repo.mark_event(conn, event_id, "pending")
        queue.enqueue(conn, "process_event", {"event_id": event_id})
    return f"event {event_id} queued again"


def reconcile(
    ctx: AppContext, since: datetime, *, progress: Callable[[int, int], None] | None = None
) -> dict[str, int]:
    """Feed every event Stripe lists since ``since`` (at most 30 days back) through intake."""
    if ctx.stripe is None:
        raise RepairError(
            "reconcile needs the Stripe API: set EFACTURA_STRIPE_API_KEY",
            code="E-RECONCILE-NO-KEY",
        )
    created_gte = int(since.astimezone(UTC).timestamp())
    seen = new = 0
    for evt in reader.iter_events(ctx.stripe, created_gte):
        seen += 1
        created, _ = accept_event(ctx, json.dumps(evt).encode("utf-8"), source="reconcile")
        new += created
        if progress is not None:
            progress(seen, new)
    return {"seen": seen, "new": new}
