"""SQLite's WAL checkpoints, off the request path (``serve``, ``worker``, the demo)."""

from __future__ import annotations

import sqlite3
import threading

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .db import is_sqlite


class Checkpointer:
    """Runs SQLite WAL checkpoints off the request path.

    With the automatic checkpoint (every N pages) the unlucky committing writer pays for
    copying the WAL into the database and its fsync, which shows as p99 spikes on the
    webhook. ``serve`` and ``worker`` run this thread instead: a PASSIVE checkpoint every
    ``interval`` seconds, outside any transaction (it never blocks readers or writers); the
    autocheckpoint stays as a safety net at 10,000 pages. The interval is short (0.1 s) so
    that each checkpoint copies little: under bench/webhook's load a 1 s interval copied
    ~20 MB at a time and the commits running meanwhile took 25-80 ms (a 0.5 s interval still
    25 ms); at 0.1-0.2 s no commit stalled. An idle tick is one pool checkout and a look at
    the WAL index.
    """

    def __init__(self, engine: Engine, interval: float = 0.1) -> None:
        self.engine = engine
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)

    def start(self) -> Checkpointer:
        if is_sqlite(self.engine):
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def checkpoint(self) -> None:
        """One PASSIVE checkpoint, outside any transaction.

        It runs on the raw DBAPI connection, which is in autocommit mode (``isolation_level =
        None``): through a SQLAlchemy ``Connection`` the statement would autobegin, and the
        engine's ``begin`` hook emits ``BEGIN IMMEDIATE``, so every tick took the write lock
        and the webhook writer waited in SQLite's busy handler (sleeps of 10-100 ms) -- the
        periodic 50-80 ms commit stalls of bench/webhook. Without a transaction a PASSIVE
        checkpoint never waits for, nor blocks, a writer.
        """
        try:
            raw = self.engine.raw_connection()
        except sa.exc.SQLAlchemyError:  # closing: try again next tick
            return
        try:
            cur = raw.cursor()
            cur.execute("PRAGMA wal_checkpoint(PASSIVE)")
            cur.fetchall()
            cur.close()
        except sqlite3.Error:  # busy or closing: try again next tick
            pass
        finally:
            raw.close()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.checkpoint()
