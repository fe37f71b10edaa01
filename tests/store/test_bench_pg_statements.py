"""``bench/pg_statements.py`` and ``pipeline.py --pg-statements``: the per-invoice summary of
the server's statements, the refusal when the server does not load ``pg_stat_statements``,
and, against a real server, that the check and the counters read what the server says."""

from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa

import support

bench = support.bench_script("pg_statements")


def _row(query: str, calls: int, exec_ms: float, plan_ms: float, hits: int, wal: int) -> object:
    return bench.Statement(query, calls, exec_ms, plan_ms, hits, wal)


def test_the_summary_is_per_invoice_and_lists_the_dearest_statements_first() -> None:
    rows = [
        _row("BEGIN ISOLATION LEVEL READ COMMITTED", 30, 1.5, 0.0, 0, 0),
        _row("COMMIT", 30, 0.9, 0.0, 0, 0),
        _row("UPDATE series\n   SET next_number = next_number + $1", 10, 6.6, 0.4, 120, 8192),
        _row("SELECT count(*) FROM jobs WHERE status = $1", 5, 2.2, 0.3, 1950, 0),
        _row("INSERT INTO jobs (task, args) VALUES ($1, $2)", 20, 1.9, 0.5, 460, 40960),
    ]
    summary = bench.summarise(rows, 10, top=2)
    assert summary["per_invoice"] == {
        "statements": 3.5,  # 35 calls besides BEGIN and COMMIT
        "commits": 3.0,
        "exec_ms": 1.31,  # 13.1 ms, BEGIN and COMMIT included
        "plan_ms": 0.12,
        "buffer_hits": 253,
        "wal_kb": 4.8,
    }
    assert summary["top"] == [
        {
            "calls": 1.0,
            "exec_ms": 0.66,
            "plan_ms": 0.04,
            "hits_per_call": 12,
            "wal_kb": 0.8,
            "query": "UPDATE series SET next_number = next_number + $1",
        },
        {
            "calls": 0.5,
            "exec_ms": 0.22,
            "plan_ms": 0.03,
            "hits_per_call": 390,
            "wal_kb": 0.0,
            "query": "SELECT count(*) FROM jobs WHERE status = $1",
        },
    ]


def test_a_long_statement_is_shown_on_one_line_and_cut() -> None:
    query = "SELECT " + ",\n  ".join(f"column_{k}" for k in range(20)) + " FROM t"
    shown = bench.shorten(query)
    assert len(shown) == bench.SHOWN
    assert shown.startswith("SELECT column_0, column_1, column_2,") and shown.endswith("…")
    assert bench.shorten("SELECT  1\n") == "SELECT 1"


@pytest.mark.parametrize(
    ("preload", "missing"),
    [
        ("", True),
        ("auto_explain", True),
        ("pg_stat_statements", False),
        ("auto_explain, pg_stat_statements", False),
        ('"pg_stat_statements"', False),
    ],
)
def test_the_option_needs_the_server_to_preload_the_module(preload: str, missing: bool) -> None:
    assert bench.problem(preload) == (bench.PRELOAD_MISSING if missing else None)


def test_the_option_needs_a_postgresql_run() -> None:
    pipeline = support.bench_script("pipeline")
    assert pipeline.arguments(["10", "--db", "postgresql", "--pg-statements"]).pg_statements
    assert not pipeline.arguments(["10"]).pg_statements
    with pytest.raises(SystemExit) as refused:
        pipeline.arguments(["10", "--pg-statements"])
    assert refused.value.code == 2


@pytest.mark.skipif(
    not os.environ.get("EFACTURA_TEST_DATABASE_URL"), reason="EFACTURA_TEST_DATABASE_URL not set"
)
def test_against_the_server_the_check_or_the_counters_tell_the_truth() -> None:
    pipeline = support.bench_script("pipeline")
    url = os.environ["EFACTURA_TEST_DATABASE_URL"]
    with pipeline.scratch_postgres(url, f"bench_pg_statements_{uuid.uuid4().hex[:12]}") as db:
        engine = sa.create_engine(db)
        try:
            with engine.connect() as conn:
                preload = str(conn.execute(sa.text("SHOW shared_preload_libraries")).scalar())
            if "pg_stat_statements" not in preload:  # as CI's server: the run is refused
                assert bench.check(engine) == bench.PRELOAD_MISSING
                return
            assert bench.check(engine) is None
            bench.start(engine)
            with engine.connect() as conn:
                for k in range(3):
                    conn.execute(sa.text("SELECT :k + 1"), {"k": k}).scalar_one()
            counted = [r for r in bench.read(engine) if r.query == "SELECT $1 + $2"]
            assert [r.calls for r in counted] == [3]
        finally:
            engine.dispose()
