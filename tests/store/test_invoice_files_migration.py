"""Migration 0009 moves every invoice's XML, PDF and signed ZIP into ``invoice_files`` byte for
byte, drops the columns, keeps the text search working, and its downgrade puts them back."""

from __future__ import annotations

import hashlib
from datetime import date, datetime

import sqlalchemy as sa

from stripe_efactura.store import db, invoice_files, overview, queries, textsearch
from stripe_efactura.store import invoices as invoice_store
from stripe_efactura.store.migrate import downgrade, upgrade
from stripe_efactura.store.tables import series

COLUMNS_0008 = (
    "id",
    "series_code",
    "seq",
    "number",
    "kind",
    "payment_key",
    "refers_to",
    "issue_date",
    "currency",
    "total",
    "livemode",
    "snapshot",
    "xml",
    "pdf",
    "anaf_state",
    "signed_zip",
    "email_state",
    "search",
    "created_at",
    "updated_at",
)
INVOICES_0008 = sa.table("invoices", *(sa.column(c) for c in COLUMNS_0008))
CREATED, UPDATED = datetime(2026, 3, 2, 9, 0), datetime(2026, 3, 3, 17, 30)
STATES = (
    "pending_upload",
    "uploading",
    "uploaded",
    "in_processing",
    "ok",
    "nok",
    "rejected_at_upload",
    "unknown",
    "not_uploaded",
)


def _bytes(seed: int, size: int) -> bytes:
    """``size`` bytes with every byte value (NUL, 0xff) in them, different for each seed."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{seed}:{counter}".encode()).digest() + bytes(range(256))
        counter += 1
    return bytes(out[:size])


def _documents() -> dict[int, dict[str, bytes | None]]:
    """Invoice id -> its documents: every state, with and without PDF, ``ok`` archived (4) or
    not yet (13), an empty XML, and documents from a few bytes to 120 KB."""
    docs: dict[int, dict[str, bytes | None]] = {}
    for i, state in enumerate(STATES * 2):
        invoice_id = i + 1
        docs[invoice_id] = {
            "xml": b"" if invoice_id == 3 else _bytes(invoice_id, 500 + 7_001 * i),
            "pdf": _bytes(1000 + invoice_id, 45_000 + i) if i % 3 else None,
            "signed_zip": _bytes(2000 + invoice_id, 120_000 - i)
            if state == "ok" and i < 9
            else None,
        }
    return docs


def _seed_0008(engine: sa.Engine, docs: dict[int, dict[str, bytes | None]]) -> None:
    states = STATES * 2
    with db.write(engine) as conn:
        conn.execute(sa.insert(series).values(code="S", prefix="S", padding=3, next_number=99))
        for invoice_id, files in docs.items():
            conn.execute(
                sa.insert(INVOICES_0008).values(
                    id=invoice_id,
                    series_code="S",
                    seq=invoice_id,
                    number=f"S{invoice_id:03d}",
                    kind="storno" if invoice_id == 10 else "invoice",
                    payment_key=f"pi_{invoice_id}",
                    refers_to=1 if invoice_id == 10 else None,
                    issue_date=date(2026, 3, 2),
                    currency="RON",
                    total="1.00",
                    livemode=True,
                    snapshot="{}",
                    anaf_state=states[invoice_id - 1],
                    email_state="pending",
                    search=f"s{invoice_id:03d} pi_{invoice_id} buyer{invoice_id}",
                    created_at=CREATED,
                    updated_at=UPDATED,
                    **files,
                )
            )


def _stored_files(engine: sa.Engine) -> dict[tuple[int, str], tuple[bytes, datetime]]:
    table = sa.table(
        "invoice_files",
        sa.column("invoice_id"),
        sa.column("kind"),
        sa.column("content", sa.LargeBinary),
        sa.column("created_at", sa.DateTime),
    )
    with db.read(engine) as conn:
        rows = conn.execute(
            sa.select(table.c.invoice_id, table.c.kind, table.c.content, table.c.created_at)
        )
        return {(int(r[0]), str(r[1])): (bytes(r[2]), r[3]) for r in rows}


def test_upgrade_moves_every_document_byte_for_byte_and_downgrade_restores(db_url: str) -> None:
    engine = db.make_engine(db_url)
    upgrade(engine, "0008")
    docs = _documents()
    _seed_0008(engine, docs)
    upgrade(engine)

    expected = {
        (invoice_id, kind): (content, CREATED if kind == "xml" else UPDATED)
        for invoice_id, files in docs.items()
        for kind, content in files.items()
        if content is not None
    }
    assert _stored_files(engine) == expected
    assert len(expected) == 18 + 12 + 1  # every XML, the PDFs, the archive
    with engine.connect() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns("invoices")}
    assert not {"xml", "pdf", "signed_zip"} & columns
    with db.read(engine) as conn:
        records = {
            r.id: {"xml": r.xml, "pdf": r.pdf, "signed_zip": r.signed_zip}
            for r in invoice_store.listing(conn)
        }
        progress = [p.archived for p in overview.invoice_progress(conn)]
        # the text search (FTS5 triggers on SQLite) still finds old and new invoices
        old = queries.invoices_page(
            conn, queries.InvoiceFilter(text="buyer13"), after=None, limit=5
        )
    assert records == docs
    assert progress == [docs[i]["signed_zip"] is not None for i in sorted(docs)]
    assert [r.number for r in old] == ["S013"]
    with db.write(engine) as conn:
        invoice_store.update_invoice(conn, 13, snapshot='{"buyer": {"name": "Renamed SRL"}}')
    with db.read(engine) as conn:
        renamed = queries.invoices_page(
            conn, queries.InvoiceFilter(text="renamed"), after=None, limit=5
        )
    assert [r.number for r in renamed] == ["S013"]
    if db.is_sqlite(engine):  # from the FTS5 index its triggers keep (not a scan)
        with db.read(engine) as conn:
            assert textsearch._candidates(conn, "invoices", "renamed") == [13]
            assert textsearch._candidates(conn, "invoices", "buyer12") == [12]

    downgrade(engine, "0008")
    with db.read(engine) as conn:
        back = {
            int(r.id): {"xml": bytes(r.xml), "pdf": _opt(r.pdf), "signed_zip": _opt(r.signed_zip)}
            for r in conn.execute(sa.select(INVOICES_0008))
        }
        columns = {c["name"] for c in sa.inspect(conn).get_columns("invoices")}
        tables = set(sa.inspect(conn).get_table_names())
    assert back == docs
    assert "invoice_files" not in tables and "search" in columns
    upgrade(engine)  # and up again: the same files
    assert _stored_files(engine).keys() == expected.keys()
    assert {k: v[0] for k, v in _stored_files(engine).items()} == {
        k: v[0] for k, v in expected.items()
    }
    engine.dispose()


def _opt(value: object) -> bytes | None:
    return None if value is None else bytes(value)  # type: ignore[call-overload]


def test_has_reads_the_index(engine: sa.Engine) -> None:
    """``EXISTS`` on ``invoice_files`` is answered from the primary key (SQLite's plan)."""
    if not db.is_sqlite(engine):
        return
    query = (
        sa.select(sa.func.count())
        .select_from(invoice_store.invoices)
        .where(invoice_files.has("signed_zip"))
    )
    with db.read(engine) as conn:
        sql = str(query.compile(conn, compile_kwargs={"literal_binds": True}))
        plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
    assert "USING COVERING INDEX sqlite_autoindex_invoice_files_1" in plan
