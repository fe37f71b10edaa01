"""Read-only counts for health checks and metrics (``/healthz``, ``/metrics``)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .tables import jobs, payments, stripe_events


@dataclass(frozen=True)
class StatusCount:
    """How many rows of one table are in one status."""

    status: str
    count: int


@dataclass(frozen=True)
class StatusCounts:
    """Rows per status of the tables the service is measured by."""

    jobs: tuple[StatusCount, ...]
    payments: tuple[StatusCount, ...]
    stripe_events: tuple[StatusCount, ...]


def ping(conn: Connection) -> None:
    """One round trip to the database (raises when it cannot answer)."""
    conn.execute(sa.text("SELECT 1"))


def _per_status(conn: Connection, column: sa.ColumnElement[str]) -> tuple[StatusCount, ...]:
    rows = conn.execute(sa.select(column, sa.func.count()).group_by(column)).all()
    counts = [StatusCount(str(status), int(count)) for status, count in rows]
    return tuple(sorted(counts, key=lambda c: c.status))


def status_counts(conn: Connection) -> StatusCounts:
    """Jobs, payments and Stripe events per status (one read transaction)."""
    return StatusCounts(
        jobs=_per_status(conn, jobs.c.status),
        payments=_per_status(conn, payments.c.status),
        stripe_events=_per_status(conn, stripe_events.c.outcome),
    )
