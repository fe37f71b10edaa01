"""Follow-up jobs run in the turn of the job that enqueued them (stream, don't phase), on
SQLite and PostgreSQL, with the queue's usual leases and fencing."""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine.interfaces import CacheStats

from stripe_efactura.errors import RetryLater
from stripe_efactura.jobs import handover, queue
from stripe_efactura.jobs.worker import MAX_FOLLOW_UPS, Worker
from stripe_efactura.store import db
from stripe_efactura.store.tables import jobs


def _rows(engine: Any) -> dict[int, tuple[str, str, str | None]]:
    with db.read(engine) as conn:
        rows = conn.execute(sa.select(jobs.c.id, jobs.c.task, jobs.c.status, jobs.c.locked_by))
        return {r.id: (r.task, r.status, r.locked_by) for r in rows}


def _enqueue(engine: Any, task: str, n: int) -> int:
    with db.write(engine) as conn:
        job_id = queue.enqueue(conn, task, {"n": n})
    assert job_id is not None
    return job_id


def _chain_worker(engine: Any, ran: list[str], **kw: Any) -> Worker:
    """``event`` enqueues ``issue``, which enqueues ``pdf``, which enqueues ``mail``."""

    def step(task: str, following: str | None) -> Any:
        def handler(job: queue.Job) -> None:
            ran.append(f"{task}{job.args['n']}")
            if following is not None:
                with db.write(engine) as conn:
                    queue.enqueue(conn, following, job.args)

        return handler

    handlers = {
        "event": step("event", "issue"),
        "issue": step("issue", "pdf"),
        "pdf": step("pdf", "mail"),
        "mail": step("mail", None),
    }
    return Worker(engine, handlers, worker_id="W", follow_ups=frozenset(handlers), **kw)


def test_a_batch_runs_first_then_each_chain_before_the_next(engine: Any) -> None:
    for n in range(3):
        _enqueue(engine, "event", n)
    ran: list[str] = []
    assert _chain_worker(engine, ran, batch=8).run_once() == 12
    chains = [f"{t}{n}" for n in range(3) for t in ("issue", "pdf", "mail")]
    assert ran == ["event0", "event1", "event2", *chains]
    rows = _rows(engine)
    assert len(rows) == 12
    assert {status for _t, status, _w in rows.values()} == {"done"}
    assert {worker for _t, _s, worker in rows.values()} == {"W"}


def test_a_waiting_follow_up_is_left_to_the_loop(engine: Any) -> None:
    ran: list[str] = []

    def event(job: queue.Job) -> None:
        ran.append("event")
        with db.write(engine) as conn:
            queue.enqueue(conn, "later", {}, delay=600)

    later = {"event": event, "later": lambda _j: ran.append("later")}
    worker = Worker(engine, later, follow_ups=frozenset(later))
    _enqueue(engine, "event", 0)
    assert worker.run_once() == 1
    assert ran == ["event"]
    assert sorted((t, s) for t, s, _w in _rows(engine).values()) == [
        ("event", "done"),
        ("later", "queued"),
    ]


def test_no_follow_up_runs_after_a_failed_job(engine: Any) -> None:
    ran: list[str] = []

    def event(job: queue.Job) -> None:
        with db.write(engine) as conn:
            queue.enqueue(conn, "issue", {})
        raise RetryLater("not yet", delay_seconds=600)

    both = {"event": event, "issue": lambda _j: ran.append("issue")}
    worker = Worker(engine, both, follow_ups=frozenset(both))
    _enqueue(engine, "event", 0)
    assert worker.run_once() == 1
    assert ran == []
    assert sorted((t, s) for t, s, _w in _rows(engine).values()) == [
        ("event", "queued"),
        ("issue", "queued"),
    ]


def test_a_follow_up_of_a_task_the_worker_lacks_is_not_taken(engine: Any) -> None:
    def event(job: queue.Job) -> None:
        with db.write(engine) as conn:
            queue.enqueue(conn, "elsewhere", {})

    _enqueue(engine, "event", 0)
    worker = Worker(engine, {"event": event}, follow_ups=frozenset({"event", "elsewhere"}))
    assert worker.run_once() == 1
    assert sorted((t, s) for t, s, _w in _rows(engine).values()) == [
        ("elsewhere", "queued"),
        ("event", "done"),
    ]


def test_without_follow_up_tasks_every_job_waits_for_a_claim(engine: Any) -> None:
    ran: list[str] = []
    worker = _chain_worker(engine, ran)
    worker.follow_ups = frozenset({"issue"})
    _enqueue(engine, "event", 0)
    assert worker.run_once() == 2
    assert ran == ["event0", "issue0"]
    assert sorted((t, s) for t, s, _w in _rows(engine).values()) == [
        ("event", "done"),
        ("issue", "done"),
        ("pdf", "queued"),
    ]


def test_claim_ids_takes_only_queued_due_jobs_in_the_given_order(engine: Any) -> None:
    first, second, third = (_enqueue(engine, "t", n) for n in range(3))
    taken = queue.claim(engine, "B", limit=1)
    assert [j.id for j in taken] == [first]
    with db.write(engine) as conn:
        later = queue.enqueue(conn, "t", {"n": 9}, delay=600)
        claimed = queue.claim_ids(conn, "A", [third, first, later or 0, second, 10_000])
    assert [(j.id, j.args, j.attempts, j.locked_by) for j in claimed] == [
        (third, {"n": 2}, 1, "A"),
        (second, {"n": 1}, 1, "A"),
    ]
    rows = _rows(engine)
    assert rows[first] == ("t", "running", "B")
    assert rows[third] == ("t", "running", "A")
    assert later is not None and rows[later] == ("t", "queued", None)


def test_one_job_pulls_at_most_max_follow_ups_into_its_turn(engine: Any) -> None:
    ran: list[str] = []

    def fan(job: queue.Job) -> None:
        with db.write(engine) as conn:
            for n in range(MAX_FOLLOW_UPS + 5):
                queue.enqueue(conn, "leaf", {"n": n})

    fans = {"fan": fan, "leaf": lambda j: ran.append(str(j.args["n"]))}
    worker = Worker(engine, fans, follow_ups=frozenset(fans))
    _enqueue(engine, "fan", 0)
    assert worker.run_once() == 1 + MAX_FOLLOW_UPS
    assert ran == [str(n) for n in range(MAX_FOLLOW_UPS)]
    left = sorted(t for t, s, _w in _rows(engine).values() if s == "queued")
    assert left == ["leaf"] * 5
    assert worker.run_once() == 5
    assert ran == [str(n) for n in range(MAX_FOLLOW_UPS + 5)]


def test_a_handler_completes_its_job_in_its_last_transaction(engine: Any) -> None:
    """``queue.finish_in``: the job is done and its follow-up claimed in the handler's own
    transaction (one commit, not two); a rolled-back finish leaves the completion to the
    worker, and a use case run outside its own task's job does not complete anything."""
    ran: list[str] = []
    commits: list[int] = []
    sa.event.listen(engine, "commit", lambda _conn: commits.append(1))

    def event(job: queue.Job) -> None:
        ran.append("event")
        with db.write(engine) as conn:
            queue.enqueue(conn, "issue", job.args)
            queue.finish_in(conn, "issue")  # not this job's task: nothing
            queue.finish_in(conn, "event")

    def issue(job: queue.Job) -> None:
        ran.append("issue")
        with pytest.raises(RuntimeError), db.write(engine) as conn:
            queue.finish_in(conn, "issue")
            raise RuntimeError("rolled back")
        with db.write(engine) as conn:
            queue.finish_in(conn, "issue")  # staged once per job: the worker completes it

    worker = Worker(
        engine, {"event": event, "issue": issue}, worker_id="W", follow_ups=frozenset({"issue"})
    )
    event_id = _enqueue(engine, "event", 1)
    commits.clear()
    assert worker.run_once() == 2
    # tick + claim, event (with its completion and the follow-up's claim), the issue's two
    # writes (one rolled back: no commit) and the worker's completion of it
    assert len(commits) == 5
    assert ran == ["event", "issue"]
    assert {task: status for task, status, _w in _rows(engine).values()} == {
        "event": "done",
        "issue": "done",
    }
    with db.read(engine) as conn:
        finished = conn.execute(sa.select(jobs.c.finished_at).where(jobs.c.id == event_id))
        assert finished.scalar() is not None


def _statements(engine: Any) -> list[str]:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "jobs" in statement:  # not the database clock (``db.db_now``)
            seen.append(statement.split()[0].upper())

    sa.event.listen(engine, "before_cursor_execute", count)
    return seen


def test_completion_and_the_follow_ups_lease_are_one_statement(engine: Any) -> None:
    """``queue.complete_and_claim`` (``jobs/handover.py``): the job done and its due,
    queued follow-ups of the given tasks leased to its worker, by one ``UPDATE`` on
    PostgreSQL; a later job, one of another task and one another worker holds are left as
    they are."""
    first = _enqueue(engine, "t", 0)
    (job,) = queue.claim(engine, "A", limit=1)
    assert job.id == first
    with db.write(engine) as conn:
        ids = [queue.enqueue(conn, task, {"n": n}) or 0 for n, task in enumerate("ffgf")]
        later = queue.enqueue(conn, "f", {"n": 9}, delay=600) or 0
    taken = queue.claim(engine, "B", limit=1, tasks=frozenset({"f"}))
    assert [j.id for j in taken] == [ids[0]]
    seen = _statements(engine)
    with db.write(engine) as conn:
        completed, follow_ups = queue.complete_and_claim(
            conn, job, [ids[3], later, ids[0], ids[1], ids[2]], queue.DEFAULT_LEASE, frozenset("f")
        )
    # PostgreSQL: one round trip; SQLite (in the process): the two simpler statements
    assert seen == (["UPDATE", "UPDATE"] if db.is_sqlite(engine) else ["UPDATE"])
    assert completed is True
    assert [(j.id, j.args, j.attempts, j.locked_by) for j in follow_ups] == [
        (ids[3], {"n": 3}, 1, "A"),
        (ids[1], {"n": 1}, 1, "A"),
    ]
    rows = _rows(engine)
    assert rows[first] == ("t", "done", "A")
    assert rows[ids[0]] == ("f", "running", "B")
    assert rows[ids[2]] == ("g", "queued", None)
    assert rows[later] == ("f", "queued", None)
    with db.read(engine) as conn:
        done = conn.execute(
            sa.select(jobs.c.last_error, jobs.c.finished_at, jobs.c.attempts).where(
                jobs.c.id == first
            )
        ).one()
    assert (done.last_error, done.finished_at is not None, done.attempts) == (None, True, 1)


@pytest.mark.parametrize("statement", ["complete_and_claim", "hand_over"])
def test_a_job_whose_lease_was_lost_hands_nothing_over(engine: Any, statement: str) -> None:
    """Either way (``hand_over``, PostgreSQL's one statement, runs on both databases here)."""
    first = _enqueue(engine, "t", 0)
    (job,) = queue.claim(engine, "A", limit=1)
    with db.write(engine) as conn:
        follow = queue.enqueue(conn, "f", {"n": 1}) or 0
        # the lease ran out and worker B took the job over
        conn.execute(jobs.update().where(jobs.c.id == first).values(locked_by="B"))
    with db.write(engine) as conn:
        if statement == "hand_over":
            completed, leased = handover.hand_over(
                conn, job, [follow], lease=queue.DEFAULT_LEASE, tasks=frozenset({"f"})
            )
            assert (completed, leased) == (False, [])
        else:
            completed, follow_ups = queue.complete_and_claim(
                conn, job, [follow], queue.DEFAULT_LEASE, frozenset({"f"})
            )
            assert (completed, follow_ups) == (False, [])
    rows = _rows(engine)
    assert rows[first] == ("t", "running", "B")
    assert rows[follow] == ("f", "queued", None)


def test_hand_over_completes_and_leases_in_the_order_given(engine: Any) -> None:
    """``jobs/handover.py``'s statement itself, on both databases."""
    first = _enqueue(engine, "t", 0)
    (job,) = queue.claim(engine, "A", limit=1)
    with db.write(engine) as conn:
        ids = [queue.enqueue(conn, "f", {"n": n}) or 0 for n in range(3)]
        later = queue.enqueue(conn, "f", {"n": 9}, delay=600) or 0
    with db.write(engine) as conn:
        completed, rows = handover.hand_over(
            conn, job, [ids[2], later, ids[0]], lease=queue.DEFAULT_LEASE, tasks=frozenset("f")
        )
    assert completed is True
    assert [(int(r.id), int(r.attempts)) for r in rows] == [(ids[2], 1), (ids[0], 1)]
    got = _rows(engine)
    assert got[first] == ("t", "done", "A")
    assert [got[i] for i in (ids[2], ids[0], ids[1], later)] == [
        ("f", "running", "A"),
        ("f", "running", "A"),
        ("f", "queued", None),
        ("f", "queued", None),
    ]


def _hand_over_jobs(engine: Any, follow: int, tag: int, conn: Any = None) -> list[int]:
    """Claim a new ``t`` job and hand it over with ``follow`` new follow-ups (on ``conn``,
    or in a write transaction of its own); the leased ids."""
    first = _enqueue(engine, "t", tag)
    (job,) = queue.claim(engine, "A", limit=1, tasks=frozenset({"t"}))
    assert job.id == first
    with db.write(engine) as write:
        ids = [queue.enqueue(write, "f", {"n": tag, "i": i}) or 0 for i in range(follow)]
    with nullcontext(conn) if conn is not None else db.write(engine) as use:
        transaction = use.begin() if conn is not None else nullcontext()
        with transaction:
            completed, rows = handover.hand_over(
                use, job, ids, lease=queue.DEFAULT_LEASE, tasks=frozenset({"f", "g"})
            )
    assert completed is True and [int(r.id) for r in rows] == ids
    return ids


def test_on_postgresql_hand_over_is_compiled_once_per_count_of_ids(engine: Any) -> None:
    """The job's and its follow-ups' ids go as parameters of their own, the tasks as an
    array: one statement per count of ids, compiled once (an ``IN`` of a list parameter is
    rendered at each execution)."""
    if db.is_sqlite(engine):
        pytest.skip("PostgreSQL's statement (SQLite runs queue's two statements)")
    texts: list[str] = []
    cached: list[bool] = []

    def seen(_conn: Any, _cursor: Any, statement: str, _p: Any, context: Any, _m: Any) -> None:
        if statement.startswith("UPDATE jobs SET status=CASE"):
            texts.append(statement)
            cached.append(context.cache_hit is CacheStats.CACHE_HIT)

    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        for n, follow in enumerate((1, 3, 1, 3)):
            _hand_over_jobs(engine, follow, 10 + n)
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)
    assert len(texts) == 4 and texts[0] == texts[2] != texts[1] == texts[3]
    assert texts[1].count("jobs.id IN (") == 1 and "jobs.task = ANY" in texts[1]
    assert cached[2:] == [True, True]


def test_on_postgresql_hand_over_runs_its_generic_plan(engine: Any) -> None:
    """PostgreSQL keeps the hand-over's generic plan once it has tried the custom ones (five):
    with the ids as one array its generic plan expected ten of them and cost more, so every
    execution was planned again."""
    if db.is_sqlite(engine):
        pytest.skip("PostgreSQL's plan cache")
    with db.write(engine) as conn:  # a table of a burst's size, as the plans' costs see it
        at = db.db_now(conn)
        done = {"task": "t", "args": "{}", "status": "done", "run_at": at, "created_at": at}
        conn.execute(jobs.insert(), [done] * 5000)
    with engine.connect() as conn:
        conn.commit()
        for n in range(15):  # psycopg prepares at the sixth; five custom plans, then generic
            _hand_over_jobs(engine, 2, 100 + n, conn)
        plans = conn.execute(
            sa.text(
                "SELECT generic_plans, custom_plans FROM pg_prepared_statements"
                " WHERE statement LIKE 'UPDATE jobs SET status=CASE%'"
            )
        ).one()
    assert plans == (5, 5)
