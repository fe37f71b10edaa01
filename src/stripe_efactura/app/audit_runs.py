"""Audit runs started from the API or the console: the period audit in a thread of this process.

An audit of a busy month reads Stripe and the SPV for up to a minute, longer than an HTTP
request should wait. :func:`start` records who started it (audit log ``period.audit``), runs
:func:`app.period_audit.run_audit` in a background thread and returns at once; :func:`get`
returns the run with its progress per stage (``stripe:balance``, ``stripe:payouts``,
``anaf:spv``, …) and, once done, its report or its coded error. Starting the same period and
mode again while a run is going returns that run (the two would share one checkpoint).

Runs live in this process (the last :data:`KEEP`): behind a load balancer, poll the machine
that started it, or use ``stripe-efactura audit``, which prints the same report.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypedDict

from ..errors import EfacturaError
from ..jsontypes import JsonObject
from . import audit_log
from .audit_log import Actor
from .context import AppContext
from .period_audit import AuditReport, run_audit
from .periods import Period
from .refusals import NotFound

KEEP = 20
_LOCK = threading.Lock()


class Progress(TypedDict):
    stage: str
    done: int
    total: int | None


AuditRunJson = TypedDict(
    "AuditRunJson",
    {
        "id": str,
        "state": str,
        "period": str,
        "from": str,
        "to": str,
        "livemode": bool,
        "check_spv": bool,
        "started_by": str,
        "started_at": str,
        "finished_at": str | None,
        "progress": list[Progress],
        "report": JsonObject | None,
        "error": dict[str, str] | None,
    },
)
"""A run as ``GET /audits/{id}`` returns it."""


@dataclass
class AuditRun:
    id: str
    period: Period
    livemode: bool
    check_spv: bool
    started_by: str
    started_at: datetime
    state: str = "running"
    """``running``, ``done`` or ``failed``."""
    stages: dict[str, tuple[int, int | None]] = field(default_factory=dict)
    """stage -> (done, total or None when not known yet)."""
    report: AuditReport | None = None
    error: dict[str, str] | None = None
    finished_at: datetime | None = None

    def step(self, stage: str, done: int, total: int | None) -> None:
        self.stages[stage] = (done, total)

    def to_json(self) -> AuditRunJson:
        return {
            "id": self.id,
            "state": self.state,
            "period": self.period.label,
            "from": self.period.start.isoformat(),
            "to": self.period.last_day.isoformat(),
            "livemode": self.livemode,
            "check_spv": self.check_spv,
            "started_by": self.started_by,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "progress": [{"stage": s, "done": d, "total": t} for s, (d, t) in self.stages.items()],
            "report": self.report.to_json() if self.report is not None else None,
            "error": self.error,
        }


def _runs(ctx: AppContext) -> dict[str, AuditRun]:
    return ctx.caches.audit_runs


def _work(ctx: AppContext, run: AuditRun) -> None:
    try:
        run.report = run_audit(
            ctx, run.period, livemode=run.livemode, progress=run.step, check_spv=run.check_spv
        )
        run.state = "done"
    except EfacturaError as exc:
        run.error = {
            "code": exc.code,
            "message_en": exc.message,
            "message_ro": exc.message_ro or exc.message,
        }
        run.state = "failed"
    except Exception as exc:  # reported on the run instead of dying silently in the thread
        run.error = {
            "code": "E-INTERNAL",
            "message_en": f"the audit stopped: {type(exc).__name__}",
            "message_ro": f"auditul s-a oprit: {type(exc).__name__}",
        }
        run.state = "failed"
    finally:
        run.finished_at = ctx.clock()


def start(
    ctx: AppContext,
    actor: Actor,
    period: Period,
    *,
    livemode: bool = True,
    check_spv: bool = True,
    background: bool = True,
) -> AuditRun:
    """Start (or join) the audit of ``period``; ``background=False`` runs it here."""
    with _LOCK:
        runs = _runs(ctx)
        for run in runs.values():
            same = (run.period, run.livemode, run.check_spv) == (period, livemode, check_spv)
            if same and run.state == "running":
                return run
        run = AuditRun(
            secrets.token_urlsafe(9), period, livemode, check_spv, actor.name, ctx.clock()
        )
        runs[run.id] = run
        for old in list(runs)[:-KEEP]:
            del runs[old]
    audit_log.record_now(
        ctx,
        actor,
        "period.audit",
        "period",
        period.label,
        after={"run": run.id, "livemode": livemode, "spv": check_spv},
    )
    if background:
        threading.Thread(target=_work, args=(ctx, run), name="audit-run", daemon=True).start()
    else:
        _work(ctx, run)
    return run


def get(ctx: AppContext, run_id: str) -> AuditRun:
    run = _runs(ctx).get(run_id)
    if run is None:
        raise NotFound(
            "E-AUDIT-RUN-NOT-FOUND",
            f"No audit run {run_id} in this process (runs are kept in memory, the last {KEEP}).",
            f"Nu există rularea de audit {run_id} în acest proces (se păstrează în memorie "
            f"ultimele {KEEP}).",
            field="run",
        )
    return run
