"""Lookups each invoice makes read what they answer from an index, however many rows the
burst or the series holds (migration 0010; bench/pipeline.py)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from stripe_efactura.jobs import queue
from stripe_efactura.store import anaf_invoices, db


def _plan(conn: Connection, query: sa.ClauseElement) -> str:
    """The query plan of ``query`` with its parameters inlined."""
    compiled = query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
    explain = "EXPLAIN QUERY PLAN" if db.is_sqlite(conn) else "EXPLAIN"
    rows = conn.exec_driver_sql(f"{explain} {compiled}").all()
    return "\n".join(str(r[-1]) for r in rows)


def test_job_queued_answers_for_queued_jobs_of_its_task_only(engine: Engine) -> None:
    with db.write(engine) as conn:
        queue.enqueue_many(conn, "process_event", [{"n": n} for n in range(5)])
        sweep = queue.enqueue(conn, "anaf_status_sweep", {})
    assert sweep is not None
    with db.read(engine) as conn:
        assert anaf_invoices.job_queued(conn, "anaf_status_sweep")
        assert not anaf_invoices.job_queued(conn, "anaf_step")
    (job,) = queue.claim(engine, "w", tasks=frozenset({"anaf_status_sweep"}))
    with db.read(engine) as conn:  # running is not queued
        assert not anaf_invoices.job_queued(conn, "anaf_status_sweep")
    with db.write(engine) as conn:
        assert queue.complete(conn, job)
        assert not anaf_invoices.job_queued(conn, "anaf_status_sweep")
        assert anaf_invoices.job_queued(conn, "process_event")
        # with the count of uploads waiting (none here), as each upload of a burst asks
        assert anaf_invoices.awaiting_and_queued(conn, 1, "process_event") == (False, True)
        assert anaf_invoices.awaiting_and_queued(conn, 0, "anaf_status_sweep") == (True, False)


def test_job_queued_reads_the_queued_tasks_index_not_the_backlog(engine: Engine) -> None:
    """With a burst's events queued, whether a sweep is queued comes from the partial index of
    queued jobs by task; the claim index would read every queued event first."""
    with db.write(engine) as conn:
        queue.enqueue_many(conn, "process_event", [{"n": n} for n in range(3000)])
    with db.read(engine) as conn:
        if not db.is_sqlite(conn):
            conn.exec_driver_sql("ANALYZE jobs")
        plan = _plan(conn, anaf_invoices._JOB_QUEUED.params(q_task="anaf_status_sweep"))
        both = anaf_invoices._AWAITING_AND_QUEUED.params(q_task="anaf_status_sweep", q_up_to=5)
        plan_of_both = _plan(conn, both)
    assert "ix_jobs_queued_task" in plan and "ix_jobs_queued_task" in plan_of_both
