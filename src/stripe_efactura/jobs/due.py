"""Which jobs are due, and the prepared statements of a worker's claim (``queue.claim``).

A claim reads the due ids (the expired leases first, longest expired first, then the queued
jobs in ``run_at`` order) and leases them, in one write transaction: on SQLite inside the
write turn, so its statements are built once (``store/db.py``, "prepared statements").
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..store import db
from ..store.tables import jobs

LEASE = (
    jobs.update()
    .where(jobs.c.id.in_(sa.bindparam("c_ids", expanding=True)))
    .values(
        status="running",
        attempts=jobs.c.attempts + 1,
        **db.params(jobs, ("locked_by", "locked_until")),
    )
    .returning(
        jobs.c.id, jobs.c.task, jobs.c.args, jobs.c.attempts, jobs.c.max_attempts, jobs.c.run_at
    )
)
"""The prepared lease of :func:`.queue.claim` (``store/db.py``, "prepared statements")."""

Moment = datetime | sa.BindParameter[datetime]
"""A time in a condition: a value, or the parameter of a prepared statement."""


def queued_now(now: Moment) -> sa.ColumnElement[bool]:
    return sa.and_(jobs.c.status == "queued", jobs.c.run_at <= now)


def expired_now(now: Moment) -> sa.ColumnElement[bool]:
    return sa.and_(jobs.c.status == "running", jobs.c.locked_until < now)


def due_ids(
    conn: Connection,
    due: Literal["queued", "expired"],
    now: datetime,
    tasks: frozenset[str] | None,
    limit: int,
) -> list[int]:
    """The ids of :func:`due_query` for :func:`queued_now` or :func:`expired_now` at ``now``,
    locked on PostgreSQL."""
    query = _due_prepared(due, tasks, not db.is_sqlite(conn))
    return [int(row[0]) for row in conn.execute(query, {"q_now": now, "q_limit": limit})]


@functools.cache
def _due_prepared(
    due: Literal["queued", "expired"], tasks: frozenset[str] | None, lock: bool
) -> sa.Select[int]:
    """The prepared :func:`due_ids` (``store/db.py``, "prepared statements"): one per kind,
    task set (a worker's) and dialect; ``q_now`` and ``q_limit`` are its parameters. Built for
    each claim, its two reads and the lease cost about 0.5 ms more of CPU, in the write turn."""
    now = sa.bindparam("q_now", type_=jobs.c.run_at.type)
    if due == "queued":
        query = due_query(queued_now(now), tasks, sa.bindparam("q_limit"))
    else:
        query = due_query(expired_now(now), tasks, sa.bindparam("q_limit"), EXPIRED_ORDER)
    if lock:
        query = query.with_for_update(skip_locked=True)  # a claim in flight is passed over
    return query


EXPIRED_ORDER = (jobs.c.locked_until, jobs.c.id)
"""The expired leases, longest expired first: the order of ``ix_jobs_running_lease``, whose
start holds only them (a finished job's old entry there holds a lease in the future). The
claim index ``(status, run_at, id)`` read every running entry, live or dead, to compare
``locked_until``: 1-2 ms per claim late in a PostgreSQL burst (bench/pipeline)."""


def due_query(
    due: sa.ColumnElement[bool],
    tasks: frozenset[str] | None,
    limit: int | sa.BindParameter[int],
    order: tuple[sa.ColumnElement[object], ...] = (jobs.c.run_at, jobs.c.id),
) -> sa.Select[int]:
    """The first ``limit`` jobs matching ``due`` (:func:`queued_now` or :func:`expired_now`)
    in ``order`` (``run_at`` and id; the expired leases: :data:`EXPIRED_ORDER`). One
    condition per query, with ``status`` equal to one value, so that an index yields the rows
    in the claim's order and the scan stops after ``limit`` of them: an ``OR`` of the queued
    and the expired jobs made PostgreSQL read and sort every queued job on each claim (6 ms
    with 6,000 queued, bench/webhook_scale.py)."""
    query = sa.select(jobs.c.id).where(due)
    if tasks is not None:
        query = query.where(jobs.c.task.in_(sorted(tasks)))
    return query.order_by(*order).limit(limit)
