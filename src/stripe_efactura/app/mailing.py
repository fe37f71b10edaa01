"""Email delivery: the invoice to the payer (exactly once), resends, the merchant's digest.

Job ``email_invoice`` (enqueued by ``render_pdf``, see ``app.documents``):

1. an invoice whose ``email_state`` is ``sent``, ``outbox``, ``failed``, ``no_recipient`` or
   ``disabled`` is left alone (a job that runs twice sends nothing the second time);
2. in one transaction the state becomes ``sending`` and an ``email_sending`` line (attempt,
   ``Message-ID``, recipient) is written to the invoice timeline;
3. the message goes to the SMTP server, outside any transaction;
4. in one transaction the state becomes ``sent`` (timeline ``email_sent``), or ``outbox``
   (timeline ``email_outbox`` with the file) when SMTP is not configured
   (:mod:`~stripe_efactura.app.email_state`).

A retryable SMTP failure (server down, timeout, 4xx) puts the state to ``retrying`` and the
job runs again after 30 s, 1, 2, 4 … minutes (at most one hour between tries). A permanent
failure (5xx, wrong password, a malformed address) or running out of attempts makes it
``failed`` and records a merchant notice (kind ``email_failed``).

The ``Message-ID`` is derived from the invoice (:func:`invoice_message_id`), so it is the same
on every attempt. If the process dies after the server accepted the message and before step 4,
the state stays ``sending``; after :data:`SENDING_STALE_SECONDS` the job sends it again with
the same ``Message-ID`` (the one case where the payer can get two copies, and mail clients
that de-duplicate by ``Message-ID`` show one). A ``sending`` state younger than that means
another worker is sending right now: the job waits.

The merchant's digest of notices is :mod:`stripe_efactura.app.digest`.

Without ``EFACTURA_SMTP_HOST`` every message is written as an ``.eml`` file to
``<data_dir>/outbox/`` instead (:class:`~stripe_efactura.mail.send.DirectorySender`) and the
state says ``outbox``: nothing claims it was sent.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import random
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path
from typing import TypedDict

from sqlalchemy.engine import Connection

from ..config import Settings
from ..errors import ConfigError, EfacturaError, RetryLater
from ..invoicing.model import Invoice
from ..invoicing.serialize import invoice_from_json
from ..jobs import queue
from ..jsontypes import JsonObject
from ..mail.compose import (
    MailAddressError,
    attachment_basename,
    compose_invoice_email,
)
from ..mail.send import DirectorySender, MailSender, SmtpError, SmtpSender
from ..mail.templates import Templates, load_templates
from ..store import db
from ..store import invoices as invoice_store
from ..store.invoices import InvoiceHead
from . import documents, email_state
from . import notices as notice_service
from .context import AppContext

__all__ = [
    "FINAL_STATES",
    "SENDING_STALE_SECONDS",
    "EmailBusy",
    "ResendResult",
    "email_backoff_seconds",
    "email_invoice_job",
    "invoice_message_id",
    "mail_from",
    "mail_sender",
    "resend_email",
    "send_invoice_email",
    "templates",
]

log = logging.getLogger("stripe_efactura.mailing")

FINAL_STATES = frozenset({"sent", "outbox", "failed", "no_recipient", "disabled"})
"""``email_state`` values the ``email_invoice`` job does not act on (``resend_email`` does)."""

SENDING_STALE_SECONDS = 600
"""A ``sending`` mark older than this is a crashed attempt, not one in progress."""

_EMAIL_BACKOFF_BASE = 30.0
_EMAIL_BACKOFF_CAP = 3600.0


class EmailBusy(EfacturaError):
    """Another worker is sending this invoice's email right now."""

    code = "E-MAIL-BUSY"


# --------------------------------------------------------------------------------------------
# wiring: sender, templates, addresses


def mail_sender(ctx: AppContext) -> MailSender:
    """``ctx.mail_sender`` when injected, else SMTP from the settings, else the outbox
    directory ``<data_dir>/outbox`` (no ``EFACTURA_SMTP_HOST``)."""
    if ctx.mail_sender is not None:
        return ctx.mail_sender
    if ctx.settings.smtp_host:
        return _smtp_sender(ctx)
    return DirectorySender(ctx.settings.data_dir / "outbox")


SMTP_KEEP_OPEN = 60.0
"""Seconds an SMTP connection is kept for the next message (checked with ``RSET`` first)."""


def _smtp_sender(ctx: AppContext) -> SmtpSender:
    """One sender per context and SMTP settings: a burst of e-mails shares its connection."""
    s = ctx.settings
    key = (s.smtp_host, s.smtp_port, s.smtp_user, s.smtp_password, s.smtp_starttls)
    cached = ctx.caches.smtp_sender
    if cached is not None and cached[0] == key:
        return cached[1]
    if cached is not None:
        cached[1].close()
    sender = SmtpSender.from_settings(s, keep_open=SMTP_KEEP_OPEN)
    ctx.caches.smtp_sender = (key, sender)
    return sender


def _relative_to_config(settings: Settings, raw: str) -> Path:
    path = Path(raw).expanduser()
    return path if path.is_absolute() else settings.config_path.parent / path


def templates(ctx: AppContext) -> Templates:
    """The email templates (``[email] templates_dir``, relative to ``efactura.toml``), loaded
    once per context. Raises ``TemplateError`` for a bad template."""
    raw = ctx.settings.email.templates_dir
    cached = ctx.caches.mail_templates
    if cached is not None and cached[0] == raw:
        return cached[1]
    loaded = load_templates(_relative_to_config(ctx.settings, raw) if raw else None)
    ctx.caches.mail_templates = (raw, loaded)
    return loaded


def mail_from(settings: Settings) -> str:
    """``EFACTURA_MAIL_FROM``, else the company email; ``ConfigError`` when neither is set."""
    value = (settings.mail_from or settings.company.email or "").strip()
    if not value:
        raise ConfigError("no sender address: set EFACTURA_MAIL_FROM (or [company] email)")
    return value


def _domain(sender: str) -> str:
    parsed = getaddresses([sender])
    spec = parsed[0][1] if parsed else ""
    domain = spec.rpartition("@")[2] if "@" in spec else ""
    return domain or "stripe-efactura.invalid"


def invoice_message_id(row: InvoiceHead, domain: str, *, resend: int = 0) -> str:
    """The ``Message-ID`` of an invoice's email: the same for every attempt of one sending.

    ``<SEF000123.3f1c…@firma-mea.ro>``; a resend ``k`` gets ``<SEF000123.r2.3f1c…@…>``.
    """
    seed = f"{row.id}\0{row.number}\0{row.payment_key}\0{row.kind}"
    digest = hashlib.sha256(seed.encode("utf-8")).hexdigest()[:16]
    part = f".r{resend}" if resend else ""
    return f"<{attachment_basename(str(row.number))}{part}.{digest}@{domain}>"


def email_backoff_seconds(attempt: int, *, rng: random.Random | None = None) -> float:
    """Wait after failed attempt ``attempt`` (1-based): 30 s doubling, at most one hour,
    ±10 % jitter so that many invoices do not hit the server at the same second."""
    doublings = min(max(0, attempt - 1), 30)
    base = min(_EMAIL_BACKOFF_CAP, math.ldexp(_EMAIL_BACKOFF_BASE, doublings))
    return base * (rng or random.Random()).uniform(0.9, 1.1)


# --------------------------------------------------------------------------------------------
# the invoice email


def _buyer_email(invoice: Invoice) -> str:
    return (invoice.buyer.email or "").strip()


def _sending_marks(conn: Connection, invoice_id: int) -> list[tuple[datetime, JsonObject]]:
    rows = invoice_store.timeline(conn, invoice_id, event="email_sending")
    return [(r.at, json.loads(r.detail) if r.detail else {}) for r in rows]


def _fresh_sending(conn: Connection, invoice_id: int) -> tuple[float, JsonObject] | None:
    """(age in seconds, detail) of the last ``email_sending`` mark when it is not stale."""
    marks = _sending_marks(conn, invoice_id)
    if not marks:
        return None
    at, detail = marks[-1]
    age = (db.db_now(conn) - at).total_seconds()
    return (age, detail) if age < SENDING_STALE_SECONDS else None


def _replace_message_id(msg: EmailMessage, message_id: str) -> None:
    del msg["Message-ID"]
    msg["Message-ID"] = message_id


def _mark_failed(
    conn: Connection, row: InvoiceHead, exc: EfacturaError, *, attempt: int, exhausted: bool
) -> None:
    number = str(row.number)
    invoice_store.update_invoice(conn, row.id, email_state="failed")
    invoice_store.log(
        conn, row.id, "email_failed", {"attempt": attempt, "code": exc.code, "error": exc.message}
    )
    notice_service.record(
        conn,
        "email_failed",
        number,
        f"Factura {number} nu a putut fi trimisă clientului pe email",
        (email_state.failure_problem(number, exc, exhausted=exhausted),),
        title_en=f"Invoice {number} could not be emailed to the customer",
        invoice=number,
    )


def send_invoice_email(
    ctx: AppContext,
    invoice_id: int,
    *,
    attempt: int = 1,
    max_attempts: int = documents.EMAIL_MAX_ATTEMPTS,
) -> str:
    """Job ``email_invoice``: send the invoice to the payer once.

    Returns ``sent``, ``outbox`` (written to the outbox: SMTP is not configured),
    ``already`` (a final state), ``failed``, ``no_recipient`` or ``missing``; raises
    :class:`RetryLater` after a retryable SMTP failure (or while another worker is sending
    this email).
    """
    with db.read(ctx.engine) as conn:
        row = invoice_store.get(conn, invoice_id)
    if row is None:
        return "missing"
    if row.email_state in FINAL_STATES:
        return "already"
    invoice = invoice_from_json(row.snapshot)
    to = _buyer_email(invoice)
    if not to:
        return _no_recipient(ctx, invoice_id)
    sender_address = mail_from(ctx.settings)
    message_id = invoice_message_id(row, _domain(sender_address))
    try:
        msg = compose_invoice_email(
            invoice,
            bytes(row.pdf) if row.pdf is not None else documents.ensure_pdf(ctx, invoice_id),
            bytes(row.xml),
            mail_from=sender_address,
            to=to,
            templates=templates(ctx),
            message_id=message_id,
        )
    except MailAddressError as exc:
        with db.write(ctx.engine) as conn:
            current = invoice_store.must_head(conn, invoice_id, for_update=True)
            if current.email_state not in FINAL_STATES:
                _mark_failed(conn, current, exc, attempt=attempt, exhausted=False)
        return "failed"
    message_id = _claim_sending(ctx, row, msg, message_id, to, attempt)
    if not message_id:
        return "already"
    return _deliver(ctx, row, msg, attempt, max_attempts, to)


def _no_recipient(ctx: AppContext, invoice_id: int) -> str:
    with db.write(ctx.engine) as conn:
        invoice_store.update_invoice(conn, invoice_id, email_state="no_recipient")
        invoice_store.log(conn, invoice_id, "email_skipped", {"reason": "the payer has no email"})
    return "no_recipient"


def _claim_sending(
    ctx: AppContext, row: InvoiceHead, msg: EmailMessage, message_id: str, to: str, attempt: int
) -> str:
    """Mark the email ``sending`` (with its ``Message-ID``) before it leaves; returns the
    ``Message-ID`` used ('' when the email is final already). A ``sending`` mark left by a
    crashed attempt is taken over with its ``Message-ID``; a fresh one means another worker
    is sending now (:class:`RetryLater`). The common case (the state ``row`` was read with is
    still there) is one guarded ``UPDATE``, its own transaction on PostgreSQL
    (``db.write_one``); otherwise the row is read again under lock."""
    invoice_id = int(row.id)
    if row.email_state not in FINAL_STATES and row.email_state != "sending":
        detail = {"attempt": attempt, "message_id": message_id, "to": to, "recovered": False}
        with db.write_one(ctx.engine) as conn:  # one statement: no BEGIN/COMMIT on PostgreSQL
            if invoice_store.update_invoice(
                conn,
                invoice_id,
                logged=[("email_sending", detail)],
                expect={"email_state": row.email_state},
                email_state="sending",
            ):
                return message_id
    with db.write(ctx.engine) as conn:
        current = invoice_store.must_head(conn, invoice_id, for_update=True)
        if current.email_state in FINAL_STATES:
            return ""
        recovered = False
        if current.email_state == "sending":
            fresh = _fresh_sending(conn, invoice_id)
            if fresh is not None:
                age, _detail = fresh
                raise RetryLater(
                    f"invoice {row.number}: another worker is sending the email",
                    delay_seconds=SENDING_STALE_SECONDS - age + 5,
                )
            marks = _sending_marks(conn, invoice_id)
            previous = str(marks[-1][1].get("message_id") or "") if marks else ""
            if previous and not marks[-1][1].get("resend"):
                message_id = previous
                _replace_message_id(msg, message_id)
            recovered = True
        detail = {"attempt": attempt, "message_id": message_id, "to": to, "recovered": recovered}
        invoice_store.update_invoice(
            conn, invoice_id, logged=[("email_sending", detail)], email_state="sending"
        )
    return message_id


def _deliver(
    ctx: AppContext, row: InvoiceHead, msg: EmailMessage, attempt: int, max_attempts: int, to: str
) -> str:
    """Hand the message to the server (outside any transaction) and record the outcome."""
    invoice_id = int(row.id)
    message_id = str(msg["Message-ID"])
    try:
        delivery = email_state.hand_over(mail_sender(ctx), msg)
    except SmtpError as exc:
        exhausted = attempt >= max_attempts
        if exc.retryable and not exhausted:
            delay = email_backoff_seconds(attempt)
            with db.write(ctx.engine) as conn:
                invoice_store.update_invoice(conn, invoice_id, email_state="retrying")
                invoice_store.log(
                    conn,
                    invoice_id,
                    "email_retry",
                    {"attempt": attempt, "error": exc.message, "retry_in": round(delay)},
                )
            raise RetryLater(f"invoice {row.number}: {exc.message}", delay_seconds=delay) from exc
        with db.write(ctx.engine) as conn:
            current = invoice_store.must_head(conn, invoice_id, for_update=True)
            _mark_failed(conn, current, exc, attempt=attempt, exhausted=exc.retryable)
        log.error("invoice %s: email failed: %s", row.number, exc)
        return "failed"
    event = "email_outbox" if delivery.state == email_state.OUTBOX else "email_sent"
    detail = {"attempt": attempt, "message_id": message_id, "to": to, **delivery.detail()}
    # SQLite: the job completes with the outcome, one commit. PostgreSQL: the outcome is one
    # statement of its own (no BEGIN and COMMIT) and the worker then completes the job with
    # another; a job left running between them is run again and finds the email sent.
    with db.write_one(ctx.engine) as conn:
        invoice_store.update_invoice(
            conn, invoice_id, logged=[(event, detail)], email_state=delivery.state
        )
        queue.finish_in(conn, "email_invoice")  # SQLite's write: the completion with it
    log.info("invoice %s: email %s (%s)", row.number, delivery.describe(to), message_id)
    return delivery.state


def email_invoice_job(ctx: AppContext, job: queue.Job) -> None:
    send_invoice_email(
        ctx, job.int_arg("invoice_id"), attempt=job.attempts, max_attempts=job.max_attempts
    )


@dataclass(frozen=True)
class ResendResult:
    number: str
    to: str
    message_id: str
    state: str = email_state.SENT
    """``sent``, or ``outbox`` when SMTP is not configured (``outbox`` is the file)."""
    outbox: str | None = None

    def describe(self) -> str:
        return email_state.Delivery(self.state, self.outbox).describe(self.to)


def resend_email(ctx: AppContext, number: str, *, to: str | None = None) -> ResendResult:
    """Send invoice ``number`` to the payer again, now (``invoices resend-email``).

    ``to`` replaces the payer's address from the invoice. Each resend has its own
    ``Message-ID`` and is logged on the timeline (``email_sending`` with ``resend``, then
    ``email_resent`` or ``email_resend_failed``). The state ends ``sent`` (``outbox`` without
    SMTP); a queued or retrying first email is therefore not sent any more. Raises
    :class:`~stripe_efactura.app.documents.InvoiceNotFound`, ``MailAddressError``,
    :class:`EmailBusy` and ``SmtpError``.
    """
    with db.read(ctx.engine) as conn:
        row = invoice_store.by_number(conn, number)
    if row is None:
        raise documents.InvoiceNotFound(f"no invoice numbered {number!r}", number=number)
    invoice = invoice_from_json(row.snapshot)
    recipient = (to or "").strip() or _buyer_email(invoice)
    if not recipient:
        raise MailAddressError(
            f"invoice {number}: the payer has no email address; give one with --to",
            code="E-MAIL-NO-RECIPIENT",
        )
    pdf = documents.ensure_pdf(ctx, int(row.id))
    sender_address = mail_from(ctx.settings)
    with db.write(ctx.engine) as conn:
        current = invoice_store.must_head(conn, row.id, for_update=True)
        if current.email_state == "sending" and _fresh_sending(conn, row.id) is not None:
            raise EmailBusy(f"invoice {number}: the email is being sent right now; try again soon")
        resend = 1 + sum(1 for _at, d in _sending_marks(conn, row.id) if d.get("resend"))
        message_id = invoice_message_id(row, _domain(sender_address), resend=resend)
        msg = compose_invoice_email(
            invoice,
            pdf,
            bytes(row.xml),
            mail_from=sender_address,
            to=recipient,
            templates=templates(ctx),
            message_id=message_id,
        )
        previous_state = str(current.email_state)
        invoice_store.update_invoice(conn, row.id, email_state="sending")
        invoice_store.log(
            conn,
            row.id,
            "email_sending",
            {"resend": resend, "message_id": message_id, "to": recipient},
        )
    detail: _ResendMark = {"resend": resend, "message_id": message_id, "to": recipient}
    delivery = _deliver_resend(ctx, int(row.id), msg, detail, previous_state)
    return ResendResult(str(row.number), recipient, message_id, delivery.state, delivery.path)


class _ResendMark(TypedDict):
    """The timeline detail of a resend (``email_sending``, then ``email_resent``)."""

    resend: int
    message_id: str
    to: str


def _deliver_resend(
    ctx: AppContext, invoice_id: int, msg: EmailMessage, detail: _ResendMark, previous_state: str
) -> email_state.Delivery:
    """Send a resend now; a failure restores the previous state and is raised."""
    try:
        delivery = email_state.hand_over(mail_sender(ctx), msg)
    except SmtpError as exc:
        with db.write(ctx.engine) as conn:
            invoice_store.update_invoice(conn, invoice_id, email_state=previous_state)
            invoice_store.log(
                conn,
                invoice_id,
                "email_resend_failed",
                {"resend": detail["resend"], "code": exc.code, "error": exc.message},
            )
        raise
    with db.write(ctx.engine) as conn:
        invoice_store.update_invoice(conn, invoice_id, email_state=delivery.state)
        invoice_store.log(conn, invoice_id, "email_resent", {**detail, **delivery.detail()})
    return delivery
