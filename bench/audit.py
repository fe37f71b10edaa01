"""Period audit benchmark: a month of N payments (default 10,000) audited on SQLite.

The fake Stripe serves the month over HTTP (uvicorn on loopback) and the audit reads it
through the real Stripe adapter (``StripeApi``, the SDK's HTTP client) at its default pace of
20 requests per second (Stripe allows 25 in test mode, 100 in live mode); the fake ANAF
(in-process) lists one SPV message per invoice, 500 a page, every page taken from the shared
quota table. The books are inserted first (not timed).

The month: N charges spread over November 2026; every 20th partially refunded (a storno
each), every 500th lost in a dispute (a storno each); one payout per day carrying that day's
charges, refunds and fees. Planted anomalies: every 100th charge has no invoice and every
250th refund no storno; the audit must report exactly those.

    .venv/bin/python bench/audit.py [N]
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from readme_section import parser, write_section

from stripe_efactura import app as use_cases
from stripe_efactura.anaf.fake import (
    FakeAnafState,
    FakeAnafTransport,
    FakeClock,
    FakeMessage,
    create_fake_anaf,
)
from stripe_efactura.anaf.oauth import token_set_from_response
from stripe_efactura.app import anaf_tokens, period_audit, periods
from stripe_efactura.app.audit_tuning import AuditTuning
from stripe_efactura.app.context import build_context
from stripe_efactura.config import SeriesConfig, demo_settings
from stripe_efactura.intake.fake_stripe import FakeStripeStore, create_fake_stripe, run_in_thread
from stripe_efactura.intake.stripe_api import StripeApi
from stripe_efactura.store import db
from stripe_efactura.store import invoices as invoice_store
from stripe_efactura.store.numbering import ensure_series

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
START = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)
CUI = "18547290"
SERIES = SeriesConfig(code="invoice", prefix="SEF", padding=6)


def _txn(
    tid: str, ttype: str, amount: int, created: int, source: str, fee: int = 0
) -> dict[str, Any]:
    category = {"adjustment": "dispute", "stripe_fee": "fee"}.get(ttype, ttype)
    return {
        "id": tid,
        "object": "balance_transaction",
        "amount": amount,
        "available_on": created + 2 * 86400,
        "created": created,
        "currency": "ron",
        "fee": fee,
        "fee_details": [],
        "net": amount - fee,
        "reporting_category": category,
        "source": source,
        "status": "available",
        "type": ttype,
    }


class Month:
    """The planted month: Stripe objects, the invoices to store, the expected findings."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.store = FakeStripeStore(api_key="sk_test_bench")
        self.invoices: list[tuple[str, str, str, date]] = []  # (kind, key, total, day)
        self.expected: Counter[str] = Counter()
        self.by_day: dict[int, list[str]] = {}

    def build(self) -> None:
        step = (30 * 86400) // self.n
        for i in range(self.n):
            created = int(START.timestamp()) + 3600 + i * step
            day = (datetime.fromtimestamp(created, tz=UTC) + timedelta(hours=2)).date()
            self.sale(i, created, day)

    def sale(self, i: int, created: int, day: date) -> None:
        cid, pi, amount = f"ch_{i:06d}", f"pi_{i:06d}", 1000 + (i % 97) * 100
        self.store.add(
            {
                "id": cid,
                "object": "charge",
                "amount": amount,
                "amount_captured": amount,
                "currency": "ron",
                "payment_intent": pi,
                "status": "succeeded",
                "created": created,
            }
        )
        self.store.add(_txn(f"txn_{cid}", "charge", amount, created, cid, fee=amount // 40))
        carried = [f"txn_{cid}"]
        november = day.month == 11
        if i % 100 == 99:
            self.expected["R-COLLECTED-NO-INVOICE"] += november
        else:
            self.invoices.append(("invoice", pi, f"{amount / 100:.2f}", day))
        if i % 20 == 5:
            rid, back = f"re_{i:06d}", amount // 4
            self.store.add(
                {
                    "id": rid,
                    "object": "refund",
                    "amount": back,
                    "charge": cid,
                    "currency": "ron",
                    "payment_intent": pi,
                    "status": "succeeded",
                    "created": created + 600,
                }
            )
            self.store.add(_txn(f"txn_{rid}", "refund", -back, created + 600, rid))
            carried.append(f"txn_{rid}")
            if i % 250 == 5:
                self.expected["R-REFUND-NO-STORNO"] += november
            else:
                self.invoices.append(("storno", rid, f"{-back / 100:.2f}", day))
        if i % 500 == 7:
            did = f"dp_{i:06d}"
            self.store.add(
                {
                    "id": did,
                    "object": "dispute",
                    "amount": amount,
                    "charge": cid,
                    "currency": "ron",
                    "payment_intent": pi,
                    "status": "lost",
                    "created": created + 1200,
                }
            )
            self.store.add(_txn(f"txn_{did}", "adjustment", -amount, created + 1200, did, 1500))
            self.invoices.append(("storno", did, f"{-amount / 100:.2f}", day))
        self.by_day.setdefault(day.day, []).extend(carried)

    def payouts(self) -> None:
        for d, carried in sorted(self.by_day.items()):
            if d >= 30:
                continue  # the last day's money is paid out in December
            net = sum(int(self.store.objects["balance_transaction"][t]["net"]) for t in carried)
            arrival = int(datetime(2026, 11, d + 1, 6, tzinfo=UTC).timestamp())
            payout = {
                "id": f"po_{d:02d}",
                "object": "payout",
                "amount": net,
                "currency": "ron",
                "arrival_date": arrival,
                "created": arrival - 86400,
                "automatic": True,
                "status": "paid",
                "type": "bank_account",
            }
            self.store.add_payout(payout, carried)


def store_books(ctx: Any, month: Month, state: FakeAnafState) -> None:
    with db.write(ctx.engine) as conn:
        code = ensure_series(conn, SERIES)
        for seq, (kind, key, total, day) in enumerate(month.invoices, 1):
            number, index = f"SEF{seq:06d}", str(5_000_000_000 + seq)
            new_id = invoice_store.insert_invoice(
                conn,
                series_code=code,
                seq=seq,
                number=number,
                kind=kind,
                payment_key=key,
                issue_date=day,
                currency="RON",
                total=total,
                livemode=True,
                snapshot="{}",
                xml=b"<Invoice/>",
                deadline=day + timedelta(days=7),
                anaf_state="ok",
            )
            invoice_store.update_invoice(
                conn,
                new_id,
                upload_index=index,
                download_id=str(3_000_000_000 + seq),
                signed_zip=b"PK",
            )
            at = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=12)
            state.messages[index] = FakeMessage(
                index=index,
                endpoint="upload",
                cif=CUI,
                standard="UBL",
                params={},
                xml=b"",
                uploaded_at=at,
                invoice_number=number,
                issue_date=day.isoformat(),
                seller_cif=CUI,
                buyer_cif=None,
                outcome="ok",
                errors=(),
                download_id=str(3_000_000_000 + seq),
                finished_at=at,
            )


def _serve_stripe(n: int, urls: Any, stop: Any) -> None:
    """Child process: the fake Stripe holding the same month, until ``stop`` is set."""
    month = Month(n)
    month.build()
    month.payouts()
    with run_in_thread(create_fake_stripe(month.store)) as base:
        urls.put(base)
        stop.wait()


@contextmanager
def stripe_server(n: int) -> Iterator[str]:
    """The fake Stripe in its own process, as Stripe is another machine (its work must not
    share this process's interpreter lock with the audit being measured)."""
    ctx = multiprocessing.get_context("spawn")
    urls, stop = ctx.Queue(), ctx.Event()
    proc = ctx.Process(target=_serve_stripe, args=(n, urls, stop), daemon=True)
    proc.start()
    try:
        yield str(urls.get(timeout=300))
    finally:
        stop.set()
        proc.join(timeout=10)


def arguments(argv: list[str] | None = None) -> int:
    """N from the command line (``--help`` says what the script does)."""
    command = parser(__doc__)
    command.add_argument("n", type=int, nargs="?", default=10_000, help="payments (10,000)")
    return int(command.parse_args(argv).n)


def main() -> None:
    n = arguments()
    month = Month(n)
    month.build()
    month.payouts()
    tmp = Path(tempfile.mkdtemp(prefix="bench-audit-"))
    clock = FakeClock(NOW)
    state = FakeAnafState(clock=clock)
    with stripe_server(n) as base:
        settings = demo_settings(
            tmp,
            database_url=f"sqlite:///{tmp / 'efactura.db'}",
            anaf_api_base="http://anaf.fake",
            anaf_oauth_base="http://anaf.fake",
            anaf_client_id="fake-client-id",
            anaf_client_secret="fake-client-secret",
            secret_key="bench-secret",
        )
        stripe = StripeApi("sk_test_bench", api_base=base)
        transport = FakeAnafTransport(create_fake_anaf(state))
        ctx = build_context(settings, stripe=stripe, anaf_transport=transport)
        ctx.clock = clock.now
        ctx.audit_tuning = AuditTuning()  # 20 Stripe requests / s
        use_cases.prepare(ctx)
        tokens = token_set_from_response(state.mint_tokens(), clock.now())
        anaf_tokens.save_tokens(ctx, tokens, source="bench")
        t0 = time.perf_counter()
        store_books(ctx, month, state)
        setup = time.perf_counter() - t0
        stamps: list[float] = []
        t0 = time.perf_counter()
        report = period_audit.run_audit(
            ctx,
            periods.month("2026-11"),
            progress=lambda s, d, t: (
                stamps.append(time.perf_counter()) if s.startswith("stripe") else None
            ),
        )
        elapsed = time.perf_counter() - t0
        ctx.close()
    found = Counter(f.code for f in report.findings)
    assert found == month.expected, (found, month.expected)
    assert all(p.balanced for p in report.payouts)
    peak = max(sum(1 for s in stamps if a <= s < a + 1.0) for a in stamps) if stamps else 0
    spv_calls = [t for _, _, t in state.request_log if "listaMesaje" in t]
    intro = (
        "`bench/audit.py`: `stripe-efactura audit --period 2026-11` on SQLite over a month of "
        f"{n:,} payments ({len(month.invoices):,} invoices and stornos; "
        f"{report.counts['stripe_transactions']:,} balance transactions; "
        f"{len(report.payouts)} payouts; {report.counts['spv_messages']:,} SPV messages). "
        "The fake Stripe serves it over HTTP from its own process and the audit reads it through "
        "the real adapter (SDK); the fake ANAF runs in-process. Books inserted first (not "
        "timed)."
    )
    row = (
        f"| {n:,} | {elapsed:.1f} | {report.stripe_requests} | {peak} | {len(spv_calls)} | "
        f"{len(report.findings)} (exactly the planted ones) | < 60 s "
        f"({'meets' if elapsed < 60 else 'MISSES'}) |"
    )
    pace = (
        "The audit paces Stripe at 20 requests per second (`AuditTuning.stripe_rps`; Stripe "
        "allows 25 / s in test mode and 100 / s in live mode): at that pace the "
        f"{report.stripe_requests} requests need at least {report.stripe_requests / 20:.0f} s; "
        "the rest is the SDK, parsing, the SPV pages, the books and the comparison, on a "
        "loaded machine. ANAF's list is 500 messages a page, each page one slot of the "
        "shared quota (900 calls / minute, 90,000 list pages / CUI / day). "
        f"Setup (inserting the books) took {setup:.1f} s."
    )
    machine = (
        f"Load average when measured: {', '.join(f'{x:.1f}' for x in os.getloadavg())}. "
        f"Machine: Python {sys.version.split()[0]} on {os.uname().machine}, 2 shared cores "
        "(other work running)."
    )
    header = (
        "| payments | audit wall s | Stripe requests | peak Stripe req / s | ANAF list pages "
        "| findings | target |"
    )
    lines = ["## audit", "", intro, "", header, "|---|---|---|---|---|---|---|", row, "", pace]
    lines += ["", machine, ""]
    print("\n".join(lines))
    write_section("## audit", "\n".join(lines))


if __name__ == "__main__":
    main()
