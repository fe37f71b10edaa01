"""Worker heartbeats: one ``workers`` row per worker loop, so that readiness can tell a
running worker from a dead one (also when the worker is another process).

A worker loop writes ``running`` when it starts and then at most every
:data:`BEAT_EVERY` seconds (between jobs too); ``stopped`` when it ends cleanly; its
supervisor writes ``crashed`` with the error when the loop died. A ``running`` row whose
``beat_at`` is older than :data:`STALE` belongs to a worker that died without saying so
(a killed process). Times come from the database clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ..store import db
from ..store.tables import workers

BEAT_EVERY = 5.0
"""Seconds between two heartbeats of a busy worker."""
STALE = timedelta(minutes=3)
"""A ``running`` heartbeat older than this is a dead worker."""
FORGET = timedelta(days=1)
"""Rows of workers gone for this long are deleted when a worker starts."""

RUNNING = "running"
STOPPED = "stopped"
CRASHED = "crashed"


@dataclass(frozen=True)
class Beat:
    worker_id: str
    state: str
    started_at: datetime
    beat_at: datetime
    restarts: int
    last_error: str | None
    age_seconds: float
    """How long ago ``beat_at`` was, by the database clock."""

    @property
    def alive(self) -> bool:
        return self.state == RUNNING and self.age_seconds < STALE.total_seconds()


def beat(
    engine: Engine,
    worker_id: str,
    state: str = RUNNING,
    *,
    error: str | None = None,
    starting: bool = False,
) -> None:
    """Record the worker's state now. ``starting``: the loop (re)starts (``started_at``,
    and old rows of other workers are forgotten). ``error`` is kept until the next start."""
    with db.write(engine) as conn:
        now = db.db_now(conn)
        row = conn.execute(
            sa.select(workers.c.restarts).where(workers.c.worker_id == worker_id)
        ).first()
        values: dict[str, object] = {"state": state, "beat_at": now}
        if error is not None:
            values["last_error"] = error[:2000]
        if starting:
            values["started_at"] = now
            conn.execute(workers.delete().where(workers.c.beat_at < now - FORGET))
        if row is None:
            values.setdefault("started_at", now)
            conn.execute(workers.insert().values(worker_id=worker_id, restarts=0, **values))
            return
        if state == CRASHED:
            values["restarts"] = workers.c.restarts + 1
        conn.execute(workers.update().where(workers.c.worker_id == worker_id).values(**values))


def beats(conn: Connection) -> list[Beat]:
    """Every known worker, the most recent heartbeat first."""
    now = db.db_now(conn)
    rows = conn.execute(sa.select(workers).order_by(workers.c.beat_at.desc())).all()
    return [
        Beat(
            worker_id=r.worker_id,
            state=r.state,
            started_at=r.started_at,
            beat_at=r.beat_at,
            restarts=int(r.restarts),
            last_error=r.last_error,
            age_seconds=(now - r.beat_at).total_seconds(),
        )
        for r in rows
    ]
