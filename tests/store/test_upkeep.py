"""PostgreSQL: the job queue's table is vacuumed by the worker loop once a burst left enough
dead rows in it (``store/upkeep.py``); below that, and on SQLite, nothing runs."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from stripe_efactura.jobs import queue
from stripe_efactura.jobs.worker import Worker
from stripe_efactura.store import db, upkeep


def _churn(engine: Engine, n: int) -> None:
    """``n`` jobs enqueued and finished (two dead row versions each), counted at once."""
    with engine.connect() as conn:
        with conn.begin():
            queue.enqueue_many(conn, "t", [{"n": k} for k in range(n)])
        for status in ("running", "done"):
            with conn.begin():
                conn.execute(sa.text("UPDATE jobs SET status = :s"), {"s": status})
        conn.exec_driver_sql("SELECT pg_stat_force_next_flush()")
        conn.commit()
        conn.exec_driver_sql("SELECT 1")
        conn.commit()


def _stats(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT pg_stat_clear_snapshot()")
        row = conn.execute(
            sa.text(
                "SELECT pg_stat_get_dead_tuples('jobs'::regclass),"
                " pg_stat_get_vacuum_count('jobs'::regclass)"
                " + pg_stat_get_analyze_count('jobs'::regclass)"
            )
        ).one()
    return int(row[0]), int(row[1])


def test_the_queue_is_vacuumed_past_the_dead_rows_only(engine: Engine) -> None:
    if db.is_sqlite(engine):
        assert upkeep.vacuum_jobs(engine, dead_rows=0) is False
        return
    _churn(engine, 300)
    dead, vacuums = _stats(engine)
    assert dead >= 600
    assert upkeep.vacuum_jobs(engine, dead_rows=dead + 1) is False
    assert _stats(engine) == (dead, vacuums)
    assert upkeep.vacuum_jobs(engine, dead_rows=dead) is True
    # vacuumed and analyzed (the dead rows go unless another test's transaction still sees them)
    assert _stats(engine)[1] == vacuums + 2


def test_one_worker_vacuums_at_a_time(engine: Engine) -> None:
    if db.is_sqlite(engine):
        pytest.skip("PostgreSQL's advisory lock")
    _churn(engine, 50)
    with engine.connect() as other:
        other.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": upkeep.LOCK_KEY})
        assert upkeep.vacuum_jobs(engine, dead_rows=1) is False
        other.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": upkeep.LOCK_KEY})
    assert upkeep.vacuum_jobs(engine, dead_rows=1) is True


def test_the_worker_loop_looks_every_few_seconds(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    looks: list[Engine] = []
    monkeypatch.setattr(upkeep, "LOOK_EVERY", 0.0)
    this_test = threading.current_thread()

    def look(eng: Engine) -> bool:
        # only this test's worker: the loop of a service another test of this process left
        # running (a demo console's worker thread) may look meanwhile too
        if threading.current_thread() is this_test:
            looks.append(eng)
        return False

    monkeypatch.setattr(upkeep, "vacuum_jobs", look)
    for n in range(3):
        with db.write(engine) as conn:
            queue.enqueue(conn, "t", {"n": n})
    stop = threading.Event()
    ran: list[int] = []

    def handler(job: queue.Job) -> None:
        ran.append(job.int_arg("n"))
        if len(ran) == 3:
            stop.set()

    Worker(engine, {"t": handler}, batch=1, poll_interval=0.01).run(stop)
    assert sorted(ran) == [0, 1, 2] and looks == [engine] * 3
    looks.clear()
    with db.write(engine) as conn:
        queue.enqueue(conn, "t", {"n": 3})
    assert Worker(engine, {"t": handler}).drain() == 1 and looks == []  # drain: no upkeep
