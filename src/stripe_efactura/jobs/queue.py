"""The job queue in the database: outbox enqueue, leased claims, retries, dead jobs, fencing.

- :func:`enqueue` runs in the caller's transaction, so a job exists iff the state change
  that caused it committed (outbox).
- :func:`claim` leases due jobs (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, ``BEGIN
  IMMEDIATE`` on SQLite); a job whose lease expired is claimable again (at-least-once:
  handlers are idempotent).
- :func:`complete` and :func:`fail` are fenced by ``locked_by``: a worker whose lease expired
  cannot overwrite the result of the worker that took the job over.
- Retries back off exponentially with jitter; after ``max_attempts`` the job is ``dead``.
- Times come from the database clock.
- Follow-ups: a job enqueued while a worker runs a job (:func:`collecting`) is remembered;
  when that job completes, the worker claims those of them that are due in the completing
  transaction (:func:`claim_ids`) and runs them at once. A payment's invoice, PDF and email
  thus follow its event in the same worker turn instead of waiting behind the whole burst
  (stream, don't phase), with the same leases, fencing and retries as any claimed job.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ..jsontypes import JsonMapping, JsonObject, JsonValue
from ..store import db
from ..store.tables import JOB_MAX_ATTEMPTS, jobs, schedules
from . import handover
from .due import LEASE, due_ids

DEFAULT_LEASE = timedelta(seconds=60)
DEFAULT_MAX_ATTEMPTS = JOB_MAX_ATTEMPTS
"""Attempts a job gets unless :func:`enqueue` is told otherwise (the column's default too)."""
BACKOFF_BASE = 2.0
BACKOFF_CAP = 3600.0


@dataclass(frozen=True)
class Job:
    id: int
    task: str
    args: JsonObject
    attempts: int
    max_attempts: int
    locked_by: str

    def int_arg(self, name: str) -> int:
        """The integer argument ``name`` (KeyError when missing, ValueError when not one)."""
        return _int(self.args[name], name)


def _int(value: JsonValue, name: str) -> int:
    if isinstance(value, int | str) and not isinstance(value, bool):
        return int(value)
    raise ValueError(f"job argument {name!r} is not an integer: {value!r}")


_follow = threading.local()


@contextmanager
def collecting() -> Iterator[list[int]]:
    """Collect the ids of the jobs :func:`enqueue` adds in this thread until the block ends
    (the worker wraps each job's handler; the ids of rolled-back inserts are harmless:
    :func:`claim_ids` only takes queued rows)."""
    ids: list[int] = []
    previous: list[int] | None = getattr(_follow, "ids", None)
    _follow.ids = ids
    try:
        yield ids
    finally:
        _follow.ids = previous


@dataclass
class Turn:
    """A job a worker runs in this thread (:func:`running`), for :func:`finish_in`."""

    job: Job
    worker_id: str
    lease: timedelta
    follow: int
    """Most follow-ups to claim when the job completes."""
    tasks: frozenset[str]
    """The tasks that run as follow-ups."""
    ids: list[int] = field(default_factory=list)
    """The jobs enqueued while the handler runs (as :func:`collecting` collects them)."""
    finished: bool = False
    """The handler's transaction that completed the job has committed."""
    completed: bool = False
    follow_ups: list[Job] = field(default_factory=list)
    _staged: bool = False

    def _commit(self) -> None:
        self.finished = True


@contextmanager
def running(turn: Turn) -> Iterator[Turn]:
    """Run a job's handler as ``turn`` (and collect what it enqueues into ``turn.ids``)."""
    previous = getattr(_follow, "turn", None)
    with collecting() as ids:
        turn.ids = ids
        _follow.turn = turn
        try:
            yield turn
        finally:
            _follow.turn = previous


def finish_in(conn: Connection, task: str) -> None:
    """Complete the ``task`` job this thread's worker runs (:func:`running`) in the caller's
    write transaction, the handler's last one, and claim its follow-ups there: what the
    worker would do in a transaction of its own after the handler returns, one commit
    earlier. The worker sees it once that transaction has committed; after a rollback it
    completes the job itself as before. Outside a ``task`` job (commands, tests, a use case
    that another job's handler calls) nothing happens. Call it last: nothing after it in the
    handler may fail."""
    turn: Turn | None = getattr(_follow, "turn", None)
    if turn is None or turn.job.task != task or turn._staged:
        return
    if not db.after_commit(conn, turn._commit):
        return
    turn._staged = True
    turn.completed, turn.follow_ups = complete_and_claim(
        conn, turn.job, turn.ids[: turn.follow] if turn.follow > 0 else [], turn.lease, turn.tasks
    )


def complete_and_claim(
    conn: Connection, job: Job, ids: list[int], lease: timedelta, tasks: frozenset[str]
) -> tuple[bool, list[Job]]:
    """:func:`complete` the job and, when it was, :func:`claim_ids` those of ``ids`` that are
    queued and due and of one of ``tasks`` for its worker. On PostgreSQL one statement, one
    round trip (:func:`.handover.hand_over`); on SQLite, in the process, the two simpler
    statements cost less CPU than the one (``bench/README.md``, session 15)."""
    if not ids or not tasks:
        return complete(conn, job), []
    if db.is_sqlite(conn):
        if not complete(conn, job):
            return False, []
        return True, claim_ids(conn, job.locked_by, ids, lease=lease, tasks=tasks)
    completed, rows = handover.hand_over(conn, job, ids, lease=lease, tasks=tasks)
    return completed, [_leased(r, job.locked_by) for r in rows]


def _collect(job_id: int) -> int:
    ids: list[int] | None = getattr(_follow, "ids", None)
    if ids is not None:
        ids.append(job_id)
    return job_id


def enqueue(
    conn: Connection,
    task: str,
    args: JsonMapping | None = None,
    *,
    delay: float = 0.0,
    run_at: datetime | None = None,
    dedupe_key: str | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    reason: str | None = None,
) -> int | None:
    """Add a job in the caller's transaction. With ``dedupe_key``, a second enqueue of the
    same key is a no-op (returns ``None``). ``reason``: what the job waits for, kept in
    ``last_error`` as :func:`release` does."""
    now = db.db_now(conn)
    when = run_at if run_at is not None else now + timedelta(seconds=delay)
    values = db.bound(_row(task, args, when, now, dedupe_key, max_attempts, reason))
    if dedupe_key is not None:  # the unique key decides (no SELECT first: one statement)
        insert = db.insert_ignore_prepared(conn, jobs, _ENQUEUED, "id")
        new_id = conn.execute(insert, values).scalar()
        return None if new_id is None else _collect(int(new_id))
    return _collect(int(conn.execute(_ENQUEUE, values).scalar_one()))


def enqueue_each(conn: Connection, each: Sequence[tuple[str, JsonMapping, str]]) -> list[int]:
    """:func:`enqueue` of several due jobs ``(task, args, dedupe_key)`` (the default attempts)
    with one statement, in the caller's transaction; the ids of those added, in order (a key
    already there adds none)."""
    if not each:
        return []
    now = db.db_now(conn)
    rows = [
        db.bound(_row(t, args, now, now, key, DEFAULT_MAX_ATTEMPTS, None)) for t, args, key in each
    ]
    insert = db.insert_ignore_prepared(conn, jobs, _ENQUEUED, "id")
    # SQLAlchemy sends the rows as one multi-row INSERT ("insertmanyvalues") of a statement it
    # compiles once; a statement of several VALUES rows built here was compiled at each call.
    return [_collect(i) for i in sorted(int(i) for i in conn.execute(insert, rows).scalars())]


def _row(
    task: str,
    args: JsonMapping | None,
    when: datetime,
    now: datetime,
    dedupe_key: str | None,
    max_attempts: int,
    reason: str | None,
) -> dict[str, object]:
    """A queued job's row (the columns :data:`_ENQUEUED`)."""
    return {
        "task": task,
        "args": json.dumps(dict(args or {}), sort_keys=True),
        "status": "queued",
        "run_at": when,
        "attempts": 0,
        "max_attempts": max_attempts,
        "dedupe_key": dedupe_key,
        "created_at": now,
        "last_error": reason,
    }


_ENQUEUED = (
    "task",
    "args",
    "status",
    "run_at",
    "attempts",
    "max_attempts",
    "dedupe_key",
    "created_at",
    "last_error",
)
_ENQUEUE = jobs.insert().values(db.params(jobs, _ENQUEUED)).returning(jobs.c.id)
"""The prepared ``INSERT`` of :func:`enqueue` (``store/db.py``, "prepared statements")."""


def enqueue_many(
    conn: Connection,
    task: str,
    args_list: Sequence[JsonMapping],
    *,
    now: datetime | None = None,
) -> None:
    """Add many jobs of one task in the caller's transaction (one statement). ``now`` is the
    database clock when the caller has already read it."""
    if not args_list:
        return
    now = now or db.db_now(conn)
    if db.is_sqlite(conn):
        stamp = db.sqlite_stamp(now)
        conn.exec_driver_sql(
            "INSERT INTO jobs (task, args, status, run_at, attempts, max_attempts, created_at)"
            " VALUES (?, ?, 'queued', ?, 0, ?, ?)",
            [
                (task, json.dumps(dict(a), sort_keys=True), stamp, DEFAULT_MAX_ATTEMPTS, stamp)
                for a in args_list
            ],
        )
        return
    rows = [_row(task, a, now, now, None, DEFAULT_MAX_ATTEMPTS, None) for a in args_list]
    conn.execute(jobs.insert(), rows)


def claim(
    engine: Engine,
    worker_id: str,
    *,
    limit: int = 1,
    lease: timedelta = DEFAULT_LEASE,
    tasks: frozenset[str] | None = None,
) -> list[Job]:
    """Lease up to ``limit`` due jobs for ``worker_id``: jobs whose lease expired first, then
    queued ones, each in ``run_at`` order; the batch comes back in ``run_at`` order."""
    with db.write(engine) as conn:
        now = db.db_now(conn)
        ids = due_ids(conn, "expired", now, tasks, limit)
        if len(ids) < limit:
            ids += due_ids(conn, "queued", now, tasks, limit - len(ids))
        if not ids:
            return []
        values = {"c_ids": ids, "p_locked_by": worker_id, "p_locked_until": now + lease}
        leased = conn.execute(LEASE, values).all()
    return [_leased(r, worker_id) for r in sorted(leased, key=lambda r: (r.run_at, r.id))]


def claim_ids(
    conn: Connection,
    worker_id: str,
    ids: list[int],
    *,
    lease: timedelta = DEFAULT_LEASE,
    tasks: frozenset[str] | None = None,
) -> list[Job]:
    """Lease, in the caller's write transaction, those of the jobs ``ids`` that are queued and
    due (a follow-up enqueued by the job that completes in this transaction); in the order of
    ``ids``. A job another worker took, or one that waits, is left alone."""
    if not ids:
        return []
    now = db.db_now(conn)
    values: dict[str, object] = {
        "c_ids": ids,
        "c_now": now,
        "p_locked_by": worker_id,
        "p_locked_until": now + lease,
    }
    if tasks is not None:
        values["c_tasks"] = sorted(tasks)
    rows = conn.execute(_CLAIM_IDS if tasks is None else _CLAIM_IDS_OF_TASKS, values).all()
    order = {job_id: n for n, job_id in enumerate(ids)}
    return [_leased(r, worker_id) for r in sorted(rows, key=lambda r: order[r.id])]


_CLAIM_IDS = (
    jobs.update()
    .where(
        jobs.c.id.in_(sa.bindparam("c_ids", expanding=True)),
        # ``status || ''``: checked on the rows the primary key finds, never through the claim
        # index; PostgreSQL without statistics (a new queue, autovacuum behind) chose that
        # index and read every queued job of a burst to find these few (1-2 ms each)
        jobs.c.status.concat("") == "queued",
        jobs.c.run_at <= sa.bindparam("c_now", type_=jobs.c.run_at.type),
    )
    .values(
        status="running",
        attempts=jobs.c.attempts + 1,
        **db.params(jobs, ("locked_by", "locked_until")),
    )
    .returning(jobs.c.id, jobs.c.task, jobs.c.args, jobs.c.attempts, jobs.c.max_attempts)
)
_CLAIM_IDS_OF_TASKS = _CLAIM_IDS.where(jobs.c.task.in_(sa.bindparam("c_tasks", expanding=True)))
"""The prepared ``UPDATE`` of :func:`claim_ids` (``store/db.py``, "prepared statements")."""


def _leased(row: db.SqlRow, worker_id: str) -> Job:
    """The :class:`Job` of a row just leased to ``worker_id``."""
    return Job(
        id=int(row.id),
        task=str(row.task),
        args=json.loads(str(row.args)),
        attempts=int(row.attempts),
        max_attempts=int(row.max_attempts),
        locked_by=worker_id,
    )


def _fence(job: Job) -> sa.ColumnElement[bool]:
    return sa.and_(
        jobs.c.id == job.id, jobs.c.locked_by == job.locked_by, jobs.c.status == "running"
    )


_COMPLETE = (
    jobs.update()
    .where(
        jobs.c.id == sa.bindparam("f_id"),
        jobs.c.locked_by == sa.bindparam("f_by"),
        jobs.c.status == "running",
    )
    .values(status="done", last_error=None, **db.params(jobs, ("finished_at",)))
)
"""The prepared :func:`complete` (:func:`_fence`'s condition; ``store/db.py``, "prepared
statements")."""


def complete(conn: Connection, job: Job) -> bool:
    """Mark the job done in the caller's transaction; False when the lease was lost."""
    now = db.db_now(conn)
    values = {"f_id": job.id, "f_by": job.locked_by, "p_finished_at": now}
    return conn.execute(_COMPLETE, values).rowcount == 1


def backoff_seconds(attempts: int, *, rng: random.Random | None = None) -> float:
    """Exponential backoff with ±20 % jitter: 2, 4, 8 … seconds, capped at one hour."""
    base = min(BACKOFF_CAP, BACKOFF_BASE ** max(1, attempts))
    jitter = (rng or random).uniform(0.8, 1.2)
    return base * jitter


def fail(
    conn: Connection, job: Job, error: str, *, delay: float | None = None, permanent: bool = False
) -> str | None:
    """Record a failure; requeue with backoff or mark dead. Returns the new status, or
    None when the lease was lost (another worker owns the job now)."""
    now = db.db_now(conn)
    dead = permanent or job.attempts >= job.max_attempts
    wait = delay if delay is not None else backoff_seconds(job.attempts)
    status = "dead" if dead else "queued"
    result = conn.execute(
        jobs.update()
        .where(_fence(job))
        .values(
            status=status,
            run_at=now + timedelta(seconds=wait),
            locked_by=None,
            locked_until=None,
            last_error=error[:4000],
            finished_at=now if dead else None,
        )
    )
    return status if result.rowcount == 1 else None


def release(conn: Connection, job: Job, *, delay: float, reason: str | None = None) -> bool:
    """Put a job back without counting an attempt (e.g. waiting for a quota window);
    ``reason`` (what it waits for) is kept in ``last_error``."""
    now = db.db_now(conn)
    values: dict[str, object] = {
        "status": "queued",
        "run_at": now + timedelta(seconds=delay),
        "locked_by": None,
        "locked_until": None,
        "attempts": jobs.c.attempts - 1,
    }
    if reason is not None:
        values["last_error"] = reason[:4000]
    result = conn.execute(jobs.update().where(_fence(job)).values(**values))
    return result.rowcount == 1


def wake(conn: Connection, reason_prefix: str) -> int:
    """Make every queued job that waits for ``reason_prefix`` (its ``last_error`` starts with
    it, see :func:`release`) due now, in the caller's transaction; how many were woken."""
    now = db.db_now(conn)
    result = conn.execute(
        jobs.update()
        .where(
            jobs.c.status == "queued",
            jobs.c.run_at > now,
            jobs.c.last_error.startswith(reason_prefix, autoescape=True),
        )
        .values(run_at=now)
    )
    return int(result.rowcount or 0)


def retry_dead(conn: Connection, job_id: int) -> bool:
    now = db.db_now(conn)
    result = conn.execute(
        jobs.update()
        .where(jobs.c.id == job_id, jobs.c.status == "dead")
        .values(status="queued", run_at=now, attempts=0, finished_at=None)
    )
    return result.rowcount == 1


def ensure_schedule(
    conn: Connection, name: str, task: str, interval_seconds: int, *, first_in: int = 0
) -> None:
    """Create or update a periodic schedule (idempotent); a new one first runs ``first_in``
    seconds from now."""
    now = db.db_now(conn)
    row = conn.execute(sa.select(schedules.c.name).where(schedules.c.name == name)).first()
    if row is None:
        conn.execute(
            schedules.insert().values(
                name=name,
                task=task,
                interval_seconds=interval_seconds,
                next_run_at=now + timedelta(seconds=first_in),
            )
        )
    else:
        conn.execute(
            schedules.update()
            .where(schedules.c.name == name)
            .values(task=task, interval_seconds=interval_seconds)
        )


def tick_schedules(engine: Engine) -> int:
    """Enqueue every due periodic job exactly once per tick across all workers."""
    fired = 0
    with db.write(engine) as conn:
        now = db.db_now(conn)
        due = sa.select(schedules).where(schedules.c.next_run_at <= now)
        if not db.is_sqlite(conn):
            due = due.with_for_update(skip_locked=True)
        for row in conn.execute(due).all():
            tick = row.next_run_at.strftime("%Y%m%dT%H%M%S")
            if enqueue(conn, row.task, {}, dedupe_key=f"schedule:{row.name}:{tick}"):
                fired += 1
            next_run = row.next_run_at + timedelta(seconds=row.interval_seconds)
            if next_run <= now:  # a long pause: skip missed ticks, run once
                next_run = now + timedelta(seconds=row.interval_seconds)
            conn.execute(
                schedules.update().where(schedules.c.name == row.name).values(next_run_at=next_run)
            )
    return fired
