"""Invoice numbers: exact sequences, and no gap / no duplicate under concurrency with rollbacks."""

from __future__ import annotations

import multiprocessing
import random
from datetime import date

import pytest
import sqlalchemy as sa

from stripe_efactura.config import SeriesConfig, SeriesSettings
from stripe_efactura.invoicing.numbering import format_number, series_for
from stripe_efactura.store import db
from stripe_efactura.store.invoices import insert_invoice
from stripe_efactura.store.migrate import downgrade, upgrade
from stripe_efactura.store.numbering import allocate, peek
from stripe_efactura.store.tables import invoices, series

DAY = date(2026, 11, 21)


def _issue(conn: sa.Connection, cfg: SeriesConfig, key: str, day: date = DAY) -> str:
    code, seq, number, latest = allocate(conn, cfg, day)
    assert latest >= day
    _insert(conn, code, seq, number, key, day)
    return number


def _insert(conn: sa.Connection, code: str, seq: int, number: str, key: str, day: date) -> None:
    insert_invoice(
        conn,
        series_code=code,
        seq=seq,
        number=number,
        kind="invoice",
        payment_key=key,
        issue_date=day,
        currency="RON",
        total="1.00",
        livemode=True,
        snapshot="{}",
        xml=b"<x/>",
    )


@pytest.mark.parametrize(
    ("cfg", "expected"),
    [
        (SeriesConfig(code="invoice"), ["1", "2", "3"]),
        (SeriesConfig(code="invoice", prefix="SEF", padding=4), ["SEF0001", "SEF0002", "SEF0003"]),
        (
            SeriesConfig(code="invoice", prefix="AB-", suffix="/2026", start=124),
            ["AB-124/2026", "AB-125/2026", "AB-126/2026"],
        ),
        (
            SeriesConfig(code="invoice", prefix="F", padding=6, start=998),
            ["F000998", "F000999", "F001000"],
        ),
        (
            SeriesConfig(code="invoice", suffix="-RO", padding=2, start=99),
            ["99-RO", "100-RO", "101-RO"],
        ),
    ],
)
def test_exact_sequences(db_url: str, cfg: SeriesConfig, expected: list[str]) -> None:
    engine = db.make_engine(db_url)
    upgrade(engine)
    out = []
    for i in range(3):
        with db.write(engine) as conn:
            out.append(_issue(conn, cfg, f"pi_{i}"))
    assert out == expected
    engine.dispose()


def test_start_number_continues_a_series_and_never_goes_back(db_url: str) -> None:
    engine = db.make_engine(db_url)
    upgrade(engine)
    cfg = SeriesConfig(code="invoice", prefix="X")
    with db.write(engine) as conn:
        assert [_issue(conn, cfg, f"a{i}") for i in range(2)] == ["X1", "X2"]
    moved = SeriesConfig(code="invoice", prefix="X", start=500)
    with db.write(engine) as conn:
        assert _issue(conn, moved, "b") == "X500"
    back = SeriesConfig(code="invoice", prefix="X", start=10)
    with db.write(engine) as conn:
        assert _issue(conn, back, "c") == "X501"
        assert peek(conn, back) == 502
    engine.dispose()


def test_an_existing_series_takes_its_number_in_one_statement(db_url: str) -> None:
    engine = db.make_engine(db_url)
    upgrade(engine)
    cfg = SeriesConfig(code="invoice", prefix="S", start=7)
    seen: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda *a: seen.append(a[2].split()[0]))
    taken = []
    for _ in range(2):
        with db.write(engine) as conn:
            seen.clear()
            taken.append(allocate(conn, cfg, DAY))
            statements = [s for s in seen if s in ("INSERT", "UPDATE")]
    # the first: take (no row), create, move to start, take; the second: take
    assert taken == [("invoice:S:", 7, "S7", DAY), ("invoice:S:", 8, "S8", DAY)]
    assert statements == ["UPDATE"]
    engine.dispose()


def test_rollback_returns_the_number(db_url: str) -> None:
    engine = db.make_engine(db_url)
    upgrade(engine)
    cfg = SeriesConfig(code="invoice", prefix="R")
    with pytest.raises(RuntimeError), db.write(engine) as conn:
        _issue(conn, cfg, "lost")
        raise RuntimeError("rendering failed")
    with db.write(engine) as conn:
        assert _issue(conn, cfg, "kept") == "R1"
    engine.dispose()


def test_the_series_keeps_its_latest_issue_date_with_the_number(db_url: str) -> None:
    """The date moves with the number in the same statement: an earlier date after a later
    one is reported (the issuing path rolls back), a later one moves it, a rollback gives it
    back with the number."""
    engine = db.make_engine(db_url)
    upgrade(engine)
    cfg = SeriesConfig(code="invoice", prefix="D")
    first, earlier, later = date(2026, 3, 2), date(2026, 3, 1), date(2026, 3, 5)
    with db.write(engine) as conn:
        assert allocate(conn, cfg, first) == ("invoice:D:", 1, "D1", first)
        assert allocate(conn, cfg, earlier) == ("invoice:D:", 2, "D2", first)
        assert allocate(conn, cfg, first) == ("invoice:D:", 3, "D3", first)
        assert allocate(conn, cfg, later) == ("invoice:D:", 4, "D4", later)
    with pytest.raises(RuntimeError), db.write(engine) as conn:
        assert allocate(conn, cfg, date(2026, 3, 9)).latest_issue_date == date(2026, 3, 9)
        raise RuntimeError("rendering failed")
    with db.write(engine) as conn:
        assert allocate(conn, cfg, date(2026, 3, 6)) == ("invoice:D:", 5, "D5", date(2026, 3, 6))
    with db.read(engine) as conn:
        assert conn.execute(sa.select(series.c.last_issue_date)).scalar_one() == date(2026, 3, 6)
    engine.dispose()


def test_migration_0013_gives_each_series_the_latest_date_of_its_invoices(db_url: str) -> None:
    engine = db.make_engine(db_url)
    upgrade(engine, "0012")
    old_series = sa.table("series", *(sa.column(c) for c in ("code", "prefix", "next_number")))
    days = {"A": [date(2026, 2, 27), date(2026, 3, 2), date(2026, 3, 1)], "B": [], "C": []}
    days["C"] = [date(2025, 12, 31)]
    with db.write(engine) as conn:
        for code, dated in days.items():
            conn.execute(sa.insert(old_series).values(code=code, prefix=code, next_number=9))
            for n, day in enumerate(dated, start=1):
                _insert(conn, code, n, f"{code}{n}", f"pi_{code}{n}", day)
    upgrade(engine)
    with db.read(engine) as conn:
        query = sa.select(series.c.code, series.c.last_issue_date).order_by(series.c.code)
        assert [tuple(r) for r in conn.execute(query)] == [
            ("A", date(2026, 3, 2)),
            ("B", None),
            ("C", date(2025, 12, 31)),
        ]
        indexes = {i["name"] for i in sa.inspect(conn).get_indexes("invoices")}
    assert "ix_invoices_series_issue_date" not in indexes
    downgrade(engine, "0012")
    with engine.connect() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns("series")}
        indexes = {i["name"] for i in sa.inspect(conn).get_indexes("invoices")}
    assert "last_issue_date" not in columns
    assert "ix_invoices_series_issue_date" in indexes
    engine.dispose()


def test_series_choice() -> None:
    s = SeriesSettings(storno=SeriesConfig(code="storno", prefix="ST"))
    assert series_for(s, storno=False, livemode=True).prefix == "SEF"
    assert series_for(s, storno=True, livemode=True).prefix == "ST"
    assert series_for(s, storno=True, livemode=False).prefix == "TEST"
    assert series_for(SeriesSettings(), storno=True, livemode=True).prefix == "SEF"
    assert format_number(SeriesConfig(code="x", prefix="A", padding=3), 7) == "A007"


WORKERS = 8
PER_WORKER = 500


def _worker(url: str, wid: int) -> tuple[int, int]:
    rng = random.Random(wid)
    engine = db.make_engine(url, pool_size=1)
    cfg = SeriesConfig(code="invoice", prefix="C", padding=5)
    committed = rolled_back = 0
    n = 0
    while committed < PER_WORKER:
        n += 1
        try:
            with db.write(engine) as conn:
                _issue(conn, cfg, f"pi_{wid}_{n}")
                if rng.random() < 0.05:
                    raise RuntimeError("injected failure after taking a number")
            committed += 1
        except RuntimeError:
            rolled_back += 1
    engine.dispose()
    return committed, rolled_back


@pytest.mark.slow
def test_concurrent_workers_with_rollbacks_no_gap_no_duplicate(db_url: str) -> None:
    engine = db.make_engine(db_url)
    upgrade(engine)
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(WORKERS) as pool:
        results = pool.starmap(_worker, [(db_url, w) for w in range(WORKERS)])
    assert sum(c for c, _ in results) == WORKERS * PER_WORKER
    assert sum(r for _, r in results) > 0
    with db.read(engine) as conn:
        rows = conn.execute(sa.select(invoices.c.seq, invoices.c.number)).all()
    seqs = sorted(r.seq for r in rows)
    assert seqs == list(range(1, WORKERS * PER_WORKER + 1))
    assert sorted(r.number for r in rows) == [f"C{i:05d}" for i in range(1, 4001)]
    engine.dispose()
