"""Writers of one SQLite database take turns on a lock file instead of in SQLite's busy handler.

SQLite has one writer at a time. A ``BEGIN IMMEDIATE`` that finds the write lock taken waits
in SQLite's busy handler, which sleeps 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100 ms between
tries whatever happens meanwhile: with the web process and two workers writing short
transactions, a waiter typically sleeps 10-25 ms after a lock that was free again within a
millisecond (bench/pipeline: a quarter of the workers' wall time went there). Here each
:func:`store.db.write` on an SQLite file first takes its turn:

- inside a process, a re-entrant thread lock (a nested ``write`` in the same thread passes);
- across processes, an ``flock`` on ``<database>-writers`` (created 0600 beside the
  database), tried without blocking and then every 0.1-1 ms.

The turn is only a queue in front of SQLite's own lock, which still decides: a writer that
does not take turns (a migration, another tool) is waited for by the busy handler as before,
and a turn not had within :data:`TURN_WAIT` seconds (or a lock file that cannot be opened)
lets the transaction go to SQLite's busy handler unchanged. A process that dies holding the
turn loses it with its file descriptor.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TURN_WAIT = 30.0
"""Longest wait for a turn (seconds, the busy timeout); then SQLite's busy handler decides."""

_POLL_FIRST, _POLL_MAX = 0.0001, 0.001


class WriterTurns:
    """The turns of this process's writers on one SQLite database (see the module)."""

    def __init__(self, lock_path: Path) -> None:
        self.lock_path = lock_path
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._fd: int | None = None
        self._pid = 0

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Hold this process's and then the database's writer turn for the block."""
        if not self._thread_lock.acquire(timeout=TURN_WAIT):
            yield  # SQLite's busy handler decides
            return
        try:
            self._depth += 1
            locked = self._depth == 1 and self._flock()
            try:
                yield
            finally:
                if locked:
                    self._unlock()
        finally:
            self._depth -= 1
            self._thread_lock.release()

    def _file(self) -> int | None:
        """The lock file's descriptor in this process (opened again after a fork: a shared
        open file would share the ``flock``)."""
        if self._fd is not None and self._pid == os.getpid():
            return self._fd
        try:
            self._fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError:
            self._fd = None
            return None
        self._pid = os.getpid()
        return self._fd

    def _flock(self) -> bool:
        if sys.platform == "win32":  # pragma: no cover - no flock: the busy handler decides
            return False
        import fcntl

        fd = self._file()
        if fd is None:
            return False
        deadline = time.monotonic() + TURN_WAIT
        pause = _POLL_FIRST
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() > deadline:
                    return False
                time.sleep(pause)
                pause = min(pause * 2, _POLL_MAX)
            except OSError:
                return False

    def _unlock(self) -> None:
        if sys.platform == "win32":  # pragma: no cover
            return
        import fcntl

        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)


_TURNS: dict[Path, WriterTurns] = {}
_TURNS_LOCK = threading.Lock()


def turns_for(database: Path) -> WriterTurns:
    """The (one per process) writer turns of the SQLite file ``database``."""
    with _TURNS_LOCK:
        turns = _TURNS.get(database)
        if turns is None:
            lock_path = database.with_name(database.name + "-writers")
            turns = _TURNS[database] = WriterTurns(lock_path)
        return turns
