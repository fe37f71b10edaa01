"""Request limits (issue 16): unsigned or oversized webhook bodies are refused unread."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import stripe
from starlette.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

from stripe_efactura import app as use_cases
from stripe_efactura.config import (
    STARTER_TOML,
    WEBHOOK_MAX_BYTES,
    demo_settings,
    parse_toml,
    settings_from,
)
from stripe_efactura.errors import ConfigError
from stripe_efactura.store import db
from stripe_efactura.store.tables import stripe_events
from stripe_efactura.web.app import create_app
from stripe_efactura.web.limits import BodyLimit

SECRET = "whsec_limits"
CAP = 4096


def sign(body: bytes, ts: int | None = None) -> str:
    ts = int(time.time()) if ts is None else ts
    return (
        f"t={ts},v1={stripe.WebhookSignature._compute_signature(f'{ts}.{body.decode()}', SECRET)}"
    )


def event(eid: str, pad: int = 0) -> bytes:
    return json.dumps(
        {
            "id": eid,
            "object": "event",
            "type": "payment_intent.created",
            "livemode": False,
            "created": 1763700000,
            "data": {"object": {"id": "pi_1", "object": "payment_intent", "note": "x" * pad}},
        }
    ).encode()


@pytest.fixture
def client(tmp_path: Path, db_url: str):  # type: ignore[no-untyped-def]
    settings = demo_settings(
        tmp_path, stripe_webhook_secrets=(SECRET,), database_url=db_url, webhook_max_bytes=CAP
    )
    ctx = use_cases.build_context(settings)
    use_cases.prepare(ctx)
    with TestClient(create_app(ctx)) as c:
        c.ctx = ctx  # type: ignore[attr-defined]
        yield c
    ctx.close()


def _stored(ctx) -> list[str]:  # type: ignore[no-untyped-def]
    with db.read(ctx.engine) as conn:
        return [r[0] for r in conn.execute(sa.select(stripe_events.c.id))]


def test_a_body_at_the_cap_is_stored_one_byte_more_is_413(client) -> None:  # type: ignore[no-untyped-def]
    base = len(event("evt_a"))
    at_cap = event("evt_a", pad=CAP - base)
    over = event("evt_b", pad=CAP - base + 1)
    assert (len(at_cap), len(over)) == (CAP, CAP + 1)
    ok = client.post("/webhooks/stripe", content=at_cap, headers={"Stripe-Signature": sign(at_cap)})
    big = client.post("/webhooks/stripe", content=over, headers={"Stripe-Signature": sign(over)})
    assert ok.status_code == 200
    assert (big.status_code, big.json()["error"]) == (413, "E-BODY-TOO-LARGE")
    assert _stored(client.ctx) == ["evt_a"]


def test_a_chunked_body_over_the_cap_is_413(client) -> None:  # type: ignore[no-untyped-def]
    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(10):
            yield b"x" * 1000

    r = client.post("/webhooks/stripe", content=chunks(), headers={"Stripe-Signature": "t=1,v1=a"})
    assert (r.status_code, r.json()["error"]) == (413, "E-BODY-TOO-LARGE")
    assert _stored(client.ctx) == []


@pytest.mark.parametrize("header", [None, "", "   "])
def test_a_missing_signature_is_400_before_the_body(client, header) -> None:  # type: ignore[no-untyped-def]
    body = event("evt_c")
    headers = {} if header is None else {"Stripe-Signature": header}
    r = client.post("/webhooks/stripe", content=body, headers=headers)
    assert (r.status_code, r.json()["error"]) == (400, "E-SIG-MISSING")
    assert _stored(client.ctx) == []


def test_health_routes_still_answer(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/livez").text == "ok"
    assert client.get("/healthz").json() == {"status": "ok"}


# --- the middleware alone: how much of the body it reads ---------------------------------


class Endless:
    """A client that keeps sending 64 KiB chunks; counts how many were read."""

    def __init__(self) -> None:
        self.reads = 0

    async def __call__(self) -> Message:
        self.reads += 1
        return {"type": "http.request", "body": b"x" * 65536, "more_body": True}


def _run(app: BodyLimit, scope: Scope, receive: Receive) -> list[Message]:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def _scope(headers: list[tuple[bytes, bytes]], method: str = "POST") -> Scope:
    return {"type": "http", "method": method, "path": "/webhooks/stripe", "headers": headers}


async def _never_called(_scope: Scope, _receive: Receive, _send: Send) -> None:
    raise AssertionError("the route must not run")


def test_unsigned_post_is_answered_without_reading_a_chunk() -> None:
    client = Endless()
    sent = _run(BodyLimit(_never_called, max_bytes=CAP), _scope([]), client)
    assert client.reads == 0
    assert sent[0]["status"] == 400
    assert json.loads(sent[1]["body"])["error"] == "E-SIG-MISSING"


def test_a_declared_length_over_the_cap_is_answered_without_reading() -> None:
    client = Endless()
    headers = [(b"stripe-signature", b"t=1,v1=a"), (b"content-length", b"52428800")]
    sent = _run(BodyLimit(_never_called, max_bytes=CAP), _scope(headers), client)
    assert (client.reads, sent[0]["status"]) == (0, 413)


def test_an_endless_body_is_cut_after_the_cap() -> None:
    client = Endless()
    sent = _run(
        BodyLimit(_never_called, max_bytes=200_000), _scope([(b"stripe-signature", b"t=1")]), client
    )
    assert client.reads == 4  # 4 x 64 KiB is the first read past 200,000 bytes
    assert sent[0]["status"] == 413


@pytest.mark.parametrize("length", [b"-1", b"12x", b"1e6"])
def test_a_bad_content_length_is_400(length: bytes) -> None:
    headers = [(b"stripe-signature", b"t=1"), (b"content-length", length)]
    sent = _run(BodyLimit(_never_called, max_bytes=CAP), _scope(headers), Endless())
    assert sent[0]["status"] == 400
    assert json.loads(sent[1]["body"])["error"] == "E-HTTP-LENGTH"


def test_the_route_gets_the_whole_body_and_then_the_disconnect() -> None:
    seen: list[Message] = []

    async def route(_scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(await receive())
        seen.append(await receive())
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    messages: Iterator[Message] = iter(
        [
            {"type": "http.request", "body": b"ab", "more_body": True},
            {"type": "http.request", "body": b"cd", "more_body": False},
            {"type": "http.disconnect"},
        ]
    )

    async def receive() -> Message:
        return next(messages)

    sent = _run(BodyLimit(route, max_bytes=CAP), _scope([(b"stripe-signature", b"t=1")]), receive)
    assert seen == [
        {"type": "http.request", "body": b"abcd", "more_body": False},
        {"type": "http.disconnect"},
    ]
    assert sent[0]["status"] == 204


def test_the_setting() -> None:
    toml = parse_toml(STARTER_TOML)
    assert settings_from(toml, {}).webhook_max_bytes == WEBHOOK_MAX_BYTES == 1_048_576
    env = {"EFACTURA_WEBHOOK_MAX_BYTES": "2097152"}
    assert settings_from(toml, env).webhook_max_bytes == 2_097_152
    for bad in ("0", "-5", "1MB"):
        with pytest.raises(ConfigError):
            settings_from(toml, {"EFACTURA_WEBHOOK_MAX_BYTES": bad})
