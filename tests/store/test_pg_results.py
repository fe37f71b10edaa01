"""PostgreSQL's results come in the binary format (``store/pg_results.py``) and give the same
Python values as SQLite's: bytes, timestamps, decimals, text, booleans, NULL."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from psycopg.pq import Format
from sqlalchemy.engine import Engine

from stripe_efactura.config import SeriesConfig
from stripe_efactura.store import db, invoice_files
from stripe_efactura.store import invoices as store
from stripe_efactura.store.numbering import allocate

_DOCUMENT = bytes(range(256)) * 200  # every byte value, 51,200 bytes (a PDF's size)


def _values(engine: Engine) -> tuple[object, ...]:
    query = sa.select(
        sa.literal(_DOCUMENT, sa.LargeBinary),
        sa.literal(datetime(2026, 12, 1, 10, 30, 5, 123456), sa.DateTime),
        sa.literal(date(2026, 12, 1), sa.Date),
        sa.literal(Decimal("1234567.89"), sa.Numeric(14, 2)),
        sa.literal("Factură ș ț", sa.String),
        sa.literal(7, sa.Integer),
        sa.literal(True, sa.Boolean),
        sa.null(),
    )
    with db.read(engine) as conn:
        row = conn.execute(query).one()
    return tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)


def test_rows_read_the_same_values_on_both_databases(engine: Engine) -> None:
    assert _values(engine) == (
        _DOCUMENT,
        datetime(2026, 12, 1, 10, 30, 5, 123456),
        date(2026, 12, 1),
        Decimal("1234567.89"),
        "Factură ș ț",
        7,
        True,
        None,
    )


def test_postgresql_cursors_ask_for_binary_results(engine: Engine) -> None:
    with db.read(engine) as conn:
        raw = conn.connection.driver_connection
        if db.is_sqlite(engine):
            return
        assert raw is not None
        assert raw.cursor().format == Format.BINARY


def test_stored_documents_read_back_byte_for_byte(engine: Engine) -> None:
    pdf = _DOCUMENT[::-1]
    with db.write(engine) as conn:
        day = date(2026, 12, 1)
        code, seq, number, _ = allocate(conn, SeriesConfig(code="invoice", prefix="F"), day)
        invoice_id = store.insert_invoice(
            conn,
            series_code=code,
            seq=seq,
            number=number,
            kind="invoice",
            payment_key="pi_binary",
            issue_date=day,
            currency="RON",
            total="121.00",
            livemode=False,
            snapshot="{}",
            xml=_DOCUMENT,
        )
        store.update_invoice(conn, invoice_id, pdf=pdf)
    with db.read(engine) as conn:
        row = store.must_get(conn, invoice_id)
        assert (bytes(row.xml), row.pdf, row.signed_zip) == (_DOCUMENT, pdf, None)
        assert invoice_files.content(conn, invoice_id, "pdf") == pdf


def test_the_catalogs_are_read_as_text_for_reflection(engine: Engine) -> None:
    """SQLAlchemy's reflection parses ``pg_index.indkey`` (``int2vector``, no binary loader)
    from its text: the statements naming ``pg_catalog`` ask for text."""
    indexes = {i["name"]: i["column_names"] for i in sa.inspect(engine).get_indexes("invoices")}
    assert indexes["ix_invoices_issue_date"] == ["issue_date", "id"]
