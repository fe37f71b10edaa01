"""The WAL checkpointer of `serve`/`worker` (SQLite): it never takes the write lock."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import sqlalchemy as sa

from stripe_efactura.store import checkpoints, db
from stripe_efactura.store.migrate import upgrade
from stripe_efactura.store.tables import jobs


def test_checkpoint_runs_beside_an_open_write_transaction(tmp_path: Path) -> None:
    """A tick must not wait for (or block) the writer: it used to autobegin, i.e. emit
    ``BEGIN IMMEDIATE`` through the engine hook, and sat in the busy handler (bench/webhook's
    periodic commit stalls)."""
    path = tmp_path / "c.db"
    engine = db.make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with db.write(engine) as conn:
        conn.execute(
            jobs.insert().values(
                task="t",
                args="{}",
                status="queued",
                run_at=sa.func.now(),
                attempts=0,
                max_attempts=1,
                created_at=sa.func.now(),
            )
        )
    checkpointer = checkpoints.Checkpointer(engine)
    with db.write(engine) as conn:  # the writer holds the write lock during the tick
        conn.execute(jobs.update().values(attempts=1))
        started = time.monotonic()
        checkpointer.checkpoint()
        assert time.monotonic() - started < 1.0
    checkpointer.checkpoint()
    engine.dispose()
    probe = sqlite3.connect(path)
    try:
        busy, log, done = probe.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        assert (busy, log - done) == (0, 0)  # everything was already copied
        assert probe.execute("SELECT attempts FROM jobs").fetchone() == (1,)
    finally:
        probe.close()


def test_checkpointer_thread_starts_and_stops(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'd.db'}")
    upgrade(engine)
    checkpointer = checkpoints.Checkpointer(engine, interval=0.01).start()
    time.sleep(0.05)
    checkpointer.stop()
    engine.dispose()
