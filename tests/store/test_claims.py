"""Claims that stay cheap under a backlog, a loop that ticks the schedules once a second at
most, and PostgreSQL connections pinged only after they rested (bench/webhook_scale.py)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from stripe_efactura.jobs import due, queue, worker
from stripe_efactura.jobs.worker import Worker
from stripe_efactura.store import db
from stripe_efactura.store.tables import jobs


def _enqueue(engine: Engine, n: int, *, delay: float = 0.0) -> int:
    with db.write(engine) as conn:
        job_id = queue.enqueue(conn, "t", {"n": n}, delay=delay)
    assert job_id is not None
    return job_id


def test_a_claim_takes_expired_leases_first_then_the_oldest_due_jobs(engine: Engine) -> None:
    """An expired lease goes first, then queued jobs by ``run_at`` and id (jobs of one
    batch share their ``run_at``); a job not due yet and a live lease stay where they are."""
    with db.write(engine) as conn:
        now = db.db_now(conn)
        same = [queue.enqueue(conn, "t", {"n": n}, run_at=now) for n in range(3)]
        older = queue.enqueue(conn, "t", {"n": 9}, run_at=now - timedelta(seconds=5))
    later = _enqueue(engine, 4, delay=3600)
    live = _enqueue(engine, 6, delay=-120)
    assert [j.id for j in queue.claim(engine, "live")] == [live]
    expired = _enqueue(engine, 5, delay=-60)
    assert [j.id for j in queue.claim(engine, "gone", lease=timedelta(seconds=-1))] == [expired]
    got = queue.claim(engine, "W", limit=4)
    assert [j.id for j in got] == [expired, older, same[0], same[1]]
    assert {j.locked_by for j in got} == {"W"} and got[0].attempts == 2
    assert [j.id for j in queue.claim(engine, "W", limit=4)] == [same[2]]
    with db.read(engine) as conn:
        waiting = conn.execute(sa.select(jobs.c.status).where(jobs.c.id == later)).scalar()
    assert waiting == "queued"


def test_the_queued_jobs_are_read_from_the_index_in_claim_order(engine: Engine) -> None:
    """PostgreSQL reads the first due jobs from ``(status, run_at, id)`` and stops: no sort of
    the whole backlog (which cost 6 ms per claim with 6,000 queued) -- before statistics
    exist, as in a burst on a new or idle queue."""
    if db.is_sqlite(engine):
        pytest.skip("the plan of PostgreSQL's claim")
    with db.write(engine) as conn:
        queue.enqueue_many(conn, "t", [{"n": n} for n in range(3000)])
    with db.write(engine) as conn:
        query = due.due_query(due.queued_now(db.db_now(conn)), frozenset({"t"}), 8)
        compiled = query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
        plan = "\n".join(str(r[0]) for r in conn.exec_driver_sql(f"EXPLAIN {compiled}"))
    assert "ix_jobs_status_run_at_id" in plan
    assert "Sort" not in plan


def _plan(engine: Engine, statement: sa.Executable, params: dict[str, object]) -> str:
    """PostgreSQL's plan of ``statement`` as the driver receives it (run, then rolled back)."""
    sent: list[tuple[str, object]] = []

    def grab(_c: object, _cursor: object, sql: str, parameters: object, *_a: object) -> None:
        sent.append((sql, parameters))

    with engine.connect() as conn:
        sa.event.listen(engine, "before_cursor_execute", grab)
        try:
            conn.execute(statement, params)
        finally:
            sa.event.remove(engine, "before_cursor_execute", grab)
        sql, parameters = sent[-1]
        plan = conn.exec_driver_sql(f"EXPLAIN {sql}", parameters)  # type: ignore[arg-type]
        text = "\n".join(str(r[0]) for r in plan)
        conn.rollback()
    return text


def test_expired_leases_and_follow_ups_are_found_without_reading_the_burst(
    engine: Engine,
) -> None:
    """Before statistics exist, with 3,000 jobs running: the expired leases come from the
    start of ``ix_jobs_running_lease`` (not from every running entry of the claim index),
    and a follow-up claim (``claim_ids``) finds its few ids by the primary key."""
    if db.is_sqlite(engine):
        pytest.skip("the plan of PostgreSQL's claim")
    with db.write(engine) as conn:
        queue.enqueue_many(conn, "t", [{"n": n} for n in range(3000)])
        now = db.db_now(conn)
    queue.claim(engine, "W", limit=3000, lease=timedelta(minutes=5))
    expired = _plan(
        engine, due._due_prepared("expired", frozenset({"t"}), True), {"q_now": now, "q_limit": 8}
    )
    follow_up = _plan(
        engine,
        queue._CLAIM_IDS_OF_TASKS,
        {
            "c_ids": [5, 7],
            "c_now": now,
            "c_tasks": ["t"],
            "p_locked_by": "W",
            "p_locked_until": now,
        },
    )
    assert "ix_jobs_running_lease" in expired and "Sort" not in expired
    assert "pk_jobs" in follow_up and "ix_jobs_status_run_at_id" not in follow_up


def test_the_loop_ticks_the_schedules_once_a_second_at_most(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A busy loop does not tick before every batch (``drain`` still does, every round)."""
    ticks: list[int] = []
    real_tick = queue.tick_schedules

    def counted(eng: Engine) -> int:
        ticks.append(1)
        return real_tick(eng)

    monkeypatch.setattr(queue, "tick_schedules", counted)
    monkeypatch.setattr(worker, "TICK_EVERY", 3600.0)
    for n in range(12):
        _enqueue(engine, n)
    stop = threading.Event()
    ran: list[int] = []

    def handler(job: queue.Job) -> None:
        ran.append(job.int_arg("n"))
        if len(ran) == 12:
            stop.set()

    loop = Worker(engine, {"t": handler}, batch=2, poll_interval=0.01)
    loop.run(stop)
    assert sorted(ran) == list(range(12)) and len(ticks) == 1
    _enqueue(engine, 12)
    assert Worker(engine, {"t": handler}, batch=2).drain() == 1
    assert len(ticks) == 3  # drain: a round that ran the job, a round that found none


def _backend_pid(engine: Engine) -> int:
    with db.read(engine) as conn:
        return int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())


def test_a_connection_that_rested_is_pinged_and_replaced_when_dead(
    engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pooled connection used a moment ago is not pinged at checkout; one that rested
    :data:`db.PING_IDLE` is, and when the server ended it meanwhile it is replaced before the
    transaction sees it."""
    if db.is_sqlite(engine):
        pytest.skip("PostgreSQL's pool")
    pings: list[int] = []
    real_ping = engine.dialect.do_ping

    def counted(dbapi_conn: object) -> bool:
        pings.append(1)
        return real_ping(dbapi_conn)  # type: ignore[arg-type]

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    monkeypatch.setattr(db, "PING_IDLE", 3600.0)
    first = _backend_pid(engine)
    assert [_backend_pid(engine) for _ in range(3)] == [first] * 3 and pings == []
    monkeypatch.setattr(db, "PING_IDLE", 0.0)
    assert _backend_pid(engine) == first and len(pings) == 1
    admin = db.make_engine(db_url)
    try:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(:p, 5000)"), {"p": first})
            conn.commit()
    finally:
        admin.dispose()
    assert _backend_pid(engine) not in (first, 0)
    assert len(pings) == 2
