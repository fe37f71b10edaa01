"""An invoice ANAF accepted never changes; operational fields still move; the timeline."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from stripe_efactura.config import SeriesConfig
from stripe_efactura.store import db
from stripe_efactura.store import invoices as store
from stripe_efactura.store.migrate import upgrade
from stripe_efactura.store.numbering import allocate
from stripe_efactura.store.tables import invoices


def test_accepted_invoice_is_immutable(db_url: str) -> None:
    engine = db.make_engine(db_url)
    upgrade(engine)
    with db.write(engine) as conn:
        code, seq, number = allocate(conn, SeriesConfig(code="invoice", prefix="F"))
        inv = store.insert_invoice(
            conn,
            series_code=code,
            seq=seq,
            number=number,
            kind="invoice",
            payment_key="pi_1",
            issue_date=date(2026, 11, 21),
            currency="RON",
            total="121.00",
            livemode=True,
            snapshot="{}",
            xml=b"<Invoice/>",
        )
        store.update_invoice(conn, inv, snapshot='{"fixed": true}')  # not accepted yet: allowed
        store.update_invoice(conn, inv, anaf_state="ok", download_id="3001")
    with pytest.raises(store.ImmutableInvoice) as err, db.write(engine) as conn:
        store.update_invoice(conn, inv, xml=b"<Invoice>changed</Invoice>")
    assert err.value.code == "E-INVOICE-IMMUTABLE"
    with db.write(engine) as conn:
        store.update_invoice(conn, inv, email_state="sent")  # operational: allowed
        row = conn.execute(sa.select(invoices).where(invoices.c.id == inv)).one()
        events = [r.event for r in store.timeline(conn, inv)]
    assert (row.number, row.xml, row.snapshot, row.email_state) == (
        "F1",
        b"<Invoice/>",
        '{"fixed": true}',
        "sent",
    )
    assert events == ["issued"]
    engine.dispose()
