"""ANAF quota simulation: N invoices (default 1000) uploaded at once and ALL kept "in prelucrare"
by the fake ANAF for 24 hours of simulated time, driven by ``anaf_lifecycle.advance`` on a
fake clock (SQLite in a temporary directory). Reports the calls made and the highest load
against each ANAF limit, and the wall time.

    .venv/bin/python bench/anaf_quota.py [N]

The test suite runs a lighter variant (tests/anaf_lifecycle/test_quotas.py: one invoice in 20
stays a whole day); this script is the literal "1000 invoices in processing for a day".
"""

from __future__ import annotations

import bisect
import heapq
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from readme_section import parser

from stripe_efactura import app
from stripe_efactura.anaf.fake import FakeAnafState, FakeAnafTransport, FakeClock, create_fake_anaf
from stripe_efactura.anaf.oauth import token_set_from_response
from stripe_efactura.app import anaf_lifecycle, anaf_tokens
from stripe_efactura.app.context import build_context
from stripe_efactura.config import demo_settings
from stripe_efactura.invoicing.deadlines import upload_deadline
from stripe_efactura.invoicing.model import (
    Address,
    Invoice,
    InvoiceLine,
    Party,
    TaxClass,
    Totals,
    VatBreakdown,
    VatCategory,
)
from stripe_efactura.invoicing.serialize import invoice_to_json
from stripe_efactura.store import db
from stripe_efactura.store import invoices as invoice_store
from stripe_efactura.store.numbering import allocate
from stripe_efactura.tz import BUCHAREST as RO_TZ
from stripe_efactura.ubl.render import render

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
D = Decimal
ADDRESS = Address(line1="Str. Exemplu nr. 1", city="SECTOR1", county="RO-B", country="RO")
SELLER = Party("Firma Mea SRL", ADDRESS, vat_id="RO18547290", legal_id="18547290")
BUYER = Party("Client SRL", ADDRESS, vat_id="RO34567892", legal_id="34567892")


class CallLog:
    def __init__(self, asgi: Any) -> None:
        self.app = asgi
        self.calls: list[tuple[datetime, str, str]] = []
        self.statuses: Counter[int] = Counter()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and "/FCTEL/rest/" in scope["path"]:
            query = dict(p.split("=", 1) for p in scope["query_string"].decode().split("&") if p)
            key = query.get("id_incarcare") or query.get("id") or ""
            self.calls.append(
                (self.app.state.fake.clock.now(), scope["path"].rsplit("/", 1)[1], key)
            )

            async def spy(message: Any) -> None:
                if message["type"] == "http.response.start":
                    self.statuses[int(message["status"])] += 1
                await send(message)

            await self.app(scope, receive, spy)
            return
        await self.app(scope, receive, send)


ISSUED = date(2026, 3, 2)


def invoice(number: str) -> Invoice:
    tax = TaxClass(VatCategory.STANDARD, D("21"))
    line = InvoiceLine("1", "Abonament", D("1"), D("100.00"), D("100.00"), tax, unit_code="C62")
    return Invoice(
        number,
        ISSUED,
        "RON",
        SELLER,
        BUYER,
        (line,),
        (VatBreakdown(tax, D("100.00"), D("21.00")),),
        Totals(D("100.00"), D("100.00"), D("21.00"), D("121.00"), D("0.00"), D("121.00")),
    )


def main(n: int) -> None:
    db._SQLITE_SYNC = "OFF"  # the disk is not what this measures
    tmp = Path(tempfile.mkdtemp(prefix="anaf-quota-"))
    clock = FakeClock(START)
    state = FakeAnafState(clock=clock, processing_polls=10**9, processing_delay=timedelta(hours=24))
    calls = CallLog(create_fake_anaf(state))
    settings = demo_settings(
        tmp,
        database_url=f"sqlite:///{tmp / 'bench.db'}",
        anaf_api_base="http://anaf.fake",
        anaf_oauth_base="http://anaf.fake",
        anaf_client_id="fake-client-id",
        anaf_client_secret="fake-client-secret",
        secret_key="bench",
    )
    ctx = build_context(settings, anaf_transport=FakeAnafTransport(calls))  # type: ignore[arg-type]
    ctx.clock = clock.now
    app.prepare(ctx)
    anaf_tokens.save_tokens(
        ctx, token_set_from_response(state.mint_tokens(), clock.now()), source="bench"
    )
    ids = []
    with db.write(ctx.engine) as conn:
        for _ in range(n):
            code, seq, number, _ = allocate(conn, settings.series.invoice, ISSUED)
            inv = invoice(number)
            ids.append(
                invoice_store.insert_invoice(
                    conn,
                    series_code=code,
                    seq=seq,
                    number=number,
                    kind="invoice",
                    payment_key=f"pi_{number}",
                    issue_date=inv.issue_date,
                    currency="RON",
                    total="121.00",
                    livemode=True,
                    snapshot=invoice_to_json(inv),
                    xml=render(inv),
                    deadline=upload_deadline(inv.issue_date),
                )
            )
    heap = [(clock.now(), i) for i in ids]
    steps = 0
    began = time.perf_counter()
    while heap:
        due, invoice_id = heapq.heappop(heap)
        if due > clock.now():
            clock.advance(due - clock.now())
        step = anaf_lifecycle.advance(ctx, invoice_id)
        steps += 1
        if step.delay is not None:
            heapq.heappush(heap, (clock.now() + timedelta(seconds=step.delay), invoice_id))
    wall = time.perf_counter() - began
    times = sorted(t for t, _e, _k in calls.calls)
    sliding = max(
        bisect.bisect_left(times, t + timedelta(seconds=60)) - i for i, t in enumerate(times)
    )
    per_day = Counter(
        (e, k, t.astimezone(RO_TZ).date()) for t, e, k in calls.calls if e != "upload"
    )
    endpoints = Counter(e for _t, e, _k in calls.calls)
    polls = Counter(k for _t, e, k in calls.calls if e == "stareMesaj")
    print(f"invoices {n}; simulated {clock.now() - START}; steps {steps}; wall {wall:.1f} s")
    print(f"calls by endpoint {dict(endpoints)}; HTTP statuses {dict(calls.statuses)}")
    print(f"max calls in any 60 s: {sliding} (ANAF 1000)")
    print(
        "max stareMesaj per message per day:",
        max(v for (e, _k, _d), v in per_day.items() if e == "stareMesaj"),
        "(ANAF 100)",
    )
    print(
        "max descarcare per message per day:",
        max(v for (e, _k, _d), v in per_day.items() if e == "descarcare"),
        "(ANAF 10)",
    )
    print(f"polls per invoice: min {min(polls.values())} max {max(polls.values())}")
    ok = sum(1 for i in ids if anaf_lifecycle.advance(ctx, i).state == "ok")
    print(f"ok and archived: {ok}/{n}")


def arguments(argv: list[str] | None = None) -> int:
    """N from the command line (``--help`` says what the script does)."""
    command = parser(__doc__)
    command.add_argument("n", type=int, nargs="?", default=1000, help="invoices (1000)")
    return int(command.parse_args(argv).n)


if __name__ == "__main__":
    main(arguments())
