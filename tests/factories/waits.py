"""What waits, for the API and console tests of the waiting reasons: a pending payment (its
reason worked out from the state), a live invoice due at ANAF before the ANAF job ran, and a
lost dispute that needs the merchant's decision."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from stripe_efactura import app as use_cases
from stripe_efactura.app import intake
from stripe_efactura.app.context import AppContext, build_context
from stripe_efactura.config import demo_settings
from stripe_efactura.intake.fake_stripe import FakeStripeReader
from stripe_efactura.registry.fake import FakeRegistry
from stripe_efactura.store import db
from stripe_efactura.store.tables import invoices, payments

from . import stripe_flows as factory

PAID = datetime(2026, 1, 5, 8, 0)
"""09:00 in Bucharest on Monday 5 January 2026."""
ARTIFACTS = {
    "code": "W-WAIT-VALIDATION",
    "message_en": "waiting for the validation artifacts (UBL XSD, CIUS-RO schematron)",
    "message_ro": "așteaptă fișierele oficiale de validare (UBL XSD, schematron CIUS-RO)",
    "fix": "stripe-efactura validation fetch (offline: --from DIR)",
}
BNR = {
    "code": "W-WAIT-BNR",
    "message_en": "waiting for the BNR rate of EUR for 2026-01-05",
    "message_ro": "așteaptă cursul BNR al EUR pentru 2026-01-05",
    "fix": "Nothing: BNR publishes around 13:00 on working days; the invoice follows at once.",
}
ANAF_AUTH = {
    "code": "W-WAIT-ANAF-AUTH",
    "message_en": "waiting for ANAF authorisation",
    "message_ro": "așteaptă autorizarea ANAF",
    "fix": "stripe-efactura anaf login (the qualified certificate, once a year)",
}


def _live(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: True if k == "livemode" else _live(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_live(v) for v in value]
    return value


def live_flow() -> factory.Flow:
    """Flow A (a Checkout card payment) in live mode."""
    flow = factory.flow_a_checkout_card()
    return dataclasses.replace(
        flow,
        events=_live(flow.events),
        objects=_live(flow.objects),
        session_line_items=_live(flow.session_line_items),
    )


def make_ctx(tmp_path: Path, db_url: str, validation_dir: Path) -> AppContext:
    """A service whose Stripe holds flow A in live mode (not authorised at ANAF)."""
    settings = demo_settings(tmp_path, database_url=db_url, validation_dir=validation_dir)
    ctx = build_context(
        settings,
        stripe=FakeStripeReader(live_flow().store()),  # type: ignore[arg-type]
        registry_transport=FakeRegistry(),
    )
    use_cases.prepare(ctx)
    return ctx


def payment_row(key: str, paid: datetime, **changes: object) -> dict[str, object]:
    """The columns of a test-mode RON payment of ``key`` paid at ``paid``, with ``changes``."""
    row: dict[str, object] = {
        "payment_key": key,
        "kind": "payment",
        "owner_type": "payment_intent",
        "owner_id": key,
        "status": "pending",
        "livemode": False,
        "currency": "RON",
        "amount": 12100,
        "paid_at": paid,
        "sale": "{}",
        "created_at": paid,
        "updated_at": paid,
    }
    return {**row, **changes}


def pending_payment(ctx: AppContext, key: str, currency: str) -> None:
    """A test-mode payment received and not invoiced yet (its reason is worked out)."""
    with db.write(ctx.engine) as conn:
        conn.execute(sa.insert(payments).values(**payment_row(key, PAID, currency=currency)))


def live_invoice_before_anaf(ctx: AppContext) -> str:
    """Flow A in live mode, issued as SEF000001, as it is before the ANAF job first ran (no
    ANAF authorisation: the job would record its own reason)."""
    for event in live_flow().events:
        intake.accept_event(ctx, json.dumps(event).encode())
    use_cases.make_worker(ctx).drain()
    with db.write(ctx.engine) as conn:
        conn.execute(
            sa.update(invoices)
            .where(invoices.c.number == "SEF000001")
            .values(anaf_messages=None, anaf_state="pending_upload")
        )
    return "SEF000001"


def lost_dispute(tmp_path: Path, db_url: str, validation_dir: Path) -> AppContext:
    """Flow A (test mode) invoiced as TEST000001, then its dispute ``dp_lost`` lost: the
    dispute needs the merchant's decision (``P-DISPUTE-DECISION``)."""
    settings = demo_settings(tmp_path, database_url=db_url, validation_dir=validation_dir)
    flow = factory.flow_a_checkout_card()
    ctx = build_context(
        settings,
        stripe=FakeStripeReader(flow.store()),  # type: ignore[arg-type]
        registry_transport=FakeRegistry(),
    )
    use_cases.prepare(ctx)
    dispute = {
        "id": "dp_lost",
        "object": "dispute",
        "amount": 12100,
        "charge": "ch_flowA",
        "created": factory.T0 + 86400,
        "currency": "ron",
        "payment_intent": "pi_flowA",
        "reason": "fraudulent",
        "status": "lost",
    }
    closed = factory.event(
        "charge.dispute.closed", dispute, eid="evt_dp_lost", created=factory.T0 + 86401
    )
    for event in [*flow.events, closed]:
        intake.accept_event(ctx, json.dumps(event).encode())
        use_cases.make_worker(ctx).drain()
    return ctx
