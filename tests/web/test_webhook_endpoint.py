"""POST /webhooks/stripe over HTTP: 400 bad signature, 200 stored once, 503 storage down."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
import stripe
from starlette.testclient import TestClient

from stripe_efactura import app as use_cases
from stripe_efactura.app.ratelimit import MAX_PER_ADDRESS, WINDOW_SECONDS
from stripe_efactura.config import demo_settings
from stripe_efactura.store import db
from stripe_efactura.store.tables import jobs, stripe_events
from stripe_efactura.web.app import create_app

SECRET = "whsec_test_secret"


def sign(body: bytes, secret: str = SECRET, ts: int | None = None) -> str:
    ts = int(time.time()) if ts is None else ts
    sig = stripe.WebhookSignature._compute_signature(f"{ts}.{body.decode()}", secret)
    return f"t={ts},v1={sig}"


def event(eid: str = "evt_1", etype: str = "payment_intent.created") -> bytes:
    return json.dumps(
        {
            "id": eid,
            "object": "event",
            "type": etype,
            "api_version": "2026-10-28.endive",
            "livemode": False,
            "created": 1763700000,
            "data": {
                "object": {
                    "id": "pi_1",
                    "object": "payment_intent",
                    "status": "requires_payment_method",
                }
            },
        }
    ).encode()


@pytest.fixture
def client(tmp_path: Path, db_url: str):  # type: ignore[no-untyped-def]
    ctx = use_cases.build_context(
        demo_settings(tmp_path, stripe_webhook_secrets=(SECRET,), database_url=db_url)
    )
    use_cases.prepare(ctx)
    with TestClient(create_app(ctx)) as c:
        c.ctx = ctx  # type: ignore[attr-defined]
        yield c
    ctx.close()


def _rows(ctx) -> tuple[list[str], list[str]]:  # type: ignore[no-untyped-def]
    with db.read(ctx.engine) as conn:
        evs = [r[0] for r in conn.execute(sa.select(stripe_events.c.id))]
        tasks = [r[0] for r in conn.execute(sa.select(jobs.c.task))]
    return evs, tasks


def test_good_signature_stores_event_and_job_once(client) -> None:  # type: ignore[no-untyped-def]
    body = event()
    r1 = client.post("/webhooks/stripe", content=body, headers={"Stripe-Signature": sign(body)})
    r2 = client.post("/webhooks/stripe", content=body, headers={"Stripe-Signature": sign(body)})
    assert (r1.status_code, r1.json()) == (
        200,
        {"received": True, "id": "evt_1", "duplicate": False},
    )
    assert (r2.status_code, r2.json()) == (
        200,
        {"received": True, "id": "evt_1", "duplicate": True},
    )
    assert _rows(client.ctx) == (["evt_1"], ["process_event"])


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "E-SIG-MISSING"),
        ("garbage", "E-SIG-MALFORMED"),
        ("wrong-secret", "E-SIG-MISMATCH"),
        ("stale", "E-SIG-STALE"),
        ("reserialised", "E-SIG-MISMATCH"),
    ],
)
def test_bad_signature_is_400_and_stores_nothing(client, header, code) -> None:  # type: ignore[no-untyped-def]
    body = event()
    headers = {}
    sent = body
    if header == "garbage":
        headers["Stripe-Signature"] = "t=abc,v2=zzz"
    elif header == "wrong-secret":
        headers["Stripe-Signature"] = sign(body, "whsec_other")
    elif header == "stale":
        headers["Stripe-Signature"] = sign(body, ts=int(time.time()) - 301)
    elif header == "reserialised":
        headers["Stripe-Signature"] = sign(body)
        sent = json.dumps(json.loads(body), indent=2).encode()
    r = client.post("/webhooks/stripe", content=sent, headers=headers)
    assert r.status_code == 400
    assert r.json()["error"] == code
    assert _rows(client.ctx) == ([], [])


def test_storage_failure_is_503(client) -> None:  # type: ignore[no-untyped-def]
    with db.write(client.ctx.engine) as conn:
        conn.execute(sa.text("DROP TABLE jobs"))
    body = event("evt_2")
    r = client.post("/webhooks/stripe", content=body, headers={"Stripe-Signature": sign(body)})
    assert r.status_code == 503
    with db.read(client.ctx.engine) as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(stripe_events)).scalar() == 0


def test_health_and_metrics(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/healthz").json() == {"status": "ok"}
    body = event("evt_3")
    client.post("/webhooks/stripe", content=body, headers={"Stripe-Signature": sign(body)})
    text = client.get("/metrics").text
    assert 'efactura_jobs{status="queued"} 1' in text
    assert 'efactura_stripe_events{status="pending"} 1' in text


def test_metrics_token_when_set(tmp_path: Path, db_url: str) -> None:
    settings = demo_settings(tmp_path, database_url=db_url, metrics_token="m3tr1cs-t0ken-value")
    ctx = use_cases.build_context(settings)
    use_cases.prepare(ctx)
    with TestClient(create_app(ctx)) as client:
        missing = client.get("/metrics")
        wrong = client.get("/metrics", headers={"Authorization": "Bearer m3tr1cs-t0ken-valuE"})
        basic = client.get("/metrics", headers={"Authorization": "Basic m3tr1cs-t0ken-value"})
        good = client.get("/metrics", headers={"Authorization": "Bearer m3tr1cs-t0ken-value"})
        health = client.get("/healthz")
    ctx.close()
    assert (missing.status_code, missing.json()["code"]) == (401, "E-AUTH-REQUIRED")
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.headers["www-authenticate"] == 'Bearer realm="metrics"'
    assert [(r.status_code, r.json()["code"]) for r in (wrong, basic)] == [
        (401, "E-AUTH-TOKEN"),
        (401, "E-AUTH-TOKEN"),
    ]
    assert good.status_code == 200
    assert good.text.startswith("# TYPE efactura_jobs gauge\n")
    assert health.json() == {"status": "ok"}


def test_wrong_metrics_tokens_are_rate_limited_like_api_tokens(tmp_path: Path, db_url: str) -> None:
    settings = demo_settings(tmp_path, database_url=db_url, metrics_token="m3tr1cs-t0ken-value")
    ctx = use_cases.build_context(settings)
    ctx.clock = lambda: datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # the limiter's window stands
    use_cases.prepare(ctx)
    right = {"Authorization": "Bearer m3tr1cs-t0ken-value"}
    with TestClient(create_app(ctx)) as client:
        missing = [client.get("/metrics").status_code for _ in range(25)]  # no guess: not counted
        wrong = [
            client.get("/metrics", headers={"Authorization": f"Bearer guess-{i}"}).status_code
            for i in range(MAX_PER_ADDRESS)
        ]
        limited = client.get("/metrics", headers={"Authorization": "Bearer guess-x"})
        still = client.get("/metrics", headers=right)  # from the same address, even the right one
        api = client.get("/api/v1/me", headers={"Authorization": "Bearer sef_guess"})
    ctx.close()
    assert missing == [401] * 25
    assert wrong == [401] * MAX_PER_ADDRESS
    assert (limited.status_code, limited.json()["code"]) == (429, "E-AUTH-RATE-LIMITED")
    assert limited.headers["content-type"] == "application/problem+json"
    assert limited.headers["retry-after"] == str(WINDOW_SECONDS + 1)
    assert (still.status_code, still.json()["code"]) == (429, "E-AUTH-RATE-LIMITED")
    # one limiter per address for log-ins, API tokens and the metrics token
    assert (api.status_code, api.json()["code"]) == (429, "E-AUTH-RATE-LIMITED")
