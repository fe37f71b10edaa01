"""The text search of the listings selects exactly the rows whose lower-cased ``search`` text
contains the term, through the trigram index (FTS5 on SQLite, pg_trgm on PostgreSQL) that the
migration builds and the triggers / store functions keep in sync (both databases)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from stripe_efactura.store import db, queries, textsearch
from stripe_efactura.store import invoices as invoice_store
from stripe_efactura.store.migrate import ensure_schema, upgrade
from stripe_efactura.store.tables import invoices, payments, series

TEXTS = {
    "pi_a": "pi_a ion popescu ion.popescu@example.ro",
    "pi_b": "pi_b exemplu soft srl ro18547290 contabil@example.ro",
    "pi_c": "pi_c 100% natural_ro",
    "pi_d": 'pi_d quote "x" here',
    "pi_e": "pi_e ștefan și fiii",
}
TERMS = [
    "popescu",
    "ION.Popescu@",
    "ro1854",
    "pi_",
    "%",
    "_",
    "100%",
    "l_r",
    "al_",
    '"x"',
    "ȘTEFAN",
    "și f",
    "example.ro",
    "zz",
    "o",
    "pi",
    "nobody",
    "pop\x00escu",
    "\x00",
]


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = db.make_engine(db_url)
    ensure_schema(engine)
    yield engine
    engine.dispose()


def add_payments(engine: Engine) -> None:
    start = datetime(2026, 3, 1, 9, 0)
    with db.write(engine) as conn:
        for i, (key, text) in enumerate(TEXTS.items()):
            paid = start + timedelta(hours=i)
            conn.execute(
                sa.insert(payments).values(
                    payment_key=key,
                    owner_type="payment_intent",
                    owner_id=key,
                    livemode=False,
                    currency="RON",
                    amount=100,
                    paid_at=paid,
                    sale="{}",
                    search=text,
                    created_at=paid,
                    updated_at=paid,
                )
            )


def found(engine: Engine, term: str) -> list[str]:
    with db.read(engine) as conn:
        rows = queries.payments_page(conn, queries.PaymentFilter(text=term), after=None, limit=50)
    return [r.payment_key for r in rows]


def expected(term: str) -> list[str]:
    """The oracle: a plain substring test, newest first."""
    return [k for k in reversed(TEXTS) if term.lower() in TEXTS[k]]


def test_payments_search_is_exactly_a_substring_test(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_payments(engine)
    assert {t: found(engine, t) for t in TERMS} == {t: expected(t) for t in TERMS}
    assert expected("pi_") == ["pi_e", "pi_d", "pi_c", "pi_b", "pi_a"]
    assert expected("l_r") == ["pi_c"]
    assert expected("ȘTEFAN") == ["pi_e"]
    # a term with more rows than the index hands over falls back to the ordered scan
    monkeypatch.setattr(textsearch, "CANDIDATES", 1)
    assert {t: found(engine, t) for t in TERMS} == {t: expected(t) for t in TERMS}


def test_the_index_follows_inserts_updates_and_deletes(engine: Engine) -> None:
    add_payments(engine)
    with db.write(engine) as conn:
        conn.execute(
            sa.update(payments)
            .where(payments.c.payment_key == "pi_a")
            .values(search="pi_a dante international sa")
        )
        conn.execute(sa.update(payments).values(status="invoiced"))  # search untouched
        conn.execute(sa.delete(payments).where(payments.c.payment_key == "pi_b"))
    assert found(engine, "dante") == ["pi_a"]
    assert found(engine, "popescu") == []
    assert found(engine, "exemplu") == []
    assert found(engine, "pi_") == ["pi_e", "pi_d", "pi_c", "pi_a"]
    if db.is_sqlite(engine):
        with db.read(engine) as conn:
            rowid = conn.execute(
                sa.text("SELECT rowid FROM payments WHERE payment_key = 'pi_a'")
            ).scalar_one()
            assert textsearch._candidates(conn, "payments", "dante") == [rowid]
            assert textsearch._candidates(conn, "payments", "da") is None  # too short
        with db.write(engine) as conn:  # raises when the index differs from the column
            conn.exec_driver_sql(
                "INSERT INTO payments_fts(payments_fts, rank) VALUES ('integrity-check', 1)"
            )


SNAPSHOT = {
    "buyer": {
        "name": "Exemplu Soft SRL",
        "legal_id": "18547290",
        "vat_id": "RO18547290",
        "email": "Contabil@Example.ro",
    }
}


def add_invoice(engine: Engine, seq: int, key: str, snapshot: Mapping[str, object]) -> int:
    with db.write(engine) as conn:
        if seq == 1:
            conn.execute(
                sa.insert(series).values(code="SF", prefix="SF-2026-", padding=6, next_number=9)
            )
        return invoice_store.insert_invoice(
            conn,
            series_code="SF",
            seq=seq,
            number=f"SF-2026-{seq:06d}",
            kind="invoice",
            payment_key=key,
            issue_date=date(2026, 3, 2),
            currency="RON",
            total="121.00",
            livemode=False,
            snapshot=json.dumps(snapshot),
            xml=b"<Invoice/>",
        )


def invoice_numbers(engine: Engine, term: str) -> list[str]:
    with db.read(engine) as conn:
        rows = queries.invoices_page(conn, queries.InvoiceFilter(text=term), after=None, limit=50)
    return [r.number for r in rows]


def test_invoice_search_text_and_its_index(engine: Engine) -> None:
    assert textsearch.invoice_search("SF-2026-000123", "pi_X", json.dumps(SNAPSHOT)) == (
        "sf-2026-000123 pi_x exemplu soft srl 18547290 ro18547290 contabil@example.ro"
    )
    assert textsearch.invoice_search("SF-2026-000124", "pi_Y", "{}") == "sf-2026-000124 pi_y"
    first = add_invoice(engine, 1, "pi_one", SNAPSHOT)
    add_invoice(engine, 2, "pi_two", {"buyer": {"name": "Ion Popescu", "legal_id": None}})
    assert invoice_numbers(engine, "SF-2026") == ["SF-2026-000002", "SF-2026-000001"]
    assert invoice_numbers(engine, "000001") == ["SF-2026-000001"]
    assert invoice_numbers(engine, "RO18547290") == ["SF-2026-000001"]
    assert invoice_numbers(engine, "popescu") == ["SF-2026-000002"]
    assert invoice_numbers(engine, "pi_two") == ["SF-2026-000002"]
    assert invoice_numbers(engine, "contabil@") == ["SF-2026-000001"]
    with db.write(engine) as conn:  # a rebuilt invoice (corrected buyer) is found by it
        renamed = {"buyer": {**SNAPSHOT["buyer"], "name": "Dante International SA"}}
        invoice_store.update_invoice(conn, first, snapshot=json.dumps(renamed))
    assert invoice_numbers(engine, "dante") == ["SF-2026-000001"]
    assert invoice_numbers(engine, "exemplu") == []


def test_the_migration_built_the_trigram_index(engine: Engine) -> None:
    with db.read(engine) as conn:
        if db.is_sqlite(engine):
            names = conn.execute(
                sa.text("SELECT type, name FROM sqlite_master WHERE name LIKE '%fts%'")
            ).all()
            assert {(str(t), str(n)) for t, n in names} >= {
                ("table", "payments_fts"),
                ("table", "invoices_fts"),
                ("trigger", "payments_fts_insert"),
                ("trigger", "payments_fts_update"),
                ("trigger", "payments_fts_delete"),
                ("trigger", "invoices_fts_insert"),
                ("trigger", "invoices_fts_update"),
                ("trigger", "invoices_fts_delete"),
            }
            return
        rows = conn.execute(
            sa.text(
                "SELECT indexname, indexdef FROM pg_indexes "
                "WHERE schemaname = current_schema() AND indexname LIKE '%trgm%' "
                "ORDER BY indexname"
            )
        ).all()
    assert [str(r[0]) for r in rows] == ["ix_invoices_search_trgm", "ix_payments_search_trgm"]
    assert all("USING gin (search " in str(r[1]) and "gin_trgm_ops" in str(r[1]) for r in rows)


def test_without_the_index_the_search_still_answers_and_the_log_says_why(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    add_payments(engine)
    monkeypatch.setattr(textsearch, "SQLITE_MIN", (99, 0, 0))
    monkeypatch.setattr(textsearch, "_trgm_schema", lambda conn: None)
    monkeypatch.setattr(textsearch, "_create_trgm", lambda conn: None)
    with db.write(engine) as conn:
        if db.is_sqlite(engine):
            textsearch.drop_sqlite(conn)
            assert textsearch.install_sqlite(conn) is False
            assert textsearch._candidates(conn, "payments", "popescu") is None
        else:
            textsearch.drop_postgresql(conn)
            assert textsearch.install_postgresql(conn) is False
    [record] = [r for r in caplog.records if r.name == textsearch.__name__]
    assert record.levelname == "WARNING"
    assert record.getMessage().startswith("text search: ")
    assert record.getMessage().endswith("searches read every row")
    assert {t: found(engine, t) for t in TERMS} == {t: expected(t) for t in TERMS}


def test_the_migration_fills_and_indexes_the_rows_already_stored(db_url: str) -> None:
    engine = db.make_engine(db_url)
    upgrade(engine, "0006")
    now = datetime(2026, 1, 5, 9, 0)
    old_invoices = sa.table("invoices", *(sa.column(c) for c in INVOICE_0006))
    with db.write(engine) as conn:
        conn.execute(sa.insert(series).values(code="S", prefix="S", padding=3, next_number=2))
        conn.execute(
            sa.insert(payments).values(
                payment_key="pi_1",
                owner_type="payment_intent",
                owner_id="pi_1",
                livemode=False,
                currency="RON",
                amount=100,
                paid_at=now,
                sale="{}",
                search="pi_1 maria ionescu",
                created_at=now,
                updated_at=now,
            )
        )
        buyer = {"buyer": {"name": "Maria Ionescu SRL", "legal_id": "123456"}}
        conn.execute(
            sa.insert(old_invoices).values(
                series_code="S",
                seq=1,
                number="S001",
                kind="invoice",
                payment_key="pi_1",
                issue_date=date(2026, 1, 5),
                currency="RON",
                total="1.00",
                livemode=False,
                snapshot=json.dumps(buyer),
                xml=b"<Invoice/>",
                anaf_state="ok",
                email_state="sent",
                created_at=now,
                updated_at=now,
            )
        )
    upgrade(engine)
    with db.read(engine) as conn:
        search = conn.execute(sa.select(invoices.c.search)).scalar_one()
    assert search == "s001 pi_1 maria ionescu srl 123456"
    assert found(engine, "ionescu") == ["pi_1"]
    assert invoice_numbers(engine, "ionescu") == ["S001"]
    assert invoice_numbers(engine, "123456") == ["S001"]
    if db.is_sqlite(engine):
        with db.read(engine) as conn:
            assert textsearch._candidates(conn, "invoices", "ionescu") == [1]
            assert textsearch._candidates(conn, "payments", "ionescu") is not None
    engine.dispose()


INVOICE_0006 = (
    "series_code",
    "seq",
    "number",
    "kind",
    "payment_key",
    "issue_date",
    "currency",
    "total",
    "livemode",
    "snapshot",
    "xml",
    "anaf_state",
    "email_state",
    "created_at",
    "updated_at",
)
