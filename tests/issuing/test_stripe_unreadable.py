"""A Stripe object the API key cannot see (404) does not make a paid payment vanish: it is
recorded from the payload, needs attention with P-STRIPE-UNREADABLE naming the object and
the fix, is not invoiced from partial data, and `payments retry` completes it once the key
sees the object (issue 14)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from factories import stripe_flows as factory
from stripe_efactura import app as use_cases
from stripe_efactura.app import intake, repair
from stripe_efactura.app.context import AppContext, build_context
from stripe_efactura.config import demo_settings
from stripe_efactura.errors import StripeApiError
from stripe_efactura.intake.fake_stripe import FakeStripeReader
from stripe_efactura.registry.fake import FakeRegistry
from stripe_efactura.store import db
from stripe_efactura.store.tables import invoices, notices, stripe_events

NUMBERED_AT = datetime(2026, 1, 2, 9, 0, tzinfo=UTC)


def outcomes_reason(outcomes: set[tuple[str, str, str | None]], event_type: str) -> str | None:
    return next(reason for t, _o, reason in outcomes if t == event_type)


def listed(ctx: AppContext, key: str) -> dict[str, Any]:
    return {str(r["payment_key"]): r for r in use_cases.payments_listing(ctx)}[key]


def test_a_customer_the_key_cannot_see_keeps_the_payment_needing_attention(
    tmp_path: Path, db_url: str, validation_dir: Path
) -> None:
    flow = factory.flow_e_stripe_invoicing()
    store = flow.store()
    customer = store.objects["customer"].pop("cus_flowE")  # another account's customer: 404
    settings = demo_settings(tmp_path, database_url=db_url, validation_dir=validation_dir)
    ctx = build_context(settings, stripe=FakeStripeReader(store), registry_transport=FakeRegistry())  # type: ignore[arg-type]
    ctx.clock = lambda: NUMBERED_AT
    use_cases.prepare(ctx)
    for event in flow.events:
        intake.accept_event(ctx, json.dumps(event).encode())
    worker = use_cases.make_worker(ctx)
    worker.drain()

    key = str(flow.payment_key)
    row = listed(ctx, key)
    assert (row["status"], row["degraded"], row["kind"]) == ("needs_attention", True, "payment")
    problems: list[dict[str, Any]] = row["problems"]
    assert [p["code"] for p in problems] == ["P-STRIPE-UNREADABLE"]
    assert problems[0]["message_en"] == (
        "A Stripe object of the payment cannot be read: the API key cannot see it (HTTP 404) "
        "(No such customer: 'cus_flowE')."
    )
    assert problems[0]["hint"] == (
        "Check that EFACTURA_STRIPE_API_KEY belongs to the Stripe account that received the "
        "payment (a live key for live payments, a test key for test ones; the connected "
        "account's key for Stripe Connect), then run `stripe-efactura payments retry "
        f"{key}`."
    )
    with db.read(ctx.engine) as conn:
        outcomes = {
            (r.type, r.outcome, r.reason)
            for r in conn.execute(
                sa.select(stripe_events.c.type, stripe_events.c.outcome, stripe_events.c.reason)
            )
        }
        kinds = list(conn.execute(sa.select(notices.c.kind)).scalars())
        numbered = list(conn.execute(sa.select(invoices.c.number)).scalars())
    # the PaymentIntent's and the charge's events keep the payment; the invoice's payload does
    # not name the PaymentIntent, so that event alone still fails with the Stripe code
    assert outcomes == {
        ("invoice.finalized", "ignored", outcomes_reason(outcomes, "invoice.finalized")),
        ("payment_intent.succeeded", "processed", None),
        ("charge.succeeded", "processed", None),
        ("invoice.paid", "failed", "E-STRIPE-NOT-FOUND: No such customer: 'cus_flowE'"),
        (
            "invoice.payment_succeeded",
            "ignored",
            outcomes_reason(outcomes, "invoice.payment_succeeded"),
        ),
    }
    assert kinds == ["payment_problem"]
    assert numbered == []  # nothing invoiced from the partial data

    with pytest.raises(StripeApiError) as still:  # the key still cannot see it
        repair.retry_payment(ctx, key)
    assert still.value.code == "E-STRIPE-NOT-FOUND"

    store.add(customer)  # the merchant fixed the key / account
    assert repair.retry_payment(ctx, key) == f"payment {key} queued again (re-read from Stripe)"
    worker.drain()
    assert listed(ctx, key)["status"] == "invoiced"
    assert listed(ctx, key)["degraded"] is False
    with db.read(ctx.engine) as conn:
        assert list(conn.execute(sa.select(invoices.c.number)).scalars()) == ["TEST000001"]
    ctx.close()
