"""The webhook writer's group commit on the raw DB-API connection (issue 17).

:func:`app.intake.accept_batch` stores events and their ``process_event`` jobs through
SQLAlchemy (``repo.insert_events``, ``queue.enqueue_many``). The webhook's writer thread runs
that transaction for every batch, and SQLAlchemy around it (transaction objects, execution
contexts, results, the ``begin`` event) cost about as much CPU as SQLite itself. Here the
same transaction runs on the DB-API connection the writer keeps, with precompiled SQL:

- SQLite: ``BEGIN IMMEDIATE`` (after this process's writer turn), the host's clock
  (``db.sqlite_now``, no statement), one ``IN`` lookup of the ids already stored, one
  ``executemany`` per table, ``COMMIT``;
- PostgreSQL: one statement (the events ``ON CONFLICT DO NOTHING`` and the jobs of the new
  ones, from arrays bound in binary) and ``COMMIT``; the time is the process's followed
  clock (``db.followed_now``, the one ``db.db_now`` reads), or ``clock_timestamp()`` when it
  is not fresh: a job stamped by the server's clock could be a few milliseconds in the future
  for a worker of the same process (its followed clock lags by up to half a round trip), and
  ``Worker.drain`` right after the post found it not yet due.

The rows are the ones the SQLAlchemy path writes (tests/intake/test_event_batches.py
compares them on both databases). :meth:`EventBatches.insert` returns only once the commit
is durable: on SQLite at ``synchronous=FULL`` the batch commits at ``NORMAL`` and the WAL file
is written out (``durability.sync_wal``) after the writer turn, as every ``db.write`` does, so that
the workers' writers do not wait for the webhook's ``fsync``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext

from sqlalchemy.engine import Engine
from sqlalchemy.pool import PoolProxiedConnection

from ..errors import StorageError
from ..intake.envelope import EventMeta
from . import db, durability
from .tables import JOB_MAX_ATTEMPTS
from .writer_turns import turns_for

log = logging.getLogger("stripe_efactura.store")

Item = tuple[EventMeta, bytes]

_SQLITE_EVENT = (
    "INSERT OR IGNORE INTO stripe_events (id, type, api_version, livemode, account, source,"
    " payload, received_at, outcome) VALUES (?, ?, ?, ?, ?, ?, CAST(? AS TEXT), ?, 'pending')"
)
"""The payload is bound as the request's bytes and stored as TEXT by SQLite itself: the same
value as the decoded ``str`` (the signature check decoded it as UTF-8 already), without a
decode and an encode again per event."""
_SQLITE_JOB = (
    "INSERT INTO jobs (task, args, status, run_at, attempts, max_attempts, created_at)"
    f" VALUES ('process_event', ?, 'queued', ?, 0, {JOB_MAX_ATTEMPTS}, ?)"
)
_PG_BATCH = f"""
WITH clock AS MATERIALIZED (
  SELECT coalesce(%(now)s::timestamp, clock_timestamp() AT TIME ZONE 'UTC') AS now
),
new AS (
  INSERT INTO stripe_events
    (id, type, api_version, livemode, account, source, payload, received_at, outcome)
  SELECT e.id, e.type, e.api_version, e.livemode, e.account, %(source)s, e.payload,
    (SELECT now FROM clock), 'pending'
  FROM unnest(%(ids)b::text[], %(types)b::text[], %(versions)b::text[],
    %(live)b::boolean[], %(accounts)b::text[], %(payloads)b::text[])
    WITH ORDINALITY AS e(id, type, api_version, livemode, account, payload, n)
  ORDER BY e.n
  ON CONFLICT DO NOTHING
  RETURNING id
),
queued AS (
  INSERT INTO jobs (task, args, status, run_at, attempts, max_attempts, created_at)
  SELECT 'process_event', j.args, 'queued', c.now, 0, {JOB_MAX_ATTEMPTS}, c.now
  FROM unnest(%(job_ids)b::text[], %(job_args)b::text[]) WITH ORDINALITY AS j(id, args, n)
  CROSS JOIN clock AS c
  WHERE j.id IN (SELECT id FROM new)
  ORDER BY j.n
)
SELECT id FROM new
"""
"""One round trip: the events, then (in the batch's order) one job per new event id."""


def job_args(event_id: str) -> str:
    """The ``args`` of an event's ``process_event`` job, as ``queue.enqueue_many`` writes them
    (``json.dumps({"event_id": event_id}, sort_keys=True)``: the same text, without the
    encoder's walk of a one-key dict, 1.9 -> 0.3 us)."""
    return '{"event_id": ' + json.dumps(event_id) + "}"


def new_flags(items: Sequence[Item], new_ids: set[str]) -> list[bool]:
    """Per item, whether it created its event: the first item of a new id only."""
    left = set(new_ids)
    out: list[bool] = []
    for meta, _raw in items:
        out.append(meta.id in left)
        left.discard(meta.id)
    return out


class EventBatches:
    """Stores batches of verified events and their jobs, one transaction per batch, on one
    DB-API connection kept from one batch to the next. After a failure the connection is
    dropped and the next batch connects again. Used by one thread at a time."""

    def __init__(self, engine: Engine, *, source: str = "webhook") -> None:
        self.engine = engine
        self.source = source
        path = db.sqlite_path(engine)
        self._turns = turns_for(path) if path is not None else None
        self._sync_path = path if path is not None and durability.syncs_after_turn(engine) else None
        self._sqlite = db.is_sqlite(engine)
        self._conn: PoolProxiedConnection | None = None
        dbapi = engine.dialect.loaded_dbapi
        self._failed: type[BaseException] = dbapi.Error

    def insert(self, items: Sequence[Item]) -> list[bool]:
        """Store ``items`` and a job per new event in one committed transaction; per item,
        whether it was new. Raises StorageError when the database is unavailable or refuses
        the transaction (nothing of the batch is stored then)."""
        if not items:
            return []
        conn = self._connection()
        write: Callable[[PoolProxiedConnection, Sequence[Item]], set[str]]
        write = self._write_sqlite if self._sqlite else self._write_postgresql
        try:
            with self._turn():
                new_ids = write(conn, items)
        except BaseException as exc:
            self.close(broken=True)
            if isinstance(exc, self._failed):
                raise StorageError(f"database unavailable: {exc}") from exc
            raise
        if self._sync_path is not None:
            durability.sync_wal(self._sync_path)  # durable before any event is answered 200
        return new_flags(items, new_ids)

    def close(self, *, broken: bool = False) -> None:
        """Give the connection back (``broken``: discard it, which rolls back)."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if broken:
                conn.invalidate()
            else:
                conn.close()
        except Exception:  # already broken: nothing left to release
            log.debug("event batches: closing the connection failed", exc_info=True)

    def _connection(self) -> PoolProxiedConnection:
        if self._conn is None:
            try:
                self._conn = self.engine.raw_connection()
            except Exception as exc:
                raise StorageError(f"database unavailable: {exc}") from exc
        return self._conn

    def _turn(self) -> AbstractContextManager[None]:
        return self._turns.turn() if self._turns is not None else nullcontext()

    def _write_sqlite(self, conn: PoolProxiedConnection, items: Sequence[Item]) -> set[str]:
        if self._sync_path is not None:  # left to durability.sync_wal after the turn
            durability.set_synchronous(conn, "NORMAL")
        cur = conn.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            stamp = db.sqlite_stamp(db.sqlite_now())  # the clock db.db_now reads on SQLite
            ids = list(dict.fromkeys(meta.id for meta, _ in items))
            marks = ",".join("?" * len(ids))
            cur.execute(f"SELECT id FROM stripe_events WHERE id IN ({marks})", ids)
            stored = {str(row[0]) for row in cur.fetchall()}
            cur.executemany(_SQLITE_EVENT, [_sqlite_row(i, self.source, stamp) for i in items])
            new = [i for i in ids if i not in stored]
            cur.executemany(_SQLITE_JOB, [(job_args(i), stamp, stamp) for i in new])
            cur.execute("COMMIT")
        finally:
            cur.close()
        return set(new)

    def _write_postgresql(self, conn: PoolProxiedConnection, items: Sequence[Item]) -> set[str]:
        cur = conn.cursor()
        try:
            cur.execute(_PG_BATCH, self._pg_params(items))
            new = {str(row[0]) for row in cur.fetchall()}
            conn.commit()
        finally:
            cur.close()
        return new

    def _pg_params(self, items: Sequence[Item]) -> dict[str, object]:
        metas = [meta for meta, _ in items]
        ids = list(dict.fromkeys(m.id for m in metas))
        return {
            "now": db.followed_now(self.engine),  # the clock db.db_now reads in this process
            "source": self.source,
            "ids": [m.id for m in metas],
            "types": [m.type for m in metas],
            "versions": [m.api_version for m in metas],
            "live": [m.livemode for m in metas],
            "accounts": [m.account for m in metas],
            "payloads": [raw.decode("utf-8") for _, raw in items],
            "job_ids": ids,
            "job_args": [job_args(i) for i in ids],
        }


def _sqlite_row(item: Item, source: str, stamp: str) -> tuple[object, ...]:
    meta, raw = item
    livemode = 1 if meta.livemode else 0
    return (meta.id, meta.type, meta.api_version, livemode, meta.account, source, raw, stamp)
