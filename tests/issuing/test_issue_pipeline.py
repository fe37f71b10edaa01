"""From Stripe events to a numbered invoice: the validation gate before numbering, problems
that keep the payment without using a number, and the BNR rate wait for foreign currency."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from factories import stripe_flows as factory
from stripe_efactura import app as use_cases
from stripe_efactura.app import intake, issuing
from stripe_efactura.app.context import AppContext, build_context
from stripe_efactura.config import demo_settings
from stripe_efactura.intake.fake_stripe import FakeStripeReader, FakeStripeStore
from stripe_efactura.invoicing.model import Invoice
from stripe_efactura.invoicing.serialize import invoice_from_json
from stripe_efactura.jobs.worker import Worker
from stripe_efactura.registry.fake import FakeRegistry
from stripe_efactura.store import db
from stripe_efactura.store.invoices import records
from stripe_efactura.store.tables import invoices, jobs, payments
from stripe_efactura.ubl.validate import get_validator

NUMBERED_AT = datetime(2026, 1, 2, 9, 0, tzinfo=UTC)


def make_ctx(
    tmp_path: Path, db_url: str, validation_dir: Path, store: FakeStripeStore
) -> AppContext:
    settings = demo_settings(tmp_path, database_url=db_url, validation_dir=validation_dir)
    ctx = build_context(settings, stripe=FakeStripeReader(store), registry_transport=FakeRegistry())  # type: ignore[arg-type]
    # the flows are paid on 1 January 2026: they are numbered the next day, like a live service
    # would, not eleven months later (which art. 319 (16) makes a late invoice)
    ctx.clock = lambda: NUMBERED_AT
    use_cases.prepare(ctx)
    return ctx


def feed(ctx: AppContext, events: list[dict], seed: int = 1) -> None:
    evs = list(events) + list(events)
    random.Random(seed).shuffle(evs)
    for e in evs:
        intake.accept_event(ctx, json.dumps(e).encode())


def issued(ctx: AppContext) -> list[tuple[str, str, str, str]]:
    with db.read(ctx.engine) as conn:
        rows = conn.execute(
            sa.select(
                invoices.c.number, invoices.c.payment_key, invoices.c.total, invoices.c.anaf_state
            ).order_by(invoices.c.seq)
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def payment_status(ctx: AppContext) -> dict[str, tuple[str, list[str]]]:
    with db.read(ctx.engine) as conn:
        rows = conn.execute(
            sa.select(payments.c.payment_key, payments.c.status, payments.c.problems)
        ).all()
    return {r.payment_key: (r.status, [p["code"] for p in json.loads(r.problems)]) for r in rows}


def test_checkout_payment_becomes_one_valid_numbered_invoice(
    tmp_path: Path, db_url: str, validation_dir: Path
) -> None:
    flow = factory.flow_a_checkout_card()
    ctx = make_ctx(tmp_path, db_url, validation_dir, flow.store())
    feed(ctx, flow.events)
    use_cases.make_worker(ctx).drain()
    assert issued(ctx) == [("TEST000001", "pi_flowA", "121.00", "not_uploaded")]
    assert payment_status(ctx) == {"pi_flowA": ("invoiced", [])}
    with db.read(ctx.engine) as conn:
        row = conn.execute(records()).one()
        tasks = sorted(r[0] for r in conn.execute(sa.select(jobs.c.task)))
    invoice = invoice_from_json(row.snapshot)
    assert invoice.number == "TEST000001"
    assert [(ln.name, ln.quantity, ln.net_amount) for ln in invoice.lines] == [
        ("Carte de bucate", 2, invoice.lines[0].net_amount)
    ]
    assert (
        invoice.totals.tax_exclusive,
        invoice.totals.tax_total,
        invoice.totals.tax_inclusive,
    ) == (
        invoice.totals.tax_exclusive,
        invoice.totals.tax_total,
        invoice.totals.tax_inclusive,
    )
    assert str(invoice.totals.tax_inclusive) == "121.00"
    assert str(invoice.totals.tax_total) == "21.00"
    assert b"<cbc:ID>TEST000001</cbc:ID>" in row.xml
    assert get_validator(validation_dir).validate(row.xml).fatal == ()
    assert "render_pdf" in tasks and "issue_invoice" in tasks
    # a second run of the job is a no-op
    assert use_cases.issue_invoice(ctx, "pi_flowA") == "already"
    ctx.close()


def test_a_payment_with_problems_uses_no_number(
    tmp_path: Path, db_url: str, validation_dir: Path
) -> None:
    bad = factory.flow_g_legacy_charge()
    for obj in [*bad.objects, *(e["data"]["object"] for e in bad.events)]:
        if obj.get("object") == "charge":  # only a country: no street, no city
            obj["billing_details"]["address"] = {"country": "RO", "postal_code": "010101"}
            obj["shipping"] = None
    good = factory.flow_a_checkout_card()
    store = bad.store(good.store())
    ctx = make_ctx(tmp_path, db_url, validation_dir, store)
    feed(ctx, bad.events)
    use_cases.make_worker(ctx).drain()
    status = payment_status(ctx)
    assert status[bad.payment_key][0] == "needs_attention"  # type: ignore[index]
    assert status[bad.payment_key][1] == ["P-BUYER-ADDRESS-MISSING"]  # type: ignore[index]
    assert issued(ctx) == []
    feed(ctx, good.events)
    use_cases.make_worker(ctx).drain()
    assert [n for n, *_ in issued(ctx)] == ["TEST000001"]
    with db.read(ctx.engine) as conn:
        kinds = [r[0] for r in conn.execute(sa.text("SELECT kind FROM notices"))]
    assert kinds == ["payment_problem"]
    ctx.close()


BNR_XML = b"""<?xml version="1.0" encoding="utf-8"?>
<DataSet xmlns="http://www.bnr.ro/xsd"><Header><Publisher>National Bank of Romania</Publisher>
<PublishingDate>2026-01-05</PublishingDate><MessageType>DR</MessageType></Header>
<Body><Subject>Reference rates</Subject><OrigCurrency>RON</OrigCurrency>
<Cube date="2025-12-31"><Rate currency="EUR">5.0900</Rate><Rate currency="USD">4.3500</Rate></Cube>
<Cube date="2026-01-05"><Rate currency="EUR">5.0950</Rate><Rate currency="USD">4.3600</Rate></Cube>
</Body></DataSet>"""


def job_rows(ctx: AppContext, task: str) -> list[tuple[str, int, str | None]]:
    with db.read(ctx.engine) as conn:
        rows = conn.execute(
            sa.select(jobs.c.status, jobs.c.attempts, jobs.c.last_error)
            .where(jobs.c.task == task)
            .order_by(jobs.c.id)
        ).all()
    return [(r.status, r.attempts, r.last_error) for r in rows]


def test_foreign_currency_waits_for_the_bnr_rate(
    tmp_path: Path, db_url: str, validation_dir: Path
) -> None:
    """The wait is event-driven: the invoice waits (attempts not counted, the reason kept on
    its job) until a fetch stores the rates, which wakes it; no waiting job is made due."""
    flow = factory.flow_b_checkout_delayed()  # EUR
    ctx = make_ctx(tmp_path, db_url, validation_dir, flow.store())
    served: list[str] = []
    bnr_up = [False]

    def bnr(request: httpx.Request) -> httpx.Response:
        served.append(request.url.path)
        if not bnr_up[0]:
            return httpx.Response(503)
        return httpx.Response(200, content=BNR_XML)

    ctx.bnr_transport = httpx.MockTransport(bnr)
    feed(ctx, flow.events)
    worker = use_cases.make_worker(ctx)
    worker.drain()
    assert issued(ctx) == []
    assert payment_status(ctx)[flow.payment_key][0] == "pending"  # type: ignore[index]
    assert served == ["/nbrfxrates.xml"]  # a BNR fetch was attempted
    waiting = (
        "[E-FX-WAIT] waiting for the BNR rate of EUR for 2026-01-01 (since 2026-01-02 09:00 UTC)"
    )
    assert [row for row in job_rows(ctx, "issue_invoice") if row[0] != "done"] == [
        ("queued", 0, waiting)
    ]
    bnr_up[0] = True
    with db.write(ctx.engine) as conn:  # the BNR fetch's own retry is due; nothing else
        conn.execute(jobs.update().where(jobs.c.task == "fetch_bnr").values(run_at=db.db_now(conn)))
    worker.drain()
    rows = issued(ctx)
    assert [r[0] for r in rows] == ["TEST000001"]
    with db.read(ctx.engine) as conn:
        snap = invoice_from_json(conn.execute(sa.select(invoices.c.snapshot)).scalar_one())
    assert snap.currency == "EUR" and snap.tax_currency == "RON"
    assert snap.fx is not None and str(snap.fx.rate) == "5.0900"
    assert snap.totals.tax_total_ron is not None
    ctx.close()


def test_a_bnr_rate_that_never_comes_says_so_then_needs_attention(
    tmp_path: Path, db_url: str, validation_dir: Path
) -> None:
    from datetime import timedelta

    from stripe_efactura.app import lookups

    flow = factory.flow_b_checkout_delayed()  # EUR, paid on 1 January 2026
    ctx = make_ctx(tmp_path, db_url, validation_dir, flow.store())
    ctx.bnr_transport = httpx.MockTransport(lambda request: httpx.Response(503))
    feed(ctx, flow.events)
    worker = use_cases.make_worker(ctx)

    def run_at(hours: float) -> None:
        ctx.clock = lambda: NUMBERED_AT + timedelta(hours=hours)
        with db.write(ctx.engine) as conn:  # make the waiting jobs due now
            conn.execute(
                jobs.update().where(jobs.c.status == "queued").values(run_at=db.db_now(conn))
            )
        worker.drain()

    run_at(0)
    key = str(flow.payment_key)
    assert payment_status(ctx)[key] == ("pending", [])
    waits = [(e["event"], e["detail"]) for e in lookups.timeline(ctx, key) if "fx" in e["event"]]
    assert waits == [("fx_waiting", {"currency": "EUR", "day": "2026-01-01"})]
    run_at(47.9)  # still waiting: the issue job is queued, not dead, and said so once
    assert payment_status(ctx)[key] == ("pending", [])
    with db.read(ctx.engine) as conn:
        states = conn.execute(
            sa.select(jobs.c.status).where(jobs.c.task == "issue_invoice")
        ).scalars()
        assert set(states) == {"queued"}
    run_at(48)
    assert payment_status(ctx)[key] == ("needs_attention", ["P-FX-RATE-MISSING"])
    assert issued(ctx) == []
    events = [e["event"] for e in lookups.timeline(ctx, key) if "fx" in e["event"]]
    assert events == ["fx_waiting", "fx_gave_up"]
    listed = {r["payment_key"]: r for r in use_cases.payments_listing(ctx)}[key]
    problems: list[dict[str, str]] = listed["problems"]  # type: ignore[assignment]
    assert problems[0]["message_en"] == (
        "The BNR rate of EUR for 2026-01-01 is still missing (waited since 2026-01-02 09:00 "
        "UTC); the invoice cannot be issued without it."
    )
    ctx.close()


def test_the_first_foreign_currency_invoice_does_not_wait_a_fixed_delay(
    tmp_path: Path, db_url: str, validation_dir: Path
) -> None:
    """BNR answers at once: one drain fetches the rates, wakes the waiting invoice and
    issues it (no job was made due by the test)."""
    flow = factory.flow_b_checkout_delayed()  # EUR
    ctx = make_ctx(tmp_path, db_url, validation_dir, flow.store())
    ctx.bnr_transport = httpx.MockTransport(lambda request: httpx.Response(200, content=BNR_XML))
    feed(ctx, flow.events)
    use_cases.make_worker(ctx).drain()
    assert [r[0] for r in issued(ctx)] == ["TEST000001"]
    assert [row[:2] for row in job_rows(ctx, "fetch_bnr")] == [("done", 1)]
    ctx.close()


def test_a_richer_event_after_needs_attention_issues_the_invoice(
    tmp_path: Path, db_url: str, validation_dir: Path
) -> None:
    """Degraded mode: the PaymentIntent alone has no buyer address (needs attention); the
    Checkout Session that arrives later is a richer owner and the invoice is issued from it."""
    flow = factory.flow_a_checkout_card()
    settings = demo_settings(tmp_path, database_url=db_url, validation_dir=validation_dir)
    ctx = build_context(settings, registry_transport=FakeRegistry())  # no Stripe API key
    use_cases.prepare(ctx)
    worker = use_cases.make_worker(ctx)
    intake.accept_event(ctx, json.dumps(flow.event("payment_intent.succeeded")).encode())
    worker.drain()
    assert payment_status(ctx)["pi_flowA"][0] == "needs_attention"
    assert issued(ctx) == []
    intake.accept_event(ctx, json.dumps(flow.event("checkout.session.completed")).encode())
    intake.accept_event(ctx, json.dumps(flow.event("charge.succeeded")).encode())
    worker.drain()
    assert payment_status(ctx) == {"pi_flowA": ("invoiced", [])}
    assert [r[0] for r in issued(ctx)] == ["TEST000001"]
    with db.read(ctx.engine) as conn:
        owner = conn.execute(sa.select(payments.c.owner_type)).scalar_one()
    assert owner == "checkout_session"
    ctx.close()


def _recurrency(value: object, currency: str) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "currency":
                value[key] = currency
            else:
                _recurrency(item, currency)
    elif isinstance(value, list):
        for item in value:
            _recurrency(item, currency)


def test_a_currency_bnr_does_not_publish_is_a_problem_not_a_wait(
    tmp_path: Path, db_url: str, validation_dir: Path
) -> None:
    """Art. 290 Cod fiscal needs a BNR rate for the VAT in lei: a currency BNR never publishes
    (or none at all) cannot be invoiced, and the merchant is told at once instead of the
    payment waiting for a rate that never comes."""
    flow = factory.flow_a_checkout_card()
    _recurrency([*flow.objects, *flow.events], "kwd")
    ctx = make_ctx(tmp_path, db_url, validation_dir, flow.store())
    feed(ctx, flow.events)
    use_cases.make_worker(ctx).drain()
    assert payment_status(ctx) == {"pi_flowA": ("needs_attention", ["P-CURRENCY-UNSUPPORTED"])}
    assert issued(ctx) == []
    ctx.close()


def test_a_payment_issued_by_another_worker_meanwhile_is_already_and_leaves_no_gap(
    tmp_path: Path, db_url: str, validation_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two workers read the same payment without an invoice; the other one numbers and
    stores first. Ours finds no row to re-read in its write: the unique key (payment, kind)
    refuses its invoice, the rollback gives its number back, and the job ends ``already``;
    the next payment takes the next number."""
    flow_a, flow_b = factory.flow_a_checkout_card(), factory.flow_f_direct_payment_intent()
    ctx = make_ctx(tmp_path, db_url, validation_dir, flow_b.store(flow_a.store()))
    feed(ctx, flow_a.events)
    handlers = use_cases.make_worker(ctx).handlers
    Worker(ctx.engine, {"process_event": handlers["process_event"]}).drain()  # no invoice yet
    prepare = issuing.prepare
    meanwhile: list[str] = []

    def other_worker_first(c: AppContext, validated: Invoice) -> issuing.Prepared | None:
        if not meanwhile:  # the other worker's own prepare runs as usual
            meanwhile.append("running")
            meanwhile[0] = use_cases.issue_invoice(ctx, "pi_flowA")
        return prepare(c, validated)

    monkeypatch.setattr(issuing, "prepare", other_worker_first)
    assert use_cases.issue_invoice(ctx, "pi_flowA") == "already"
    assert meanwhile == ["issued"]
    monkeypatch.undo()
    feed(ctx, flow_b.events)
    Worker(ctx.engine, {"process_event": handlers["process_event"]}).drain()
    statements: list[str] = []

    def seen(_c: object, _cursor: object, sql: str, *_a: object) -> None:
        statements.append(" ".join(sql.split()))

    sa.event.listen(ctx.engine, "before_cursor_execute", seen)
    try:
        assert use_cases.issue_invoice(ctx, str(flow_b.payment_key)) == "issued"
    finally:
        sa.event.remove(ctx.engine, "before_cursor_execute", seen)
    # the payment's invoice is looked for once, before the write: not again inside it
    assert sum("WHERE invoices.payment_key =" in s for s in statements) == 1
    use_cases.make_worker(ctx).drain()
    assert [(n, k) for n, k, _t, _s in issued(ctx)] == [
        ("TEST000001", "pi_flowA"),
        ("TEST000002", flow_b.payment_key),
    ]
    ctx.close()
