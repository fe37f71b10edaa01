"""An invoice ANAF accepted never changes; operational fields still move; the timeline; the
documents live in ``invoice_files``, stored once."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from stripe_efactura.config import SeriesConfig
from stripe_efactura.store import db
from stripe_efactura.store import invoices as store
from stripe_efactura.store.migrate import upgrade
from stripe_efactura.store.numbering import allocate
from stripe_efactura.store.tables import invoice_files

DAY = date(2026, 11, 21)


def test_accepted_invoice_is_immutable(db_url: str) -> None:
    engine = db.make_engine(db_url)
    upgrade(engine)
    with db.write(engine) as conn:
        inv = _issue(conn)
        store.update_invoice(conn, inv, snapshot='{"fixed": true}')  # not accepted yet: allowed
        store.update_invoice(conn, inv, anaf_state="ok", download_id="3001")
    with pytest.raises(store.ImmutableInvoice) as err, db.write(engine) as conn:
        store.update_invoice(conn, inv, xml=b"<Invoice>changed</Invoice>")
    assert err.value.code == "E-INVOICE-IMMUTABLE"
    with db.write(engine) as conn:
        store.update_invoice(conn, inv, email_state="sent")  # operational: allowed
        row = store.must_get(conn, inv)
        events = [r.event for r in store.timeline(conn, inv)]
    assert (row.number, row.xml, row.snapshot, row.email_state) == (
        "F1",
        b"<Invoice/>",
        '{"fixed": true}',
        "sent",
    )
    assert events == ["issued"]
    engine.dispose()


def _issue(conn: sa.Connection, key: str = "pi_1") -> int:
    code, seq, number, _ = allocate(conn, SeriesConfig(code="invoice", prefix="F"), DAY)
    return store.insert_invoice(
        conn,
        series_code=code,
        seq=seq,
        number=number,
        kind="invoice",
        payment_key=key,
        issue_date=DAY,
        currency="RON",
        total="121.00",
        livemode=True,
        snapshot="{}",
        xml=b"<Invoice/>",
    )


def _files(conn: sa.Connection, invoice_id: int) -> list[tuple[str, bytes]]:
    rows = conn.execute(
        sa.select(invoice_files.c.kind, invoice_files.c.content)
        .where(invoice_files.c.invoice_id == invoice_id)
        .order_by(invoice_files.c.kind)
    )
    return [(str(kind), bytes(content)) for kind, content in rows]


def test_invoices_table_holds_no_documents(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        columns = {c["name"]: c["type"] for c in sa.inspect(conn).get_columns("invoices")}
    assert not {"xml", "pdf", "signed_zip"} & columns.keys()
    assert [n for n, t in columns.items() if isinstance(t, sa.LargeBinary)] == []


def test_documents_are_file_rows_stored_once(engine: sa.Engine) -> None:
    pdf, archive = b"%PDF-1.7\x00\xff" * 3000, b"PK\x03\x04\x00signed"
    with db.write(engine) as conn:
        inv = _issue(conn)
        assert _files(conn, inv) == [("xml", b"<Invoice/>")]  # with the invoice
        store.update_invoice(conn, inv, pdf=pdf)
        assert _files(conn, inv) == [("pdf", pdf), ("xml", b"<Invoice/>")]
        store.update_invoice(conn, inv, xml=b"<Invoice>fixed</Invoice>")  # before ANAF: replaced
        store.update_invoice(conn, inv, anaf_state="ok", signed_zip=archive)
        record = store.must_get(conn, inv)
    assert (record.xml, record.pdf, record.signed_zip) == (
        b"<Invoice>fixed</Invoice>",
        pdf,
        archive,
    )
    for kind, content in (("pdf", b"%PDF-other"), ("signed_zip", b"PK-other")):
        with pytest.raises(sa.exc.IntegrityError), db.write(engine) as conn:
            store.update_invoice(
                conn, inv, logged=(), expect=None, **{kind: content}
            )  # a second: refused
    with pytest.raises(TypeError), db.write(engine) as conn:
        store.update_invoice(conn, inv, pdf=None)  # never removed
    with pytest.raises(store.ImmutableInvoice), db.write(engine) as conn:
        store.update_invoice(conn, inv, xml=b"<Invoice>late</Invoice>")
    with db.read(engine) as conn:
        assert _files(conn, inv) == [
            ("pdf", pdf),
            ("signed_zip", archive),
            ("xml", b"<Invoice>fixed</Invoice>"),
        ]


def test_records_without_documents_read_none(engine: sa.Engine) -> None:
    with db.write(engine) as conn:
        first, second = _issue(conn, "pi_1"), _issue(conn, "pi_2")
        store.update_invoice(conn, second, pdf=b"%PDF")
        listed = [(r.id, r.xml, r.pdf, r.signed_zip) for r in store.listing(conn)]
    assert listed == [(first, b"<Invoice/>", None, None), (second, b"<Invoice/>", b"%PDF", None)]


def test_heads_say_which_documents_exist_without_reading_them(engine: sa.Engine) -> None:
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    with db.write(engine) as conn:
        inv = _issue(conn)
        fresh = store.must_head(conn, inv, for_update=True)
        store.update_invoice(conn, inv, pdf=b"%PDF", anaf_state="ok", signed_zip=b"PK")
        sa.event.listen(engine, "before_cursor_execute", seen)
        try:
            done = store.must_head(conn, inv, for_update=True)
            xml = store.xml_of(conn, inv)
        finally:
            sa.event.remove(engine, "before_cursor_execute", seen)
        record = store.must_get(conn, inv)
        missing = store.head(conn, inv + 1)
    assert (fresh.has_pdf, fresh.has_signed_zip) == (False, False)
    assert (done.has_pdf, done.has_signed_zip, done.anaf_state, xml) == (
        True,
        True,
        "ok",
        b"<Invoice/>",
    )
    assert not isinstance(done, store.InvoiceRecord) and not hasattr(done, "pdf")
    assert (record.has_pdf, record.has_signed_zip, record.pdf) == (True, True, b"%PDF")
    assert missing is None
    head_read = statements[0]
    assert "invoice_files.content" not in head_read and "content" not in head_read.split("FROM")[0]
    with pytest.raises(LookupError), db.read(engine) as conn:
        store.must_head(conn, inv + 1)


def test_postgresql_compresses_documents_with_lz4_where_built_with_it(engine: sa.Engine) -> None:
    """pglz tried every (already compressed) PDF on insert; lz4 gives up on it at once."""
    if db.is_sqlite(engine):
        pytest.skip("PostgreSQL's TOAST compression")
    with engine.connect() as conn:
        lz4 = conn.exec_driver_sql(
            "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
        ).scalar()
        if not lz4:
            pytest.skip("this PostgreSQL has no lz4")
        method = conn.exec_driver_sql(
            "SELECT attcompression FROM pg_attribute "
            "WHERE attrelid = 'invoice_files'::regclass AND attname = 'content'"
        ).scalar()
    with db.write(engine) as conn:
        inv = _issue(conn)
        store.update_invoice(conn, inv, pdf=b"%PDF-1.7 " + b"stream " * 4000)
        stored = conn.exec_driver_sql(
            "SELECT pg_column_compression(content) FROM invoice_files "
            f"WHERE invoice_id = {inv} AND kind = 'pdf'"
        ).scalar()
    assert (method, stored) == ("l", "lz4")


def test_postgresql_compresses_the_burst_paths_json_with_lz4(engine: sa.Engine) -> None:
    """Each webhook's payload, each sale and each snapshot (over 2 KB) were compressed by
    pglz, at about 130 us more of the server's CPU per 6 KB than lz4 (migration 0012)."""
    if db.is_sqlite(engine):
        pytest.skip("PostgreSQL's TOAST compression")
    columns = {"stripe_events": "payload", "payments": "sale", "invoices": "snapshot"}
    with engine.connect() as conn:
        if not conn.exec_driver_sql(
            "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
        ).scalar():
            pytest.skip("this PostgreSQL has no lz4")
        methods = {
            table: conn.exec_driver_sql(
                "SELECT attcompression FROM pg_attribute "
                f"WHERE attrelid = '{table}'::regclass AND attname = '{column}'"
            ).scalar()
            for table, column in columns.items()
        }
    snapshot = '{"lines": [' + ", ".join(f'{{"n": {n}, "name": "Produs"}}' for n in range(200))
    with db.write(engine) as conn:
        inv = _issue(conn)
        store.update_invoice(conn, inv, snapshot=snapshot + "]}")
        stored = conn.exec_driver_sql(
            f"SELECT pg_column_compression(snapshot) FROM invoices WHERE id = {inv}"
        ).scalar()
    assert (methods, stored) == (dict.fromkeys(columns, "l"), "lz4")


def test_many_invoices_read_updated_and_logged_at_once(engine: sa.Engine) -> None:
    """``heads``, ``update_many`` and ``log_many`` (the ANAF list sweep's chunk): what the
    one-by-one functions write, for many invoices; never an invoice's content."""
    with db.write(engine) as conn:
        first, second, third = (_issue(conn, f"pi_{n}") for n in range(3))
    with db.write(engine) as conn:
        rows = store.heads(conn, [third, first, 999, first], for_update=True)
        assert sorted(rows) == [first, third]
        assert (rows[first].number, rows[third].number) == ("F1", "F3")
        store.update_many(
            conn,
            [
                (first, {"anaf_state": "ok", "download_id": "31", "anaf_messages": "{}"}),
                (third, {"anaf_state": "nok", "download_id": "33"}),
                (second, {"anaf_state": "ok", "download_id": "32", "anaf_messages": "{}"}),
            ],
        )
        store.log_many(conn, [(third, "anaf_nok", {"id": "33"}), (first, "anaf_ok", None)])
        store.log_many(conn, [])
        with pytest.raises(ValueError, match="snapshot"):
            store.update_many(conn, [(first, {"snapshot": "{}"})])
    with db.read(engine) as conn:
        got = {i: store.must_head(conn, i) for i in (first, second, third)}
        lines = [
            (r.invoice_id, r.event, r.detail)
            for i in (first, third)
            for r in store.timeline(conn, i)
        ]
    assert {i: (h.anaf_state, h.download_id, h.snapshot) for i, h in got.items()} == {
        first: ("ok", "31", "{}"),
        second: ("ok", "32", "{}"),
        third: ("nok", "33", "{}"),
    }
    assert got[first].updated_at == got[second].updated_at == got[third].updated_at
    assert lines == [
        (first, "issued", '{"number": "F1"}'),
        (first, "anaf_ok", None),
        (third, "issued", '{"number": "F3"}'),
        (third, "anaf_nok", '{"id": "33"}'),
    ]


def test_a_change_with_its_timeline_lines_writes_them_in_order_after_it(db_url: str) -> None:
    """``update_invoice(..., logged=...)``: the row, a new document and the lines, in order,
    at the change's time (on PostgreSQL one statement); a bad document is refused before
    anything is written; an XML correction with its line takes the statements one by one."""
    engine = db.make_engine(db_url)
    upgrade(engine)
    with db.write(engine) as conn:
        inv = _issue(conn)
        store.update_invoice(
            conn,
            inv,
            logged=[("pdf_rendered", {"bytes": 3}), ("email_queued", {"to": "a@example.ro"})],
            pdf=b"%PD",
            email_state="queued",
        )
        changed_at = store.must_get(conn, inv).updated_at
    with pytest.raises(TypeError), db.write(engine) as conn:
        store.update_invoice(conn, inv, logged=[("x", None)], signed_zip="not bytes")
    with db.write(engine) as conn:
        store.update_invoice(conn, inv, logged=[("corrected", None)], xml=b"<Invoice>2</Invoice>")
        row = store.must_get(conn, inv)
        lines = store.timeline(conn, inv)
    assert (row.email_state, row.pdf, row.xml, row.signed_zip) == (
        "queued",
        b"%PD",
        b"<Invoice>2</Invoice>",
        None,
    )
    assert [(e.event, e.detail) for e in lines] == [
        ("issued", '{"number": "F1"}'),
        ("pdf_rendered", '{"bytes": 3}'),
        ("email_queued", '{"to": "a@example.ro"}'),
        ("corrected", None),
    ]
    assert lines[1].at == lines[2].at == changed_at
    assert lines[3].at == row.updated_at
    engine.dispose()


def test_a_guarded_change_writes_only_while_the_row_holds_what_was_read(db_url: str) -> None:
    """``expect``: the change and its lines only while the columns still hold the values the
    caller read; whether it wrote is returned (with and without lines, on both databases)."""
    engine = db.make_engine(db_url)
    upgrade(engine)
    with db.write(engine) as conn:
        inv = _issue(conn)
        store.update_invoice(conn, inv, email_state="queued")
    outcomes = []
    for seen, lines in (("pending", [("a", 1)]), ("pending", []), ("queued", [("b", 2)])):
        with db.write(engine) as conn:
            outcomes.append(
                store.update_invoice(
                    conn, inv, logged=lines, expect={"email_state": seen}, email_state="sending"
                )
            )
    with db.write(engine) as conn:  # nothing to expect any more: the state moved on
        outcomes.append(store.update_invoice(conn, inv, expect={"email_state": "queued"}))
        row = store.must_head(conn, inv)
        lines_now = [(t.event, t.detail) for t in store.timeline(conn, inv)]
    with pytest.raises(ValueError, match="operational columns only"), db.write(engine) as conn:
        store.update_invoice(conn, inv, expect={"email_state": "sending"}, xml=b"<Invoice/>")
    assert outcomes == [False, False, True, False]
    assert row.email_state == "sending"
    assert lines_now == [("issued", '{"number": "F1"}'), ("b", "2")]
    engine.dispose()


@pytest.mark.parametrize("lines", [[("pdf_rendered", {"bytes": 4})], []])
def test_a_guarded_change_stores_its_document_only_with_the_change(
    db_url: str, lines: list[store.Line]
) -> None:
    """A document given to a guarded change goes in with it, and not at all when the guard
    does not match (on PostgreSQL its INSERT is a CTE of the same statement)."""
    engine = db.make_engine(db_url)
    upgrade(engine)
    with db.write(engine) as conn:
        inv = _issue(conn)
        read_at = store.must_head(conn, inv).updated_at
        store.update_invoice(conn, inv, email_state="pending")  # somebody else, after the read
    with db.write(engine) as conn:
        missed = store.update_invoice(
            conn, inv, logged=lines, expect={"updated_at": read_at}, pdf=b"%PDF", email_state="x"
        )
        after_miss = (store.must_head(conn, inv).has_pdf, store.timeline(conn, inv))
        now = store.must_head(conn, inv).updated_at
        matched = store.update_invoice(
            conn, inv, logged=lines, expect={"updated_at": now}, pdf=b"%PDF", email_state="queued"
        )
        row = store.must_get(conn, inv)
        timeline = [(t.event, t.detail) for t in store.timeline(conn, inv)]
    assert (missed, after_miss[0], len(after_miss[1])) == (False, False, 1)
    assert (matched, row.pdf, row.email_state) == (True, b"%PDF", "queued")
    expected = [("issued", '{"number": "F1"}')] + [("pdf_rendered", '{"bytes": 4}')] * len(lines)
    assert timeline == expected
    engine.dispose()
