"""Signed but malformed events (issue 16): refused with a code at the endpoint, and, when one
is already stored (``ingest`` before the limits, an older version), ``failed`` with a code in
the worker at the first attempt -- never ``pending`` without a reason.

Runs on SQLite and, when EFACTURA_TEST_DATABASE_URL is set, on PostgreSQL.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from factories import stripe_flows as factory
from stripe_efactura import app as use_cases
from stripe_efactura.app import intake
from stripe_efactura.app.context import AppContext, build_context
from stripe_efactura.config import demo_settings
from stripe_efactura.errors import StorageError
from stripe_efactura.intake import envelope
from stripe_efactura.jobs import queue
from stripe_efactura.jobs.worker import PermanentJobError, Worker
from stripe_efactura.store import db
from stripe_efactura.store.tables import jobs, payments, stripe_events

Json = dict[str, Any]


@pytest.fixture
def ctx(tmp_path: Path, db_url: str):  # type: ignore[no-untyped-def]
    settings = demo_settings(
        tmp_path, database_url=db_url, stripe_webhook_secrets=(factory.SECRET,)
    )
    context = build_context(settings)
    use_cases.prepare(context)
    yield context
    context.close()


def trigger(eid: str) -> Json:
    """A payment_intent.succeeded the worker turns into a sale (degraded mode)."""
    flow = factory.flow_f_direct_payment_intent()
    evt = next(e for e in flow.events if e["type"] == "payment_intent.succeeded")
    return {**evt, "id": eid}


def store_unchecked(ctx: AppContext, body: bytes) -> str:
    """Store a body as an older version did: envelope fields only, no limits."""
    meta = envelope.event_meta(orjson.loads(body))
    intake.accept_batch(ctx, [(meta, body)], source="ingest")
    return meta.id


def run_worker(ctx: AppContext) -> None:
    Worker(ctx.engine, use_cases.handlers(ctx)).drain()


def event_row(ctx: AppContext, eid: str) -> tuple[str, str | None]:
    with db.read(ctx.engine) as conn:
        row = conn.execute(
            sa.select(stripe_events.c.outcome, stripe_events.c.reason).where(
                stripe_events.c.id == eid
            )
        ).one()
    return row.outcome, row.reason


def job_states(ctx: AppContext) -> list[tuple[str, str, int]]:
    with db.read(ctx.engine) as conn:
        rows = conn.execute(
            sa.select(jobs.c.task, jobs.c.status, jobs.c.attempts).where(
                jobs.c.task == "process_event"
            )
        ).all()
    return sorted((r.task, r.status, r.attempts) for r in rows)


def deep_body(eid: str, levels: int = 1000) -> bytes:
    evt = trigger(eid)
    text = json.dumps(evt)
    return text[:-1].encode() + b', "deep": ' + b"[" * levels + b"]" * levels + b"}"


def with_object(eid: str, **changes: Any) -> bytes:
    evt = trigger(eid)
    evt["data"]["object"].update(changes)
    return json.dumps(evt).encode()


CASES = {
    "deep": (deep_body("evt_deep"), "E-EVENT-LIMIT: The event nests deeper than 64 levels"),
    "created": (
        json.dumps({**trigger("evt_year"), "created": 10**12}).encode(),
        "E-EVENT-LIMIT: created = 1000000000000 is not a date between 1970 and 2100",
    ),
    "amount": (
        with_object("evt_big", amount=2**63, amount_received=2**63),
        f"E-EVENT-LIMIT: amount_received = {2**63} is outside ±2^63",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_endpoint_refuses_them_with_a_code(ctx: AppContext, case: str) -> None:
    body, reason = CASES[case]
    header = factory.sign(body, factory.SECRET, timestamp=int(time.time()))
    answer = intake.receive_webhook(ctx, body, header)
    code, message = reason.split(": ", 1)
    if case == "amount":  # dict order decides which of the two is met first
        assert (answer.status, answer.body["error"]) == (400, code)
        assert str(answer.body["message"]).endswith("is outside ±2^63")
    else:
        assert (answer.status, answer.body) == (400, {"error": code, "message": message})
    with db.read(ctx.engine) as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(stripe_events)).scalar() == 0


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_stored_one_fails_at_once_with_a_code(ctx: AppContext, case: str) -> None:
    body, reason = CASES[case]
    eid = store_unchecked(ctx, body)
    run_worker(ctx)
    outcome, stored_reason = event_row(ctx, eid)
    assert outcome == "failed"
    assert stored_reason is not None
    assert stored_reason.startswith("E-EVENT-LIMIT: ")
    if case != "amount":
        assert stored_reason == reason
    assert job_states(ctx) == [("process_event", "dead", 1)]
    listed = [p for p in use_cases.payments_listing(ctx) if p["event_ids"] == [eid]]
    assert [(p["status"], str(p["reason"])[:13]) for p in listed] == [("failed", "E-EVENT-LIMIT")]
    with db.read(ctx.engine) as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(payments)).scalar() == 0


def test_an_unexpected_exception_is_a_coded_failure_not_ten_retries(
    ctx: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    eid = store_unchecked(ctx, json.dumps(trigger("evt_crash")).encode())

    def boom(*_a: object, **_k: object) -> None:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(intake.events, "classify", boom)
    run_worker(ctx)
    assert event_row(ctx, eid) == (
        "failed",
        "E-EVENT-CRASH: processing failed unexpectedly (ZeroDivisionError)",
    )
    assert job_states(ctx) == [("process_event", "dead", 1)]
    monkeypatch.undo()
    # once fixed, `payments retry` runs it again and it becomes a sale
    assert intake.process_event(ctx, eid) == "processed"
    assert event_row(ctx, eid) == ("processed", None)


def test_a_transient_failure_retries_and_says_so_on_the_last_attempt(
    ctx: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    eid = store_unchecked(ctx, json.dumps(trigger("evt_down")).encode())

    def down(*_a: object, **_k: object) -> None:
        raise StorageError("database unavailable: disk I/O error")

    monkeypatch.setattr(intake.events, "classify", down)
    handler = use_cases.handlers(ctx)["process_event"]

    def job(attempts: int) -> queue.Job:
        return queue.Job(1, "process_event", {"event_id": eid}, attempts, 10, "w")

    with pytest.raises(StorageError):
        handler(job(9))
    assert event_row(ctx, eid) == ("pending", None)
    with pytest.raises(StorageError):
        handler(job(10))
    assert event_row(ctx, eid) == (
        "failed",
        (
            "E-EVENT-GAVE-UP: still failing after every retry: [E-STORAGE] database unavailable: "
            "disk I/O error"
        ),
    )


def test_a_malformed_stored_body_is_still_malformed(ctx: AppContext) -> None:
    body = json.dumps({"id": "evt_list", "type": "x", "object": "list"}).encode()
    eid = store_unchecked(ctx, body)
    with pytest.raises(PermanentJobError):
        intake.process_event(ctx, eid)
    assert event_row(ctx, eid) == (
        "failed",
        "E-EVENT-MALFORMED: Not a Stripe event: object is 'list'",
    )
