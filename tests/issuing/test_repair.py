"""payments retry (after the merchant fixed Stripe data, or with buyer overrides) and
reconcile (events missed by the webhook, fed from Stripe's events list)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from factories import stripe_flows as factory
from stripe_efactura import app as use_cases
from stripe_efactura.app import intake
from stripe_efactura.app.context import AppContext, build_context
from stripe_efactura.app.repair import RepairError, reconcile, retry_payment
from stripe_efactura.config import demo_settings
from stripe_efactura.intake.fake_stripe import FakeStripeReader, FakeStripeStore
from stripe_efactura.invoicing.buyer import BuyerOverrides
from stripe_efactura.registry.fake import FakeRegistry
from stripe_efactura.store import db
from stripe_efactura.store.tables import invoices, payments, stripe_events


def make_ctx(
    tmp_path: Path, db_url: str, validation_dir: Path, store: FakeStripeStore | None
) -> AppContext:
    settings = demo_settings(tmp_path, database_url=db_url, validation_dir=validation_dir)
    reader = FakeStripeReader(store) if store is not None else None
    ctx = build_context(settings, stripe=reader, registry_transport=FakeRegistry())  # type: ignore[arg-type]
    use_cases.prepare(ctx)
    return ctx


def broken_legacy_charge() -> factory.Flow:
    flow = factory.flow_g_legacy_charge()
    for obj in [*flow.objects, *(e["data"]["object"] for e in flow.events)]:
        if obj.get("object") == "charge":
            obj["billing_details"]["address"] = {"country": "RO", "postal_code": "010101"}
            obj["shipping"] = None
    return flow


def state(ctx: AppContext, key: str) -> tuple[str, list[str]]:
    with db.read(ctx.engine) as conn:
        pay = conn.execute(sa.select(payments).where(payments.c.payment_key == key)).one()
        numbers = [r[0] for r in conn.execute(sa.select(invoices.c.number))]
    return pay.status, numbers


def test_retry_rereads_stripe_after_the_fix(
    tmp_path: Path, db_url: str, validation_dir: Path
) -> None:
    flow = broken_legacy_charge()
    store = flow.store()
    ctx = make_ctx(tmp_path, db_url, validation_dir, store)
    for e in flow.events:
        intake.accept_event(ctx, json.dumps(e).encode())
    use_cases.make_worker(ctx).drain()
    key = flow.payment_key
    assert key is not None
    assert state(ctx, key) == ("needs_attention", [])
    # the merchant fixes the billing address in Stripe
    charge = store.objects["charge"][key]
    charge["billing_details"]["address"] = {
        "line1": "Str. Memorandumului 28",
        "city": "Cluj-Napoca",
        "state": "Cluj",
        "postal_code": "400114",
        "country": "RO",
    }
    assert retry_payment(ctx, key) == f"payment {key} queued again (re-read from Stripe)"
    use_cases.make_worker(ctx).drain()
    assert state(ctx, key) == ("invoiced", ["TEST000001"])
    with pytest.raises(RepairError) as err:
        retry_payment(ctx, key)
    assert err.value.code == "E-RETRY-INVOICED"
    ctx.close()


def test_retry_with_buyer_overrides_in_degraded_mode(
    tmp_path: Path, db_url: str, validation_dir: Path
) -> None:
    flow = broken_legacy_charge()
    ctx = make_ctx(tmp_path, db_url, validation_dir, None)
    for e in flow.events:
        intake.accept_event(ctx, json.dumps(e).encode())
    use_cases.make_worker(ctx).drain()
    key = flow.payment_key
    assert key is not None and state(ctx, key)[0] == "needs_attention"
    overrides = BuyerOverrides(
        name="Ion Popescu", line1="Str. Lunga 3", city="Brașov", state="BV", country="RO"
    )
    assert retry_payment(ctx, key, overrides=overrides).endswith("(from the stored data)")
    use_cases.make_worker(ctx).drain()
    assert state(ctx, key) == ("invoiced", ["TEST000001"])
    with pytest.raises(RepairError):
        retry_payment(ctx, "pi_unknown")
    ctx.close()


def test_reconcile_feeds_missed_events_once(
    tmp_path: Path, db_url: str, validation_dir: Path
) -> None:
    flow = factory.flow_a_checkout_card()
    store = flow.store()
    store.add(*flow.events)
    ctx = make_ctx(tmp_path, db_url, validation_dir, store)
    intake.accept_event(ctx, json.dumps(flow.events[0]).encode())  # the only one that arrived
    since = datetime(2025, 12, 31, tzinfo=UTC)
    ticks: list[tuple[int, int]] = []
    first = reconcile(ctx, since, progress=lambda s, n: ticks.append((s, n)))
    assert first == {"seen": len(flow.events), "new": len(flow.events) - 1}
    assert ticks[-1] == (len(flow.events), len(flow.events) - 1)
    assert reconcile(ctx, since) == {"seen": len(flow.events), "new": 0}
    use_cases.make_worker(ctx).drain()
    with db.read(ctx.engine) as conn:
        sources = sorted(r[0] for r in conn.execute(sa.select(stripe_events.c.source)))
    assert sources == ["reconcile"] * (len(flow.events) - 1) + ["webhook"]
    assert state(ctx, "pi_flowA") == ("invoiced", ["TEST000001"])
    ctx.close()
