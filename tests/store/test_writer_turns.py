"""store/writer_turns: SQLite writers queue on a lock file; SQLite's own lock still decides."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from stripe_efactura.store import db, writer_turns
from stripe_efactura.store.writer_turns import WriterTurns, turns_for


def test_a_turn_is_reentrant_in_its_thread_and_exclusive_across_threads(tmp_path: Path) -> None:
    turns = WriterTurns(tmp_path / "x.db-writers")
    order: list[str] = []
    with turns.turn():
        with turns.turn():  # a nested write in the same thread does not wait for itself
            order.append("nested")

        def other() -> None:
            with turns.turn():
                order.append("other")

        thread = threading.Thread(target=other)
        thread.start()
        time.sleep(0.05)
        order.append("first done")
    thread.join(timeout=5)
    assert order == ["nested", "first done", "other"]


def test_another_process_holding_the_file_makes_the_writer_wait(tmp_path: Path) -> None:
    path = tmp_path / "x.db-writers"
    turns = WriterTurns(path)
    holder = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)  # another open file: another owner
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        got: list[float] = []

        def writer() -> None:
            with turns.turn():
                got.append(time.monotonic())

        thread = threading.Thread(target=writer)
        thread.start()
        time.sleep(0.1)
        assert got == []
        released = time.monotonic()
        fcntl.flock(holder, fcntl.LOCK_UN)
        thread.join(timeout=5)
        assert got and got[0] >= released
    finally:
        os.close(holder)
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_no_turn_after_the_wait_leaves_it_to_sqlite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer_turns, "TURN_WAIT", 0.05)
    path = tmp_path / "x.db-writers"
    holder = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        with WriterTurns(path).turn():  # not had in time: the block runs anyway
            pass
    finally:
        os.close(holder)
    with WriterTurns(tmp_path / "missing" / "x.db-writers").turn():  # cannot be opened
        pass


def test_write_takes_the_turn_of_its_sqlite_file(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'data' / 'e.db'}")
    try:
        with db.write(engine) as conn:
            conn.execute(sa.text("CREATE TABLE t (x INTEGER)"))
            turns = turns_for(tmp_path / "data" / "e.db")
            assert turns._depth == 1
            conn.execute(sa.text("INSERT INTO t VALUES (1)"))
        assert turns._depth == 0
        assert (tmp_path / "data" / "e.db-writers").exists()
        with db.read(engine) as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM t")).scalar() == 1
    finally:
        engine.dispose()


def test_the_sqlite_clock_is_the_hosts_without_a_statement_and_still_advances(
    tmp_path: Path,
) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'e.db'}")
    statements: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    try:
        with db.write(engine) as conn:
            before = datetime.now(UTC).replace(tzinfo=None)
            first = db.db_now(conn)
            time.sleep(0.01)
            second = db.db_now(conn)
            sqlite_now = conn.exec_driver_sql(
                "SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')"
            ).scalar_one()
        assert statements == ["BEGIN IMMEDIATE", "SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')"]
        assert before - timedelta(milliseconds=1) <= first < second
        assert first.microsecond % 1000 == 0 and second.microsecond % 1000 == 0
        assert second <= datetime.fromisoformat(sqlite_now)  # SQLite's own clock, read after
        with db.write(engine) as conn:
            assert db.db_now(conn) >= second
    finally:
        engine.dispose()


def test_a_turn_granted_after_its_asker_gave_up_is_released_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer_turns, "TURN_WAIT", 0.05)
    path = tmp_path / "x.db-writers"
    turns = WriterTurns(path)
    holder = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        with turns.turn():  # gave up after 0.05 s; its waiter still waits in flock
            assert turns._waiter is not None
        fcntl.flock(holder, fcntl.LOCK_UN)  # the waiter gets it now, for nobody
        deadline = time.monotonic() + 5
        while True:  # ... and lets it go again: the other owner takes it back
            try:
                fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                assert time.monotonic() < deadline, "the abandoned grant was never released"
                time.sleep(0.01)
        fcntl.flock(holder, fcntl.LOCK_UN)
        with turns.turn(), pytest.raises(BlockingIOError):  # the next turn is had as usual
            fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(holder)


def test_a_turn_taken_while_the_waiter_is_granted_an_abandoned_lock_keeps_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The waiter thread, granted the lock after its asker gave up, releases it as nobody's.
    A turn that tried the lock without blocking on the same open file at that moment got it
    (the file already held it) and lost it to that release: another process could write in
    its turn (the test above failed now and then under load). Here the moment is held open:
    the waiter is granted the lock but kept from deciding while the next turn starts."""
    monkeypatch.setattr(writer_turns, "TURN_WAIT", 0.05)
    path = tmp_path / "x.db-writers"
    turns = WriterTurns(path)
    holder = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    entered, leave = threading.Event(), threading.Event()

    def next_turn() -> None:
        with turns.turn():
            entered.set()
            leave.wait(5)

    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        with turns.turn():  # gave up; its waiter still waits in flock
            waiter = turns._waiter
        assert waiter is not None
        with waiter._cv:  # the waiter cannot decide what to do with a grant
            fcntl.flock(holder, fcntl.LOCK_UN)  # the kernel grants it the lock
            time.sleep(0.1)
            thread = threading.Thread(target=next_turn)
            thread.start()
            time.sleep(0.1)
        assert entered.wait(5)
        time.sleep(0.1)  # the waiter has decided
        with pytest.raises(BlockingIOError):  # the turn holds the lock
            fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)
        leave.set()
        thread.join(5)
    finally:
        leave.set()
        os.close(holder)


def test_turns_of_two_owners_never_overlap_and_each_is_handed_over(tmp_path: Path) -> None:
    path = tmp_path / "x.db-writers"
    owners = [WriterTurns(path), WriterTurns(path)]  # two open files: like two processes
    inside: list[int] = []
    overlaps: list[int] = []
    done = [0, 0]

    def writer(k: int) -> None:
        for _ in range(200):
            with owners[k].turn():
                inside.append(k)
                if len(inside) > 1:
                    overlaps.append(k)
                time.sleep(0.0002)
                inside.remove(k)
            done[k] += 1

    threads = [threading.Thread(target=writer, args=(k,)) for k in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert done == [200, 200]
    assert overlaps == []
    assert any(o._waiter is not None for o in owners)  # the hand-over was taken
