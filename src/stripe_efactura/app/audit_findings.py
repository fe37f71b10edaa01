"""The findings of a period audit (pure): Stripe's money, the books and the SPV compared.

Each finding has a code, what it is about (``ref``), a bilingual message, the amount in its
currency and in RON when it is about money, and the fix: a command. ``docs/reconciliation.md``
explains every code.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TypedDict
from urllib.parse import quote

from ..intake.ledger import LedgerEntry
from ..jsontypes import JsonObject
from ..money import from_minor
from ..store.periods import BookedPayment, IssuedInvoice
from .audit_fetch import SpvMessage
from .periods import Period, ro_day

NOT_OK_FIX = {
    "nok": "stripe-efactura invoices show {n}  # fix what ANAF reported, then: "
    "stripe-efactura invoices retry {n}",
    "rejected_at_upload": "stripe-efactura invoices show {n}  # then: stripe-efactura invoices "
    "retry {n}",
    "not_uploaded": "stripe-efactura invoices retry {n}",
}
WAITING_FIX = (
    "stripe-efactura invoices show {n}  # the worker is still sending it: "
    "stripe-efactura worker --once"
)

PAYMENT_CODES = frozenset({"R-COLLECTED-NO-INVOICE", "R-REFUND-NO-STORNO", "R-DISPUTE-NO-STORNO"})

Ron = Callable[[str, Decimal, date, IssuedInvoice | None], Decimal | None]
"""(currency, amount, day, invoice row or None) -> amount in RON, or None when unknown."""


@dataclass(frozen=True)
class Finding:
    code: str
    ref: str
    message_en: str
    message_ro: str
    fix: str
    currency: str | None = None
    amount: Decimal | None = None
    amount_ron: Decimal | None = None
    number: str | None = None
    day: date | None = None

    @property
    def link(self) -> str:
        """The console page where it is fixed: the invoice, the payment (the reconcile form
        when the payment is unknown here), or the ANAF page."""
        if self.number:
            return f"/invoices/{quote(self.number, safe='')}"
        if self.code in PAYMENT_CODES and self.fix.startswith("stripe-efactura reconcile"):
            return "/payments#reconcile-form"  # unknown here: read it again from Stripe
        if self.code in PAYMENT_CODES:
            return f"/payments/{quote(self.ref, safe='')}"
        return "/anaf"

    def to_json(self) -> JsonObject:
        out: JsonObject = asdict(self)
        for key in ("amount", "amount_ron"):
            out[key] = None if out[key] is None else str(out[key])
        out["day"] = None if self.day is None else self.day.isoformat()
        out["link"] = self.link
        return out


@dataclass(frozen=True)
class Books:
    """The local side: invoices of the period and everything Stripe's money points at."""

    issued: list[IssuedInvoice]
    """Invoices and stornos issued in the period (without snapshot)."""
    by_key: Mapping[tuple[str, str], IssuedInvoice]
    """(payment key, kind) -> invoice row, for every key in the Stripe data and the period."""
    payments: Mapping[str, BookedPayment]
    """payment key -> payment row."""
    by_index: Mapping[str, IssuedInvoice]
    """ANAF upload index (current or earlier) -> invoice row, for the SPV messages' indexes."""
    today: date
    livemode: bool


def _money(entry: LedgerEntry) -> tuple[str, Decimal]:
    currency = entry.gross_currency or entry.currency
    gross = entry.gross if entry.gross is not None else entry.amount
    return currency, from_minor(gross, currency)


def _collected_fix(key: str, payment: BookedPayment | None, day: date) -> str:
    if payment is None:
        return f"stripe-efactura reconcile --since {day.isoformat()}"
    if payment.status == "needs_attention":
        return (
            "stripe-efactura payments list  # see its problem, fix it, then: "
            f"stripe-efactura payments retry {key}"
        )
    if payment.status == "pending":
        return "stripe-efactura worker --once  # the invoice is queued"
    return f"stripe-efactura payments retry {key}"


def _by_key(entries: Iterable[LedgerEntry], kinds: set[str]) -> dict[str, list[LedgerEntry]]:
    out: dict[str, list[LedgerEntry]] = {}
    for e in entries:
        if e.kind in kinds and e.payment_key:
            out.setdefault(e.payment_key, []).append(e)
    return out


def _day(entry: LedgerEntry) -> date:
    return ro_day(datetime.fromtimestamp(entry.created, tz=UTC))


_INDEX_IN_TEXT = re.compile(r"(?:id_incarcare|index_incarcare|index)\s*=\s*(\d+)")


def message_refs(m: SpvMessage) -> set[str]:
    """The upload indexes an SPV message is about: its ``id_solicitare``; for a buyer message
    also the indexes its text names."""
    refs = {str(m.upload_index)} if m.upload_index else set()
    if str(m.kind).upper().startswith("MESAJ"):
        refs.update(_INDEX_IN_TEXT.findall(str(m.details)))
    return refs


class _Money(TypedDict):
    """The money fields of a finding."""

    currency: str
    amount: Decimal
    amount_ron: Decimal | None
    day: date


class Auditor:
    """Builds the findings; one instance per audit."""

    def __init__(self, period: Period, books: Books, ron: Ron) -> None:
        self.period = period
        self.books = books
        self.ron = ron
        self.findings: list[Finding] = []

    def add(
        self,
        code: str,
        ref: str,
        en: str,
        ro: str,
        fix: str,
        *,
        currency: str | None = None,
        amount: Decimal | None = None,
        amount_ron: Decimal | None = None,
        number: str | None = None,
        day: date | None = None,
    ) -> None:
        self.findings.append(
            Finding(code, ref, en, ro, fix, currency, amount, amount_ron, number, day)
        )

    def money_kw(
        self, currency: str, amount: Decimal, day: date, row: IssuedInvoice | None
    ) -> _Money:
        return {
            "currency": currency,
            "amount": amount,
            "amount_ron": self.ron(currency, amount, day, row),
            "day": day,
        }

    # ---- Stripe -> books ---------------------------------------------------------------

    def stripe_side(self, entries: list[LedgerEntry]) -> set[tuple[str, str]]:
        """Findings for Stripe's money; returns the (key, kind) pairs Stripe has money for."""
        seen: set[tuple[str, str]] = set()
        charges = _by_key(entries, {"charge"})
        refunds = _by_key(entries, {"refund", "refund_failure"})
        disputes = _by_key(entries, {"dispute", "dispute_reversal"})
        for key, group in charges.items():
            seen.add((key, "invoice"))
            self.expect(key, "invoice", group, "R-COLLECTED-NO-INVOICE")
        for key, group in refunds.items():
            if any(e.kind == "refund_failure" for e in group):
                continue  # the refund failed: the money came back, no storno is due
            seen.add((key, "storno"))
            self.expect(key, "storno", group, "R-REFUND-NO-STORNO")
        for key, group in disputes.items():
            won = any(e.kind == "dispute_reversal" for e in group)
            lost = any(e.status == "lost" for e in group)
            if won or not lost:
                continue  # reinstated, or not decided yet: no storno is due (yet)
            pay = self.books.payments.get(key)
            if pay is not None and pay.status == "ignored":
                continue  # decided without storno ([storno] lost_disputes, payments dispute)
            seen.add((key, "storno"))
            self.expect(key, "storno", group, "R-DISPUTE-NO-STORNO")
        return seen

    def expect(self, key: str, kind: str, group: list[LedgerEntry], code: str) -> None:
        main = [e for e in group if e.kind in ("charge", "refund", "dispute")]
        first = min(main, key=lambda e: e.created)
        currency, _ = _money(first)
        amount = sum((_money(e)[1] for e in main), Decimal("0"))
        day = _day(first)
        row = self.books.by_key.get((key, kind))
        if row is None:
            if self.period.contains(day):
                self.missing(code, key, currency, amount, day, first)
            return
        if not self.period.contains(row.issue_date):
            return  # its invoice belongs to another period
        total = Decimal(str(row.total))
        if str(row.currency).upper() != currency or total != amount:
            self.add(
                "R-AMOUNT-MISMATCH",
                str(row.number),
                f"{row.number} is {total} {row.currency}; Stripe moved {amount} {currency} "
                f"for {key}",
                f"{row.number} are {total} {row.currency}; Stripe a mișcat {amount} {currency} "
                f"pentru {key}",
                f"stripe-efactura invoices show {row.number}  # a storno corrects an "
                "accepted invoice; see docs/reconciliation.md",
                number=str(row.number),
                **self.money_kw(currency, amount - total, day, row),
            )

    def missing(
        self, code: str, key: str, currency: str, amount: Decimal, day: date, e: LedgerEntry
    ) -> None:
        payment = self.books.payments.get(key)
        what = {
            "R-COLLECTED-NO-INVOICE": ("collected", "încasat", "no invoice", "fără factură"),
            "R-REFUND-NO-STORNO": ("refunded", "rambursat", "no storno", "fără storno"),
            "R-DISPUTE-NO-STORNO": (
                "lost in a dispute",
                "pierdut în dispută",
                "no storno",
                "fără storno",
            ),
        }[code]
        state = f" (payment {payment.status})" if payment is not None else " (unknown here)"
        stare = f" (plata {payment.status})" if payment is not None else " (necunoscută aici)"
        fix = _collected_fix(key, payment, day)
        if code != "R-COLLECTED-NO-INVOICE" and payment is not None:
            fix = f"stripe-efactura payments retry {key}"
        self.add(
            code,
            key,
            f"{amount} {currency} {what[0]} on {day} ({e.source_id}), {what[2]}{state}",
            f"{amount} {currency} {what[1]} pe {day} ({e.source_id}), {what[3]}{stare}",
            fix,
            **self.money_kw(currency, amount, day, None),
        )

    # ---- books -> Stripe, ANAF, archive ------------------------------------------------

    def books_side(self, with_money: set[tuple[str, str]]) -> None:
        for row in self.books.issued:
            self.invoice(row, (str(row.payment_key), str(row.kind)) in with_money)

    def invoice(self, row: IssuedInvoice, has_money: bool) -> None:
        n, day = str(row.number), row.issue_date
        total, currency = Decimal(str(row.total)), str(row.currency).upper()
        if not has_money:
            what = "refund or lost dispute" if row.kind == "storno" else "payment"
            ce = "rambursare sau dispută pierdută" if row.kind == "storno" else "plată"
            self.add(
                "R-INVOICE-NO-MONEY",
                n,
                f"{n} ({total} {currency}) has no Stripe {what} ({row.payment_key})",
                f"{n} ({total} {currency}) nu are {ce} în Stripe ({row.payment_key})",
                f"stripe-efactura invoices show {n}  # if the money never came, cancel the "
                "invoice with a storno (docs/storno.md)",
                number=n,
                **self.money_kw(currency, total, day, row),
            )
        state = str(row.anaf_state)
        if state != "ok":
            overdue = row.deadline is not None and row.livemode and self.books.today > row.deadline
            code = "R-ANAF-OVERDUE" if overdue else "R-ANAF-NOT-OK"
            late = f", past its deadline {row.deadline}" if overdue else ""
            tarziu = f", după termenul {row.deadline}" if overdue else ""
            self.add(
                code,
                n,
                f"{n} is {state} at ANAF{late}",
                f"{n} este {state} la ANAF{tarziu}",
                NOT_OK_FIX.get(state, WAITING_FIX).format(n=n),
                number=n,
                **self.money_kw(currency, total, day, row),
            )
        elif not row.has_signed_zip:
            self.add(
                "R-ARCHIVE-MISSING",
                n,
                f"{n} is ok at ANAF but its signed ZIP is not archived",
                f"{n} este ok la ANAF dar arhiva semnată (ZIP) lipsește",
                f"stripe-efactura worker --once  # the sweep downloads it; then: "
                f"stripe-efactura invoices show {n}",
                number=n,
            )

    # ---- SPV ---------------------------------------------------------------------------

    def spv_side(
        self, messages: list[SpvMessage], window: tuple[datetime, datetime] | None
    ) -> None:
        listed: set[str] = set()
        for m in messages:
            kind = str(m.kind).upper()
            if kind.startswith("FACTURA PRIMITA"):
                continue  # a supplier's invoice to us: not part of the sales books
            refs = message_refs(m)
            if kind.startswith("FACTURA TRIMISA"):
                listed.add(m.upload_index)
            if any(r in self.books.by_index for r in refs):
                continue
            self.spv_unmatched(m, kind)
        if window is not None:
            self.spv_missing(listed, window)

    def spv_unmatched(self, m: SpvMessage, kind: str) -> None:
        if kind.startswith("MESAJ"):
            fix = f"read it in the SPV (download id {m.download_id}) and answer the buyer"
        elif kind.startswith("ERORI"):
            fix = (
                "an upload made outside stripe-efactura failed: check the SPV and the program "
                "that sent it"
            )
        else:
            fix = "an invoice filed for your CUI outside stripe-efactura: add it to your books"
        self.add(
            "R-SPV-UNMATCHED",
            m.upload_index or m.download_id,
            f"SPV message {m.kind} ({m.created}, index {m.upload_index}) matches no invoice "
            f"here: {m.details}",
            f"Mesajul SPV {m.kind} ({m.created}, index {m.upload_index}) nu corespunde niciunei "
            f"facturi de aici: {m.details}",
            fix,
        )

    def spv_missing(self, listed: set[str], window: tuple[datetime, datetime]) -> None:
        # ANAF lists an invoice minutes after it is ok: invoices issued on the window's last
        # day are left to the next audit, as are days before the window (older than 60 days)
        first_day, last_day = ro_day(window[0]), ro_day(window[1])
        for row in self.books.issued:
            if row.anaf_state != "ok" or not row.upload_index or row.upload_index in listed:
                continue
            if not first_day <= row.issue_date < last_day:
                continue
            n = str(row.number)
            self.add(
                "R-SPV-MISSING",
                n,
                f"{n} is ok here (index {row.upload_index}) but the SPV does not list it",
                f"{n} este ok aici (index {row.upload_index}) dar SPV nu o listează",
                f"stripe-efactura invoices show {n}  # check index {row.upload_index} in the SPV",
                number=n,
            )


def audit_findings(
    period: Period,
    books: Books,
    entries: list[LedgerEntry],
    spv: list[SpvMessage],
    spv_window: tuple[datetime, datetime] | None,
    ron: Ron,
) -> list[Finding]:
    """Every finding of the period, in a stable order (code, then reference)."""
    auditor = Auditor(period, books, ron)
    with_money = auditor.stripe_side(entries)
    auditor.books_side(with_money)
    auditor.spv_side(spv, spv_window)
    return sorted(auditor.findings, key=lambda f: (f.code, f.ref))
