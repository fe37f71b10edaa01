"""Engines and transactions for SQLite (embedded) and PostgreSQL (scale-out).

SQLite runs in WAL with ``synchronous=FULL``; every write transaction starts with
``BEGIN IMMEDIATE`` (a deferred read-then-write transaction fails at once under
concurrency, see STACK.md §3). Read-only work uses :func:`read` (a deferred ``BEGIN``).
A :func:`write` commits at ``NORMAL`` and writes the WAL file out (``fsync``) itself once
it has let the next writer in (:func:`sync_wal`): it still returns only once its commit is
durable, but the ``fsync`` no longer holds every other writer of the database back.
PostgreSQL uses psycopg 3 (results in binary: ``pg_results``); claims use ``FOR UPDATE SKIP
LOCKED``.

Times come from the database clock (:func:`db_now`), never from the worker's clock, so that
leases and run times agree across machines.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import sys
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.engine.interfaces import DBAPIConnection

from ..errors import ConfigError, StorageError
from ..files import prepare_sqlite
from .durability import (
    DEFER_SYNC,
    SYNC_LEVEL,
    set_synchronous,
    sync_wal,
    syncs_after_turn,
    syncs_itself,
)
from .writer_turns import turns_for

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

SqlRow: TypeAlias = sa.Row[*tuple[object, ...]]
"""A result row of any shape, as ``select(table)`` or ``select(*columns)`` returns it; a store
function turns it into a typed record (``record``) before it leaves ``store/``."""

_D = TypeVar("_D", bound="DataclassInstance")


def record(
    cls: type[_D], row: SqlRow, columns: Sequence[sa.ColumnElement[object]] | None = None
) -> _D:
    """The dataclass ``cls`` from the columns of ``row`` named like its fields, or from
    ``columns`` in the order of its fields (a join whose tables share column names)."""
    data = row._mapping
    if columns is None:
        return cls(**{f.name: data[f.name] for f in fields(cls)})
    return cls(**{f.name: data[c] for f, c in zip(fields(cls), columns, strict=True)})


_SQLITE_SYNC = "FULL"
"""``PRAGMA synchronous`` when the settings leave it unset (benchmarks lower it)."""


def normalize_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` use psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def is_sqlite(engine: Engine | Connection) -> bool:
    return engine.dialect.name == "sqlite"


def _one_line(exc: BaseException) -> str:
    """A driver message on one line (psycopg's span several, with hints)."""
    orig = getattr(exc, "orig", None) or exc
    first = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    return " ".join(first.split())


@contextmanager
def unavailable() -> Iterator[None]:
    """Turn "cannot reach the database" into one coded :class:`StorageError` line."""
    try:
        yield
    except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
        raise StorageError(
            f"database unavailable: {_one_line(exc)}",
            message_ro="baza de date nu este disponibilă",
        ) from exc


def sqlite_path(engine: Engine) -> Path | None:
    """The file of an SQLite database (None: PostgreSQL or in memory)."""
    if not is_sqlite(engine):
        return None
    database = engine.url.database
    return Path(database) if database and database != ":memory:" else None


def make_engine(url: str, *, pool_size: int = 5, sqlite_synchronous: str | None = None) -> Engine:
    """An engine for ``url`` (SQLite or PostgreSQL); creates the SQLite file's folder.
    ``sqlite_synchronous``: ``FULL`` (default) or ``NORMAL`` (``EFACTURA_SQLITE_SYNCHRONOUS``)."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            try:
                prepare_sqlite(Path(path))  # 0600 database in a 0700 folder
            except OSError as exc:
                raise ConfigError(
                    f"cannot create the data directory {Path(path).parent} "
                    f"(EFACTURA_DATA_DIR): {exc.strerror}",
                    code="E-DATA-DIR",
                    message_ro=f"dosarul de date {Path(path).parent} nu poate fi creat",
                ) from exc
        engine = sa.create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=pool_size,
            max_overflow=10,
        )

        level = (sqlite_synchronous or _SQLITE_SYNC).upper()
        on_file = bool(path) and path != ":memory:"
        defers = on_file and level == "FULL"  # its writes sync after their turn
        if defers:
            syncs_itself(engine)

        @event.listens_for(engine, "connect")
        def _on_connect(
            dbapi_conn: sqlite3.Connection, record: sa.pool.ConnectionPoolEntry
        ) -> None:
            dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
            if on_file:
                prepare_sqlite(Path(path))  # the file SQLite just created: 0600
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA synchronous={level}")
            record.info[SYNC_LEVEL] = level
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA wal_autocheckpoint=10000")  # safety net (checkpoints.py)
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            if conn.get_execution_options().get("efactura_readonly"):
                conn.exec_driver_sql("BEGIN")
                return
            defer = defers and bool(conn.info.get(DEFER_SYNC))
            set_synchronous(conn.connection, "NORMAL" if defer else level)
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    from .pg_results import make_pg_engine  # psycopg, imported for PostgreSQL only

    engine = make_pg_engine(url, pool_size)
    _ping_when_idle(engine)
    return engine


PING_IDLE = 1.0
"""Seconds a pooled PostgreSQL connection may rest before its next checkout pings it."""
_CHECKED_IN = "efactura_checked_in"


def _ping_when_idle(engine: Engine) -> None:
    """Pre-ping the pooled connections that rested :data:`PING_IDLE` seconds or more.

    SQLAlchemy's ``pool_pre_ping`` pings on every checkout: a round trip and a transaction
    more per transaction, which doubled a worker's commits (bench/webhook_scale.py). A
    connection used within the last second worked then; one that rested longer (a restart or
    a failover since) is pinged as before, and a dead one is replaced before anyone uses it."""

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn: object, record: sa.pool.ConnectionPoolEntry) -> None:
        record.info[_CHECKED_IN] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(
        dbapi_conn: DBAPIConnection,
        record: sa.pool.ConnectionPoolEntry,
        _proxy: sa.pool.PoolProxiedConnection,
    ) -> None:
        rested = record.info.get(_CHECKED_IN)
        if not isinstance(rested, float) or time.monotonic() - rested < PING_IDLE:
            return  # new (just connected), or used a moment ago
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:  # the pool connects anew
            raise sa.exc.DisconnectionError(f"stale connection: {exc}") from exc


@contextmanager
def write(engine: Engine) -> Iterator[Connection]:
    """A write transaction (``BEGIN IMMEDIATE`` on SQLite, after this process's turn among
    the database's writers: ``store/writer_turns.py``); commits on success, and returns
    only once the commit is durable.

    On an SQLite file at ``synchronous=FULL`` (the default) the transaction commits at
    ``NORMAL`` (no ``fsync`` in ``COMMIT``), and :func:`sync_wal` writes the WAL file out
    after the turn, before the block's caller goes on or any :func:`after_commit` hook
    runs: the same durability for the writer, without every other writer of the database
    waiting for its ``fsync`` (about 70 us alone on a 2-core VM, and a sleep after which a
    busy machine gives the core back late)."""
    path = sqlite_path(engine)
    hooks: list[Callable[[], None]] = []
    try:
        with turns_for(path).turn() if path else nullcontext(), engine.connect() as conn:
            # both keys live with the pooled connection: set for this transaction only
            conn.info[DEFER_SYNC] = True  # read by the begin hook
            conn.info[_AFTER_COMMIT] = hooks
            try:
                with conn.begin():
                    yield conn
            finally:
                conn.info.pop(DEFER_SYNC, None)
                conn.info.pop(_AFTER_COMMIT, None)
    except sa.exc.OperationalError as exc:
        raise StorageError(f"database unavailable: {_one_line(exc)}") from exc
    if path is not None and syncs_after_turn(engine):  # committed at NORMAL by _on_begin
        sync_wal(path)
    for hook in hooks:  # committed (and durable)
        hook()


@contextmanager
def write_one(engine: Engine) -> Iterator[Connection]:
    """A write of one statement (a data-modifying CTE is one): on PostgreSQL its own
    transaction (autocommit: no ``BEGIN`` and ``COMMIT``, two of the three round trips of a
    one-statement :func:`write`); on SQLite a :func:`write` (with its :func:`after_commit`
    hooks; PostgreSQL's has none)."""
    if is_sqlite(engine):
        with write(engine) as conn:
            yield conn
        return
    with unavailable(), engine.connect() as base:
        conn = base.execution_options(isolation_level="AUTOCOMMIT")
        with conn.begin():
            yield conn


_AFTER_COMMIT = "efactura_after_commit"


def after_commit(conn: Connection, hook: Callable[[], None]) -> bool:
    """Run ``hook`` once the transaction of ``conn`` has committed (nothing on a rollback);
    False when ``conn`` is not a :func:`write` transaction (the hook is not kept)."""
    hooks = conn.info.get(_AFTER_COMMIT)
    if not isinstance(hooks, list):
        return False
    hooks.append(hook)
    return True


@contextmanager
def read(engine: Engine) -> Iterator[Connection]:
    """A read-only transaction: a deferred ``BEGIN`` on SQLite; on PostgreSQL none
    (autocommit), since each statement of a ``READ COMMITTED`` transaction sees its own
    snapshot anyway: the ``BEGIN`` and the ``COMMIT`` were two round trips more per read,
    about a sixth of a worker's statements in a burst. Nothing under ``read`` locks or writes."""
    with engine.connect() as base:
        if is_sqlite(base):
            conn = base.execution_options(efactura_readonly=True)
        else:
            conn = base.execution_options(efactura_readonly=True, isolation_level="AUTOCOMMIT")
        with conn.begin():
            yield conn


@contextmanager
def pg_try_lock(engine: Engine, key: int) -> Iterator[bool]:
    """Whether this process holds the PostgreSQL advisory lock ``key`` now (never waits),
    on a connection of its own for the block."""
    with engine.connect() as conn:
        got = bool(conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
        conn.commit()
        try:
            yield got
        finally:
            if got:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()


@contextmanager
def try_lock(engine: Engine, key: int, lock_file: Path) -> Iterator[bool]:
    """Whether this process holds a service-wide lock now (never waits): a PostgreSQL
    advisory lock ``key``, or with SQLite an ``flock`` on ``lock_file`` (the processes that
    share an SQLite database share its machine)."""
    if not is_sqlite(engine):
        with pg_try_lock(engine, key) as got:
            yield got
        return
    if sys.platform == "win32":  # pragma: no cover - no flock; one worker on Windows
        yield True
        return
    import fcntl

    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with os.fdopen(os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o600), "a+b") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


_CLOCK = "efactura_clock"
"""``conn.info`` key of the database clock read in the current transaction (:func:`db_now`)."""


def db_now(conn: Connection) -> datetime:
    """The database clock, as a naive UTC datetime (PostgreSQL's ``clock_timestamp()``; on
    SQLite the host's clock in milliseconds, which is what SQLite's ``'now'`` reads).

    The clock is read once per transaction; later calls in the same transaction add the
    time elapsed since (a monotonic clock), so a job's claim, its log lines, its completion
    and its follow-ups' leases cost one clock query, not one each, and time still advances
    inside a long transaction. A new transaction takes the clock again: on PostgreSQL from
    :func:`_read_clock`'s followed ``clock_timestamp()``, queried once per
    :data:`CLOCK_RESYNC_SECONDS`."""
    txn = conn.get_transaction()
    held = conn.info.get(_CLOCK) if txn is not None else None
    if isinstance(held, _HeldClock) and held.transaction is txn:
        elapsed = timedelta(seconds=time.monotonic() - held.read_at)
        if is_sqlite(conn):  # SQLite's clock has milliseconds: never ahead of a fresh read
            return held.value + elapsed - timedelta(microseconds=elapsed.microseconds % 1000)
        return held.value + elapsed
    value = _read_clock(conn)
    txn = conn.get_transaction()
    if txn is not None:
        conn.info[_CLOCK] = _HeldClock(txn, value, time.monotonic())
    return value


@dataclass(frozen=True)
class _HeldClock:
    transaction: object
    value: datetime
    read_at: float
    """``time.monotonic()`` when ``value`` was read."""


def sqlite_now() -> datetime:
    """SQLite's clock as a naive UTC datetime: its ``'now'`` is this host's clock (its VFS asks
    the OS, as Python does), in milliseconds; the same value without a statement."""
    now = datetime.now(UTC).replace(tzinfo=None)
    return now.replace(microsecond=now.microsecond - now.microsecond % 1000)


#: PostgreSQL's clock is queried at most once per this many seconds per engine (process) and
#: followed in between with this host's monotonic clock (:func:`_read_clock`).
CLOCK_RESYNC_SECONDS = 30.0
#: A fresh read this little behind the followed clock keeps the followed one (the read's own
#: round trip), so the clock of one process never steps back between transactions.
_CLOCK_JITTER = timedelta(milliseconds=50)


@dataclass(frozen=True)
class _FollowedClock:
    value: datetime
    read_at: float
    """``time.monotonic()`` at the middle of the query that read ``value``."""

    def at(self, mono: float) -> datetime:
        return self.value + timedelta(seconds=mono - self.read_at)

    def fresh_at(self, mono: float) -> datetime | None:
        """:meth:`at` ``mono`` while the read is under :data:`CLOCK_RESYNC_SECONDS` old;
        None when it is time to read the server's clock again."""
        return self.at(mono) if mono - self.read_at < CLOCK_RESYNC_SECONDS else None


_followed: weakref.WeakKeyDictionary[Engine, _FollowedClock] = weakref.WeakKeyDictionary()


def _read_clock(conn: Connection) -> datetime:
    """SQLite: the host's clock. PostgreSQL: ``clock_timestamp()`` read once per
    :data:`CLOCK_RESYNC_SECONDS` per engine and followed in between with the monotonic clock
    (which NTP slews but never steps): every process still agrees with the database's clock,
    to the drift of a monotonic clock over 30 s (microseconds) plus half a round trip, and a
    transaction's first ``db_now`` costs no query in between."""
    if is_sqlite(conn):
        return sqlite_now()
    follow, mono = _followed.get(conn.engine), time.monotonic()
    followed = follow.fresh_at(mono) if follow is not None else None
    if followed is not None:
        return followed
    value = conn.exec_driver_sql("SELECT clock_timestamp() AT TIME ZONE 'UTC'").scalar_one()
    assert isinstance(value, datetime)
    read_at = (mono + time.monotonic()) / 2
    fresh = value.replace(tzinfo=None)
    if follow is not None and timedelta(0) < follow.at(read_at) - fresh < _CLOCK_JITTER:
        fresh = follow.at(read_at)
    _followed[conn.engine] = _FollowedClock(fresh, read_at)
    return fresh


def followed_now(engine: Engine) -> datetime | None:
    """PostgreSQL: ``engine``'s followed clock (:func:`_read_clock`) now, without a query,
    while it is fresh; None when the next :func:`db_now` queries the server again. A raw
    statement that stamps a time takes this value (or ``clock_timestamp()`` on None), so that
    what it stamps "now" is due at once on this process's clock (:func:`db_now`), which may
    lag the server's by up to half a round trip."""
    follow = _followed.get(engine)
    return follow.fresh_at(time.monotonic()) if follow is not None else None


def utc_naive(moment: datetime) -> datetime:
    """Aware -> naive UTC (the storage convention)."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def sqlite_stamp(moment: datetime) -> str:
    """A datetime as SQLAlchemy stores it in SQLite (for raw executemany fast paths)."""
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def insert_ignore(conn: Connection, table: sa.Table, values: Mapping[str, object]) -> sa.Insert:
    """``INSERT … ON CONFLICT DO NOTHING`` for SQLite and PostgreSQL."""
    return _dialect_insert(conn.dialect.name, table).values(**values).on_conflict_do_nothing()


def _dialect_insert(dialect: str, table: sa.Table) -> sqlite.Insert | postgresql.Insert:
    """The ``INSERT`` of ``table`` in ``dialect``, the one with ``on_conflict_do_nothing``."""
    return sqlite.insert(table) if dialect == "sqlite" else postgresql.insert(table)


# --- prepared statements ------------------------------------------------------------------------
#
# What a hot statement costs most in SQLAlchemy is building it: a job's completion (``UPDATE
# jobs … WHERE id = ? AND locked_by = ? …``) took 195 us of CPU on SQLite when built for each
# call, 38 us when built once with named parameters and run with their values; a job's INSERT
# 207 us. The statements a worker runs for every job and invoice are built once (module
# constants, or these helpers' caches) and take their values as parameters (:func:`bound`).
#
# On PostgreSQL psycopg also prepares a statement on the server at its fifth execution on a
# connection, and drops every one of them at a rollback (``DEALLOCATE ALL``): a write path
# that runs often must not end in a rollback. A transaction that finds it has nothing to
# write commits, and its caller raises afterwards (``anaf_quota.slot``, ``anaf_intent``).


def params(table: sa.Table, names: Iterable[str]) -> dict[str, sa.BindParameter[object]]:
    """``{column: parameter}`` for a prepared ``INSERT``/``UPDATE`` of ``table``: each value a
    named parameter (``p_<column>``, the column's type); :func:`bound` gives their values."""
    return {n: sa.bindparam(f"p_{n}", type_=table.c[n].type) for n in names}


def bound(values: Mapping[str, object]) -> dict[str, object]:
    """The parameters of :func:`params` for ``{column: value}``."""
    return {f"p_{name}": value for name, value in values.items()}


def insert_ignore_prepared(
    conn: Connection, table: sa.Table, names: tuple[str, ...], returning: str
) -> sa.Insert:
    """:func:`insert_ignore` of the columns ``names`` returning the column ``returning``, built
    once per dialect (run it with :func:`bound` values)."""
    return _insert_ignore_prepared(conn.dialect.name, table, names, returning)


@functools.cache
def _insert_ignore_prepared(
    dialect: str, table: sa.Table, names: tuple[str, ...], returning: str
) -> sa.Insert:
    insert = _dialect_insert(dialect, table).values(params(table, names))
    return insert.on_conflict_do_nothing().returning(table.c[returning])
