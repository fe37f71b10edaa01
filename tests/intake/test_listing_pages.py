"""``payments list --json`` lists every ignored or failed event, however many (it stopped
silently at 1,000 before; issue 16)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from stripe_efactura import app as use_cases
from stripe_efactura.app.context import build_context
from stripe_efactura.config import demo_settings
from stripe_efactura.store import db, repo
from stripe_efactura.store.tables import stripe_events

EVENTS = 2_345
T0 = datetime(2026, 3, 2, 8, 0)


@pytest.fixture
def ctx(tmp_path: Path, db_url: str):  # type: ignore[no-untyped-def]
    context = build_context(demo_settings(tmp_path, database_url=db_url))
    use_cases.prepare(context)
    yield context
    context.close()


def _insert(ctx) -> list[str]:  # type: ignore[no-untyped-def]
    """Ignored and failed events, ten to a second (ties on received_at across page ends)."""
    rows = [
        {
            "id": f"evt_{i:05d}",
            "type": "customer.created",
            "livemode": False,
            "payload": "{}",
            "received_at": T0 + timedelta(seconds=i // 10),
            "outcome": "failed" if i % 7 == 0 else "ignored",
            "reason": f"reason {i}",
        }
        for i in range(EVENTS)
    ]
    rows.append({**rows[0], "id": "evt_pending", "outcome": "pending"})
    with db.write(ctx.engine) as conn:
        conn.execute(stripe_events.insert(), rows)
    # newest first; within a second, the higher id first
    return [f"evt_{i:05d}" for i in reversed(range(EVENTS))]


def test_every_ignored_or_failed_event_is_listed_newest_first(ctx) -> None:  # type: ignore[no-untyped-def]
    expected = _insert(ctx)
    listed = use_cases.payments_listing(ctx)
    assert [r["event_ids"][0] for r in listed] == expected  # type: ignore[index]
    assert sum(r["status"] == "failed" for r in listed) == len(range(0, EVENTS, 7))
    with db.read(ctx.engine) as conn:  # any page size gives the same rows
        assert [e.id for e in repo.ignored_events(conn, page_size=10)] == expected
        assert [e.id for e in repo.ignored_events(conn, page_size=EVENTS)] == expected


def test_every_payment_is_listed_too(ctx) -> None:  # type: ignore[no-untyped-def]
    from stripe_efactura.store.tables import payments

    rows = [
        {
            "payment_key": f"pi_{i:05d}",
            "owner_type": "payment_intent",
            "owner_id": f"pi_{i:05d}",
            "status": "pending",
            "livemode": False,
            "currency": "RON",
            "amount": 100 + i,
            "sale": "{}",
            "paid_at": T0,
            "created_at": T0 + timedelta(seconds=i // 10),
            "updated_at": T0,
        }
        for i in range(1_234)
    ]
    with db.write(ctx.engine) as conn:
        conn.execute(payments.insert(), rows)
    listed = use_cases.payments_listing(ctx)
    assert [r["payment_key"] for r in listed] == [f"pi_{i:05d}" for i in reversed(range(1_234))]
    with db.read(ctx.engine) as conn:
        assert len(repo.list_payments(conn, status="pending", page_size=100)) == 1_234
        assert repo.list_payments(conn, status="invoiced") == []
