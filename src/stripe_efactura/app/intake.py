"""Intake use-cases: store signed events, then turn each into at most one sale per payment.

The webhook path does the least possible work: verify the signature on the raw bytes, store
the raw event and a ``process_event`` job in one transaction, answer. Everything else runs
in the worker (``process_event``), where it can be retried.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import sqlalchemy as sa

from ..errors import (
    ConfigError,
    EfacturaError,
    RetryLater,
    SignatureError,
    StorageError,
    StripeApiError,
)
from ..intake import correlate, envelope, events, payload, reversals, signature
from ..intake.sale import Sale
from ..jobs import queue
from ..jobs.worker import PermanentJobError
from ..store import db, event_batches, event_ids, repo
from . import stripe_unreadable
from .context import AppContext

log = logging.getLogger("stripe_efactura.intake")
audit = logging.getLogger("stripe_efactura.audit")


@dataclass(frozen=True)
class WebhookAnswer:
    status: int
    body: dict[str, object]


def accept_event(ctx: AppContext, raw: bytes, *, source: str = "webhook") -> tuple[bool, str]:
    """Store a raw event and its processing job atomically. Returns (new, event id).

    Raises ValueError for a payload that is not an event, StorageError when the database
    is unavailable.
    """
    meta = envelope.event_meta(payload.load(raw))
    (created,) = accept_batch(ctx, [(meta, raw)], source=source)
    return created, meta.id


def accept_batch(
    ctx: AppContext,
    items: list[tuple[envelope.EventMeta, bytes]],
    *,
    source: str = "webhook",
) -> list[bool]:
    """Group commit: store many verified events and their jobs in ONE transaction (the
    webhook's writer thread writes the same rows with :class:`BatchStore`).

    Returns, per item, whether it was new. A duplicate id (within the batch or stored
    before) creates nothing.
    """
    with db.write(ctx.engine) as conn:
        now = db.db_now(conn)  # one clock read for the whole batch
        new_ids = repo.insert_events(conn, items, source=source, now=now)
        queue.enqueue_many(
            conn,
            "process_event",
            [{"event_id": i} for i in dict.fromkeys(m.id for m, _ in items) if i in new_ids],
            now=now,
        )
    return event_batches.new_flags(items, new_ids)


class BatchStore:
    """:func:`accept_batch` for the webhook's writer thread: the same rows, written on the
    raw DB-API connection it keeps from one batch to the next (``store/event_batches.py``:
    no SQLAlchemy per statement, no pool checkout per batch). Used by one thread at a time."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self._batches = event_batches.EventBatches(ctx.engine)

    def accept(self, items: list[tuple[envelope.EventMeta, bytes]]) -> list[bool]:
        """Like :func:`accept_batch`. Raises StorageError when the database is unavailable."""
        return self._batches.insert(items)

    def close(self) -> None:
        self._batches.close()


def check_webhook(
    ctx: AppContext, raw: bytes, header: str | None
) -> envelope.EventMeta | WebhookAnswer:
    """Verify the signature on the raw bytes and read the envelope; an answer when bad."""
    secrets = ctx.settings.stripe_webhook_secrets
    try:
        if not secrets:
            raise SignatureError(
                "no webhook secret configured (EFACTURA_STRIPE_WEBHOOK_SECRET)",
                code="E-SIG-NO-SECRET",
            )
        signature.verify(raw, header, secrets)
    except SignatureError as exc:
        audit.warning("webhook rejected: %s (%d bytes)", exc.code, len(raw))
        return WebhookAnswer(400, {"error": exc.code, "message": exc.message})
    try:  # the limits the worker applies too (intake/payload.py)
        return envelope.event_meta(payload.load(raw))
    except events.EventMalformed as exc:
        audit.warning("webhook rejected: %s %s", exc.code, exc.message)
        return WebhookAnswer(400, {"error": exc.code, "message": exc.message})


def stored_answer(event_id: str, created: bool) -> WebhookAnswer:
    return WebhookAnswer(200, {"received": True, "id": event_id, "duplicate": not created})


STORAGE_DOWN = WebhookAnswer(503, {"error": "E-STORAGE", "message": "storage unavailable, retry"})


def receive_webhook(ctx: AppContext, raw: bytes, header: str | None) -> WebhookAnswer:
    """``POST /webhooks/stripe``: 400 bad signature, 200 stored or duplicate, 503 storage."""
    checked = check_webhook(ctx, raw, header)
    if isinstance(checked, WebhookAnswer):
        return checked
    try:
        (created,) = accept_batch(ctx, [(checked, raw)])
    except StorageError as exc:
        log.error("webhook: storage unavailable: %s", exc)
        return STORAGE_DOWN
    return stored_answer(checked.id, created)


_TRANSIENT: tuple[type[BaseException], ...] = (
    RetryLater,
    StorageError,
    StripeApiError,
    OSError,
    sa.exc.OperationalError,
    sa.exc.InterfaceError,
)
"""Failures a retry can cure: the job retries them (and says so on its last attempt)."""


def process_event(ctx: AppContext, event_id: str, *, last_attempt: bool = False) -> str:
    """Job ``process_event``: classify, correlate, record the sale. Idempotent.

    Returns the event's outcome: ``processed``, ``duplicate``, ``ignored``. Every way out
    leaves the event with a coded outcome: an unexpected exception marks it ``failed`` with
    ``E-EVENT-CRASH`` at once (retrying the same bytes cannot help), and a transient failure
    on the job's last attempt with ``E-EVENT-GAVE-UP``; ``payments retry`` re-runs either.
    """
    try:
        return _process_event(ctx, event_id)
    except PermanentJobError:
        raise
    except _TRANSIENT as exc:
        if last_attempt:
            _fail(ctx, event_id, f"E-EVENT-GAVE-UP: still failing after every retry: {exc}")
        raise
    except Exception as exc:
        log.exception("event %s: unexpected failure", event_id)
        reason = f"E-EVENT-CRASH: processing failed unexpectedly ({type(exc).__name__})"
        _fail(ctx, event_id, reason)
        raise PermanentJobError(reason) from exc


TEST_MODE = "I-TEST-MODE: test-mode events are not processed (setting)"

_Read = events.Envelope | events.Trigger | events.Ignored | events.EventMalformed | str
"""A stored event read and classified: a reversal's envelope, a trigger, why it is ignored,
why it is malformed, or (``str``) its final outcome already."""


def _read_event(ctx: AppContext, event_id: str) -> tuple[_Read, repo.RecordedOwner | None]:
    """The stored event, classified, and for a trigger whose payload names its ``pi_``
    payment key the recorded payment's owner (its :meth:`~repo.RecordedOwner.settles`; one
    read transaction: the payment's row is read with the event's)."""
    with db.read(ctx.engine) as conn:
        row = repo.get_event(conn, event_id)
        if row is None:
            raise PermanentJobError(f"event {event_id} is not stored")
        read = _classified(ctx, row)
        key = correlate.payment_key_hint(read) if isinstance(read, events.Trigger) else None
        recorded = repo.recorded_owner(conn, key) if key and key.startswith("pi_") else None
    return read, recorded


def _classified(ctx: AppContext, row: repo.EventRecord) -> _Read:
    if row.outcome in ("processed", "ignored"):
        return str(row.outcome)
    try:
        env = envelope.envelope_from_dict(payload.load(row.payload))
    except events.EventMalformed as exc:
        return exc
    settings = ctx.settings
    if not env.livemode and not settings.intake.process_test_events:
        return TEST_MODE
    if reversals.handles(env):
        return env
    return events.classify(env, invoice_zero_amount=settings.intake.invoice_zero_amount)


def _process_event(ctx: AppContext, event_id: str) -> str:
    read, owner = _read_event(ctx, event_id)
    if read == TEST_MODE:
        return _ignore(ctx, event_id, TEST_MODE)
    if isinstance(read, str):
        return read
    if isinstance(read, events.EventMalformed):
        _fail(ctx, event_id, f"{read.code}: {read.message}")
        raise PermanentJobError(str(read)) from read
    if isinstance(read, events.Envelope):
        return _process_reversals(ctx, event_id, read)
    if isinstance(read, events.Ignored):
        return _ignore(ctx, event_id, f"{read.code}: {read.message_en}")
    resolved = _resolve(ctx, event_id, read, None if owner is None else owner.settles)
    if isinstance(resolved, str):
        return resolved  # kept needing attention (app/stripe_unreadable.py)
    if isinstance(resolved, events.Ignored):
        return _ignore(ctx, event_id, f"{resolved.code}: {resolved.message_en}")
    if isinstance(resolved, correlate.AlreadyRecorded):
        return _seen(ctx, event_id, resolved.payment_key, owner)
    sale = resolved
    with db.write(ctx.engine) as conn:
        recorded = repo.record_sale(conn, sale, event_id)
        created = recorded == "created"
        if recorded != "seen":
            # a new sale, or a richer one for a payment not invoiced yet: (re)issue from it;
            # issue_invoice is idempotent and never issues twice for one payment key
            suffix = "" if created else f":{event_id}"
            queue.enqueue(
                conn,
                "issue_invoice",
                {"payment_key": sale.payment_key},
                dedupe_key=f"issue_invoice:{sale.payment_key}{suffix}",
            )
        repo.mark_event(conn, event_id, "processed", payment_key=sale.payment_key)
        queue.finish_in(conn, "process_event")  # the job completes with its outcome: one commit
    log.info(
        "event %s -> payment %s (%s)",
        event_id,
        sale.payment_key,
        "new sale" if created else "already recorded",
    )
    return "processed" if created else "duplicate"


def _seen(
    ctx: AppContext, event_id: str, payment_key: str, owner: repo.RecordedOwner | None
) -> str:
    """A later event of a payment recorded from an owner at least as rich
    (:class:`correlate.AlreadyRecorded`): what :func:`repo.record_sale` does when it answers
    ``seen``, without building the sale again; the ids of its events as read with ``owner``
    guard the change."""
    read = owner.event_ids if owner and owner.payment_key == payment_key else None
    with db.write(ctx.engine) as conn:
        event_ids.add_event_id(conn, payment_key, event_id, read=read)
        repo.mark_event(conn, event_id, "processed", payment_key=payment_key)
        queue.finish_in(conn, "process_event")  # the job completes with the mark: one commit
    log.info("event %s -> payment %s (already recorded)", event_id, payment_key)
    return "duplicate"


def _resolve(
    ctx: AppContext,
    event_id: str,
    trigger: events.Trigger,
    settled: correlate.Settled | None = None,
) -> Sale | events.Ignored | correlate.AlreadyRecorded | str:
    """The trigger's sale, or why it is ignored, or the event's outcome when a Stripe object
    that cannot be read kept the payment needing attention; with ``settled``, possibly
    :class:`correlate.AlreadyRecorded` (:func:`correlate.resolve`). A thin event's object is
    read first, so that an unreadable object behind it is told apart from its own."""
    try:
        if trigger.needs_fetch:
            try:
                fetched = correlate.fetch_thin(trigger, ctx.stripe)
            except StripeApiError as exc:
                kept = stripe_unreadable.keep_unread(ctx, event_id, trigger, exc)
                if kept is not None:
                    return kept
                raise
            if isinstance(fetched, events.Ignored):
                return fetched
            trigger = fetched
        if settled is None:
            return correlate.resolve(trigger, ctx.stripe)
        return correlate.resolve_unless(trigger, ctx.stripe, settled)
    except StripeApiError as exc:
        if exc.permanent:
            kept = stripe_unreadable.keep_payment(ctx, event_id, trigger, exc)
            if kept is not None:
                return kept
            _fail(ctx, event_id, f"{exc.code}: {exc.message}")
            raise PermanentJobError(str(exc)) from exc
        raise
    except (ConfigError, EfacturaError) as exc:
        # kept and explained; `stripe-efactura payments retry` re-runs it once fixed
        _fail(ctx, event_id, f"{exc.code}: {exc.message}")
        raise PermanentJobError(str(exc)) from exc


def _process_reversals(ctx: AppContext, event_id: str, env: events.Envelope) -> str:
    """Refunds, lost disputes, ``charge.refunded`` and credit notes: one payments row per
    ``re_…``/``dp_…`` id and one ``issue_storno`` job, whatever the deliveries and their order
    (docs/storno.md)."""
    try:
        outcome = reversals.resolve(env, ctx.stripe)
    except StripeApiError as exc:
        if exc.permanent:
            _fail(ctx, event_id, f"{exc.code}: {exc.message}")
            raise PermanentJobError(str(exc)) from exc
        raise
    except ConfigError as exc:
        _fail(ctx, event_id, f"{exc.code}: {exc.message}")
        raise PermanentJobError(str(exc)) from exc
    if isinstance(outcome, events.Ignored):
        return _ignore(ctx, event_id, f"{outcome.code}: {outcome.message_en}")
    created = False
    with db.write(ctx.engine) as conn:
        for rev in outcome:
            key = rev.sale.payment_key
            recorded = repo.record_sale(
                conn, rev.sale, event_id, kind=rev.kind, refers_to=rev.refers_to
            )
            if recorded != "seen":
                # new, or richer (a credit note's items) while no storno was issued
                suffix = "" if recorded == "created" else f":{event_id}"
                queue.enqueue(
                    conn,
                    "issue_storno",
                    {"payment_key": key},
                    dedupe_key=f"issue_storno:{key}{suffix}",
                )
            created = created or recorded == "created"
            log.info("event %s -> %s %s of %s", event_id, rev.kind, key, rev.refers_to)
        repo.mark_event(conn, event_id, "processed", payment_key=outcome[0].sale.payment_key)
    return "processed" if created else "duplicate"


def _fail(ctx: AppContext, event_id: str, reason: str) -> None:
    with db.write(ctx.engine) as conn:
        repo.mark_event(conn, event_id, "failed", reason=reason)


def _ignore(ctx: AppContext, event_id: str, reason: str) -> str:
    with db.write(ctx.engine) as conn:
        repo.mark_event(conn, event_id, "ignored", reason=reason)
        queue.finish_in(conn, "process_event")  # the job completes with the mark: one commit
    return "ignored"


def payments_listing(ctx: AppContext, *, search: str | None = None) -> list[dict[str, object]]:
    """``payments list --json``: every payment, then every ignored event; with ``search``
    only the payments whose key, owner, buyer name or e-mail contains it (the API's ``q``)."""
    from .waiting import PaymentWaits

    out: list[dict[str, object]] = []
    waits = PaymentWaits(ctx)
    with db.read(ctx.engine) as conn:
        for r in repo.list_payments(conn, text=search or None):
            out.append(
                {
                    "payment_key": r.payment_key,
                    "kind": r.kind,
                    "owner": f"{r.owner_type}:{r.owner_id}",
                    "status": r.status,
                    "amount": r.amount,
                    "currency": r.currency,
                    "livemode": bool(r.livemode),
                    "degraded": bool(r.degraded),
                    "event_ids": json.loads(r.event_ids),
                    "problems": json.loads(r.problems),
                    "reason": None,
                    "waiting": waits.as_dict(r),
                }
            )
        for e in [] if search else repo.ignored_events(conn):
            out.append(
                {
                    "payment_key": e.payment_key,
                    "kind": "event",
                    "owner": None,
                    "status": str(e.outcome),
                    "amount": None,
                    "currency": None,
                    "livemode": bool(e.livemode),
                    "degraded": False,
                    "event_ids": [e.id],
                    "problems": [],
                    "reason": e.reason,
                    "waiting": None,
                    "type": e.type,
                }
            )
    return out
