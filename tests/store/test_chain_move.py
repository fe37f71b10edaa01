"""store/anaf_invoices.move_chains: the sweep moves each answered invoice's queued chain step,
found by its dedupe key (one range per invoice, one statement), not by a scan of every queued
job."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from stripe_efactura.jobs import queue
from stripe_efactura.store import anaf_invoices, db
from stripe_efactura.store.tables import jobs

LATER = datetime(2026, 12, 3, 0, 0, 7)
LATEST = datetime(2026, 12, 3, 2, 0, 0)


def _step(conn: sa.Connection, key: str, status: str = "queued") -> int:
    job_id = queue.enqueue(conn, "anaf_step", {}, dedupe_key=key)
    assert job_id is not None
    conn.execute(jobs.update().where(jobs.c.id == job_id).values(status=status))
    return job_id


def test_only_the_invoices_queued_chain_step_moves(engine: Engine) -> None:
    with db.write(engine) as conn:
        mine = _step(conn, "anaf:1:abc:2")
        done = _step(conn, "anaf:1:abc:1", status="done")
        other = _step(conn, "anaf:12:abc:2")  # a prefix of it is "anaf:1"
        colon = _step(conn, "anaf:1;x")  # just past the range
        other_task = queue.enqueue(conn, "submit_anaf", {}, dedupe_key="anaf:1:submit")
        third = _step(conn, "anaf:3:def:5")
        running = _step(conn, "anaf:3:def:4", status="running")
    with db.write(engine) as conn:
        before = dict(conn.execute(sa.select(jobs.c.id, jobs.c.run_at)).all())
        assert anaf_invoices.move_chains(conn, {1: LATER, 3: LATEST, 7: LATER}) == 2
        after = dict(conn.execute(sa.select(jobs.c.id, jobs.c.run_at)).all())
        assert anaf_invoices.move_chains(conn, {7: LATER}) == 0  # none queued
        assert anaf_invoices.move_chains(conn, {}) == 0
    assert (after[mine], after[third]) == (LATER, LATEST)
    for unmoved in (done, other, colon, other_task, running):
        assert after[unmoved] == before[unmoved]


def test_the_candidates_come_from_the_dedupe_key_index_on_sqlite(engine: Engine) -> None:
    if not db.is_sqlite(engine):
        return  # PostgreSQL plans by its statistics; the statement is the same
    statements: list[tuple[str, tuple[object, ...]]] = []
    sa.event.listen(engine, "before_cursor_execute", lambda *a: statements.append((a[2], a[3])))
    with db.write(engine) as conn:
        anaf_invoices.move_chains(conn, {1: LATER, 3: LATEST})
        select, params = next(s for s in statements if s[0].startswith("SELECT jobs.id"))
        plan = " ".join(
            str(r[3]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {select}", params)
        )
    assert "uq_jobs_dedupe_key" in plan or "sqlite_autoindex_jobs_1" in plan
    assert "ix_jobs_status_run_at_id" not in plan
