"""The database job queue on SQLite and PostgreSQL: outbox, leases, fencing, retries, schedules."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine.interfaces import CacheStats

from stripe_efactura.errors import RetryLater
from stripe_efactura.jobs import queue
from stripe_efactura.jobs.worker import PermanentJobError, Worker
from stripe_efactura.store import db
from stripe_efactura.store.tables import jobs


def _statuses(engine) -> dict[int, str]:  # type: ignore[no-untyped-def]
    with db.read(engine) as conn:
        return {r.id: r.status for r in conn.execute(sa.select(jobs.c.id, jobs.c.status))}


def test_enqueue_is_part_of_the_callers_transaction(engine) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RuntimeError), db.write(engine) as conn:
        queue.enqueue(conn, "t", {"n": 1})
        raise RuntimeError("rollback")
    with db.write(engine) as conn:
        kept = queue.enqueue(conn, "t", {"n": 2})
    assert list(_statuses(engine).items()) == [(kept, "queued")]


def test_dedupe_key_enqueues_once(engine) -> None:  # type: ignore[no-untyped-def]
    with db.write(engine) as conn:
        first = queue.enqueue(conn, "t", {}, dedupe_key="k1")
        second = queue.enqueue(conn, "t", {}, dedupe_key="k1")
    assert first is not None and second is None
    assert len(_statuses(engine)) == 1


def test_several_jobs_enqueue_with_one_statement_in_order_once_each(engine) -> None:  # type: ignore[no-untyped-def]
    """``enqueue_each``: one ``INSERT`` for the rows, compiled once (the second is SQLAlchemy's
    cached statement), their ids in the order given (collected as follow-ups in that order),
    a key already there adds nothing."""
    statements: list[str] = []
    cached: list[bool] = []

    def seen(*args: object) -> None:
        statements.append(str(args[2]))
        context = args[4]
        cached.append(context.cache_hit is CacheStats.CACHE_HIT)  # type: ignore[attr-defined]

    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        with db.write(engine) as conn, queue.collecting() as collected:
            first = queue.enqueue_each(conn, [("pdf", {"n": 1}, "p:1"), ("up", {"n": 1}, "u:1")])
            again = queue.enqueue_each(conn, [("pdf", {"n": 1}, "p:1"), ("up", {"n": 2}, "u:2")])
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)
    inserts = [s for s in statements if s.lstrip().startswith("INSERT")]
    assert len(inserts) == 2 and all("ON CONFLICT DO NOTHING" in s for s in inserts)
    assert [hit for s, hit in zip(statements, cached, strict=True) if s in inserts] == [
        False,
        True,
    ]
    assert first == sorted(first) and len(first) == 2 and len(again) == 1
    assert collected == [*first, *again]
    with db.read(engine) as conn:
        rows = conn.execute(sa.select(jobs.c.id, jobs.c.task, jobs.c.args).order_by(jobs.c.id))
        assert [(r.task, r.args) for r in rows] == [
            ("pdf", '{"n": 1}'),
            ("up", '{"n": 1}'),
            ("up", '{"n": 2}'),
        ]
    assert [j.task for j in queue.claim(engine, "A", limit=5)] == ["pdf", "up", "up"]


def test_claim_complete_and_no_double_claim(engine) -> None:  # type: ignore[no-untyped-def]
    with db.write(engine) as conn:
        ids = [queue.enqueue(conn, "t", {"n": i}) for i in range(3)]
    a = queue.claim(engine, "A", limit=2)
    b = queue.claim(engine, "B", limit=5)
    assert [j.id for j in a] == ids[:2]
    assert [j.id for j in b] == ids[2:]
    assert [j.args for j in a] == [{"n": 0}, {"n": 1}]
    with db.write(engine) as conn:
        assert queue.complete(conn, a[0]) is True
    assert ids[0] is not None
    assert _statuses(engine)[ids[0]] == "done"


def test_expired_lease_is_reclaimed_and_fencing_blocks_the_old_worker(engine) -> None:  # type: ignore[no-untyped-def]
    with db.write(engine) as conn:
        jid = queue.enqueue(conn, "t", {})
    assert jid is not None
    old = queue.claim(engine, "old", lease=timedelta(seconds=-1))
    assert [j.id for j in old] == [jid]
    new = queue.claim(engine, "new")
    assert [j.id for j in new] == [jid] and new[0].attempts == 2
    with db.write(engine) as conn:
        assert queue.complete(conn, old[0]) is False
        assert queue.fail(conn, old[0], "late") is None
        assert queue.complete(conn, new[0]) is True
    assert _statuses(engine)[jid] == "done"


def test_failures_back_off_then_die(engine) -> None:  # type: ignore[no-untyped-def]
    with db.write(engine) as conn:
        jid = queue.enqueue(conn, "t", {}, max_attempts=2)
    assert jid is not None
    (job,) = queue.claim(engine, "w")
    with db.write(engine) as conn:
        assert queue.fail(conn, job, "boom", delay=0) == "queued"
    (job,) = queue.claim(engine, "w")
    with db.write(engine) as conn:
        assert queue.fail(conn, job, "boom again") == "dead"
        row = conn.execute(sa.select(jobs).where(jobs.c.id == jid)).one()
    assert (row.status, row.attempts, row.last_error) == ("dead", 2, "boom again")
    assert queue.claim(engine, "w") == []
    with db.write(engine) as conn:
        assert queue.retry_dead(conn, jid) is True
    assert [j.id for j in queue.claim(engine, "w")] == [jid]


def test_backoff_is_exponential_with_bounded_jitter() -> None:
    rng = random.Random(7)
    values = [queue.backoff_seconds(n, rng=rng) for n in range(1, 6)]
    for n, v in zip(range(1, 6), values, strict=True):
        assert 0.8 * 2**n <= v <= 1.2 * 2**n
    assert queue.backoff_seconds(40, rng=rng) <= 1.2 * 3600


def test_schedule_fires_once_per_tick_across_workers(engine) -> None:  # type: ignore[no-untyped-def]
    with db.write(engine) as conn:
        queue.ensure_schedule(conn, "every-hour", "tick", 3600)
        queue.ensure_schedule(conn, "every-hour", "tick", 3600)
    fired = [queue.tick_schedules(engine) for _ in range(4)]
    assert fired == [1, 0, 0, 0]
    with db.read(engine) as conn:
        rows = conn.execute(sa.select(jobs.c.task, jobs.c.dedupe_key)).all()
    assert len(rows) == 1 and rows[0].task == "tick"
    assert rows[0].dedupe_key.startswith("schedule:every-hour:")


def test_worker_runs_retries_and_kills(engine) -> None:  # type: ignore[no-untyped-def]
    seen: list[tuple[str, int]] = []

    def ok(job: queue.Job) -> None:
        seen.append(("ok", job.attempts))

    def later(job: queue.Job) -> None:
        seen.append(("later", job.attempts))
        if job.attempts < 2:
            raise RetryLater("not yet", delay_seconds=0)

    def broken(job: queue.Job) -> None:
        seen.append(("broken", job.attempts))
        raise PermanentJobError("cannot")

    with db.write(engine) as conn:
        a = queue.enqueue(conn, "ok", {})
        b = queue.enqueue(conn, "later", {})
        c = queue.enqueue(conn, "broken", {})
    w = Worker(engine, {"ok": ok, "later": later, "broken": broken}, worker_id="w1")
    assert w.drain() == 4
    assert sorted(seen) == [("broken", 1), ("later", 1), ("later", 2), ("ok", 1)]
    assert _statuses(engine) == {a: "done", b: "done", c: "dead"}


def test_the_prepared_statements_store_every_value(engine) -> None:  # type: ignore[no-untyped-def]
    """enqueue, claim_ids and complete run statements built once (``store/db.py``,
    "prepared statements") with their values as parameters: every column still gets its
    value, typed (times as times, on both databases)."""
    with db.write(engine) as conn:
        now = db.db_now(conn)
        later = now + timedelta(seconds=30)
        plain = queue.enqueue(conn, "t", {"b": 1, "a": [2]}, max_attempts=4)
        keyed = queue.enqueue(conn, "u", {}, run_at=later, dedupe_key="k", max_attempts=7)
        assert queue.enqueue(conn, "u", {}, dedupe_key="k") is None
        (claimed,) = queue.claim_ids(conn, "w1", [keyed or 0, plain or 0], tasks=frozenset({"t"}))
        assert queue.claim_ids(conn, "w2", [plain or 0]) == []  # taken, not queued any more
    assert claimed == queue.Job(plain or 0, "t", {"a": [2], "b": 1}, 1, 4, "w1")
    with db.read(engine) as conn:
        rows = {r.id: r for r in conn.execute(sa.select(jobs))}
    assert rows[keyed or 0].run_at == later and rows[keyed or 0].status == "queued"
    assert (rows[keyed or 0].dedupe_key, rows[keyed or 0].max_attempts) == ("k", 7)
    assert rows[plain or 0].args == '{"a": [2], "b": 1}' and rows[plain or 0].dedupe_key is None
    assert rows[plain or 0].locked_by == "w1" and rows[plain or 0].locked_until > now
    with db.write(engine) as conn:
        assert queue.complete(conn, claimed)
        assert not queue.complete(conn, claimed)  # fenced: not running any more
        stale = queue.Job(keyed or 0, "u", {}, 0, 7, "w1")
        assert not queue.complete(conn, stale)  # queued, never leased to w1
    with db.read(engine) as conn:
        done = conn.execute(sa.select(jobs).where(jobs.c.id == plain)).one()
    assert (done.status, done.last_error) == ("done", None)
    assert done.finished_at is not None and done.finished_at >= now
    with engine.connect() as conn:
        names = ("task", "args")
        assert db.insert_ignore_prepared(conn, jobs, names, "id") is db.insert_ignore_prepared(
            conn, jobs, names, "id"
        )
