"""Payout reconciliation (pure): what each Stripe payout carries, for the bank statement.

For every payout arriving in the period: the invoices (charges) and stornos (refunds, lost
disputes) whose money it carries, with their numbers, and the sums in the payout's currency:
charges, refunds, disputes, Stripe's fees and other movements. Their net adds up to the
payout's amount (``balanced``); a movement with no invoice or storno here is listed under
``unmatched``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from ..intake.ledger import LedgerEntry, Payout
from ..jsontypes import JsonObject
from ..money import from_minor
from ..store.periods import IssuedInvoice

_DOC_KIND = {"charge": "invoice", "refund": "storno", "dispute": "storno"}
_SUM_KIND = {
    "charge": "charges",
    "refund": "refunds",
    "refund_failure": "refunds",
    "dispute": "disputes",
    "dispute_reversal": "disputes",
    "fee": "fees",
}


@dataclass
class PayoutReport:
    payout_id: str
    arrival_date: str
    status: str
    currency: str
    amount: Decimal
    invoices: list[str] = field(default_factory=list)
    stornos: list[str] = field(default_factory=list)
    sums: dict[str, Decimal] = field(default_factory=dict)
    """charges, refunds, disputes (gross), fees (Stripe's, negative), other, net."""
    unmatched: list[str] = field(default_factory=list)
    """Balance transactions (``txn_…`` and their source) with no document here."""

    @property
    def balanced(self) -> bool:
        return self.sums.get("net", Decimal(0)) == self.amount

    def to_json(self) -> JsonObject:
        return {
            "payout": self.payout_id,
            "arrival_date": self.arrival_date,
            "status": self.status,
            "currency": self.currency,
            "amount": str(self.amount),
            "invoices": list(self.invoices),
            "stornos": list(self.stornos),
            "sums": {k: str(v) for k, v in self.sums.items()},
            "balanced": self.balanced,
            "unmatched": list(self.unmatched),
        }


def payout_report(
    p: Payout, entries: list[LedgerEntry], documents: Mapping[tuple[str, str], IssuedInvoice]
) -> PayoutReport:
    """One payout's report; ``documents`` maps (payment key, kind) to invoice rows."""
    cur = p.currency
    sums = {k: Decimal(0) for k in ("charges", "refunds", "disputes", "fees", "other", "net")}
    report = PayoutReport(
        payout_id=p.payout_id,
        arrival_date=datetime.fromtimestamp(p.arrival_date, tz=UTC).date().isoformat(),
        status=p.status,
        currency=cur,
        amount=from_minor(p.amount, cur),
        sums=sums,
    )
    for e in sorted(entries, key=lambda x: (x.created, x.txn_id)):
        bucket = _SUM_KIND.get(e.kind, "other")
        if bucket == "fees":
            sums["fees"] += from_minor(e.amount, e.currency)
        else:
            sums[bucket] += from_minor(e.amount, e.currency)
        sums["fees"] -= from_minor(e.fee, e.currency)
        sums["net"] += from_minor(e.net, e.currency)
        doc_kind = _DOC_KIND.get(e.kind)
        if doc_kind is None:
            continue
        row = documents.get((e.payment_key or "", doc_kind))
        if row is None:
            report.unmatched.append(f"{e.txn_id} ({e.kind} {e.source_id})")
        elif doc_kind == "invoice":
            report.invoices.append(str(row.number))
        else:
            report.stornos.append(str(row.number))
    return report
