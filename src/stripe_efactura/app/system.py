"""Use cases about the service itself: liveness of the database, metrics."""

from __future__ import annotations

from ..store import db
from ..store import status as status_store
from .context import AppContext


def check_database(ctx: AppContext) -> None:
    """Raise when the database does not answer (``/healthz``)."""
    with db.read(ctx.engine) as conn:
        status_store.ping(conn)


def metrics_text(ctx: AppContext) -> str:
    """The Prometheus text exposition of rows per status (``/metrics``)."""
    with db.read(ctx.engine) as conn:
        counts = status_store.status_counts(conn)
    lines: list[str] = []
    for name, items in (
        ("efactura_jobs", counts.jobs),
        ("efactura_payments", counts.payments),
        ("efactura_stripe_events", counts.stripe_events),
    ):
        lines.append(f"# TYPE {name} gauge")
        for item in items:
            lines.append(f'{name}{{status="{item.status}"}} {item.count}')
    return "\n".join(lines) + "\n"
