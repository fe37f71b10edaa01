"""What the audit reads from Stripe and from ANAF's SPV, page by page, resumable.

Stripe: the balance transactions of the period (widened by a margin, so that a payment made
on the last evening, or a bank debit that settled days after the charge was created, is still
matched), each ``source`` expanded; the payouts arriving in the period and, per payout, the
balance transactions it paid out. One request at a time, at most
:attr:`AuditTuning.stripe_rps` per second (Stripe allows 100 read requests per second in live
mode and 25 in test mode).

SPV: ``listaMesajePaginatieFactura`` for the period, 500 messages a page, each page taken
from the shared ANAF quota (``anaf_quota``: 900 calls per minute over all workers, 90,000
list pages per CUI per day). ANAF refuses an end time in its future and a start older than
60 days by its own clock: the window ends :attr:`AuditTuning.spv_lag_seconds` before our
clock, and when ANAF still answers "in the future" (our clock is ahead of ANAF's) the end is
moved back by :attr:`AuditTuning.skew_step_seconds` and the call repeated (a few times); a
start "older than 60 days" is moved forward the same way. What the SPV window covers is
reported with the results.

Every page read is appended to a checkpoint file in ``<data dir>/audit/`` (one JSON line per
page, flushed and fsync'd). An interrupted audit run again for the same period and mode
resumes after the last page read instead of starting over; the checkpoint also fixes the
moment the data is "as of", so the resumed run reads the same lists. A checkpoint older than
:attr:`AuditTuning.resume_hours` is discarded; a finished audit deletes it.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from ..anaf.errors import AnafApiError
from ..anaf.quotas import QuotaKind
from ..anaf.responses import MessagePage
from ..errors import EfacturaError
from ..intake.ledger import LedgerEntry, Payout, ledger_entry, payout
from .audit_tuning import AuditTuning
from .context import AppContext
from .periods import Period

Json = dict[str, Any]  # the Stripe edge: raw objects (and checkpointed pages) before parsing
Progress = Callable[[str, int, int | None], None]
"""(stage, pages or items done, total or None)."""


class AuditUnavailable(EfacturaError):
    code = "E-AUDIT-SOURCE"


class StripeLedgerReader(Protocol):
    def list_balance_transactions(
        self,
        *,
        created_gte: int,
        created_lt: int,
        starting_after: str | None = None,
        payout: str | None = None,
    ) -> tuple[list[Json], bool]: ...

    def list_payouts(
        self, *, arrival_gte: int, arrival_lt: int, starting_after: str | None = None
    ) -> tuple[list[Json], bool]: ...


def tuning(ctx: AppContext) -> AuditTuning:
    return ctx.audit_tuning if ctx.audit_tuning is not None else AuditTuning()


@dataclass
class SpvMessage:
    created: str
    upload_index: str
    details: str
    kind: str
    download_id: str


@dataclass
class Fetched:
    as_of: datetime
    entries: list[LedgerEntry] = field(default_factory=list)
    payouts: list[Payout] = field(default_factory=list)
    payout_entries: dict[str, list[LedgerEntry]] = field(default_factory=dict)
    spv: list[SpvMessage] = field(default_factory=list)
    spv_window: tuple[datetime, datetime] | None = None
    spv_note: str | None = None
    resumed_pages: int = 0
    stripe_requests: int = 0
    anaf_requests: int = 0


class Checkpoint:
    """Pages read so far, one JSON line each, after a header line naming the audit."""

    def __init__(self, path: Path, key: str, now: datetime, max_age: timedelta) -> None:
        self.path = path
        self.pages: list[Json] = []
        self.as_of = now
        header: Json | None = None
        if path.exists():
            lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
            try:
                header = json.loads(lines[0]) if lines else None
                pages = [json.loads(ln) for ln in lines[1:]]
            except ValueError:
                header, pages = None, []  # a torn last line: start over
            fresh = header is not None and header.get("key") == key
            if fresh and header is not None:
                as_of = datetime.fromisoformat(str(header["as_of"]))
                if now - as_of <= max_age:
                    self.as_of, self.pages = as_of, pages
                else:
                    header = None
            else:
                header = None
        if header is None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({"key": key, "as_of": now.isoformat()}) + "\n")

    def replay(self, stream: str) -> Iterator[Json]:
        return (p for p in self.pages if p["stream"] == stream)

    def append(self, page: Json) -> None:
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(page, ensure_ascii=False) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def finish(self) -> None:
        self.path.unlink(missing_ok=True)


class Throttle:
    """At most ``rps`` calls per second (sleeps before a call that would exceed it)."""

    def __init__(self, rps: float, sleep: Callable[[float], None] = time.sleep) -> None:
        self.interval = 1.0 / rps if rps > 0 else 0.0
        self.sleep = sleep
        self.next_at = 0.0

    def wait(self) -> None:
        now = time.monotonic()
        if now < self.next_at:
            self.sleep(self.next_at - now)
            now = self.next_at
        self.next_at = now + self.interval


def checkpoint_path(ctx: AppContext, key: str) -> Path:
    return Path(ctx.settings.data_dir) / "audit" / f"{key}.jsonl"


def _stripe(ctx: AppContext) -> StripeLedgerReader:
    reader = ctx.stripe
    if reader is None or not hasattr(reader, "list_balance_transactions"):
        raise AuditUnavailable(
            "the audit reads Stripe's balance: set EFACTURA_STRIPE_API_KEY",
            message_ro="auditul citește soldul Stripe: setați EFACTURA_STRIPE_API_KEY",
        )
    return reader  # type: ignore[return-value]


def key_livemode(api_key: str | None) -> bool | None:
    """Whether a Stripe secret or restricted key is live (None: not a recognisable key)."""
    if not api_key:
        return None
    for prefix, live in (("sk_live_", True), ("rk_live_", True), ("sk_test_", False)):
        if api_key.startswith(prefix):
            return live
    return False if api_key.startswith("rk_test_") else None


def check_mode(ctx: AppContext, livemode: bool) -> None:
    """The books audited must be of the Stripe key's mode (live books against a test key
    would make every payment a finding)."""
    live = key_livemode(ctx.settings.stripe_api_key)
    if live is None or live == livemode:
        return
    if live:
        raise AuditUnavailable(
            "the Stripe API key is a live key: audit the live books (without --test)",
            message_ro="cheia Stripe este de producție: auditați registrele live (fără --test)",
        )
    raise AuditUnavailable(
        "the Stripe API key is a test key: audit the test-mode books with --test",
        message_ro="cheia Stripe este de test: auditați registrele de test cu --test",
    )


def _ts(moment: datetime) -> int:
    return int(moment.timestamp())


class StripeFetch:
    """Reads the Stripe streams of one audit (balance, payouts, per-payout balance)."""

    def __init__(
        self, ctx: AppContext, cp: Checkpoint, out: Fetched, progress: Progress | None
    ) -> None:
        self.reader = _stripe(ctx)
        self.cp = cp
        self.out = out
        self.progress = progress
        self.throttle = Throttle(tuning(ctx).stripe_rps)

    def stream(
        self, name: str, call: Callable[[str | None], tuple[list[Json], bool]]
    ) -> list[Json]:
        items: list[Json] = []
        after: str | None = None
        for page in self.cp.replay(name):
            items.extend(page["items"])
            after = page["after"]
            self.out.resumed_pages += 1
            if page["done"]:
                return items
        while True:
            self.throttle.wait()
            data, more = call(after)
            self.out.stripe_requests += 1
            compact = [self.compact(name, x) for x in data]
            after = str(data[-1]["id"]) if data else after
            self.cp.append({"stream": name, "items": compact, "after": after, "done": not more})
            items.extend(compact)
            if self.progress is not None:
                self.progress(f"stripe:{name.split(':')[0]}", len(items), None)
            if not more:
                return items

    @staticmethod
    def compact(name: str, obj: Json) -> Json:
        return payout(obj).to_json() if name == "payouts" else ledger_entry(obj).to_json()

    def run(self, period: Period, as_of: datetime, margins: AuditTuning) -> None:
        start, end = period.utc_bounds()
        lo = _ts(start - margins.margin_before)
        hi = _ts(min(end + margins.margin_after, as_of))
        r = self.reader
        raw = self.stream(
            "balance",
            lambda after: r.list_balance_transactions(
                created_gte=lo, created_lt=hi, starting_after=after
            ),
        )
        self.out.entries = [LedgerEntry.from_json(x) for x in raw]
        lo_p, hi_p = _ts(start), _ts(end)
        pays = self.stream(
            "payouts",
            lambda after: r.list_payouts(arrival_gte=lo_p, arrival_lt=hi_p, starting_after=after),
        )
        self.out.payouts = [Payout.from_json(x) for x in pays]
        for p in self.out.payouts:
            got = self.stream(f"payout:{p.payout_id}", self.paid_out(p.payout_id))
            self.out.payout_entries[p.payout_id] = [LedgerEntry.from_json(x) for x in got]

    def paid_out(self, payout_id: str) -> Callable[[str | None], tuple[list[Json], bool]]:
        def call(after: str | None) -> tuple[list[Json], bool]:
            return self.reader.list_balance_transactions(
                created_gte=0, created_lt=0, starting_after=after, payout=payout_id
            )

        return call


def fetch_stripe(
    ctx: AppContext, period: Period, cp: Checkpoint, out: Fetched, progress: Progress | None
) -> None:
    StripeFetch(ctx, cp, out, progress).run(period, cp.as_of, tuning(ctx))


# ---- SPV ----------------------------------------------------------------------------------


def _spv_window(period: Period, now: datetime, tune: AuditTuning) -> tuple[datetime, datetime]:
    start, end = period.utc_bounds()
    end = min(end + tune.margin_after, now - timedelta(seconds=tune.spv_lag_seconds))
    start = max(start, now - timedelta(days=60) + timedelta(seconds=tune.skew_step_seconds))
    return start, end


def _take_quota(ctx: AppContext, cui: str, tune: AuditTuning) -> None:
    from ..store.anaf_quota import QuotaWait
    from .anaf_port import take_quota

    waited = 0.0
    while True:
        try:
            take_quota(ctx, QuotaKind.LIST_PAGED, cui)
            return
        except QuotaWait as exc:
            pause = max(0.5, (exc.until - ctx.clock()).total_seconds())
            if waited + pause > tune.quota_wait_max_seconds:
                until = f"{exc.until:%Y-%m-%d %H:%M} UTC"
                raise AuditUnavailable(
                    f"ANAF call quota exhausted until {until}",
                    message_ro=f"cota de apeluri ANAF este epuizată până la {until}",
                ) from exc
            time.sleep(pause)
            waited += pause


def _spv_page(
    ctx: AppContext, cui: str, window: list[datetime], page: int, tune: AuditTuning
) -> MessagePage:
    """One list page; moves the window's ends on clock-skew answers (``window`` is updated)."""
    from .anaf_port import client

    anaf = client(ctx)
    for _ in range(tune.skew_attempts):
        _take_quota(ctx, cui, tune)
        start_ms, end_ms = (int(w.timestamp() * 1000) for w in window)
        try:
            return anaf.list_messages(cui, start_ms, end_ms, page)
        except AnafApiError as exc:
            text = str(exc).lower()
            if "viitor" in text:
                window[1] -= timedelta(seconds=tune.skew_step_seconds)
            elif "mai vechi de 60" in text:
                window[0] += timedelta(seconds=tune.skew_step_seconds)
            else:
                raise
            if window[1] <= window[0]:
                break
    raise AuditUnavailable(
        "ANAF refused the message list window (clock skew?)",
        message_ro="ANAF a refuzat intervalul listei de mesaje (ceas decalat?)",
    )


def fetch_spv(
    ctx: AppContext, period: Period, cp: Checkpoint, out: Fetched, progress: Progress | None
) -> None:
    from .anaf_tokens import company_cui

    tune = tuning(ctx)
    start, end = _spv_window(period, cp.as_of, tune)
    if end <= start:
        out.spv_note = "period older than ANAF's 60-day message list: SPV not checked"
        return
    page_no, window = 1, [start, end]
    for page in cp.replay("spv"):
        out.spv.extend(SpvMessage(**m) for m in page["items"])
        window = [datetime.fromisoformat(w) for w in page["window"]]
        out.resumed_pages += 1
        page_no = int(page["page"]) + 1
        if page["done"]:
            out.spv_window = (window[0], window[1])
            return
    cui = company_cui(ctx)
    while True:
        result = _spv_page(ctx, cui, window, page_no, tune)
        out.anaf_requests += 1
        items = [
            SpvMessage(m.created, m.upload_index, m.details, m.kind, m.download_id)
            for m in result.messages
        ]
        out.spv.extend(items)
        done = not result.has_next
        cp.append(
            {
                "stream": "spv",
                "page": page_no,
                "items": [vars(m) for m in items],
                "window": [w.isoformat() for w in window],
                "done": done,
            }
        )
        if progress is not None:
            progress("spv", page_no, result.total_pages or 1)
        if done:
            out.spv_window = (window[0], window[1])
            return
        page_no += 1
