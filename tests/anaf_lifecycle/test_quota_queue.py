"""Jobs out of global quota queue for the window instead of all waking at its opening.

A backlog of uploads waits for the shared 60-second window. Each waiting job is put at the
bucket boundary where the window has room for it behind the jobs already queued
(``anaf_jobs.in_line``), so nearly every wake-up makes its call. Before, every waiter woke at
the first boundary with room and all but that boundary's few went back to sleep: the first
scenario below ran 60 ``anaf_step`` jobs for 30 waiting uploads, 30 of them wasted.

The jobs run through their real handlers on the fake clock, the queue's clock following it."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from stripe_efactura import app
from stripe_efactura.anaf.quotas import Limit, QuotaKind, QuotaPolicy, Window
from stripe_efactura.app import anaf_intent, anaf_jobs, anaf_port, anaf_tuning
from stripe_efactura.jobs import queue
from stripe_efactura.store import anaf_quota, anaf_work, db
from stripe_efactura.store.anaf_work import AnafState, AnafWork
from stripe_efactura.store.tables import jobs

#: 10 calls in any 60 s (7 buckets of 10 s); polls come hours after the uploads, so that the
#: uploads alone compete for the window.
TEN_A_MINUTE = anaf_tuning.Tuning(
    policy=QuotaPolicy(
        {**QuotaPolicy.default().limits, QuotaKind.GLOBAL: Limit(10, Window.MINUTE)}
    ),
    list_status=False,
    poll_scale=1000.0,
)
TASKS = ["anaf_step", "submit_anaf"]


class Jobs:
    """Runs the queued ANAF jobs of ``env`` in due-time order on the fake clock, counting the
    wake-ups that found the global window full again."""

    def __init__(self, env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
        self.env = env
        self.handlers = app.handlers(env.ctx)
        self.ran: Counter[str] = Counter()
        self.out_of_quota: Counter[str] = Counter()
        self.task = ""
        monkeypatch.setattr(db, "db_now", lambda _conn: db.utc_naive(env.clock.now()))
        slot = anaf_quota.slot  # ``take`` and the callers that end their transaction first

        def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
            wait = slot(*args, **kwargs)
            if wait is not None:
                self.out_of_quota[f"{self.task}: {wait.kind}"] += 1
            return wait

        monkeypatch.setattr(anaf_quota, "slot", spy)

    def submit(self, count: int) -> list[int]:
        ids = [self.env.issue()[0] for _ in range(count)]
        with db.write(self.env.ctx.engine) as conn:
            for invoice_id in ids:
                queue.enqueue(conn, "submit_anaf", {"invoice_id": invoice_id})
        return ids

    def jump(self) -> None:
        """Submit one invoice and run its job at once, ahead of the due ones (as a worker runs
        the follow-up of the invoice it just issued)."""
        (invoice_id,) = self.submit(1)
        with db.write(self.env.ctx.engine) as conn:
            row = conn.execute(
                sa.select(jobs.c.id).where(jobs.c.args == f'{{"invoice_id": {invoice_id}}}')
            ).scalar_one()
            (job,) = queue.claim_ids(conn, "test", [int(row)])
        self.task = job.task
        self.handlers[job.task](job)
        self.ran[job.task] += 1

    def run(self, until: datetime) -> None:
        """Run every job due up to ``until``."""
        for _ in range(10_000):
            with db.read(self.env.ctx.engine) as conn:
                row = conn.execute(
                    sa.select(jobs.c.id, jobs.c.run_at)
                    .where(jobs.c.status == "queued", jobs.c.task.in_(TASKS))
                    .order_by(jobs.c.run_at, jobs.c.id)
                    .limit(1)
                ).first()
            if row is None or row.run_at.replace(tzinfo=UTC) > until:
                return
            due = row.run_at.replace(tzinfo=UTC)
            if due > self.env.clock.now():
                self.env.clock.advance(due - self.env.clock.now())
            with db.write(self.env.ctx.engine) as conn:
                (job,) = queue.claim_ids(conn, "test", [int(row.id)])
            self.task = job.task
            self.handlers[job.task](job)
            with db.write(self.env.ctx.engine) as conn:
                queue.complete(conn, job)
            self.ran[job.task] += 1
        raise AssertionError("the jobs did not settle")

    def uploads(self, start: datetime) -> Counter[float]:
        """Uploads by second after ``start``."""
        return Counter(
            (t - start).total_seconds()
            for t, _m, target in self.env.state.request_log
            if "/upload" in target
        )


def test_a_backlog_wakes_one_window_s_worth_at_a_time(make_env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    env = make_env(tune=TEN_A_MINUTE)
    start = env.clock.now()  # a bucket boundary
    runner = Jobs(env, monkeypatch)
    ids = runner.submit(40)
    runner.run(start + timedelta(minutes=10))
    # 10 at once, then 10 each time the window has let the previous 10 go (70 s: 7 buckets),
    # a second after the boundary (anaf_jobs.LINE_AFTER)
    assert runner.uploads(start) == {0.0: 10, 71.0: 10, 141.0: 10, 211.0: 10}
    # every waiting upload woke once, when its slot opened: no wake-up was wasted
    assert runner.ran == {"submit_anaf": 40, "anaf_step": 30}
    assert runner.out_of_quota == {"submit_anaf: global": 30}
    assert {env.row(i).anaf_state for i in ids} == {"uploaded"}
    runner.run(start + timedelta(days=2))
    assert [env.row(i).anaf_state for i in ids] == ["ok"] * 40
    numbers = sorted(m.invoice_number for m in env.state.uploads())
    assert numbers == sorted(env.row(i).number for i in ids)  # one upload each


def test_a_slot_taken_out_of_line_costs_one_wasted_wake_up_per_boundary(
    make_env, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    env = make_env(tune=TEN_A_MINUTE)
    start = env.clock.now()
    runner = Jobs(env, monkeypatch)
    runner.submit(40)
    runner.run(start + timedelta(seconds=69))
    env.clock.advance(start + timedelta(seconds=70) - env.clock.now())  # the window opens ...
    runner.jump()  # ... and a fresh upload takes a slot first
    runner.run(start + timedelta(minutes=10))
    # the waiter left without a slot at 71 s retries at the next boundary (140 s), ahead of
    # the line, whose last one then does the same: one wasted wake-up per boundary until the
    # line has drained, and nobody waits more than one boundary longer than its turn
    assert runner.uploads(start) == {
        0.0: 10,
        70.0: 1,
        71.0: 9,
        140.0: 1,
        141.0: 9,
        210.0: 1,
        211.0: 9,
        280.0: 1,
    }
    assert runner.ran == {"submit_anaf": 41, "anaf_step": 33}
    assert runner.out_of_quota == {"submit_anaf: global": 30, "anaf_step: global": 3}
    assert len(env.state.uploads()) == 41


def test_waiters_fill_each_boundary_with_the_room_it_opens(make_env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    env = make_env(tune=TEN_A_MINUTE)
    start = env.clock.now()
    runner = Jobs(env, monkeypatch)
    ids: list[int] = []
    for second, count in ((0, 4), (10, 3), (20, 3), (30, 12)):
        env.clock.advance(start + timedelta(seconds=second) - env.clock.now())
        ids += runner.submit(count)
        runner.run(env.clock.now())
    runner.run(start + timedelta(minutes=10))
    # the window frees 4, 3, 3 at 70, 80, 90 s (the buckets of 0, 10, 20 s leave it); the
    # 11th and 12th waiters wait for the calls of 70 s to leave it in turn, at 140 s
    assert runner.uploads(start) == {0: 4, 10: 3, 20: 3, 71: 4, 81: 3, 91: 3, 141: 2}
    assert runner.ran == {"submit_anaf": 22, "anaf_step": 12}
    assert runner.out_of_quota == {"submit_anaf: global": 12}
    assert {env.row(i).anaf_state for i in ids} == {"uploaded"}
    assert len(env.state.uploads()) == 22


def _wait(room: list[int], at: datetime) -> anaf_quota.QuotaWait:
    opens = tuple((at + timedelta(seconds=10 * k), r) for k, r in enumerate(room))
    until = next(t for t, r in opens if r > 0)
    return anaf_quota.QuotaWait("global", until, opens=opens)


START = datetime(2026, 3, 2, 8, 0, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("ahead", "seconds"),
    [(0, 30), (3, 30), (4, 40), (6, 40), (7, 50), (9, 50), (10, 100), (13, 100), (14, 110)],
)
def test_the_turn_of_a_waiter_behind_others(ahead: int, seconds: int) -> None:
    # room 0, 0, 0, 4, 7, 10, 10 at the next 7 boundaries; after them it repeats, 10 more
    wait = _wait([0, 0, 0, 4, 7, 10, 10], START)
    assert wait.until == START + timedelta(seconds=30)
    assert anaf_quota.turn(wait, ahead) == START + timedelta(seconds=seconds)


def test_a_per_message_wait_keeps_its_own_time() -> None:
    wait = anaf_quota.QuotaWait("stareMesaj", START, key="5001")
    assert anaf_quota.turn(wait, 500) == START


def test_the_window_s_wait_tells_each_boundary_s_room(env) -> None:  # type: ignore[no-untyped-def]
    policy = TEN_A_MINUTE.policy
    now = START + timedelta(seconds=5)  # bucket of 08:00:10
    with db.write(env.ctx.engine) as conn:
        for second, calls in ((0, 4), (10, 3), (20, 3)):
            for _ in range(calls):
                anaf_quota.take(conn, policy, now + timedelta(seconds=second), QuotaKind.GLOBAL, "")
    with pytest.raises(anaf_quota.QuotaWait) as caught, db.write(env.ctx.engine) as conn:
        anaf_quota.take(conn, policy, now + timedelta(seconds=30), QuotaKind.GLOBAL, "")
    boundary = START + timedelta(seconds=40)
    assert caught.value.opens == tuple(
        (boundary + timedelta(seconds=10 * k), room)
        for k, room in enumerate([0, 0, 0, 4, 7, 10, 10])
    )
    assert caught.value.until == boundary + timedelta(seconds=30)


def test_a_job_waits_at_most_the_horizon_past_the_opening(env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(db, "db_now", lambda _conn: db.utc_naive(START))
    wait = _wait([0, 0, 0, 4, 7, 10, 10], START)  # opens 30 s from now

    def enqueue(task: str, delays: range, reason: str | None = anaf_jobs.IN_LINE) -> None:
        with db.write(env.ctx.engine) as conn:
            for n, delay in enumerate(delays):
                queue.enqueue(conn, task, {"n": n}, delay=float(delay), reason=reason)

    enqueue("anaf_step", range(20, 25))  # due before the opening: not ahead
    enqueue("anaf_step", range(30 + 900, 30 + 905))  # past the horizon: not ahead
    enqueue("anaf_step", range(30, 60), reason=None)  # polls: they may make no call
    enqueue("fetch_bnr", range(30, 60), reason="waits for BNR")  # waits for something else
    enqueue("anaf_step", range(26, 26 + 25))  # 25 ahead: two windows' worth and 5
    with db.write(env.ctx.engine) as conn:
        assert anaf_jobs.in_line(conn, wait, 30.0) == 30.0 + 2 * 70.0 + 10.0 + 1.0
    enqueue("submit_anaf", range(100, 100 + 775))  # 800 ahead: 80 windows, past the horizon
    with db.write(env.ctx.engine) as conn:
        assert anaf_jobs.in_line(conn, wait, 30.0) == 30.0 + 900.0 + 1.0


def test_the_message_list_keeps_its_slots_in_a_full_window(env) -> None:  # type: ignore[no-untyped-def]
    """Uploads and polls stop ``list_reserve`` short of the global limit and the paged message
    list, one call of which answers up to 500 invoices, takes the rest: uploads that fill the
    window cannot starve the status sweep into per-invoice polls."""
    policy = QuotaPolicy(TEN_A_MINUTE.policy.limits, list_reserve=3)
    now = START + timedelta(seconds=5)
    with db.write(env.ctx.engine) as conn:
        for _ in range(7):
            anaf_quota.take(conn, policy, now, QuotaKind.GLOBAL, "")
    with pytest.raises(anaf_quota.QuotaWait), db.write(env.ctx.engine) as conn:
        anaf_quota.take(conn, policy, now, QuotaKind.STATUS, "5001")
    with db.write(env.ctx.engine) as conn:
        for _ in range(3):
            anaf_quota.take(conn, policy, now, QuotaKind.LIST_PAGED, "18547290")
    with pytest.raises(anaf_quota.QuotaWait), db.write(env.ctx.engine) as conn:
        anaf_quota.take(conn, policy, now, QuotaKind.LIST_PAGED, "18547290")
    with db.read(env.ctx.engine) as conn:
        assert anaf_quota.window_calls(conn, now) == 10
    assert (QuotaPolicy.default().list_reserve, TEN_A_MINUTE.policy.list_reserve) == (20, 0)


def test_a_take_with_room_is_one_update_and_a_full_window_still_waits(env) -> None:  # type: ignore[no-untyped-def]
    """The window's first call in a bucket reads the window and adds the bucket's row; the
    next ones are one ``UPDATE`` each (the window's count read inside it); the call past the
    limit changes nothing and waits, as before."""
    policy = TEN_A_MINUTE.policy
    now = START + timedelta(seconds=5)
    statements: list[str] = []

    def seen(*args: object) -> None:
        statements.append(" ".join(str(args[2]).split()))

    sa.event.listen(env.ctx.engine, "before_cursor_execute", seen)
    try:
        for n in range(10):
            with db.write(env.ctx.engine) as conn:
                anaf_quota.take(conn, policy, now, QuotaKind.GLOBAL, "")
            quota = [s for s in statements if "anaf_quota" in s]
            assert [s.split(" ")[0] for s in quota] == (
                ["UPDATE", "SELECT", "INSERT"] if n == 0 else ["UPDATE"]
            ), n
            statements.clear()
        with pytest.raises(anaf_quota.QuotaWait), db.write(env.ctx.engine) as conn:
            anaf_quota.take(conn, policy, now, QuotaKind.GLOBAL, "")
    finally:
        sa.event.remove(env.ctx.engine, "before_cursor_execute", seen)
    with db.read(env.ctx.engine) as conn:
        assert anaf_quota.window_calls(conn, now) == 10


def _transaction_ends(engine: sa.Engine) -> tuple[list[str], Any]:
    """The ends of the engine's transactions from now on, and the function that stops
    recording them."""
    ends: list[str] = []

    def commit(_conn: object) -> None:
        ends.append("commit")

    def rollback(_conn: object) -> None:
        ends.append("rollback")

    sa.event.listen(engine, "commit", commit)
    sa.event.listen(engine, "rollback", rollback)

    def stop() -> None:
        sa.event.remove(engine, "commit", commit)
        sa.event.remove(engine, "rollback", rollback)

    return ends, stop


def test_an_intent_without_a_slot_writes_nothing_and_commits(make_env) -> None:  # type: ignore[no-untyped-def]
    """A full window: ``record_intent`` takes the slot before it writes, so it raises
    ``QuotaWait`` after a transaction that wrote nothing and committed. It rolled back the
    intent it had written: on PostgreSQL a rollback makes psycopg drop every prepared
    statement of the connection, and in a burst most intents found the window full."""
    env = make_env(tune=TEN_A_MINUTE)
    invoice_id, _number = env.issue()
    now = anaf_port.now(env.ctx)
    with db.write(env.ctx.engine) as conn:
        for _ in range(10):
            anaf_quota.take(conn, TEN_A_MINUTE.policy, now, QuotaKind.GLOBAL, "")
    with db.read(env.ctx.engine) as conn:
        seen = anaf_work.load_for_step(conn, invoice_id)
    ends, stop = _transaction_ends(env.ctx.engine)
    try:
        with pytest.raises(anaf_quota.QuotaWait) as caught:
            anaf_intent.record_intent(env.ctx, invoice_id, seen)
    finally:
        stop()
    assert ends == ["commit"]
    assert caught.value.kind == "global"
    row = env.row(invoice_id)
    work = AnafWork.from_json(row.anaf_messages)
    assert (row.anaf_state, work.attempt) == ("pending_upload", None)
    assert "anaf_upload_intent" not in env.events(invoice_id)
    with db.read(env.ctx.engine) as conn:
        assert anaf_quota.window_calls(conn, now) == 10


def test_an_intent_that_finds_the_invoice_moved_on_gives_its_slot_back(make_env) -> None:  # type: ignore[no-untyped-def]
    """The slot taken first goes back when the invoice turns out to have moved on: the window
    counts the one upload made, not the intent that found nothing to do."""
    env = make_env(tune=TEN_A_MINUTE)
    invoice_id, _number = env.issue()
    now = anaf_port.now(env.ctx)
    with db.read(env.ctx.engine) as conn:
        seen = anaf_work.load_for_step(conn, invoice_id)
    assert isinstance(anaf_intent.record_intent(env.ctx, invoice_id, seen), anaf_intent.Intent)
    again = anaf_intent.record_intent(env.ctx, invoice_id, seen)  # the row is uploading now
    assert again == anaf_port.Step(AnafState.UPLOADING, 0.0, "moved on")
    with db.read(env.ctx.engine) as conn:
        assert anaf_quota.window_calls(conn, now) == 1


def test_a_call_slot_refused_ends_its_transaction_with_a_commit(make_env) -> None:  # type: ignore[no-untyped-def]
    """``anaf_port.take_quota`` (status, downloads, lists) raises ``QuotaWait`` after its
    transaction committed, as the intent does."""
    env = make_env(tune=TEN_A_MINUTE)
    now = anaf_port.now(env.ctx)
    with db.write(env.ctx.engine) as conn:
        for _ in range(10):
            anaf_quota.take(conn, TEN_A_MINUTE.policy, now, QuotaKind.GLOBAL, "")
    ends, stop = _transaction_ends(env.ctx.engine)
    try:
        with pytest.raises(anaf_quota.QuotaWait):
            anaf_port.take_quota(env.ctx, QuotaKind.STATUS, "5001")
    finally:
        stop()
    assert ends == ["commit"]
    with db.read(env.ctx.engine) as conn:
        assert anaf_quota.window_calls(conn, now) == 10
