"""Job ``period_audit``: the audit of the current and the previous month, on a schedule.

Registered at start-up every ``[audit] every_hours`` (default 24; 0 turns it off). Each
finding becomes one ``reconciliation`` notice in the merchant's digest email, once (the ref
names the period, the code and what it is about, so a finding that stays is not sent again
every day). An audit that cannot read Stripe or ANAF is retried by the job queue; its
checkpoint makes the retry resume where it stopped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ..errors import Problem
from ..store import db
from . import notices
from .audit_fetch import key_livemode
from .audit_findings import Finding
from .context import AppContext
from .period_audit import run_audit
from .periods import current_and_previous, ro_day

log = logging.getLogger("stripe_efactura.audit")


@dataclass(frozen=True)
class ScheduledResult:
    periods: tuple[str, ...]
    findings: int
    notified: int


def _problem(f: Finding) -> Problem:
    return Problem(
        code=f.code,
        field="audit",
        message_ro=f.message_ro,
        message_en=f.message_en,
        hint=f.fix,
        hint_ro=f.fix,
        fatal=False,
    )


def scheduled_audit(ctx: AppContext) -> ScheduledResult:
    """Audit this month and the previous one (the books of the Stripe key's mode); notify
    new findings. Without a
    Stripe API key there is nothing to compare with: the job does nothing."""
    if ctx.stripe is None or not hasattr(ctx.stripe, "list_balance_transactions"):
        log.info("period audit skipped: no Stripe API key (EFACTURA_STRIPE_API_KEY)")
        return ScheduledResult((), 0, 0)
    live = key_livemode(ctx.settings.stripe_api_key) is not False  # a test key: test books
    now = ctx.clock()
    labels: list[str] = []
    found = notified = 0
    for period in reversed(current_and_previous(ro_day(now))):
        report = run_audit(ctx, period, livemode=live, check_spv=ctx.settings.audit.check_spv)
        labels.append(period.label)
        found += len(report.findings)
        with db.write(ctx.engine) as conn:
            for f in report.findings:
                ref = f"audit:{period.label}:{f.code}:{f.ref}"
                if notices.record_once(
                    conn,
                    "reconciliation",
                    ref,
                    f"Reconcilierea {period.label}: {f.message_ro}",
                    [_problem(f)],
                    title_en=f"Reconciliation {period.label}: {f.message_en}",
                    livemode=live,
                ):
                    notified += 1
    log.info("period audit %s: %d findings, %d new notices", ", ".join(labels), found, notified)
    return ScheduledResult(tuple(labels), found, notified)
