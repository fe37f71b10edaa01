"""The pacing of the three-way audit (``AppContext.audit_tuning``, read by
:mod:`.audit_fetch`), in a module of their own so that ``app.context`` can name it without
importing the audit (which imports it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class AuditTuning:
    stripe_rps: float = 20.0
    margin_before: timedelta = timedelta(days=14)
    margin_after: timedelta = timedelta(days=3)
    spv_lag_seconds: float = 120.0
    skew_step_seconds: float = 600.0
    skew_attempts: int = 4
    quota_wait_max_seconds: float = 120.0
    resume_hours: float = 24.0
