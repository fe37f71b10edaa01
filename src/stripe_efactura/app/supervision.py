"""The worker inside ``serve``, supervised; and whether any worker is running.

:class:`SupervisedWorker` runs a :class:`~stripe_efactura.jobs.worker.Worker` in a daemon
thread and restarts it when its loop dies (an exception outside the project's error tree, the
database gone at start-up): the crash is logged with ``E-WORKER-CRASH`` and written to the
worker's heartbeat row (state ``crashed``), and the loop starts again after 1 s, 2 s, 4 s …
(at most one minute; back to 1 s once it ran for a minute). Webhooks are never acknowledged
by a process whose worker silently stopped: while the loop is down, :func:`worker_status` says
so and readiness fails.

:func:`worker_status` reads the heartbeats of every worker (threads of ``serve`` and
``stripe-efactura worker`` processes alike, see ``jobs/heartbeat.py``).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from ..errors import EfacturaError
from ..jobs import heartbeat
from ..jobs.worker import Worker
from ..store import db
from .context import AppContext

__all__ = ["RESTART_CAP", "SupervisedWorker", "WorkerStatus", "worker_status"]

log = logging.getLogger("stripe_efactura.worker")

RESTART_FIRST = 1.0
RESTART_CAP = 60.0
HEALTHY_AFTER = 60.0
"""A loop that ran this long before dying restarts after :data:`RESTART_FIRST` again."""


class SupervisedWorker:
    """One worker loop in a daemon thread, restarted whenever it dies (see the module)."""

    def __init__(
        self, worker: Worker, *, first_delay: float = RESTART_FIRST, cap: float = RESTART_CAP
    ) -> None:
        self.worker = worker
        self.first_delay = first_delay
        self.cap = cap
        self.restarts = 0
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._main, name="worker", daemon=True)

    def start(self) -> SupervisedWorker:
        self.thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self.stop_event.set()
        if self.thread.is_alive():
            self.thread.join(timeout=timeout)

    def _main(self) -> None:
        delay = self.first_delay
        while not self.stop_event.is_set():
            started = time.monotonic()
            try:
                self.worker.run(self.stop_event)
                return
            except Exception as exc:  # the supervisor outlives every failure of the loop
                if time.monotonic() - started >= HEALTHY_AFTER:
                    delay = self.first_delay
                self.restarts += 1
                self._crashed(exc, delay)
            self.stop_event.wait(delay)
            delay = min(self.cap, delay * 2)

    def _crashed(self, exc: Exception, delay: float) -> None:
        text = f"E-WORKER-CRASH: {type(exc).__name__}: {exc}"
        log.error("worker %s died: %s (restarting in %.0f s)", self.worker.worker_id, text, delay)
        log.debug("worker crash", exc_info=exc)
        try:
            heartbeat.beat(self.worker.engine, self.worker.worker_id, heartbeat.CRASHED, error=text)
        except EfacturaError as db_exc:
            log.warning("worker %s: cannot record the crash: %s", self.worker.worker_id, db_exc)


@dataclass(frozen=True)
class WorkerStatus:
    """Whether at least one worker loop is running now, and what is known about the rest."""

    running: bool
    workers: tuple[heartbeat.Beat, ...]

    @property
    def reason_en(self) -> str:
        if self.running:
            alive = sum(1 for b in self.workers if b.alive)
            return f"{alive} worker(s) running."
        return "No worker is running: payments are stored but nothing is invoiced." + (
            f" Last error: {self.last_error}." if self.last_error else ""
        )

    @property
    def reason_ro(self) -> str:
        if self.running:
            alive = sum(1 for b in self.workers if b.alive)
            return f"{alive} worker(e) rulează."
        return "Niciun worker nu rulează: plățile sunt păstrate, dar nu se facturează nimic." + (
            f" Ultima eroare: {self.last_error}." if self.last_error else ""
        )

    @property
    def last_error(self) -> str | None:
        """The most recent worker's error (``E-WORKER-CRASH: …``), when it has one."""
        for b in self.workers:
            if b.last_error:
                return b.last_error
        return None

    def to_dict(self) -> dict[str, object]:
        return {
            "running": self.running,
            "workers": [
                {
                    "worker_id": b.worker_id,
                    "state": b.state if b.alive or b.state != heartbeat.RUNNING else "silent",
                    "beat_at": b.beat_at.isoformat(),
                    "started_at": b.started_at.isoformat(),
                    "restarts": b.restarts,
                    "last_error": b.last_error,
                }
                for b in self.workers
            ],
        }


def worker_status(ctx: AppContext) -> WorkerStatus:
    """Whether a worker runs: some heartbeat is ``running`` and younger than
    :data:`~stripe_efactura.jobs.heartbeat.STALE`. Reads the database only."""
    with db.read(ctx.engine) as conn:
        found = tuple(heartbeat.beats(conn))
    return WorkerStatus(any(b.alive for b in found), found)
