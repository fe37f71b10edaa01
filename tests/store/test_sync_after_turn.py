"""store/db and store/durability: an SQLite write commits at NORMAL inside the writer turn
and is made durable by ``durability.sync_wal`` after it, before ``write`` returns; other
transactions keep the configured level (FULL by default)."""

from __future__ import annotations

import fcntl
import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from stripe_efactura.errors import StorageError
from stripe_efactura.intake import envelope, payload
from stripe_efactura.store import db, durability
from stripe_efactura.store.event_batches import EventBatches
from stripe_efactura.store.migrate import upgrade

NORMAL, FULL, OFF = 1, 2, 0  # what PRAGMA synchronous answers


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = db.make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    upgrade(eng)
    yield eng
    eng.dispose()


class FsyncSpy:
    """``os.fsync`` as it is, noting for each call the file's name and whether another
    open file could take the writer turn at that moment (the turn was released)."""

    def __init__(self, database: Path, real: Callable[[int], None]) -> None:
        self.database = database
        self.real = real
        self.calls: list[tuple[str, bool, int]] = []

    def __call__(self, fd: int) -> None:
        name = os.readlink(f"/proc/self/fd/{fd}")
        self.calls.append((Path(name).name, self._turn_free(), os.fstat(fd).st_size))
        self.real(fd)

    def _turn_free(self) -> bool:
        probe = os.open(self.database.with_name("x.db-writers"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        finally:
            os.close(probe)  # closing the descriptor drops the probe's own lock
        return True


@pytest.fixture
def fsyncs(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> FsyncSpy:
    path = db.sqlite_path(engine)
    assert path is not None
    spy = FsyncSpy(path, os.fsync)
    monkeypatch.setattr(os, "fsync", spy)
    return spy


def level(conn: sa.Connection) -> int:
    return int(conn.exec_driver_sql("PRAGMA synchronous").scalar_one())


def test_a_write_commits_at_normal_and_syncs_the_wal_after_its_turn(
    engine: Engine, fsyncs: FsyncSpy
) -> None:
    order: list[str] = []
    with db.write(engine) as conn:
        assert level(conn) == NORMAL
        conn.exec_driver_sql("INSERT INTO schedules VALUES ('k', 't', 60, '2026-12-01 00:00:00')")
        db.after_commit(conn, lambda: order.append(f"hook after {len(fsyncs.calls)} fsync"))
        assert fsyncs.calls == []
    # the WAL file with the commit in it, once the turn was free again; then the folder
    # (the first sync of this WAL file in this process); then the hook
    folder = engine_path(engine).parent.name
    assert [(name, free) for name, free, _ in fsyncs.calls] == [
        ("x.db-wal", True),
        (folder, True),
    ]
    assert fsyncs.calls[0][2] == engine_path(engine).with_name("x.db-wal").stat().st_size
    assert order == ["hook after 2 fsync"]
    with db.write(engine) as conn:
        conn.exec_driver_sql(
            "UPDATE schedules SET next_run_at = '2026-12-02 00:00:00' WHERE name = 'k'"
        )
    assert [c[0] for c in fsyncs.calls[2:]] == ["x.db-wal"]  # the folder once per WAL file
    assert all(free for _, free, _ in fsyncs.calls)


def engine_path(engine: Engine) -> Path:
    path = db.sqlite_path(engine)
    assert path is not None
    return path


def test_other_transactions_keep_full_on_the_same_pooled_connection(engine: Engine) -> None:
    with db.write(engine) as conn:
        conn.exec_driver_sql("INSERT INTO schedules VALUES ('k', 't', 60, '2026-12-01 00:00:00')")
    # the pool (size 5) hands back the connection the write used: a migration's
    # engine.begin() runs at FULL again, and the next write at NORMAL again
    with engine.begin() as conn:
        assert level(conn) == FULL
    with db.write(engine) as conn:
        assert level(conn) == NORMAL
    with engine.begin() as conn:
        assert level(conn) == FULL


def test_a_rolled_back_write_syncs_nothing(engine: Engine, fsyncs: FsyncSpy) -> None:
    with pytest.raises(RuntimeError), db.write(engine) as conn:
        conn.exec_driver_sql("INSERT INTO schedules VALUES ('k', 't', 60, '2026-12-01 00:00:00')")
        raise RuntimeError("abandoned")
    assert fsyncs.calls == []
    with db.read(engine) as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM schedules").scalar_one() == 0


@pytest.mark.parametrize("configured", ["NORMAL", "OFF"])
def test_a_lower_configured_level_is_kept_and_nothing_synced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, configured: str
) -> None:
    eng = db.make_engine(f"sqlite:///{tmp_path / 'x.db'}", sqlite_synchronous=configured)
    try:
        upgrade(eng)
        spy = FsyncSpy(tmp_path / "x.db", os.fsync)
        monkeypatch.setattr(os, "fsync", spy)
        assert not durability.syncs_after_turn(eng)
        with db.write(eng) as conn:
            assert level(conn) == {"NORMAL": NORMAL, "OFF": OFF}[configured]
            conn.exec_driver_sql(
                "INSERT INTO schedules VALUES ('k', 't', 60, '2026-12-01 00:00:00')"
            )
        assert spy.calls == []
    finally:
        eng.dispose()


def test_the_webhook_batch_commits_at_normal_and_syncs_before_it_answers(
    engine: Engine, fsyncs: FsyncSpy
) -> None:
    body = b'{"id": "evt_sync_1", "type": "checkout.session.completed", "created": 1700000000}'
    meta = envelope.event_meta(payload.load(body))
    batches = EventBatches(engine)
    try:
        assert batches.insert([(meta, body)]) == [True]
        folder = engine_path(engine).parent.name
        assert [c[:2] for c in fsyncs.calls] == [("x.db-wal", True), (folder, True)]
        driver = batches._connection().driver_connection
        assert isinstance(driver, sqlite3.Connection)
        assert driver.execute("PRAGMA synchronous").fetchone()[0] == NORMAL
    finally:
        batches.close()


def test_no_wal_file_means_nothing_to_sync(tmp_path: Path) -> None:
    # no WAL: checkpointed and removed, or never written
    durability.sync_wal(tmp_path / "absent.db")


def test_a_wal_that_cannot_be_synced_is_a_coded_storage_error(tmp_path: Path) -> None:
    database = tmp_path / "x.db"
    # a WAL name that cannot be opened (ELOOP), whoever runs the test
    database.with_name("x.db-wal").symlink_to(database.with_name("loop"))
    database.with_name("loop").symlink_to(database.with_name("x.db-wal"))
    with pytest.raises(StorageError) as caught:
        durability.sync_wal(database)
    assert caught.value.code == "E-STORAGE"
    assert "x.db-wal" in str(caught.value)
