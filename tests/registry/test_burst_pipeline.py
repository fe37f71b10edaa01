"""A burst of 1,000 B2B Checkouts, each with only its own CUI, through the issuing pipeline
(webhook intake, the worker, the invoice builder, validation) on a fake clock: ANAF's
registry sees at most 100 CUIs per call and one call per second, every invoice carries its
company's registry name, and the lookups are batched instead of one call per payment."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa

from factories import stripe_flows as factory
from stripe_efactura import app as use_cases
from stripe_efactura.app import intake, lookups
from stripe_efactura.app.context import AppContext, build_context
from stripe_efactura.app.handlers import handlers
from stripe_efactura.config import demo_settings
from stripe_efactura.intake.fake_stripe import FakeStripeReader, FakeStripeStore
from stripe_efactura.invoicing import ro
from stripe_efactura.invoicing.serialize import invoice_from_json
from stripe_efactura.jobs.worker import Worker
from stripe_efactura.registry.fake import FakeClock, FakeCompany, FakeRegistry
from stripe_efactura.store import db
from stripe_efactura.store.tables import invoices, payments
from stripe_efactura.ubl import artifacts

from .test_buyer_pipeline import EPOCH, _flow, _only_a_cui


@pytest.fixture(scope="module")
def validation_dir(validation_src: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("validation")
    artifacts.install_from(validation_src, dest)
    return dest


def _cuis(n: int) -> list[str]:
    return [f"{b}{ro._cui_check_digit(str(b))}" for b in range(4_000_001, 4_000_001 + n)]


def _renamed(flow: factory.Flow, i: int) -> tuple[list[dict[str, object]], factory.Flow]:
    """The flow with every Stripe id of its own (payment ``pi_flowA0042``…)."""
    text = json.dumps([flow.events, flow.objects, flow.session_line_items])
    text = text.replace("flowA", f"flowA{i:04d}").replace('"evt_A', f'"evt_A{i:04d}_')
    events, objects, items = json.loads(text)
    return events, factory.Flow(
        flow.name,
        flow.title,
        events,
        objects,
        f"pi_flowA{i:04d}",
        None,
        flow.amount,
        flow.currency,
        frozenset(),
        session_line_items=items,
    )


Burst = tuple[AppContext, FakeRegistry, FakeClock, list[str]]


@pytest.fixture
def burst(
    request: pytest.FixtureRequest, tmp_path: Path, db_url: str, validation_dir: Path
) -> Iterator[Burst]:
    """``request.param`` B2B Checkouts accepted at once, each with its own CUI."""
    n = int(request.param)
    clock = FakeClock()
    fake = FakeRegistry(clock=clock, sleep=clock.sleep)
    cuis = _cuis(n)
    fake.add(
        FakeCompany(c, f"FIRMA {c} SRL", "Str. Lungă", "1", "Mun. Cluj-Napoca", "CJ", "CLUJ",
                    "400001")
        for c in cuis
    )  # fmt: skip
    store = FakeStripeStore()
    deliveries: list[dict[str, object]] = []
    for i, cui in enumerate(cuis):
        events, flow = _renamed(_flow(_only_a_cui(cui)), i)
        flow.store(store)
        deliveries += events
    settings = demo_settings(
        tmp_path,
        database_url=db_url,
        validation_dir=validation_dir,
        sqlite_synchronous="OFF",  # 27 commits a payment: no fsync each (PostgreSQL: as is)
    )
    ctx = build_context(settings, stripe=FakeStripeReader(store), registry_transport=fake)  # type: ignore[arg-type]
    use_cases.prepare(ctx)
    ctx.clock = lambda: EPOCH + timedelta(seconds=clock() - 1000.0)
    ctx.sleep = clock.sleep
    for e in deliveries:
        intake.accept_event(ctx, json.dumps(e).encode())
    yield ctx, fake, clock, cuis
    ctx.close()


def _statuses(ctx: AppContext) -> dict[str, int]:
    with db.read(ctx.engine) as conn:
        rows = conn.execute(
            sa.select(payments.c.status, sa.func.count()).group_by(payments.c.status)
        ).all()
    return {str(s): int(n) for s, n in rows}


def _pending(ctx: AppContext) -> list[str]:
    with db.read(ctx.engine) as conn:
        rows = conn.execute(
            sa.select(payments.c.payment_key)
            .where(payments.c.status == "pending")
            .order_by(payments.c.payment_key)
        ).all()
    return [str(r.payment_key) for r in rows]


@pytest.mark.parametrize(
    "burst", [150, pytest.param(1000, marks=pytest.mark.slow)], indirect=True, ids=str
)
def test_a_burst_of_b2b_checkouts_stays_within_anafs_registry_limits(burst: Burst) -> None:
    """1,000 payments (``scripts/test --all``; 150 in the quick suite, past one full
    batch). The worker's own handlers: ``process_event`` turns the events into payments, then
    ``issue_invoice`` runs for each. The job queue schedules on the database's clock, so its
    rerun of a job that waits for the registry's call slot (LookupWait, released without
    counting an attempt) is done here on the fake clock: every waiting payment is issued
    again after the wait."""
    ctx, fake, clock, cuis = burst
    n = len(cuis)
    jobs = handlers(ctx)
    Worker(ctx.engine, {"process_event": jobs["process_event"]}, batch=100).drain(max_rounds=100)
    issue = jobs["issue_invoice"]
    waiting = _pending(ctx)
    assert len(waiting) == n
    rounds = 0
    while waiting:
        rounds += 1
        assert rounds <= 30, len(waiting)
        still: list[str] = []
        for key in waiting:
            try:
                issue(job_for(key))
            except lookups.LookupWait:
                still.append(key)
        waiting = still
        clock.sleep(1.0)  # the wait LookupWait asks for
    assert _statuses(ctx) == {"invoiced": n}
    assert fake.violations == []
    sizes = [len(c) for _, c in fake.anaf_calls]
    assert max(sizes) <= 100 and sorted(itertools.chain(*(c for _, c in fake.anaf_calls))) == cuis
    times = [t for t, _ in fake.anaf_calls]
    assert all(b - a >= 1.0 for a, b in itertools.pairwise(times))
    assert len(fake.anaf_calls) <= 15, sizes  # batched, not one call per payment
    with db.read(ctx.engine) as conn:
        rows = conn.execute(sa.select(invoices.c.snapshot, invoices.c.validation)).all()
    assert len(rows) == n
    buyers = [invoice_from_json(r.snapshot).buyer for r in rows]
    assert {b.legal_id: b.name for b in buyers} == {c: f"FIRMA {c} SRL" for c in cuis}
    assert all(json.loads(r.validation)["fatal"] == [] for r in rows)


def job_for(key: str) -> Any:
    """The job row ``issue_invoice`` reads (its payment key)."""
    return SimpleNamespace(args={"payment_key": key}, attempts=0, max_attempts=8)
