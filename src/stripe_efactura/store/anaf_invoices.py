"""Queries over invoices for the ANAF lifecycle: which filings are known, which invoices have
ANAF work left, which are near their deadline, and the ``invoices list`` rows."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import db, invoice_files
from .anaf_work import ACTIVE, AnafState, AnafWork, has_work
from .invoices import InvoiceRecord, records
from .periods import IssuedInvoice, invoices_without_documents
from .tables import invoices, jobs
from .textsearch import invoices_match

#: Job tasks that carry an invoice's ANAF chain.
CHAIN_TASKS = ("anaf_step", "submit_anaf")


def in_line(conn: Connection, reason: str, start: datetime, end: datetime) -> int:
    """How many queued jobs wait for ``reason`` (``jobs.last_error``, the jobs' line for the
    global quota window) to run from ``start`` up to (not at) ``end``: one range of the
    ``(status, run_at, id)`` index."""
    due = sa.and_(jobs.c.status == "queued", jobs.c.run_at >= start, jobs.c.run_at < end)
    query = sa.select(sa.func.count()).select_from(jobs).where(due, jobs.c.last_error == reason)
    return int(conn.execute(query).scalar_one())


def known_upload_indexes(conn: Connection) -> set[str]:
    """Every upload index already linked to one of our invoices."""
    rows = conn.execute(
        sa.select(invoices.c.upload_index).where(invoices.c.upload_index.is_not(None))
    ).scalars()
    return {str(v) for v in rows}


def chained_invoice_ids(conn: Connection) -> set[int]:
    """Invoices with a queued or running ANAF job."""
    rows = conn.execute(
        sa.select(jobs.c.args).where(
            jobs.c.task.in_(CHAIN_TASKS), jobs.c.status.in_(("queued", "running"))
        )
    ).scalars()
    out: set[int] = set()
    for raw in rows:
        try:
            out.add(int(json.loads(raw)["invoice_id"]))
        except (ValueError, KeyError, TypeError):
            continue
    return out


def job_queued(conn: Connection, task: str) -> bool:
    """Whether a job of ``task`` is queued (not running)."""
    return conn.execute(_JOB_QUEUED, {"q_task": task}).first() is not None


_JOB_QUEUED = (
    sa.select(jobs.c.id)
    # a literal status, for the partial index ``ix_jobs_queued_task`` (queued jobs only): a
    # bound parameter would not tell the planner that the query stays inside it
    .where(jobs.c.task == sa.bindparam("q_task"), jobs.c.status == sa.literal_column("'queued'"))
    .limit(1)
)
"""The prepared read of :func:`job_queued` (``store/db.py``, "prepared statements")."""


def job_running(conn: Connection, task: str, now: datetime) -> bool:
    """Whether a job of ``task`` runs under a lease that has not expired at ``now`` (naive
    UTC, the database clock)."""
    query = sa.select(jobs.c.id).where(
        jobs.c.status == "running", jobs.c.task == task, jobs.c.locked_until > now
    )
    return conn.execute(query.limit(1)).first() is not None


def move_chains(conn: Connection, run_at: Mapping[int, datetime]) -> int:
    """Move the queued ``anaf_step`` of each invoice's chain (dedupe key ``anaf:<id>:…``) to
    its ``run_at`` (``{invoice id: naive UTC, the database clock}``); how many were found
    queued to move (an invoice without one queued, e.g. its chain's job runs now, has its
    next step follow its new state; a job claimed meanwhile is left as it is).

    The candidates come from one range of the unique dedupe-key index per invoice (``:`` + 1
    is ``;``), read with one statement, then are moved by id (one ``executemany``): not a scan
    of every queued job, since in a burst every invoice's chain waits queued for its archive
    and the sweep moves hundreds at a time. The ``LIKE`` keeps the match exact under any
    collation (under one that does not order the range byte by byte the range may find none:
    the chain's job then wakes at its own time and follows the invoice's state). Status and
    task are compared as text (``|| ''``) so that no planner reads the queue's indexes
    instead."""
    if not run_at:
        return 0
    ranges = [
        sa.and_(
            jobs.c.dedupe_key >= f"anaf:{invoice_id}:",
            jobs.c.dedupe_key < f"anaf:{invoice_id};",
            jobs.c.dedupe_key.startswith(f"anaf:{invoice_id}:", autoescape=True),
        )
        for invoice_id in sorted(run_at)
    ]
    candidates = sa.select(jobs.c.id, jobs.c.dedupe_key).where(
        sa.or_(*ranges),
        jobs.c.status.concat("") == "queued",
        jobs.c.task.concat("") == "anaf_step",
    )
    moves = [
        {"m_id": int(job_id), "m_run_at": run_at[int(str(key).split(":")[1])]}
        for job_id, key in conn.execute(candidates)
    ]
    if moves:
        conn.execute(_MOVE, moves)
    return len(moves)


_MOVE = (
    jobs.update()
    .where(
        jobs.c.id == sa.bindparam("m_id"),
        jobs.c.status == "queued",
        jobs.c.task == "anaf_step",
    )
    .values(run_at=sa.bindparam("m_run_at", type_=jobs.c.run_at.type))
)
"""The prepared move of one job of :func:`move_chains` (still queued when it runs)."""


def stalled(conn: Connection, untouched_for: timedelta) -> list[int]:
    """Invoices with ANAF work left, no live job, not updated for ``untouched_for`` (by the
    database clock, which writes ``updated_at``)."""
    now = db.db_now(conn)
    live = chained_invoice_ids(conn)
    rows = conn.execute(
        sa.select(
            invoices.c.id,
            invoices.c.anaf_state,
            invoices.c.anaf_messages,
            sa.not_(invoice_files.has("signed_zip")).label("unarchived"),
        )
        .where(invoices.c.anaf_state.in_([s.value for s in ACTIVE]))
        .where(invoices.c.updated_at < now - untouched_for)
    ).all()
    return [
        int(r.id)
        for r in rows
        if r.id not in live
        and has_work(r.anaf_state, AnafWork.from_json(r.anaf_messages), bool(r.unarchived))
    ]


def live_with_deadline(conn: Connection) -> list[InvoiceRecord]:
    """Live invoices ANAF has not validated yet that have an upload deadline."""
    query = records().where(
        invoices.c.anaf_state != AnafState.OK.value,
        invoices.c.livemode.is_(True),
        invoices.c.deadline.is_not(None),
    )
    return [InvoiceRecord.from_row(r) for r in conn.execute(query)]


@dataclass(frozen=True)
class UncertainInvoice:
    """An invoice whose upload outcome may be unknown, with its work record (JSON text)."""

    id: int
    number: str
    issue_date: date
    anaf_state: str
    anaf_messages: str | None


def uncertain(conn: Connection) -> list[UncertainInvoice]:
    """Invoices whose upload outcome may be unknown: ``unknown``, or on their way to a
    deliberate re-upload (``pending_upload``, ``uploading``); the caller reads the work record
    (``unknown_since``)."""
    states = (AnafState.UNKNOWN.value, AnafState.PENDING.value, AnafState.UPLOADING.value)
    query = sa.select(
        invoices.c.id,
        invoices.c.number,
        invoices.c.issue_date,
        invoices.c.anaf_state,
        invoices.c.anaf_messages,
    ).where(invoices.c.anaf_state.in_(states))
    return [db.record(UncertainInvoice, r) for r in conn.execute(query)]


def listing(conn: Connection, *, text: str | None = None) -> list[IssuedInvoice]:
    """Every invoice without its documents and snapshot (or those whose search text contains
    ``text``: number, payment key, buyer name, ids, e-mail), ordered by series and number
    (``has_signed_zip``: whether the signed ZIP is stored)."""
    return invoices_without_documents(conn, invoices_match(conn, text) if text else None)


@dataclass(frozen=True)
class AwaitingStatus:
    """An uploaded invoice waiting for ANAF's answer (``uploaded`` / ``in_processing``)."""

    id: int
    upload_index: str
    anaf_state: str
    anaf_messages: str | None


def _awaiting_status() -> tuple[sa.ColumnElement[bool], ...]:
    """Uploaded and not answered yet."""
    states = (AnafState.UPLOADED.value, AnafState.IN_PROCESSING.value)
    return invoices.c.anaf_state.in_(states), invoices.c.upload_index.is_not(None)


def awaiting_status_at_least(conn: Connection, wanted: int) -> bool:
    """Whether at least ``wanted`` invoices are uploaded and not answered yet: reads at most
    ``wanted`` of them (asked at every upload of a burst, where thousands may wait)."""
    return int(conn.execute(_AWAITING_UP_TO, {"q_up_to": wanted}).scalar_one()) >= wanted


_AWAITING_UP_TO = sa.select(sa.func.count()).select_from(
    sa.select(invoices.c.id)
    .where(*_awaiting_status())
    .limit(sa.bindparam("q_up_to", type_=sa.Integer))
    .subquery()
)
"""The prepared count of :func:`awaiting_status_at_least`."""


def awaiting_and_queued(conn: Connection, wanted: int, task: str) -> tuple[bool, bool]:
    """:func:`awaiting_status_at_least` and :func:`job_queued` with one statement (both are
    asked at each upload of a burst)."""
    row = conn.execute(_AWAITING_AND_QUEUED, {"q_up_to": wanted, "q_task": task}).one()
    return int(row[0]) >= wanted, bool(row[1])


_AWAITING_AND_QUEUED = sa.select(
    _AWAITING_UP_TO.scalar_subquery(), sa.exists(_JOB_QUEUED.subquery())
)
"""The prepared read of :func:`awaiting_and_queued`."""


def awaiting_status(conn: Connection) -> list[AwaitingStatus]:
    """Every invoice uploaded and not answered yet, with its work record (JSON text)."""
    query = sa.select(
        invoices.c.id, invoices.c.upload_index, invoices.c.anaf_state, invoices.c.anaf_messages
    ).where(*_awaiting_status())
    return [db.record(AwaitingStatus, r) for r in conn.execute(query)]
