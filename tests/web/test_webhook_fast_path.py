"""POST /webhooks/stripe answered in front of Starlette (issue 17, ``web/webhook.py``).

The app hands the webhook to its endpoint before the middleware and the router; these tests
drive the app as ASGI, message by message, and pin what the Starlette route and the
body-size middleware answered: the status, the exact headers and body bytes, how much of the
body is read, and the exact bytes stored.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import stripe
from starlette.applications import Starlette
from starlette.types import Message, Receive, Scope

from stripe_efactura import app as use_cases
from stripe_efactura.app import intake
from stripe_efactura.app.context import AppContext
from stripe_efactura.config import demo_settings
from stripe_efactura.store import db, repo
from stripe_efactura.store.tables import jobs, stripe_events
from stripe_efactura.web.app import create_app

SECRET = "whsec_fast_path"
CAP = 4096


def sign(body: bytes, ts: int | None = None) -> bytes:
    ts = int(time.time()) if ts is None else ts
    sig = stripe.WebhookSignature._compute_signature(f"{ts}.{body.decode()}", SECRET)
    return f"t={ts},v1={sig}".encode()


def event(eid: str, note: str = "Produs — ăâîșț") -> bytes:
    return json.dumps(
        {
            "id": eid,
            "object": "event",
            "type": "payment_intent.created",
            "livemode": False,
            "created": 1763700000,
            "data": {"object": {"id": "pi_1", "object": "payment_intent", "note": note}},
        },
        indent=2,
        ensure_ascii=False,
    ).encode()


@pytest.fixture
def ctx(tmp_path: Path, db_url: str) -> Iterator[AppContext]:
    settings = demo_settings(
        tmp_path, stripe_webhook_secrets=(SECRET,), database_url=db_url, webhook_max_bytes=CAP
    )
    context = use_cases.build_context(settings)
    use_cases.prepare(context)
    yield context
    context.close()


class Client:
    """Chunks to hand to the app, then disconnects; counts the reads."""

    def __init__(self, chunks: list[bytes], *, endless: bool = False) -> None:
        self.chunks = chunks
        self.endless = endless
        self.reads = 0

    async def __call__(self) -> Message:
        self.reads += 1
        if self.endless:
            return {"type": "http.request", "body": b"x" * 65536, "more_body": True}
        if self.reads <= len(self.chunks):
            more = self.reads < len(self.chunks)
            return {"type": "http.request", "body": self.chunks[self.reads - 1], "more_body": more}
        return {"type": "http.disconnect"}


def scope(headers: list[tuple[bytes, bytes]], *, root_path: str = "") -> Scope:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": f"{root_path}/webhooks/stripe",
        "raw_path": f"{root_path}/webhooks/stripe".encode(),
        "root_path": root_path,
        "query_string": b"",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }


Request = tuple[Scope, Receive]


def serve(app: Starlette, requests: list[Request]) -> list[list[Message]]:
    """Start the app (its writer), run each request in turn, stop it; the messages sent."""

    async def run() -> list[list[Message]]:
        startup: asyncio.Queue[Message] = asyncio.Queue()
        answers: asyncio.Queue[Message] = asyncio.Queue()
        await startup.put({"type": "lifespan.startup"})
        lifespan = asyncio.create_task(
            app(
                {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}},
                startup.get,
                answers.put,
            )
        )
        assert (await answers.get())["type"] == "lifespan.startup.complete"
        out = []
        for request_scope, receive in requests:
            sent: list[Message] = []

            async def send(message: Message, sent: list[Message] = sent) -> None:
                sent.append(message)

            await app(request_scope, receive, send)
            out.append(sent)
        await startup.put({"type": "lifespan.shutdown"})
        assert (await answers.get())["type"] == "lifespan.shutdown.complete"
        await lifespan
        return out

    return asyncio.run(run())


def post(app: Starlette, body: bytes, headers: list[tuple[bytes, bytes]]) -> list[Message]:
    (sent,) = serve(app, [(scope(headers), Client([body]))])
    return sent


def json_answer(status: int, body: bytes) -> list[Message]:
    """What Starlette's ``Response``/``JSONResponse`` sent for the route's answers."""
    headers = [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]
    return [
        {"type": "http.response.start", "status": status, "headers": headers},
        {"type": "http.response.body", "body": body},
    ]


def refusal(status: int, body: bytes) -> list[Message]:
    """What the body-size middleware sends (``web/limits.py``)."""
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    return [
        {"type": "http.response.start", "status": status, "headers": headers},
        {"type": "http.response.body", "body": body},
    ]


def stored(ctx: AppContext) -> tuple[list[str], list[str]]:
    with db.read(ctx.engine) as conn:
        events = [r[0] for r in conn.execute(sa.select(stripe_events.c.id))]
        tasks = [r[0] for r in conn.execute(sa.select(jobs.c.task))]
    return events, tasks


def test_a_good_event_is_answered_with_the_routes_bytes_and_stored_as_sent(ctx) -> None:  # type: ignore[no-untyped-def]
    body = event("evt_fast_1")
    app = create_app(ctx)
    first, again = serve(
        app,
        [
            (scope([(b"stripe-signature", sign(body))]), Client([body[:100], body[100:]])),
            (scope([(b"stripe-signature", sign(body))]), Client([body])),
        ],
    )
    assert first == json_answer(200, b'{"received":true,"id":"evt_fast_1","duplicate":false}')
    assert again == json_answer(200, b'{"received":true,"id":"evt_fast_1","duplicate":true}')
    assert stored(ctx) == (["evt_fast_1"], ["process_event"])
    with db.read(ctx.engine) as conn:
        record = repo.get_event(conn, "evt_fast_1")
    assert record is not None
    assert record.payload.encode() == body  # the request's bytes, non-ASCII and blanks kept


def test_the_router_route_under_a_root_path_answers_the_same(ctx) -> None:  # type: ignore[no-untyped-def]
    body = event("evt_fast_2")
    bad = event("evt_fast_3")
    app = create_app(ctx)
    good, forged = serve(
        app,
        [
            (scope([(b"stripe-signature", sign(body))], root_path="/base"), Client([body])),
            (scope([(b"stripe-signature", sign(body))], root_path="/base"), Client([bad])),
        ],
    )
    assert good == json_answer(200, b'{"received":true,"id":"evt_fast_2","duplicate":false}')
    assert forged == post(app, bad, [(b"stripe-signature", sign(body))])
    assert forged[0]["status"] == 400
    assert json.loads(forged[1]["body"])["error"] == "E-SIG-MISMATCH"
    assert stored(ctx) == (["evt_fast_2"], ["process_event"])


def test_a_malformed_header_is_400_with_the_json_the_route_rendered(ctx) -> None:  # type: ignore[no-untyped-def]
    sent = post(create_app(ctx), event("evt_x"), [(b"stripe-signature", b"t=abc,v2=zzz")])
    assert sent == json_answer(
        400,
        b'{"error":"E-SIG-MALFORMED","message":"Stripe-Signature header is malformed: it '
        b'needs t=<unix time> and at least one v1="}',
    )
    assert stored(ctx) == ([], [])


def test_a_signed_body_that_is_not_json_is_400(ctx) -> None:  # type: ignore[no-untyped-def]
    body = b'{"id": "evt_1", '
    sent = post(create_app(ctx), body, [(b"stripe-signature", sign(body))])
    answer = json.loads(sent[1]["body"])
    assert sent == json_answer(400, sent[1]["body"])
    assert answer["error"] == "E-EVENT-MALFORMED"
    assert sent[1]["body"] == json.dumps(answer, separators=(",", ":")).encode()
    assert stored(ctx) == ([], [])


@pytest.mark.parametrize("header", [None, b"", b"   "])
def test_a_missing_signature_is_refused_without_reading_the_body(ctx, header) -> None:  # type: ignore[no-untyped-def]
    client = Client([], endless=True)
    headers = [] if header is None else [(b"stripe-signature", header)]
    (sent,) = serve(create_app(ctx), [(scope(headers), client)])
    assert client.reads == 0
    assert sent == refusal(
        400, b'{"error": "E-SIG-MISSING", "message": "The Stripe-Signature header is missing"}'
    )


def test_a_declared_length_over_the_cap_is_413_unread(ctx) -> None:  # type: ignore[no-untyped-def]
    client = Client([], endless=True)
    headers = [(b"stripe-signature", b"t=1,v1=a"), (b"content-length", b"52428800")]
    (sent,) = serve(create_app(ctx), [(scope(headers), client)])
    assert client.reads == 0
    assert sent == refusal(
        413,
        b'{"error": "E-BODY-TOO-LARGE", "message": "The request body is larger than 4096 bytes"}',
    )


@pytest.mark.parametrize("length", [b"-1", b"12x", b"1e6"])
def test_a_bad_content_length_is_400_unread(ctx, length) -> None:  # type: ignore[no-untyped-def]
    client = Client([], endless=True)
    headers = [(b"stripe-signature", b"t=1,v1=a"), (b"content-length", length)]
    (sent,) = serve(create_app(ctx), [(scope(headers), client)])
    assert client.reads == 0
    assert sent == refusal(
        400, b'{"error": "E-HTTP-LENGTH", "message": "Content-Length is not a number"}'
    )


def test_a_body_read_past_the_cap_is_413_after_the_first_chunk_over_it(ctx) -> None:  # type: ignore[no-untyped-def]
    client = Client([b"x" * 1000] * 10)
    (sent,) = serve(create_app(ctx), [(scope([(b"stripe-signature", b"t=1,v1=a")]), client)])
    assert client.reads == 5  # 5 x 1000 is the first read past 4096 bytes
    assert sent == refusal(
        413,
        b'{"error": "E-BODY-TOO-LARGE", "message": "The request body is larger than 4096 bytes"}',
    )
    assert stored(ctx) == ([], [])


def test_a_client_gone_before_the_end_of_the_body_gets_nothing(ctx) -> None:  # type: ignore[no-untyped-def]
    body = event("evt_gone")
    messages: Iterator[Message] = iter(
        [
            {"type": "http.request", "body": body[:100], "more_body": True},
            {"type": "http.disconnect"},
        ]
    )

    async def cut() -> Message:
        return next(messages)

    (sent,) = serve(create_app(ctx), [(scope([(b"stripe-signature", sign(body))]), cut)])
    assert sent == []
    assert stored(ctx) == ([], [])


def test_storage_down_is_503(ctx) -> None:  # type: ignore[no-untyped-def]
    with db.write(ctx.engine) as conn:
        conn.execute(sa.text("DROP TABLE jobs"))
    body = event("evt_down")
    sent = post(create_app(ctx), body, [(b"stripe-signature", sign(body))])
    assert sent == json_answer(503, b'{"error":"E-STORAGE","message":"storage unavailable, retry"}')


def test_an_unexpected_failure_is_a_plain_500_and_raised(ctx, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def broken(*_args: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(intake, "check_webhook", broken)
    body = event("evt_boom")
    messages: list[Message] = []

    async def send(message: Message) -> None:
        messages.append(message)

    request = scope([(b"stripe-signature", sign(body))])
    with pytest.raises(RuntimeError, match="boom"):
        asyncio.run(create_app(ctx)(request, Client([body]), send))
    assert messages == [  # what Starlette's ServerErrorMiddleware sent before raising
        {
            "type": "http.response.start",
            "status": 500,
            "headers": [
                (b"content-length", b"21"),
                (b"content-type", b"text/plain; charset=utf-8"),
            ],
        },
        {"type": "http.response.body", "body": b"Internal Server Error"},
    ]
