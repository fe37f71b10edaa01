"""Property-based fuzz of the webhook endpoint and of the worker's event processing (issue 16).

Hypothesis draws hostile deliveries (``tests/fuzzcases.py``): forged and replayed signatures,
garbage headers and bodies, and correctly signed but mutated Stripe shapes (the recorded
ones from ``../shared/fixtures/stripe`` when present, built-in ones otherwise). Properties:
no answer is a 5xx; no forged or replayed body is ever answered 200 or stored; every stored
event ends, after the worker, with an outcome, and a ``failed`` or ``ignored`` one has a
coded reason. Bounded for CI; ``bench/fuzz.py`` runs the same cases by the ten thousand.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Message

import fuzzcases
from stripe_efactura import app as use_cases
from stripe_efactura.app import intake
from stripe_efactura.app.context import AppContext
from stripe_efactura.config import demo_settings
from stripe_efactura.jobs import queue
from stripe_efactura.jobs.worker import Worker
from stripe_efactura.store import db
from stripe_efactura.store.tables import stripe_events
from stripe_efactura.web.app import create_app

CODED = re.compile(r"^[EI]-[A-Z0-9-]+: ")
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)


def post(app: ASGIApp, body: bytes, header: str | None) -> tuple[int, dict[str, Any]]:
    """One ``POST /webhooks/stripe`` straight through ASGI (headers as raw bytes)."""
    headers = [(b"content-length", str(len(body)).encode())]
    if header is not None:
        headers.append((b"stripe-signature", header.encode("utf-8", "surrogateescape")))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/webhooks/stripe",
        "raw_path": b"/webhooks/stripe",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    sent: list[Message] = []
    chunks = iter([{"type": "http.request", "body": body, "more_body": False}])

    async def receive() -> Message:
        return next(chunks, {"type": "http.disconnect"})

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))  # type: ignore[arg-type]
    status = int(sent[0]["status"])
    raw = b"".join(m.get("body", b"") for m in sent[1:])
    return status, json.loads(raw) if raw else {}


@pytest.fixture
def web(tmp_path: Path, db_url: str) -> Iterator[tuple[ASGIApp, AppContext]]:
    settings_ = demo_settings(
        tmp_path, database_url=db_url, stripe_webhook_secrets=(fuzzcases.SECRET,)
    )
    ctx = use_cases.build_context(settings_)
    use_cases.prepare(ctx)
    app = create_app(ctx)
    with TestClient(app):  # runs the lifespan: the webhook writer thread
        yield app, ctx
    ctx.close()


def stored(ctx: AppContext) -> dict[str, tuple[str, str | None]]:
    with db.read(ctx.engine) as conn:
        rows = conn.execute(
            sa.select(stripe_events.c.id, stripe_events.c.outcome, stripe_events.c.reason)
        ).all()
    return {r.id: (r.outcome, r.reason) for r in rows}


def check_cases(app: ASGIApp, ctx: AppContext, cases: list[fuzzcases.Case]) -> None:
    for c in cases:
        before = set(stored(ctx))
        status, answer = post(app, c.body, c.header)
        assert status < 500, (c, answer)
        if c.kind != "signed":
            assert status != 200, (c.kind, c.header, answer)
            assert set(stored(ctx)) == before
        elif status == 400:
            code = str(answer["error"])
            assert code.startswith("E-EVENT-") or (code == "E-SIG-MISMATCH" and not utf8(c.body))
        else:
            assert status == 200, answer


def utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def drain_intake(ctx: AppContext) -> None:
    def process(job: queue.Job) -> None:
        last = job.attempts >= job.max_attempts
        intake.process_event(ctx, str(job.args["event_id"]), last_attempt=last)

    Worker(ctx.engine, {"process_event": process}).drain()


def every_event_coded(ctx: AppContext) -> None:
    for eid, (outcome, reason) in stored(ctx).items():
        assert outcome in {"processed", "duplicate", "ignored", "failed"}, (eid, outcome)
        if outcome in {"ignored", "failed"}:
            assert reason is not None and CODED.match(reason), (eid, reason)


@FUZZ
@given(rng=st.randoms(use_true_random=False))
def test_the_endpoint_and_the_worker_on_built_in_shapes(
    web: tuple[ASGIApp, AppContext], rng: random.Random
) -> None:
    app, ctx = web
    shapes = fuzzcases.builtin_shapes()
    check_cases(app, ctx, [fuzzcases.case(rng, shapes) for _ in range(4)])
    drain_intake(ctx)
    every_event_coded(ctx)


_SHAPES: list[dict[str, Any]] = []


def recorded(shared_dir: Path) -> list[dict[str, Any]]:
    root = shared_dir / "fixtures" / "stripe"
    if not root.is_dir():
        pytest.skip("../shared/fixtures/stripe is absent")
    if not _SHAPES:
        _SHAPES.extend(fuzzcases.recorded_shapes(root))
    return _SHAPES


@FUZZ
@given(rng=st.randoms(use_true_random=False))
def test_the_endpoint_and_the_worker_on_mutated_recorded_shapes(
    web: tuple[ASGIApp, AppContext], shared_dir: Path, rng: random.Random
) -> None:
    app, ctx = web
    shapes = recorded(shared_dir)
    assert len(shapes) > 190
    check_cases(app, ctx, [fuzzcases.case(rng, shapes) for _ in range(4)])
    drain_intake(ctx)
    every_event_coded(ctx)


def test_an_unmutated_recorded_shape_signed_is_stored_and_coded(
    web: tuple[ASGIApp, AppContext], shared_dir: Path
) -> None:
    """The fuzz's control: real shapes, fresh signatures, are accepted (200)."""
    app, ctx = web
    shapes = recorded(shared_dir)
    accepted = 0
    for i, evt in enumerate(shapes):
        body = json.dumps({**evt, "id": f"evt_ok{i}"}).encode()
        status, _ = post(app, body, fuzzcases.sign(body, int(time.time())))
        accepted += status == 200
    assert accepted == len(shapes)
    drain_intake(ctx)
    every_event_coded(ctx)
