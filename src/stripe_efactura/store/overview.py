"""Read-only views across tables: how far each invoice got, what became of each Stripe event,
what is still waiting. Used by the demo's account and by status reports."""

from __future__ import annotations

import json
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import invoice_files
from .tables import invoices, jobs, notices, payments, stripe_events


@dataclass(frozen=True)
class InvoiceProgress:
    anaf_state: str
    email_state: str
    archived: bool
    """The signed ZIP from ANAF is stored."""


@dataclass(frozen=True)
class EventOutcome:
    id: str
    outcome: str
    reason: str | None
    payment_key: str | None


@dataclass(frozen=True)
class JobError:
    task: str
    status: str
    last_error: str


def invoice_progress(conn: Connection) -> list[InvoiceProgress]:
    rows = conn.execute(
        sa.select(
            invoices.c.anaf_state, invoices.c.email_state, invoice_files.has("signed_zip")
        ).order_by(invoices.c.id)
    )
    return [InvoiceProgress(str(a), str(e), bool(z)) for a, e, z in rows]


def event_ids_by_payment(conn: Connection) -> dict[str, list[str]]:
    """The Stripe events that confirmed each payment, in arrival order."""
    rows = conn.execute(sa.select(payments.c.payment_key, payments.c.event_ids))
    return {str(r.payment_key): [str(e) for e in json.loads(r.event_ids)] for r in rows}


def event_outcomes(conn: Connection) -> list[EventOutcome]:
    rows = conn.execute(
        sa.select(
            stripe_events.c.id,
            stripe_events.c.outcome,
            stripe_events.c.reason,
            stripe_events.c.payment_key,
        ).order_by(stripe_events.c.received_at, stripe_events.c.id)
    )
    return [EventOutcome(str(r.id), str(r.outcome), r.reason, r.payment_key) for r in rows]


def unsent_notice_count(conn: Connection) -> int:
    query = sa.select(sa.func.count()).select_from(notices).where(notices.c.sent_at.is_(None))
    return int(conn.execute(query).scalar_one())


def unfinished_job_errors(conn: Connection) -> list[JobError]:
    """Jobs not done that recorded an error, oldest first."""
    rows = conn.execute(
        sa.select(jobs.c.task, jobs.c.status, jobs.c.last_error)
        .where(jobs.c.last_error.is_not(None), jobs.c.status != "done")
        .order_by(jobs.c.id)
    )
    return [JobError(str(t), str(s), str(e)) for t, s, e in rows]
