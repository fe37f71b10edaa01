"""One audit run started from the API or the console (``AppContext.caches.audit_runs``):
what :mod:`.audit_runs` starts, follows and returns. A module of its own so that
``app.context`` can name it without importing the audit (which imports the context)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, TypedDict

from ..jsontypes import JsonObject
from .periods import Period


class Report(Protocol):
    """What a run needs of its report (:class:`.period_audit.AuditReport`, which imports
    the context and so cannot be named here)."""

    def to_json(self) -> JsonObject: ...


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
    report: Report | None = None
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
