"""The worker loop: claim due jobs, run their handler, complete or retry them.

``serve`` runs one worker in a background thread of the web process (supervised, see
``app/supervision.py``); ``worker`` runs it in the foreground. Many workers (threads or
processes, on SQLite or PostgreSQL) may run at once: claims are leased and completions fenced
(see ``jobs.queue``).

Nothing stops the loop but ``stop``: a handler's unexpected exception fails its job with
``E-JOB-CRASH`` (retried with backoff, ``dead`` after its attempts), and a failure of the loop
itself (the database gone, a bug) is logged with its code and the loop tries again after a
growing pause (at most one minute). While it runs, the loop writes a heartbeat
(``jobs/heartbeat.py``) that readiness reads.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from datetime import timedelta

from sqlalchemy.engine import Engine

from ..errors import EfacturaError, RetryLater
from ..store import db, upkeep
from . import heartbeat, queue

log = logging.getLogger("stripe_efactura.worker")

Handler = Callable[[queue.Job], object]
"""A job's handler; what it returns is ignored (use cases return their outcome)."""


MAX_FOLLOW_UPS = 16
"""Most follow-up jobs (``jobs.queue.claim_ids``) one claimed job may pull into its turn."""

LOOP_PAUSE_CAP = 60.0
"""Longest pause of the loop after repeated failures of its own (seconds)."""

TICK_EVERY = 1.0
"""Seconds between two ticks of the schedules (``jobs.queue.tick_schedules``) in the loop
(``run``); their intervals are minutes or more. A busy loop ticked before every batch: a
write transaction per 8 jobs and worker that fired nothing (``drain`` still ticks every
round)."""


class PermanentJobError(EfacturaError):
    """A job that cannot succeed by retrying; it goes to ``dead`` at once."""

    code = "E-JOB-PERMANENT"


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Worker:
    def __init__(
        self,
        engine: Engine,
        handlers: Mapping[str, Handler],
        *,
        worker_id: str | None = None,
        batch: int = 8,
        lease: timedelta = queue.DEFAULT_LEASE,
        poll_interval: float = 0.5,
        on_idle: Callable[[], object] | None = None,
        on_start: Callable[[], object] | None = None,
        follow_ups: frozenset[str] = frozenset(),
    ) -> None:
        self.engine = engine
        self.handlers = dict(handlers)
        self.worker_id = worker_id or new_worker_id()
        self.batch = batch
        self.lease = lease
        self.poll_interval = poll_interval
        self.on_idle = on_idle
        self.on_start = on_start
        self.follow_ups = follow_ups & frozenset(self.handlers)
        """Tasks run as follow-ups in the turn of the job that enqueued them (none: every
        job waits for a claim)."""
        self._beating = False
        self._last_beat = 0.0
        self._last_tick: float | None = None
        self._last_upkeep = time.monotonic()

    def run_once(self) -> int:
        """Tick the schedules (in the loop: at most every :data:`TICK_EVERY` seconds), claim
        a batch and run it; return how many jobs ran."""
        if self._tick_due():
            queue.tick_schedules(self.engine)
            self._last_tick = time.monotonic()
        if self._beating and time.monotonic() - self._last_upkeep >= upkeep.LOOK_EVERY:
            self._last_upkeep = time.monotonic()
            upkeep.vacuum_jobs(self.engine)
        claimed = queue.claim(
            self.engine,
            self.worker_id,
            limit=self.batch,
            lease=self.lease,
            tasks=frozenset(self.handlers),
        )
        # the batch first (events of one payment that came together are all recorded before
        # anything is issued from them), then each job's follow-ups, depth first
        chains = []
        for job in claimed:
            chains.append(self._run(job, follow=MAX_FOLLOW_UPS))
            self._maybe_beat()
        ran = len(claimed)
        for pending in chains:
            budget = MAX_FOLLOW_UPS - len(pending)
            while pending:
                follow_ups = self._run(pending.pop(0), follow=budget)
                budget -= len(follow_ups)
                pending[:0] = follow_ups
                ran += 1
                self._maybe_beat()
        return ran

    def _tick_due(self) -> bool:
        """Whether to tick the schedules now: always outside the loop (``drain``), in the loop
        when the last tick succeeded :data:`TICK_EVERY` seconds ago or more."""
        last = self._last_tick
        return not self._beating or last is None or time.monotonic() - last >= TICK_EVERY

    def _maybe_beat(self) -> None:
        """A heartbeat when the loop runs (not ``drain``) and the last one is old enough."""
        if self._beating and time.monotonic() - self._last_beat >= heartbeat.BEAT_EVERY:
            heartbeat.beat(self.engine, self.worker_id)
            self._last_beat = time.monotonic()

    def _run(self, job: queue.Job, *, follow: int = 0) -> list[queue.Job]:
        """Run one job; returns the (at most ``follow``) follow-ups it enqueued that were
        claimed for this worker in the transaction that completed it (none after a
        failure)."""
        handler = self.handlers[job.task]
        turn = queue.Turn(job, self.worker_id, self.lease, follow, self.follow_ups)
        try:
            with queue.running(turn):
                handler(job)
        except RetryLater as exc:
            with db.write(self.engine) as conn:
                if exc.count_attempt:
                    queue.fail(conn, job, str(exc), delay=exc.delay_seconds)
                else:
                    queue.release(conn, job, delay=exc.delay_seconds or 1.0, reason=str(exc))
            log.info("job %s %s waits: %s", job.id, job.task, exc)
            return []
        except PermanentJobError as exc:
            with db.write(self.engine) as conn:
                queue.fail(conn, job, str(exc), permanent=True)
            log.error("job %s %s failed permanently: %s", job.id, job.task, exc)
            return []
        except Exception as exc:  # outside the project's error tree: a bug, kept with a code
            brief = f"E-JOB-CRASH: {type(exc).__name__}: {exc}"
            with db.write(self.engine) as conn:
                status = queue.fail(conn, job, f"{brief}\n{traceback.format_exc(limit=8)}")
            log.warning("job %s %s failed (%s): %s", job.id, job.task, status, brief)
            return []
        if turn.finished:  # completed in the handler's last transaction (queue.finish_in)
            if not turn.completed:
                log.warning("job %s %s: lease lost before completion", job.id, job.task)
            return turn.follow_ups
        enqueued = turn.ids
        candidates = enqueued[:follow] if follow > 0 else []
        with db.write_one(self.engine) as conn:  # one statement (on PostgreSQL, autocommit)
            completed, follow_ups = queue.complete_and_claim(
                conn, job, candidates, self.lease, self.follow_ups
            )
        if not completed:
            log.warning("job %s %s: lease lost before completion", job.id, job.task)
        return follow_ups

    def run(self, stop: threading.Event) -> None:
        """Run until ``stop`` is set, writing heartbeats. A failure of the loop itself is
        logged (``E-WORKER-LOOP``) and the loop goes on after a pause; only a failure to
        start (or of ``on_idle``) leaves this method, for the supervisor to restart it."""
        log.info("worker %s started", self.worker_id)
        heartbeat.beat(self.engine, self.worker_id, starting=True)
        if self.on_start is not None:  # e.g. load the validator before the first job
            self.on_start()
        self._beating, self._last_beat = True, time.monotonic()
        failures = 0
        try:
            while not stop.is_set():
                pause = self.poll_interval
                try:
                    self._maybe_beat()
                    ran = self.run_once()
                    failures = 0
                except Exception as exc:
                    failures += 1
                    pause = min(LOOP_PAUSE_CAP, self.poll_interval * 2.0**failures)
                    self._loop_failed(exc, pause)
                    ran = 0
                if ran == 0:
                    if self.on_idle is not None:
                        self.on_idle()
                    stop.wait(pause)
        finally:
            self._beating = False
        try:
            heartbeat.beat(self.engine, self.worker_id, heartbeat.STOPPED)
        except EfacturaError as exc:  # stopping anyway; the heartbeat goes stale
            log.warning("worker %s: cannot record the stop: %s", self.worker_id, exc)
        log.info("worker %s stopped", self.worker_id)

    @staticmethod
    def _loop_failed(exc: Exception, pause: float) -> None:
        text = str(exc) if isinstance(exc, EfacturaError) else f"[E-WORKER-LOOP] {exc!r}"
        log.warning("worker: %s (trying again in %.0f s)", text, pause)
        log.debug("worker loop failure", exc_info=exc)

    def drain(self, *, max_rounds: int = 1000) -> int:
        """Run until no job is due (tests, the demo, ``ingest``); return jobs run."""
        total = 0
        for _ in range(max_rounds):
            ran = self.run_once()
            total += ran
            if ran == 0:
                break
        return total
