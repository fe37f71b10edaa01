"""A thin event (v2 event notification, no ``data.object``) whose Stripe objects cannot be
read keeps the paid payment visible (issue 14), through the real API adapter and the fake
Stripe server: its own object answering 404 records a stand-in payment needing attention with
P-STRIPE-UNREADABLE naming the object, that `payments retry` completes once the key sees it;
another object answering 404 degrades to the object it names; 5xx and 429 are retried."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from factories import stripe_flows as factory
from stripe_efactura import app as use_cases
from stripe_efactura.app import browse, intake, repair
from stripe_efactura.app.context import AppContext, build_context
from stripe_efactura.config import demo_settings
from stripe_efactura.errors import StripeApiError
from stripe_efactura.intake.fake_server import run_in_thread
from stripe_efactura.intake.fake_stripe import FakeStripeStore, create_fake_stripe
from stripe_efactura.intake.stripe_api import StripeApi
from stripe_efactura.registry.fake import FakeRegistry
from stripe_efactura.store import db
from stripe_efactura.store.tables import invoice_files, invoices, stripe_events

KEY = "sk_test_thin_404"
NUMBERED_AT = datetime(2026, 1, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def store() -> FakeStripeStore:
    return FakeStripeStore(api_key=KEY)


@pytest.fixture
def ctx(
    store: FakeStripeStore, tmp_path: Path, db_url: str, validation_dir: Path
) -> Iterator[AppContext]:
    with run_in_thread(create_fake_stripe(store)) as url:
        api = StripeApi(KEY, api_base=url, max_retries=0)
        settings = demo_settings(tmp_path, database_url=db_url, validation_dir=validation_dir)
        context = build_context(settings, stripe=api, registry_transport=FakeRegistry())  # type: ignore[arg-type]
        context.clock = lambda: NUMBERED_AT
        use_cases.prepare(context)
        yield context
        context.close()


def thin(flow: factory.Flow, etype: str, obj_id: str, created: int) -> dict[str, Any]:
    obj = next(o for o in flow.objects if o["id"] == obj_id)
    return factory.thin_event(etype, obj, eid=f"evt_thin_{obj_id}", created=created)


def listed(ctx: AppContext, key: str) -> dict[str, Any]:
    return {str(r["payment_key"]): r for r in use_cases.payments_listing(ctx)}[key]


def event_outcome(ctx: AppContext, event_id: str) -> tuple[str, str | None, str | None]:
    with db.read(ctx.engine) as conn:
        row = conn.execute(
            sa.select(
                stripe_events.c.outcome, stripe_events.c.reason, stripe_events.c.payment_key
            ).where(stripe_events.c.id == event_id)
        ).one()
    return row.outcome, row.reason, row.payment_key


def numbers(ctx: AppContext) -> list[str]:
    with db.read(ctx.engine) as conn:
        return list(conn.execute(sa.select(invoices.c.number)).scalars())


def test_its_own_object_answering_404_records_the_payment_needing_attention(
    ctx: AppContext, store: FakeStripeStore
) -> None:
    flow = factory.flow_f_direct_payment_intent()
    flow.store(store)
    pi = store.objects["payment_intent"].pop("pi_flowF")  # another account's PaymentIntent
    event = thin(flow, "payment_intent.succeeded", "pi_flowF", factory.T0 + 5003)
    intake.accept_event(ctx, json.dumps(event).encode())
    worker = use_cases.make_worker(ctx)
    worker.drain()

    assert event_outcome(ctx, "evt_thin_pi_flowF") == ("processed", None, "pi_flowF")
    row = listed(ctx, "pi_flowF")
    assert (row["status"], row["owner"], row["amount"], row["currency"], row["degraded"]) == (
        "needs_attention",
        "payment_intent:pi_flowF",
        0,
        "XXX",
        True,
    )
    (problem,) = row["problems"]
    assert problem["code"] == "P-STRIPE-UNREADABLE"
    assert problem["message_en"] == (
        "The Stripe payment_intent pi_flowF of the payment cannot be read: the API key cannot "
        "see it (HTTP 404) (Stripe GET /v1/payment_intents/pi_flowF failed: No such "
        "payment_intent: 'pi_flowF'); its amount and buyer are unknown until it is read."
    )
    assert problem["message_ro"] == (
        "Obiectul Stripe payment_intent pi_flowF al plății nu poate fi citit: cheia API nu îl "
        "vede (HTTP 404) (Stripe GET /v1/payment_intents/pi_flowF failed: No such "
        "payment_intent: 'pi_flowF'); suma și cumpărătorul nu se cunosc până nu este citit."
    )
    assert problem["hint"].endswith("then run `stripe-efactura payments retry pi_flowF`.")
    assert numbers(ctx) == []  # nothing issued from a payment nobody could read
    detail = browse.payment_detail(ctx, "pi_flowF")  # the API's and the console's view
    assert (detail["status"], detail["amount"], detail["currency"], detail["owner"]) == (
        "needs_attention",
        "0.00",
        "XXX",
        {"type": "payment_intent", "id": "pi_flowF"},
    )

    with pytest.raises(StripeApiError) as still:  # the key still cannot see it
        repair.retry_payment(ctx, "pi_flowF")
    assert still.value.code == "E-STRIPE-NOT-FOUND"
    assert listed(ctx, "pi_flowF")["status"] == "needs_attention"

    store.add(pi)  # the merchant fixed the key
    assert (
        repair.retry_payment(ctx, "pi_flowF") == "payment pi_flowF queued again (read from Stripe)"
    )
    worker.drain()
    row = listed(ctx, "pi_flowF")
    assert (row["status"], row["amount"], row["currency"], row["degraded"]) == (
        "invoiced",
        23200,
        "RON",
        False,
    )
    assert row["problems"] == []
    assert numbers(ctx) == ["TEST000001"]


def test_a_charge_read_later_belongs_to_its_payment_intent(
    ctx: AppContext, store: FakeStripeStore
) -> None:
    flow = factory.flow_f_direct_payment_intent()
    flow.store(store)
    charge = store.objects["charge"].pop("ch_flowF")
    intake.accept_event(
        ctx, json.dumps(thin(flow, "charge.succeeded", "ch_flowF", factory.T0 + 5004)).encode()
    )
    worker = use_cases.make_worker(ctx)
    worker.drain()
    row = listed(ctx, "ch_flowF")
    assert (row["status"], row["owner"], row["currency"]) == (
        "needs_attention",
        "charge:ch_flowF",
        "XXX",
    )
    assert row["problems"][0]["message_en"].startswith(
        "The Stripe charge ch_flowF of the payment cannot be read: the API key cannot see it"
    )

    store.add(charge)
    assert repair.retry_payment(ctx, "ch_flowF") == (
        "payment ch_flowF is payment pi_flowF; pi_flowF queued (read from Stripe)"
    )
    worker.drain()
    stand_in = listed(ctx, "ch_flowF")
    assert stand_in["status"] == "ignored"
    assert [p["code"] for p in stand_in["problems"]] == ["I-STRIPE-READ-AS"]
    assert stand_in["problems"][0]["message_en"] == (
        "Read from Stripe: the object belongs to payment pi_flowF, which is invoiced."
    )
    real = listed(ctx, "pi_flowF")
    assert (real["status"], real["amount"], real["currency"]) == ("invoiced", 23200, "RON")
    assert real["event_ids"] == ["evt_thin_ch_flowF"]
    assert numbers(ctx) == ["TEST000001"]  # one invoice for the one payment


def test_a_customer_the_key_cannot_see_degrades_to_the_object_read(
    ctx: AppContext, store: FakeStripeStore
) -> None:
    flow = factory.flow_e_stripe_invoicing()
    flow.store(store)
    store.objects["customer"].pop("cus_flowE")
    event = thin(flow, "payment_intent.succeeded", "pi_flowE", factory.T0 + 4100)
    intake.accept_event(ctx, json.dumps(event).encode())
    use_cases.make_worker(ctx).drain()

    assert event_outcome(ctx, "evt_thin_pi_flowE") == ("processed", None, "pi_flowE")
    row = listed(ctx, "pi_flowE")
    assert (row["status"], row["degraded"], row["owner"]) == (
        "needs_attention",
        True,
        "payment_intent:pi_flowE",
    )
    assert (row["amount"], row["currency"]) == (flow.amount, "RON")
    assert [p["code"] for p in row["problems"]] == ["P-STRIPE-UNREADABLE"]
    assert row["problems"][0]["message_en"] == (
        "A Stripe object of the payment cannot be read: the API key cannot see it (HTTP 404) "
        "(Stripe GET /v1/customers/cus_flowE failed: No such customer: 'cus_flowE')."
    )
    assert numbers(ctx) == []


@pytest.mark.parametrize(
    ("status", "code"), [(500, "E-STRIPE-UNAVAILABLE"), (429, "E-STRIPE-RATE-LIMIT")]
)
def test_a_transient_error_is_retried_not_kept(
    ctx: AppContext, store: FakeStripeStore, status: int, code: str
) -> None:
    flow = factory.flow_f_direct_payment_intent()
    flow.store(store)
    event = thin(flow, "payment_intent.succeeded", "pi_flowF", factory.T0 + 5003)
    intake.accept_event(ctx, json.dumps(event).encode())
    store.fail_next(status, path_prefix="/v1/payment_intents/pi_flowF", times=1)

    with pytest.raises(StripeApiError) as failed:  # the job runs again later
        intake.process_event(ctx, "evt_thin_pi_flowF")
    assert (failed.value.code, failed.value.permanent) == (code, False)
    assert event_outcome(ctx, "evt_thin_pi_flowF") == ("pending", None, None)
    assert "pi_flowF" not in {r["payment_key"] for r in use_cases.payments_listing(ctx)}

    assert intake.process_event(ctx, "evt_thin_pi_flowF") == "processed"
    assert listed(ctx, "pi_flowF")["status"] == "pending"
    assert listed(ctx, "pi_flowF")["amount"] == 23200


def test_a_woocommerce_unit_in_words_is_invoiced_as_its_code(
    ctx: AppContext, store: FakeStripeStore
) -> None:
    """Flow F's line item says ``unit_of_measure: "buc"``: the invoice passes the official rules
    (BR-CL-23) with ``unitCode="H87"`` instead of needing attention."""
    flow = factory.flow_f_direct_payment_intent()
    flow.store(store)
    for event in flow.events:
        intake.accept_event(ctx, json.dumps(event).encode())
    use_cases.make_worker(ctx).drain()

    assert listed(ctx, "pi_flowF")["status"] == "invoiced"
    assert numbers(ctx) == ["TEST000001"]
    with db.read(ctx.engine) as conn:
        xml = conn.execute(
            sa.select(invoice_files.c.content).where(invoice_files.c.kind == "xml")
        ).scalar_one()
    assert b'<cbc:InvoicedQuantity unitCode="H87">2</cbc:InvoicedQuantity>' in xml
    assert b"<cbc:Name>Ceainic</cbc:Name>" in xml
