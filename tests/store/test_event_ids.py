"""A later event of a recorded payment joins its ``event_ids``: with the ids the caller read
before its transaction, one guarded ``UPDATE`` (no read under lock); when another event
joined in between, the row is read again and both ids are kept (both databases)."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from stripe_efactura.intake.sale import Sale
from stripe_efactura.store import db, event_ids, repo
from stripe_efactura.store.migrate import upgrade
from stripe_efactura.store.tables import payments


def _ids(engine: sa.Engine) -> str:
    with db.read(engine) as conn:
        found = conn.execute(sa.select(payments.c.event_ids)).scalar_one()
        return str(found)


def test_a_later_event_joins_with_one_guarded_update_or_after_a_read_again(db_url: str) -> None:
    engine = db.make_engine(db_url)
    upgrade(engine)
    sale = Sale(
        payment_key="pi_A",
        owner_type="payment_intent",
        owner_id="pi_A",
        currency="RON",
        amount=12100,
        paid_at=datetime(2026, 11, 21, 10, 0, tzinfo=UTC),
        livemode=True,
        objects={},
    )
    with db.write(engine) as conn:
        assert repo.record_sale(conn, sale, "evt_1") == "created"
        owner = repo.recorded_owner(conn, "pi_A")
    assert owner is not None and owner.event_ids == '["evt_1"]'
    statements: list[str] = []

    def seen(_c: object, _cursor: object, sql: str, *_a: object) -> None:
        statements.append(" ".join(sql.split()))

    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        with db.write(engine) as conn:
            event_ids.add_event_id(conn, "pi_A", "evt_2", read=owner.event_ids)
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)
    assert [s for s in statements if "payments" in s and not s.startswith("BEGIN")] == [
        s for s in statements if s.startswith("UPDATE payments")
    ]
    assert _ids(engine) == '["evt_1", "evt_2"]'
    with db.write(engine) as conn:  # read before evt_2 joined: the guard misses, read again
        event_ids.add_event_id(conn, "pi_A", "evt_3", read=owner.event_ids)
        event_ids.add_event_id(conn, "pi_A", "evt_3", read=owner.event_ids)  # once only
        event_ids.add_event_id(conn, "pi_A", "evt_2")  # without a read: as before
    assert _ids(engine) == '["evt_1", "evt_2", "evt_3"]'
    engine.dispose()
