"""Issue dates through the whole issuing path (art. 319 Cod fiscal): the invoice is dated the
day it is numbered, the payment stays the chargeable event, a series' dates never go back."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from factories import stripe_flows as factory
from issuing.test_issue_pipeline import feed, make_ctx
from stripe_efactura import app as use_cases
from stripe_efactura.errors import RetryLater
from stripe_efactura.invoicing.serialize import invoice_from_json
from stripe_efactura.store import db
from stripe_efactura.store.invoices import records
from stripe_efactura.store.tables import notices, series
from stripe_efactura.ubl.validate import get_validator


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 10, 0, tzinfo=UTC)


def test_art_319_the_invoice_is_dated_the_day_it_is_numbered(
    tmp_path: Path, db_url: str, validation_dir: Path
) -> None:
    """Flow A is paid on 01.01.2026; numbered on 20.01.2026 it is dated 20.01.2026 (BT-2) with
    the payment date as BT-7 (art. 319 (20) d), its upload deadline counted from the issue
    date, and no late notice (the art. 319 (16) deadline is 15.02.2026)."""
    flow = factory.flow_a_checkout_card()
    ctx = make_ctx(tmp_path, db_url, validation_dir, flow.store())
    ctx.clock = lambda: _at(date(2026, 1, 20))
    feed(ctx, flow.events)
    use_cases.make_worker(ctx).drain()
    with db.read(ctx.engine) as conn:
        row = conn.execute(records()).one()
        kinds = [r.kind for r in conn.execute(sa.select(notices))]
    invoice = invoice_from_json(row.snapshot)
    assert (invoice.issue_date, invoice.tax_point_date) == (date(2026, 1, 20), date(2026, 1, 1))
    assert row.issue_date == date(2026, 1, 20)
    assert row.deadline == date(2026, 1, 27)
    assert b"<cbc:IssueDate>2026-01-20</cbc:IssueDate>" in row.xml
    assert b"<cbc:TaxPointDate>2026-01-01</cbc:TaxPointDate>" in row.xml
    assert get_validator(validation_dir).validate(row.xml).fatal == ()
    assert "deadline" not in kinds
    ctx.close()


def test_art_319_16_an_invoice_issued_after_the_15th_of_the_next_month_tells_the_merchant(
    tmp_path: Path, db_url: str, validation_dir: Path
) -> None:
    flow = factory.flow_a_checkout_card()
    ctx = make_ctx(tmp_path, db_url, validation_dir, flow.store())
    ctx.clock = lambda: _at(date(2026, 3, 2))
    feed(ctx, flow.events)
    use_cases.make_worker(ctx).drain()
    with db.read(ctx.engine) as conn:
        row = conn.execute(records()).one()
        late = [
            json.loads(r.payload)
            for r in conn.execute(sa.select(notices).where(notices.c.kind == "deadline"))
        ]
    assert row.issue_date == date(2026, 3, 2)
    assert len(late) == 1
    assert [p["code"] for p in late[0]["problems"]] == ["P-ISSUED-LATE"]
    ctx.close()


def test_a_later_number_never_carries_an_earlier_date(
    tmp_path: Path, db_url: str, validation_dir: Path
) -> None:
    """Two processes with clocks a day apart: the one behind does not number (its job runs
    again later) and gives nothing back to the series but what it took."""
    first, second = factory.flow_a_checkout_card(), factory.flow_g_legacy_charge()
    ctx = make_ctx(tmp_path, db_url, validation_dir, second.store(first.store()))
    ctx.clock = lambda: _at(date(2026, 1, 21))
    feed(ctx, first.events)
    use_cases.make_worker(ctx).drain()
    ctx.clock = lambda: _at(date(2026, 1, 20))
    feed(ctx, second.events)
    for event_id in [e["id"] for e in second.events]:
        use_cases.process_event(ctx, event_id)
    key = second.payment_key
    assert key is not None
    with pytest.raises(RetryLater, match="already has an invoice dated 2026-01-21"):
        use_cases.issue_invoice(ctx, key)
    with db.read(ctx.engine) as conn:
        numbers = [r.number for r in conn.execute(records())]
        next_number = conn.execute(sa.select(series.c.next_number)).scalar_one()
    assert numbers == ["TEST000001"]
    assert next_number == 2
    ctx.clock = lambda: _at(date(2026, 1, 21))
    assert use_cases.issue_invoice(ctx, key) == "issued"
    ctx.close()
