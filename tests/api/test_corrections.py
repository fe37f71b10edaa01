"""Through the API: a buyer override turns a needs_attention payment into a numbered,
validated invoice with an audit record; a re-issue to a company makes a storno of the B2C
invoice and a new B2B invoice, both through the ANAF path (the fake ANAF)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from lxml import etree
from starlette.testclient import TestClient

from factories import stripe_flows as factory
from factories.attention import ADDRESS, broken_charge, ingest
from stripe_efactura import app as use_cases
from stripe_efactura.anaf.fake import FakeAnafState, FakeAnafTransport, FakeClock, create_fake_anaf
from stripe_efactura.anaf.oauth import token_set_from_response
from stripe_efactura.app import anaf_lifecycle, anaf_tokens, audit_log
from stripe_efactura.app.context import AppContext, build_context
from stripe_efactura.config import demo_settings
from stripe_efactura.intake.fake_stripe import FakeStripeReader
from stripe_efactura.store import db
from stripe_efactura.store.tables import invoices
from stripe_efactura.web.app import create_app

BASE = "http://anaf.fake"
UBL = {
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
}


def live_b2c(flow: factory.Flow) -> factory.Flow:
    """The same flow in live mode (live invoices go to ANAF), bought by a private person (the
    Checkout Session's tax ids and CUI field removed)."""

    def mark(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: (
                    True
                    if k == "livemode"
                    else []
                    if k in ("tax_ids", "custom_fields")
                    else mark(v)
                )
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [mark(v) for v in value]
        return value

    out = copy.copy(flow)
    out.events = [mark(e) for e in flow.events]
    out.objects = [mark(o) for o in flow.objects]
    return out


def test_buyer_override_turns_needs_attention_into_a_numbered_invoice(
    tmp_path: Path,
    db_url: str,
    validation_dir: Path,
    make_users: Callable[[AppContext], dict[str, str]],
) -> None:
    flow = broken_charge()
    settings = demo_settings(tmp_path, database_url=db_url, validation_dir=validation_dir)
    ctx = build_context(settings, stripe=FakeStripeReader(flow.store()))  # type: ignore[arg-type]
    use_cases.prepare(ctx)
    tokens = make_users(ctx)
    ingest(ctx, flow)
    key = flow.payment_key
    with TestClient(create_app(ctx)) as client:
        auth = {"Authorization": f"Bearer {tokens['accountant']}"}
        before = client.get(f"/api/v1/payments/{key}", headers=auth).json()
        assert before["status"] == "needs_attention"
        assert "P-BUYER-ADDRESS-MISSING" in [p["code"] for p in before["problems"]]
        bad = client.put(
            f"/api/v1/payments/{key}/buyer", headers=auth, json={"cnp": "1234567890123", **ADDRESS}
        )
        assert (bad.status_code, bad.headers["content-type"]) == (422, "application/problem+json")
        assert bad.json()["code"] == "E-OVERRIDE-INVALID"
        assert [p["code"] for p in bad.json()["problems"]] == ["P-CNP-INVALID"]
        viewer = {"Authorization": f"Bearer {tokens['viewer']}"}
        denied = client.put(f"/api/v1/payments/{key}/buyer", headers=viewer, json=ADDRESS)
        assert (denied.status_code, denied.json()["code"]) == (403, "E-FORBIDDEN")
        done = client.put(f"/api/v1/payments/{key}/buyer", headers=auth, json=ADDRESS)
        assert done.status_code == 200
        assert done.json() == {
            "payment_key": key,
            "status": "invoiced",
            "invoice": "TEST000001",
            "anaf_state": "not_uploaded",
            "problems": [],
        }
        detail = client.get("/api/v1/invoices/TEST000001", headers=auth).json()
        payment = client.get(f"/api/v1/payments/{key}", headers=auth).json()
    # one timeline for the API and the console (app/timeline.py); entries of the same
    # instant keep no fixed order, so the order is checked where it is causal
    events = [e["event"] for e in payment["timeline"]]
    assert sorted(events) == [
        "TEST000001:issued",
        "TEST000001:warnings",
        "audit:payment.override",
        "notice:deadline",
        "notice:payment_problem",
        "stripe:charge.succeeded",
        "validation:passed",
    ]
    assert events[:2] == ["stripe:charge.succeeded", "notice:payment_problem"]
    assert events.index("validation:passed") < events.index("TEST000001:issued")
    entries = {e["event"]: e["detail"] for e in payment["timeline"]}
    assert entries["notice:payment_problem"]["problems"] == ["P-BUYER-ADDRESS-MISSING"]
    assert entries["validation:passed"]["fatal"] == []
    assert (detail["buyer"]["city"], detail["payment_key"]) == ("Cluj-Napoca", key)
    with db.read(ctx.engine) as conn:
        validation = conn.execute(sa.select(invoices.c.validation)).scalar_one()
    assert json.loads(validation)["fatal"] == []
    [entry] = audit_log.entries(ctx, action="payment.override")
    assert (entry.actor, entry.via, entry.target_id, entry.before) == (
        "accountant@example.ro",
        "api",
        key,
        None,
    )
    assert entry.after == ADDRESS
    ctx.close()


def drive(ctx: AppContext, clock: FakeClock, number: str) -> str:
    """Run the invoice's ANAF steps on the fake clock until it settles; its final state."""
    with db.read(ctx.engine) as conn:
        invoice_id = conn.execute(
            sa.select(invoices.c.id).where(invoices.c.number == number)
        ).scalar_one()
    for _ in range(50):
        step = anaf_lifecycle.advance(ctx, invoice_id)
        if step.delay is None:
            break
        clock.advance(timedelta(seconds=step.delay))
    with db.read(ctx.engine) as conn:
        return str(
            conn.execute(
                sa.select(invoices.c.anaf_state).where(invoices.c.id == invoice_id)
            ).scalar_one()
        )


def test_reissue_to_a_company_is_a_storno_and_a_b2b_invoice_through_anaf(
    tmp_path: Path,
    db_url: str,
    validation_dir: Path,
    make_users: Callable[[AppContext], dict[str, str]],
) -> None:
    clock = FakeClock(datetime(2026, 1, 5, 8, 0, tzinfo=UTC))
    state = FakeAnafState(clock=clock, processing_polls=1, processing_delay=None)
    flow = live_b2c(factory.flow_a_checkout_card())
    settings = demo_settings(
        tmp_path,
        database_url=db_url,
        validation_dir=validation_dir,
        anaf_api_base=BASE,
        anaf_oauth_base=BASE,
        anaf_public_base=BASE,
        anaf_client_id="fake-client-id",
        anaf_client_secret="fake-client-secret",
        secret_key="api-test-secret",
    )
    ctx = build_context(
        settings,
        stripe=FakeStripeReader(flow.store()),  # type: ignore[arg-type]
        anaf_transport=FakeAnafTransport(create_fake_anaf(state)),
    )
    ctx.clock = clock.now
    use_cases.prepare(ctx)
    anaf_tokens.save_tokens(
        ctx, token_set_from_response(state.mint_tokens(), clock.now()), source="test"
    )
    tokens = make_users(ctx)
    ingest(ctx, flow)
    with db.read(ctx.engine) as conn:
        [original] = conn.execute(sa.select(invoices.c.number)).scalars().all()
    auth = {"Authorization": f"Bearer {tokens['accountant']}"}
    company = {"name": "Dante International SA", "cui": "RO14399840", **ADDRESS}
    body = {"reason": "Clientul cere factura pe firmă", "buyer": company}
    with TestClient(create_app(ctx)) as client:
        early = client.post(f"/api/v1/invoices/{original}/reissue", headers=auth, json=body)
        assert (early.status_code, early.json()["code"]) == (409, "E-STORNO-IN-FLIGHT")
        assert drive(ctx, clock, original) == "ok"
        b2c = client.get(f"/api/v1/invoices/{original}", headers=auth).json()
        assert b2c["buyer"]["legal_id"] in (None, "0000000000000")
        answer = client.post(f"/api/v1/invoices/{original}/reissue", headers=auth, json=body)
        assert answer.status_code == 201, answer.text
        out = answer.json()
        storno = client.get(f"/api/v1/invoices/{out['storno']}", headers=auth).json()
        new = client.get(f"/api/v1/invoices/{out['new_invoice']}", headers=auth).json()
        again = client.post(f"/api/v1/invoices/{original}/reissue", headers=auth, json=body)
        twice = client.post(
            f"/api/v1/invoices/{out['storno']}/storno", headers=auth, json={"reason": "greșeală"}
        )
        xml = client.get(f"/api/v1/invoices/{out['storno']}/xml", headers=auth).content
    assert (again.status_code, again.json()["code"]) == (409, "E-STORNO-NOTHING-LEFT")
    assert (twice.status_code, twice.json()["code"]) == (409, "E-STORNO-OF-STORNO")
    assert (storno["kind"], storno["refers_to"], storno["total"]) == ("storno", original, "-121.00")
    assert (new["kind"], new["total"], new["buyer"]["legal_id"], new["buyer"]["vat_id"]) == (
        "invoice",
        "121.00",
        "14399840",
        "RO14399840",
    )
    assert new["buyer"]["name"] == "Dante International SA"
    ref = etree.fromstring(xml).findtext(
        "cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID", namespaces=UBL
    )
    assert ref == original
    assert (storno["anaf_state"], new["anaf_state"]) == ("pending_upload", "pending_upload")
    use_cases.make_worker(ctx).drain()
    assert drive(ctx, clock, out["storno"]) == "ok"
    assert drive(ctx, clock, out["new_invoice"]) == "ok"
    [entry] = audit_log.entries(ctx, action="invoice.reissue")
    assert isinstance(entry.after, dict)
    assert (entry.actor, entry.target_id, entry.after["storno"], entry.after["invoice"]) == (
        "accountant@example.ro",
        original,
        out["storno"],
        out["new_invoice"],
    )
    ctx.close()
