"""A job's completion and the lease of its follow-ups in one statement (``queue.finish_in``).

A job that enqueued follow-ups (``queue.collecting``) completed with one ``UPDATE`` and then
leased them with another (``queue.claim_ids``), in the same transaction. :func:`hand_over`
does both with one ``UPDATE … RETURNING`` of the job's row and its follow-ups' rows: the
job's row becomes ``done`` on the fence of ``queue.complete`` (its id, its worker, still
``running``), each follow-up's row becomes ``running`` for the worker on the condition of
``queue.claim_ids`` (queued, due, of a follow-up task) and only while the job's own row is
still the worker's (``EXISTS``, read in the statement's snapshot), so a job whose lease was
lost hands nothing over, as before. (On PostgreSQL a takeover that commits while the
statement runs fails the completion, which re-reads the job's row, and may still leave the
follow-ups leased to this worker: they are ordinary due jobs, run as any claimed job.)
One round trip to PostgreSQL fewer per job with follow-ups: three per invoice in a burst
(event to invoice, invoice to PDF and upload, PDF to email). SQLite, in the process, has no
round trips to save and spends less CPU on the two simpler statements: ``queue`` keeps them
there.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from ..store import db
from ..store.tables import jobs

if TYPE_CHECKING:
    from .queue import Job

_ME = sa.bindparam("h_id", type_=jobs.c.id.type)
_BY = sa.bindparam("h_by", type_=jobs.c.locked_by.type)
_NOW = sa.bindparam("h_now", type_=jobs.c.run_at.type)
_MINE = sa.and_(jobs.c.id == _ME, jobs.c.locked_by == _BY, jobs.c.status == "running")
_OWN = jobs.alias("own")
_STILL_MINE = sa.exists().where(
    _OWN.c.id == _ME, _OWN.c.locked_by == _BY, _OWN.c.status == "running"
)


def _either(done: object, running: object) -> sa.Case[object]:
    """``done`` for the completed job's row, ``running`` for a follow-up's."""
    return sa.case((jobs.c.id == _ME, done), else_=running)


def _statement(ids: sa.ColumnElement[bool], tasks: sa.ColumnElement[bool]) -> sa.Update:
    """The statement, with ``ids``: the row is one of the job's and its follow-ups', and
    ``tasks``: the row's task is a follow-up's."""
    return (
        jobs.update()
        .where(
            ids,
            sa.or_(
                _MINE,
                sa.and_(
                    jobs.c.id != _ME,
                    # ``status || ''``: as ``queue.claim_ids``, never through the claim index
                    jobs.c.status.concat("") == "queued",
                    jobs.c.run_at <= _NOW,
                    tasks,
                    _STILL_MINE,
                ),
            ),
        )
        .values(
            status=_either("done", "running"),
            last_error=_either(sa.null(), jobs.c.last_error),
            finished_at=_either(_NOW, jobs.c.finished_at),
            attempts=_either(jobs.c.attempts, jobs.c.attempts + 1),
            locked_until=_either(
                jobs.c.locked_until, sa.bindparam("h_until", type_=jobs.c.locked_until.type)
            ),
            locked_by=_either(jobs.c.locked_by, _BY),
        )
        .returning(jobs.c.id, jobs.c.task, jobs.c.args, jobs.c.attempts, jobs.c.max_attempts)
    )


_HAND_OVER = _statement(
    jobs.c.id.in_(sa.bindparam("h_ids", expanding=True)),
    jobs.c.task.in_(sa.bindparam("h_tasks", expanding=True)),
)
"""The statement of :func:`hand_over` on SQLite (the production path runs it on PostgreSQL
only: SQLite has no round trips to save)."""


@functools.lru_cache(maxsize=32)  # counts: 1 + at most a worker's follow-ups per job
def _hand_over_pg(count: int) -> sa.Update:
    """The prepared statement of :func:`hand_over` on PostgreSQL for ``count`` ids (the job's
    and its follow-ups'; ``store/db.py``, "prepared statements"): the ids as ``count``
    parameters of their own, the tasks as an array (``= ANY``). With an array of ids
    PostgreSQL's generic plan expected ten of them, cost three times the custom plan, and the
    statement was planned anew at each execution (84 us of the server's CPU, against 15 us
    to run it); with ``count`` parameters both plans cost the same and the generic one is
    kept. (An ``IN`` of one list parameter is rendered into the text at each execution.)"""
    ids = [sa.bindparam(f"h_id{n}", type_=jobs.c.id.type) for n in range(count)]
    return _statement(
        jobs.c.id.in_(ids),
        jobs.c.task == sa.any_(sa.bindparam("h_tasks", type_=postgresql.ARRAY(jobs.c.task.type))),
    )


def hand_over(
    conn: Connection,
    job: Job,
    ids: list[int],
    *,
    lease: timedelta,
    tasks: frozenset[str],
) -> tuple[bool, list[db.SqlRow]]:
    """Complete ``job`` and lease to its worker those of the jobs ``ids`` that are queued,
    due and of one of ``tasks``, in the caller's write transaction; returns whether the job
    was completed (False: its lease was lost, and nothing was leased) and the leased rows, in
    the order of ``ids``."""
    now: datetime = db.db_now(conn)
    values: dict[str, object] = {
        "h_id": job.id,
        "h_by": job.locked_by,
        "h_now": now,
        "h_until": now + lease,
        "h_tasks": sorted(tasks),
    }
    every = [job.id, *ids]
    if db.is_sqlite(conn):
        statement, values["h_ids"] = _HAND_OVER, every
    else:
        statement = _hand_over_pg(len(every))
        values.update({f"h_id{n}": job_id for n, job_id in enumerate(every)})
    rows = conn.execute(statement, values).all()
    order = {job_id: n for n, job_id in enumerate(ids)}
    completed = any(int(r.id) == job.id for r in rows)
    leased = sorted((r for r in rows if int(r.id) != job.id), key=lambda r: order[int(r.id)])
    return completed, leased
