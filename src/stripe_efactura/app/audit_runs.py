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

from ..errors import EfacturaError
from . import audit_log
from .audit_log import Actor
from .audit_run import AuditRun
from .audit_run import AuditRunJson as AuditRunJson  # named here by web/api/routes_month
from .context import AppContext
from .period_audit import run_audit
from .periods import Period
from .refusals import NotFound

KEEP = 20
_LOCK = threading.Lock()


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
