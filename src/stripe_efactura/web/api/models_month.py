"""Models of the accountant's month (``/audits``, ``/journal``, ``/period-archive``)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from .models import Strict

MONTH = r"^\d{4}-\d{2}$"


class AuditStart(Strict):
    """A calendar month (`period`) or a range of days (`from`, `to`, inclusive)."""

    period: str | None = Field(default=None, pattern=MONTH, examples=["2026-11"])
    from_: date | None = Field(default=None, alias="from")
    to: date | None = None
    test: bool = Field(default=False, description="Audit the test-mode books (TEST series).")
    spv: bool = Field(default=True, description="Also read ANAF's SPV message list.")


class Finding(BaseModel):
    code: str = Field(description="R-…, explained in docs/reconciliation.md.")
    ref: str = Field(description="The invoice number, payment key or SPV index it is about.")
    message_en: str
    message_ro: str
    fix: str = Field(description="The command that fixes it.")
    link: str = Field(description="The console page where it is fixed.")
    currency: str | None
    amount: str | None = Field(description="In `currency`, decimal text.")
    amount_ron: str | None = Field(description="In RON (None when no BNR rate is known).")
    number: str | None
    day: str | None


class PayoutReport(BaseModel):
    payout: str
    arrival_date: str
    status: str
    currency: str
    amount: str
    invoices: list[str]
    stornos: list[str]
    sums: dict[str, str] = Field(
        description="charges, refunds, disputes (gross), fees (negative), other, net."
    )
    balanced: bool = Field(description="Whether `net` equals the payout's amount.")
    unmatched: list[str] = Field(description="Balance transactions with no document here.")


class AuditReport(BaseModel):
    period: str
    from_: str = Field(alias="from")
    to: str
    livemode: bool
    as_of: str
    clean: bool
    counts: dict[str, int]
    findings: list[Finding]
    totals: dict[str, dict[str, str]] = Field(
        description="Per finding code: the amounts per currency and `in RON`."
    )
    payouts: list[PayoutReport]
    spv_window: list[str] | None
    notes: list[str]
    resumed_pages: int
    stripe_requests: int
    anaf_requests: int


class StageProgress(BaseModel):
    stage: str
    done: int
    total: int | None


class RunError(BaseModel):
    code: str
    message_en: str
    message_ro: str


class AuditRun(BaseModel):
    id: str
    state: str = Field(description="running, done or failed.")
    period: str
    from_: str = Field(alias="from")
    to: str
    livemode: bool
    check_spv: bool
    started_by: str
    started_at: str
    finished_at: str | None
    progress: list[StageProgress]
    report: AuditReport | None
    error: RunError | None


class Journal(BaseModel):
    period: str
    from_: str = Field(alias="from")
    to: str
    livemode: bool
    documents: int
    total_ron: str
    vat_ron: str
    columns: list[str]
    rows: list[list[str | int]] = Field(description="One per document, the last the totals.")
