"""Use cases about the service itself: liveness of the database, metrics, an overview of
what happened to every event and invoice (the demo's account)."""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from typing import TypedDict

from ..jsontypes import JsonObject
from ..store import db
from ..store import invoices as invoice_store
from ..store import overview as overview_store
from ..store import status as status_store
from ..store.invoices import InvoiceRecord, TimelineEntry
from . import supervision
from .accounts import limiter
from .context import AppContext
from .readiness import Check, readiness
from .refusals import TooManyAttempts, Unauthenticated


class ReadinessJson(TypedDict):
    """``/readyz`` and ``system status --json``."""

    ready: bool
    not_ready: list[dict[str, str]]
    degraded: list[dict[str, str]]
    ok: list[str]


@dataclass(frozen=True)
class ReadinessReport:
    """``/readyz`` and ``system status``: every component, and whether the service is ready
    (no component in ``error``). Reasons carry codes and fixes, never secrets or driver text."""

    checks: list[Check]

    @property
    def ready(self) -> bool:
        return all(c.status != "error" for c in self.checks)

    def of(self, status: str) -> list[Check]:
        return [c for c in self.checks if c.status == status]

    def to_dict(self) -> ReadinessJson:
        return {
            "ready": self.ready,
            "not_ready": [c.to_dict() for c in self.of("error")],
            "degraded": [c.to_dict() for c in self.of("warning")],
            "ok": [c.name for c in self.of("ok")],
        }


def readiness_report(ctx: AppContext) -> ReadinessReport:
    return ReadinessReport(readiness(ctx))


def check_database(ctx: AppContext) -> None:
    """Raise when the database does not answer (``/healthz``)."""
    with db.read(ctx.engine) as conn:
        status_store.ping(conn)


def health(ctx: AppContext, *, with_worker: bool) -> str | None:
    """``/healthz``: None when healthy, else the code of what is down: ``E-STORAGE`` (raised by
    the database driver; the caller logs it) or, for a process that runs a worker (``serve``
    without ``--no-worker``), ``E-WORKER-DOWN`` when no worker heartbeat is fresh."""
    check_database(ctx)
    if with_worker and not supervision.worker_status(ctx).running:
        return "E-WORKER-DOWN"
    return None


def metrics_refusal(
    ctx: AppContext, authorization: str | None, ip: str | None = None
) -> Unauthenticated | TooManyAttempts | None:
    """Why ``/metrics`` refuses this ``Authorization`` header (None: allowed). Without
    ``EFACTURA_METRICS_TOKEN`` anyone may read the counts. A wrong token counts as a failed
    attempt of ``ip``, limited like log-ins and API tokens (``app/ratelimit.py``)."""
    expected = ctx.settings.metrics_token
    if not expected:
        return None
    scheme, _, given = (authorization or "").partition(" ")
    if not given.strip():
        return Unauthenticated(
            "E-AUTH-REQUIRED",
            "/metrics needs Authorization: Bearer <EFACTURA_METRICS_TOKEN>.",
            "/metrics cere Authorization: Bearer <EFACTURA_METRICS_TOKEN>.",
        )
    limits = limiter(ctx)
    try:
        limits.check(ip)
    except TooManyAttempts as exc:
        return exc
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), expected.encode()
    ):
        limits.failed(ip)
        return Unauthenticated(
            "E-AUTH-TOKEN",
            "Wrong metrics token.",
            "Token de metrici greșit.",
        )
    return None


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


@dataclass(frozen=True)
class Overview:
    """Everything about a run the demo's account tells, read in one transaction."""

    invoices: list[InvoiceRecord]
    timelines: dict[int, list[TimelineEntry]]
    event_ids: dict[str, list[str]]
    """Payment key -> the Stripe events that confirmed it."""
    sent_emails: dict[int, JsonObject]
    """Invoice id -> the detail of its ``email_sent`` timeline line (JSON)."""
    events: list[overview_store.EventOutcome]
    unsent_notices: int


def invoice_progress(ctx: AppContext) -> list[overview_store.InvoiceProgress]:
    """ANAF state, email state and archive of every invoice."""
    with db.read(ctx.engine) as conn:
        return overview_store.invoice_progress(conn)


def overview(ctx: AppContext) -> Overview:
    with db.read(ctx.engine) as conn:
        rows = invoice_store.in_order(conn)
        sent = invoice_store.details_of(conn, "email_sent")
        return Overview(
            invoices=rows,
            timelines={r.id: invoice_store.timeline(conn, r.id) for r in rows},
            event_ids=overview_store.event_ids_by_payment(conn),
            sent_emails={k: json.loads(v) for k, v in sent.items() if v},
            events=overview_store.event_outcomes(conn),
            unsent_notices=overview_store.unsent_notice_count(conn),
        )


def unfinished_job_errors(ctx: AppContext, limit: int = 5) -> list[str]:
    """The distinct errors of jobs that did not finish (why a run failed), one line each."""
    with db.read(ctx.engine) as conn:
        errors = overview_store.unfinished_job_errors(conn)
    out: list[str] = []
    for e in errors:
        line = f"job {e.task} ({e.status}): {e.last_error.strip().splitlines()[0][:200]}"
        if line not in out:
            out.append(line)
    return out[:limit]
