"""SQLite writes that are durable without holding the write lock for their ``fsync``.

A :func:`store.db.write` on an SQLite file at ``synchronous=FULL`` (the default) commits at
``NORMAL`` inside its writer turn and calls :func:`sync_wal` after it, before it returns; the
webhook's batch (``store/event_batches.py``) does the same. Every other transaction (a
migration, anything that is not such a write) runs at the configured level. docs/service.md
(Storage) says what this changes and why nothing sent, uploaded or answered rests on a commit
that is not durable yet.
"""

from __future__ import annotations

import os
import sqlite3
import weakref
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ..errors import StorageError

SYNC_LEVEL = "efactura_synchronous"
"""``Connection.info`` (the pooled DB-API connection's) key: the level it runs at now."""
DEFER_SYNC = "efactura_defer_sync"
"""``Connection.info`` key set by ``db.write`` around its ``BEGIN``: commit at ``NORMAL``."""
_SYNCS_ITSELF: weakref.WeakKeyDictionary[Engine, bool] = weakref.WeakKeyDictionary()
"""The SQLite engines of ``db.make_engine`` at ``FULL``, whose writers sync after their turn."""


def syncs_itself(engine: Engine) -> None:
    """Mark ``engine`` (an SQLite file at ``FULL``): its writers sync after their turn."""
    _SYNCS_ITSELF[engine] = True


def syncs_after_turn(engine: Engine) -> bool:
    """Whether the writers of ``engine`` commit at ``NORMAL`` and call :func:`sync_wal`
    themselves after their turn (an SQLite file at ``synchronous=FULL``)."""
    return _SYNCS_ITSELF.get(engine, False)


def set_synchronous(conn: sa.pool.PoolProxiedConnection, level: str) -> None:
    """Run the pooled SQLite connection ``conn`` at ``PRAGMA synchronous=level`` from its next
    transaction on (outside any transaction: SQLite refuses the change inside one). The
    level is remembered with the connection, so a transaction that needs the level the
    connection already runs at costs no statement."""
    if conn.info.get(SYNC_LEVEL) == level:
        return
    driver = conn.driver_connection
    assert isinstance(driver, sqlite3.Connection)
    driver.execute(f"PRAGMA synchronous={level}")
    conn.info[SYNC_LEVEL] = level


_DIR_SYNCED: set[tuple[int, int]] = set()
"""The WAL files (device, inode) whose folder this process has written out once."""


def sync_wal(database: Path) -> None:
    """Make every commit written to ``database``'s WAL file so far durable: ``fsync`` the
    WAL file (any descriptor of it flushes the file's pages), and once per WAL file the folder
    that holds its name (SQLite does that itself on the first sync of a WAL it created, at
    ``FULL``). No WAL file: the last connection checkpointed it into the database, synced
    (any level but ``OFF`` syncs a checkpoint), and removed it."""
    wal = database.with_name(database.name + "-wal")
    try:
        fd = os.open(wal, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise _not_synced(wal, exc) from exc
    try:
        os.fsync(fd)
        stat = os.fstat(fd)
        key = (stat.st_dev, stat.st_ino)
        if key not in _DIR_SYNCED:
            folder = os.open(wal.parent, os.O_RDONLY | os.O_CLOEXEC)
            try:
                os.fsync(folder)
            finally:
                os.close(folder)
            _DIR_SYNCED.add(key)
    except OSError as exc:
        raise _not_synced(wal, exc) from exc
    finally:
        os.close(fd)


def _not_synced(wal: Path, exc: OSError) -> StorageError:
    """The commit is in the WAL file but could not be made durable: the caller retries (the
    transactions it repeats are idempotent) as after any storage failure."""
    return StorageError(
        f"database unavailable: cannot write {wal.name} out to disk: {exc.strerror or exc}",
        message_ro=f"baza de date nu este disponibilă: {wal.name} nu poate fi scris pe disc",
    )
