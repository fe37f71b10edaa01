"""The worker loop survives what it does not expect, its heartbeat is part of readiness, and
the supervisor of ``serve`` brings a dead loop back (issue 14)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from stripe_efactura import app as use_cases
from stripe_efactura.app import readiness, supervision
from stripe_efactura.app.context import AppContext, build_context
from stripe_efactura.config import demo_settings
from stripe_efactura.jobs import heartbeat, queue
from stripe_efactura.jobs.worker import Worker
from stripe_efactura.store import db
from stripe_efactura.store.tables import jobs, workers


@pytest.fixture
def ctx(tmp_path: Path, db_url: str) -> Iterator[AppContext]:
    context = build_context(demo_settings(tmp_path, database_url=db_url))
    use_cases.prepare(context)
    yield context
    context.close()


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Poll until ``condition`` holds (no timing is asserted: the limit only ends a hang)."""
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def job_rows(ctx: AppContext) -> list[tuple[str, str, str | None]]:
    with db.read(ctx.engine) as conn:
        rows = conn.execute(
            sa.select(jobs.c.task, jobs.c.status, jobs.c.last_error)
            .where(jobs.c.task.in_(["boom", "fine"]))
            .order_by(jobs.c.id)
        ).all()
    return [(r.task, r.status, r.last_error) for r in rows]


def enqueue(ctx: AppContext, task: str) -> None:
    with db.write(ctx.engine) as conn:
        queue.enqueue(conn, task, {}, max_attempts=1)


def worker_check(ctx: AppContext) -> readiness.Check:
    return next(c for c in readiness.readiness(ctx) if c.name == "worker")


def test_no_heartbeat_means_no_worker(ctx: AppContext) -> None:
    status = supervision.worker_status(ctx)
    assert (status.running, status.workers) == (False, ())
    check = worker_check(ctx)
    assert (check.status, check.reason_en) == (
        "error",
        "No worker is running: payments are stored but nothing is invoiced.",
    )


def test_a_handler_crash_fails_its_job_with_a_code_and_the_loop_goes_on(ctx: AppContext) -> None:
    done: list[str] = []

    def boom(job: queue.Job) -> None:
        raise ZeroDivisionError("division by zero")

    enqueue(ctx, "boom")
    enqueue(ctx, "fine")
    worker = Worker(ctx.engine, {"boom": boom, "fine": lambda j: done.append("fine")})
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    try:
        wait_for(lambda: done == ["fine"], "the second job")
        assert thread.is_alive()
        assert worker_check(ctx).status == "ok"
    finally:
        stop.set()
        thread.join(timeout=30)
    (boom_row, fine_row) = job_rows(ctx)
    assert boom_row[:2] == ("boom", "dead")
    assert boom_row[2] is not None
    assert boom_row[2].splitlines()[0] == "E-JOB-CRASH: ZeroDivisionError: division by zero"
    assert fine_row == ("fine", "done", None)
    (beat,) = supervision.worker_status(ctx).workers
    assert (beat.worker_id, beat.state) == (worker.worker_id, heartbeat.STOPPED)
    assert worker_check(ctx).status == "error"


def test_a_failure_of_the_loop_itself_is_survived(
    ctx: AppContext, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The schedules tick raises something the project does not know (once): the loop logs
    it with its code and runs the next job."""
    real_tick = queue.tick_schedules
    calls = [0]

    def flaky_tick(engine: sa.engine.Engine) -> int:
        calls[0] += 1
        if calls[0] == 1:
            raise KeyError("surprise")
        return real_tick(engine)

    monkeypatch.setattr(queue, "tick_schedules", flaky_tick)
    done: list[str] = []
    enqueue(ctx, "fine")
    worker = Worker(ctx.engine, {"fine": lambda j: done.append("fine")}, poll_interval=0.01)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    with caplog.at_level("WARNING", logger="stripe_efactura.worker"):
        thread.start()
        try:
            wait_for(lambda: done == ["fine"], "the job after the loop failure")
        finally:
            stop.set()
            thread.join(timeout=30)
    assert [r.getMessage() for r in caplog.records if "E-WORKER-LOOP" in r.getMessage()] == [
        "worker: [E-WORKER-LOOP] KeyError('surprise') (trying again in 0 s)"
    ]


def test_a_dead_loop_fails_readiness_and_the_supervisor_brings_it_back(
    ctx: AppContext, caplog: pytest.LogCaptureFixture
) -> None:
    """The loop dies of an unexpected exception: readiness says no worker runs (with the
    crash), then the supervisor restarts the loop, readiness is ok and jobs run again."""
    gate = threading.Event()
    crashes = [0]
    done: list[str] = []

    def idle() -> None:
        if crashes[0] == 0:
            crashes[0] += 1
            raise RuntimeError("the loop is gone")

    worker = Worker(
        ctx.engine, {"fine": lambda j: done.append("fine")}, on_idle=idle, poll_interval=0.01
    )
    supervised = supervision.SupervisedWorker(worker, first_delay=3600.0)
    real_wait = supervised.stop_event.wait

    def wait(timeout: float | None = None) -> bool:
        if timeout == 3600.0:  # the restart pause: held until the test has looked
            gate.wait(30)
            return supervised.stop_event.is_set()
        return real_wait(timeout)

    supervised.stop_event.wait = wait  # type: ignore[method-assign]
    with caplog.at_level("ERROR", logger="stripe_efactura.worker"):
        supervised.start()
        try:
            wait_for(lambda: supervised.restarts == 1, "the crash")
            wait_for(lambda: not supervision.worker_status(ctx).running, "the crash recorded")
            check = worker_check(ctx)
            assert check.status == "error"
            assert check.reason_en == (
                "No worker is running: payments are stored but nothing is invoiced. "
                "Last error: E-WORKER-CRASH: RuntimeError: the loop is gone."
            )
            (beat,) = supervision.worker_status(ctx).workers
            assert (beat.state, beat.restarts) == (heartbeat.CRASHED, 1)
            gate.set()
            wait_for(lambda: supervision.worker_status(ctx).running, "the restart")
            enqueue(ctx, "fine")
            wait_for(lambda: done == ["fine"], "a job after the restart")
            assert worker_check(ctx).status == "ok"
            assert supervised.thread.is_alive()
        finally:
            gate.set()
            supervised.stop(timeout=30)
    assert not supervised.thread.is_alive()
    expected = (
        f"worker {worker.worker_id} died: E-WORKER-CRASH: RuntimeError: the loop is gone "
        "(restarting in 3600 s)"
    )
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == [expected]


def test_a_silent_heartbeat_is_a_dead_worker(ctx: AppContext) -> None:
    """A process killed without a word: its ``running`` row goes stale."""
    heartbeat.beat(ctx.engine, "host:1:abc", starting=True)
    assert supervision.worker_status(ctx).running
    with db.write(ctx.engine) as conn:
        old = db.db_now(conn) - heartbeat.STALE
        conn.execute(workers.update().values(beat_at=old))
    status = supervision.worker_status(ctx)
    assert status.running is False
    assert status.to_dict()["workers"][0]["state"] == "silent"  # type: ignore[index]
    assert worker_check(ctx).status == "error"
