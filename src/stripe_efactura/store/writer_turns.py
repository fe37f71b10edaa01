"""Writers of one SQLite database take turns on a lock file instead of in SQLite's busy handler.

SQLite has one writer at a time. A ``BEGIN IMMEDIATE`` that finds the write lock taken waits
in SQLite's busy handler, which sleeps 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100 ms between
tries whatever happens meanwhile: with the web process and two workers writing short
transactions, a waiter typically sleeps 10-25 ms after a lock that was free again within a
millisecond (bench/pipeline: a quarter of the workers' wall time went there). Here each
:func:`store.db.write` on an SQLite file first takes its turn:

- inside a process, a re-entrant thread lock (a nested ``write`` in the same thread passes);
- across processes, an ``flock`` on ``<database>-writers`` (created 0600 beside the
  database), tried without blocking first; when another process has it, a waiter thread of
  this process blocks in ``flock`` and hands the turn over the moment the kernel grants it.
  (Polling every 0.1-1 ms instead left the lock idle after each release until the next poll,
  longer on a busy machine; ``bench/writer_turns.py`` measures the difference.)

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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TURN_WAIT = 30.0
"""Longest wait for a turn (seconds, the busy timeout); then SQLite's busy handler decides."""


class WriterTurns:
    """The turns of this process's writers on one SQLite database (see the module)."""

    def __init__(self, lock_path: Path) -> None:
        self.lock_path = lock_path
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._fd: int | None = None
        self._pid = 0
        self._waiter: _Handoff | None = None

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
        waiter = self._waiter
        if waiter is not None and waiter.pid == os.getpid() and waiter.in_flight():
            return waiter.take(TURN_WAIT)  # it may be granted the lock now: through it
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return self._handoff().take(TURN_WAIT)
        except OSError:
            return False

    def _handoff(self) -> _Handoff:
        """This process's waiter (started again after a fork: threads do not survive it)."""
        fd = self._file()
        assert fd is not None
        if self._waiter is None or self._waiter.pid != os.getpid():
            self._waiter = _Handoff(fd)
        return self._waiter

    def _unlock(self) -> None:
        if sys.platform == "win32":  # pragma: no cover
            return
        import fcntl

        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)


class _Handoff:
    """A daemon thread that waits in a blocking ``flock`` on the turn file for this process.

    ``flock`` has no timeout, so the thread waiting for the turn does not block in it itself:
    it asks this thread (:meth:`take`) and waits for the grant at most ``timeout`` seconds. A
    lock the kernel grants after its asker gave up is released again at once; one granted
    while another asker waits goes to that one. The lock belongs to the open file (``fd``),
    not to the thread that took it, so the asker holds it when told and releases it itself.
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.pid = os.getpid()
        self._cv = threading.Condition(threading.Lock())
        self._wanted = False
        self._granted = False
        self._failed = False
        self._busy = False
        threading.Thread(target=self._run, name="writer-turn", daemon=True).start()

    def in_flight(self) -> bool:
        """Whether this thread waits in ``flock`` or has just been granted the lock. A turn
        asked for meanwhile goes through :meth:`take`: tried without blocking on the same
        open file, it would succeed once the kernel granted this thread the lock, which
        this thread then releases as nobody's (its asker gave up), under the new turn."""
        with self._cv:
            return self._busy

    def take(self, timeout: float) -> bool:
        """Ask for the turn; True once this process holds it, False after ``timeout``."""
        with self._cv:
            self._granted = self._failed = False
            self._wanted = True
            self._cv.notify_all()
            self._cv.wait_for(lambda: self._granted or self._failed, timeout)
            self._wanted = False
            granted, self._granted = self._granted, False
            return granted

    def _run(self) -> None:
        import fcntl

        while True:
            with self._cv:
                self._cv.wait_for(lambda: self._wanted)
                self._busy = True
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX)  # blocks without the GIL
            except OSError:  # the file went away: the asker goes to SQLite's busy handler
                with self._cv:
                    self._failed = True
                    self._wanted = self._busy = False
                    self._cv.notify_all()
                continue
            with self._cv:
                if self._wanted:
                    self._wanted = False
                    self._granted = True
                    self._cv.notify_all()
                else:  # its asker gave up meanwhile: nobody here holds the turn
                    fcntl.flock(self.fd, fcntl.LOCK_UN)
                self._busy = False


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
