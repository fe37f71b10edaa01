"""Use case ``audit``: Stripe's money, the books and ANAF's SPV for one period, three ways.

Reads (:mod:`app.audit_fetch`) Stripe's balance transactions and payouts and the SPV message
list, resumable; loads the local books (:mod:`store.periods`); compares them
(:mod:`app.audit_findings`) and reconciles every payout (:mod:`app.payouts`). The report has
the findings with their fixes, totals per finding in each currency and in RON, and one entry
per payout. ``docs/reconciliation.md`` explains each finding.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from ..invoicing.serialize import invoice_from_json
from ..jsontypes import JsonObject
from ..money import round2
from ..store import db
from ..store import periods as period_store
from ..store.periods import IssuedInvoice
from . import audit_fetch
from .audit_fetch import Fetched, Progress, SpvMessage
from .audit_findings import Books, Finding, Ron, audit_findings, message_refs
from .context import AppContext
from .payouts import PayoutReport, payout_report
from .periods import Period, ro_day


@dataclass
class AuditReport:
    period: Period
    livemode: bool
    as_of: datetime
    findings: list[Finding]
    payouts: list[PayoutReport]
    counts: dict[str, int]
    spv_window: tuple[datetime, datetime] | None = None
    notes: list[str] = field(default_factory=list)
    resumed_pages: int = 0
    stripe_requests: int = 0
    anaf_requests: int = 0

    @property
    def clean(self) -> bool:
        return not self.findings

    def totals(self) -> dict[str, dict[str, str]]:
        """Per finding code: the amounts summed per currency and in RON (``RON*`` when some
        amount could not be converted)."""
        sums: dict[str, dict[str, Decimal]] = {}
        partial: set[str] = set()
        for f in self.findings:
            if f.amount is None or f.currency is None:
                continue
            per = sums.setdefault(f.code, {})
            per[f.currency] = per.get(f.currency, Decimal(0)) + f.amount
            if f.amount_ron is None:
                partial.add(f.code)
            else:
                per["_RON"] = per.get("_RON", Decimal(0)) + f.amount_ron
        out: dict[str, dict[str, str]] = {}
        for code, per in sums.items():
            ron = per.pop("_RON", Decimal("0.00"))
            out[code] = {c: str(v) for c, v in sorted(per.items())}
            out[code]["in RON*" if code in partial else "in RON"] = str(ron)
        return out

    def to_json(self) -> JsonObject:
        window = self.spv_window
        return {
            "period": self.period.label,
            "from": self.period.start.isoformat(),
            "to": self.period.last_day.isoformat(),
            "livemode": self.livemode,
            "as_of": self.as_of.isoformat(),
            "clean": self.clean,
            "counts": {**self.counts},
            "findings": [f.to_json() for f in self.findings],
            "totals": {code: {**sums} for code, sums in self.totals().items()},
            "payouts": [p.to_json() for p in self.payouts],
            "spv_window": None if window is None else [w.isoformat() for w in window],
            "notes": list(self.notes),
            "resumed_pages": self.resumed_pages,
            "stripe_requests": self.stripe_requests,
            "anaf_requests": self.anaf_requests,
        }


def _ron(ctx: AppContext) -> Ron:
    """Amounts in RON: RON as is; an invoice's amount at its own BNR rate; other Stripe money
    at the BNR rate of its day from the cached rates (None when not cached)."""
    from . import fx

    rates: dict[tuple[str, int | str, date | None], Decimal | None] = {}

    def convert(
        currency: str, amount: Decimal, day: date, row: IssuedInvoice | None
    ) -> Decimal | None:
        if currency == "RON":
            return amount
        key = ("row", row.id, None) if row is not None else ("day", currency, day)
        if key not in rates:
            if row is not None:
                with db.read(ctx.engine) as conn:
                    text = period_store.snapshot_of(conn, int(row.id))
                found = invoice_from_json(text).fx
            else:
                found = fx.rate_for(ctx, currency, day)
            rates[key] = found.rate if found is not None else None
        rate = rates[key]
        return None if rate is None else round2(amount * rate)

    return convert


def _spv_indexes(messages: Iterable[SpvMessage]) -> list[str]:
    return sorted({r for m in messages for r in message_refs(m)})


def load_books(ctx: AppContext, period: Period, got: Fetched, livemode: bool) -> Books:
    entries = got.entries + [e for es in got.payout_entries.values() for e in es]
    with db.read(ctx.engine) as conn:
        issued = period_store.invoices_issued(
            conn, period.start, period.end, livemode=livemode, snapshot=False
        )
        keys = [e.payment_key for e in entries if e.payment_key]
        keys += [str(r.payment_key) for r in issued]
        by_key = period_store.invoices_by_payment_key(conn, keys)
        payments = period_store.payments_by_key(conn, keys)
        wanted = _spv_indexes(got.spv)
        by_index = period_store.upload_indexes(conn, wanted)
        for index in wanted:
            if index not in by_index:
                row = period_store.invoice_by_logged_index(conn, index)
                if row is not None:
                    by_index[index] = row
    today = ro_day(_now(ctx))
    return Books(issued, by_key, payments, by_index, today, livemode)


def _now(ctx: AppContext) -> datetime:
    now = ctx.clock()
    return now if now.tzinfo else now.replace(tzinfo=UTC)


def _spv(
    ctx: AppContext,
    period: Period,
    cp: audit_fetch.Checkpoint,
    got: Fetched,
    progress: Progress | None,
) -> None:
    from . import anaf_tokens

    if anaf_tokens.load_tokens(ctx) is None:
        got.spv_note = "ANAF is not connected (stripe-efactura anaf login): SPV not checked"
        return
    audit_fetch.fetch_spv(ctx, period, cp, got, progress)


def run_audit(
    ctx: AppContext,
    period: Period,
    *,
    livemode: bool = True,
    progress: Progress | None = None,
    check_spv: bool = True,
) -> AuditReport:
    """Audit ``period`` (see the module docs). Raises ``AuditUnavailable`` when Stripe or
    ANAF cannot be read; run it again to resume."""
    audit_fetch.check_mode(ctx, livemode)
    tune = audit_fetch.tuning(ctx)
    key = f"{period.label}-{'live' if livemode else 'test'}"
    cp = audit_fetch.Checkpoint(
        audit_fetch.checkpoint_path(ctx, key), key, _now(ctx), timedelta(hours=tune.resume_hours)
    )
    got = Fetched(as_of=cp.as_of)
    audit_fetch.fetch_stripe(ctx, period, cp, got, progress)
    if check_spv:
        _spv(ctx, period, cp, got, progress)
    books = load_books(ctx, period, got, livemode)
    findings = audit_findings(period, books, got.entries, got.spv, got.spv_window, _ron(ctx))
    payouts = [
        payout_report(p, got.payout_entries.get(p.payout_id, []), books.by_key) for p in got.payouts
    ]
    cp.finish()
    notes = [got.spv_note] if got.spv_note else []
    counts = {
        "stripe_transactions": len(got.entries),
        "payouts": len(got.payouts),
        "documents": len(books.issued),
        "spv_messages": len(got.spv),
    }
    return AuditReport(
        period=period,
        livemode=livemode,
        as_of=got.as_of,
        findings=findings,
        payouts=payouts,
        counts=counts,
        spv_window=got.spv_window,
        notes=notes,
        resumed_pages=got.resumed_pages,
        stripe_requests=got.stripe_requests,
        anaf_requests=got.anaf_requests,
    )
