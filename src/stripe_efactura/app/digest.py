"""Job ``send_merchant_digest``: every unsent merchant notice in ONE email.

Enqueued by ``app.notices.record`` and every five minutes by the schedule
``merchant_digest``. It goes to ``company.email`` and ``company.issuer_email`` and marks the
notices ``sent_at`` only after the server accepted it. It waits until the oldest unsent notice
is :data:`DIGEST_SETTLE_SECONDS` old (so a burst ends up in one email) and until
``[email] aggregate_minutes`` have passed since the previous digest. One worker at a time
sends digests (a PostgreSQL advisory lock, or a lock file in the data directory with SQLite).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC

from ..config import Settings
from ..errors import Problem, RetryLater
from ..jobs import queue
from ..jobs.worker import PermanentJobError
from ..mail.compose import KIND_LABELS, MerchantNotice, compose_merchant_digest
from ..mail.send import SmtpError
from ..store import db
from ..store import notices as notice_store
from ..store.notices import NoticeRecord
from . import email_state
from .context import AppContext
from .mailing import _domain, email_backoff_seconds, mail_from, mail_sender, templates

__all__ = [
    "DIGEST_MAX_ITEMS",
    "DIGEST_SETTLE_SECONDS",
    "merchant_digest_job",
    "merchant_recipients",
    "notice_from_row",
    "send_merchant_digest",
]

log = logging.getLogger("stripe_efactura.mailing")

DIGEST_SETTLE_SECONDS = 60
"""A digest waits until its oldest notice is this old, so that a burst becomes one email."""

DIGEST_MAX_ITEMS = 200
"""At most this many notices per digest; the rest follow in the next one."""

_DIGEST_LOCK_KEY = 0x5EFAC7D1  # pg_advisory_lock key of the digest sender


def merchant_recipients(settings: Settings) -> list[str]:
    """``company.email`` and ``company.issuer_email``, without blanks or duplicates."""
    out: list[str] = []
    for value in (settings.company.email, settings.company.issuer_email):
        text = (value or "").strip()
        if text and text.lower() not in {o.lower() for o in out}:
            out.append(text)
    return out


@contextmanager
def _digest_lock(ctx: AppContext) -> Iterator[bool]:
    """Whether this process may send the digest now (one sender at a time)."""
    lock_file = ctx.settings.data_dir / ".merchant-digest.lock"
    with db.try_lock(ctx.engine, _DIGEST_LOCK_KEY, lock_file) as got:
        yield got


def notice_from_row(row: NoticeRecord) -> MerchantNotice:
    """A stored notice as the digest shows it (an unknown kind is listed as ``general``)."""
    payload = json.loads(row.payload) if row.payload else {}
    kind = str(row.kind) if row.kind in KIND_LABELS else "general"
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    details_ro = str(payload.get("details_ro") or "")
    details_en = str(payload.get("details_en") or "")
    if kind != row.kind:
        details_ro = "\n".join(x for x in (f"Tip: {row.kind}", details_ro) if x)
        details_en = "\n".join(x for x in (f"Kind: {row.kind}", details_en) if x)
    link = payload.get("link")
    return MerchantNotice(
        kind=kind,  # type: ignore[arg-type]
        title=str(payload.get("title") or ""),
        subject_ref=str(row.ref),
        problems=tuple(Problem.from_dict(p) for p in payload.get("problems") or ()),
        created_at=created,
        title_en=str(payload["title_en"]) if payload.get("title_en") else None,
        details_ro=details_ro,
        details_en=details_en,
        link=str(link) if link else None,
        livemode=bool(payload.get("livemode", True)),
    )


def _digest_message_id(ids: Sequence[int], domain: str) -> str:
    digest = hashlib.sha256(",".join(str(i) for i in ids).encode()).hexdigest()[:12]
    return f"<digest.{ids[0]}-{ids[-1]}.{digest}@{domain}>"


def send_merchant_digest(ctx: AppContext, *, attempt: int = 1) -> str:
    """Job ``send_merchant_digest``: one email with every unsent notice.

    Returns ``sent``, ``outbox`` (written to the outbox folder: SMTP is not configured),
    ``nothing``, ``disabled`` (``notify_merchant`` off) or ``no_recipient``
    (neither company email is set); the notices stay unsent in the last two cases. Raises
    :class:`RetryLater` while the burst settles, before ``aggregate_minutes`` have passed
    since the previous digest, while another worker sends, and when SMTP is unreachable;
    ``PermanentJobError`` when the server refuses the message (the notices stay unsent).
    """
    settings = ctx.settings
    if not settings.email.notify_merchant:
        return "disabled"
    to = merchant_recipients(settings)
    if not to:
        log.warning("merchant notices are not emailed: set [company] email or issuer_email")
        return "no_recipient"
    with _digest_lock(ctx) as locked:
        if not locked:
            raise RetryLater("another worker is sending the merchant digest", delay_seconds=30)
        rows = _due_notices(ctx)
        if not rows:
            return "nothing"
        ids = [r.id for r in rows]
        delivery = _send_digest(ctx, rows, to, attempt)
        _mark_sent(ctx, ids)
    log.info("merchant digest with %d notices %s", len(ids), delivery.describe(", ".join(to)))
    return delivery.state


def _due_notices(ctx: AppContext) -> list[NoticeRecord]:
    """The unsent notices, once the burst has settled and the aggregation window passed."""
    with db.read(ctx.engine) as conn:
        now = db.db_now(conn)
        rows = notice_store.unsent(conn, limit=DIGEST_MAX_ITEMS)
        last_sent = notice_store.last_sent_at(conn)
    if not rows:
        return []
    wait = DIGEST_SETTLE_SECONDS - (now - min(r.created_at for r in rows)).total_seconds()
    if last_sent is not None:
        since = (now - last_sent).total_seconds()
        wait = max(wait, ctx.settings.email.aggregate_minutes * 60 - since)
    if wait > 0:
        raise RetryLater(f"merchant digest waits {wait:.0f} s to aggregate", delay_seconds=wait)
    return rows


def _send_digest(
    ctx: AppContext, rows: list[NoticeRecord], to: list[str], attempt: int
) -> email_state.Delivery:
    sender_address = mail_from(ctx.settings)
    msg = compose_merchant_digest(
        [notice_from_row(r) for r in rows],
        mail_from=sender_address,
        to=to,
        company_name=ctx.settings.company.name,
        templates=templates(ctx),
        message_id=_digest_message_id([r.id for r in rows], _domain(sender_address)),
    )
    try:
        return email_state.hand_over(mail_sender(ctx), msg)
    except SmtpError as exc:
        if exc.retryable:
            raise RetryLater(
                f"merchant digest: {exc.message}", delay_seconds=email_backoff_seconds(attempt)
            ) from exc
        raise PermanentJobError(f"merchant digest refused: {exc.message}") from exc


def _mark_sent(ctx: AppContext, ids: list[int]) -> None:
    with db.write(ctx.engine) as conn:
        notice_store.mark_sent(conn, ids, db.db_now(conn))
        if len(ids) == DIGEST_MAX_ITEMS:  # more are waiting: the next digest follows
            queue.enqueue(
                conn,
                "send_merchant_digest",
                {},
                delay=ctx.settings.email.aggregate_minutes * 60,
                dedupe_key=f"digest:after:{ids[-1]}",
            )


def merchant_digest_job(ctx: AppContext, job: queue.Job) -> None:
    send_merchant_digest(ctx, attempt=job.attempts)
