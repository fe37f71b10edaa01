"""The worker loop: claim due jobs, run their handler, complete or retry them.

``serve`` runs one worker in a background thread of the web process; ``worker`` runs it in
the foreground. Many workers (threads or processes, on SQLite or PostgreSQL) may run at
once: claims are leased and completions fenced (see ``jobs.queue``).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import traceback
import uuid
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Engine

from ..errors import EfacturaError, RetryLater
from ..store import db
from . import queue

log = logging.getLogger("stripe_efactura.worker")

Handler = Callable[[queue.Job], object]
"""A job's handler; what it returns is ignored (use cases return their outcome)."""


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
        on_idle: Callable[[], Any] | None = None,
    ) -> None:
        self.engine = engine
        self.handlers = dict(handlers)
        self.worker_id = worker_id or new_worker_id()
        self.batch = batch
        self.lease = lease
        self.poll_interval = poll_interval
        self.on_idle = on_idle

    def run_once(self) -> int:
        """Tick the schedules, claim a batch and run it; return how many jobs ran."""
        queue.tick_schedules(self.engine)
        claimed = queue.claim(
            self.engine,
            self.worker_id,
            limit=self.batch,
            lease=self.lease,
            tasks=frozenset(self.handlers),
        )
        for job in claimed:
            self._run(job)
        return len(claimed)

    def _run(self, job: queue.Job) -> None:
        handler = self.handlers[job.task]
        try:
            handler(job)
        except RetryLater as exc:
            with db.write(self.engine) as conn:
                if exc.count_attempt:
                    queue.fail(conn, job, str(exc), delay=exc.delay_seconds)
                else:
                    queue.release(conn, job, delay=exc.delay_seconds or 1.0)
            log.info("job %s %s waits: %s", job.id, job.task, exc)
            return
        except PermanentJobError as exc:
            with db.write(self.engine) as conn:
                queue.fail(conn, job, str(exc), permanent=True)
            log.error("job %s %s failed permanently: %s", job.id, job.task, exc)
            return
        except Exception as exc:
            detail = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=8)}"
            with db.write(self.engine) as conn:
                status = queue.fail(conn, job, detail)
            log.warning("job %s %s failed (%s): %s", job.id, job.task, status, exc)
            return
        with db.write(self.engine) as conn:
            if not queue.complete(conn, job):
                log.warning("job %s %s: lease lost before completion", job.id, job.task)

    def run(self, stop: threading.Event) -> None:
        """Run until ``stop`` is set."""
        log.info("worker %s started", self.worker_id)
        while not stop.is_set():
            try:
                ran = self.run_once()
            except EfacturaError as exc:
                log.warning("worker: %s", exc)
                ran = 0
            if ran == 0:
                if self.on_idle is not None:
                    self.on_idle()
                stop.wait(self.poll_interval)
        log.info("worker %s stopped", self.worker_id)

    def drain(self, *, max_rounds: int = 1000) -> int:
        """Run until no job is due (tests, the demo, ``ingest``); return jobs run."""
        total = 0
        for _ in range(max_rounds):
            ran = self.run_once()
            total += ran
            if ran == 0:
                break
        return total
