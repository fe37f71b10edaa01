"""``bench/pg_vs_sqlite.py``: the order of its interleaved blocks, the ratios it reports and
how it reads ``bench/pipeline.py``'s output (the runs themselves are a benchmark, not a test)."""

from __future__ import annotations

import os
import uuid
from typing import Any

import pytest
import sqlalchemy as sa

import support

bench = support.bench_script("pg_vs_sqlite")


def _run(db: str, rate: float) -> dict[str, Any]:
    return {"db": db, "emailed_per_s": rate}


def test_blocks_alternate_which_database_runs_first() -> None:
    assert [bench.order(b) for b in range(3)] == [
        ("postgresql", "sqlite", "sqlite", "postgresql"),
        ("sqlite", "postgresql", "postgresql", "sqlite"),
        ("postgresql", "sqlite", "sqlite", "postgresql"),
    ]


def test_each_block_compares_its_own_means_and_the_summary_its_blocks() -> None:
    runs = [
        _run("postgresql", 40.0),
        _run("sqlite", 50.0),
        _run("sqlite", 46.0),
        _run("postgresql", 44.0),
        _run("sqlite", 30.0),
        _run("postgresql", 27.0),
        _run("postgresql", 30.0),
        _run("sqlite", 30.0),
        _run("sqlite", 99.0),  # an unfinished block counts for nothing
    ]
    assert bench.block_ratios(runs) == [0.875, 0.95]
    assert bench.summary(runs) == {
        "block_ratios": [0.875, 0.95],
        "mean_ratio": 0.912,
        "lowest_block": 0.875,
        "target": 0.9,
        "met_on_average": True,
        "met_in_every_block": False,
    }


def test_the_pipeline_result_is_the_json_after_what_it_printed_before() -> None:
    assert bench.pipeline_json('{\n  "emailed_per_s": 31.5\n}\n') == {"emailed_per_s": 31.5}
    printed = 'fake ANAF on 127.0.0.1:4000\n{\n  "emailed_per_s": 31.5,\n  "db": "sqlite"\n}\n'
    assert bench.pipeline_json(printed) == {"emailed_per_s": 31.5, "db": "sqlite"}
    with pytest.raises(ValueError, match="no JSON result"):
        bench.pipeline_json("Traceback (most recent call last):\n")


def test_each_printed_run_names_the_server_cpu_wal_syncs_and_steal_when_measured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(os, "getloadavg", lambda: (4.25, 0.0, 0.0))
    run = {"end": "17:19", "db": "postgresql", "emailed_per_s": 38.94}
    run |= {"cpu_ms_per_invoice_to_emailed": 32.4, "pg_cpu_ms_per_invoice": 7.84}
    run["machine_steal_to_emailed"] = 0.46
    assert bench.line(run) == (
        "17:19 postgresql  38.94 emailed/s, worker 32.4 ms, server 7.84 ms per invoice, "
        "steal 46%, load 4.2"
    )
    run["pg_wal_syncs_per_invoice"] = 8.96
    assert bench.line(run) == (
        "17:19 postgresql  38.94 emailed/s, worker 32.4 ms, server 7.84 ms and 8.96 WAL "
        "syncs per invoice, steal 46%, load 4.2"
    )
    run["machine_ms_per_invoice"] = 49.3
    assert bench.line(run) == (
        "17:19 postgresql  38.94 emailed/s, machine 49.3 ms, worker 32.4 ms, server 7.84 ms "
        "and 8.96 WAL syncs per invoice, steal 46%, load 4.2"
    )
    sqlite = {"end": "17:20", "db": "sqlite", "emailed_per_s": 53.32}
    sqlite["cpu_ms_per_invoice_to_emailed"] = 29.8
    assert (
        bench.line(sqlite)
        == "17:20 sqlite      53.32 emailed/s, worker 29.8 ms per invoice, load 4.2"
    )


def test_the_machine_cpu_per_invoice_is_the_busy_cores_over_the_rate() -> None:
    run = {"emailed_per_s": 44.15, "machine_busy_to_emailed": 0.97}
    assert bench.machine_ms_per_invoice(run, 2) == 43.9  # 2 * 0.97 / 44.15 s
    assert bench.machine_ms_per_invoice({"emailed_per_s": 44.15}, 2) is None
    assert (
        bench.machine_ms_per_invoice({"emailed_per_s": 0, "machine_busy_to_emailed": 1}, 2) is None
    )


def test_command_line_defaults_and_refusals() -> None:
    opts = bench.arguments([])
    assert (opts.n, opts.workers, opts.blocks) == (2000, 4, 4)
    opts = bench.arguments(["600", "--workers", "3", "--blocks", "2"])
    assert (opts.n, opts.workers, opts.blocks) == (600, 3, 2)
    with pytest.raises(SystemExit) as refused:
        bench.arguments(["many"])
    assert refused.value.code == 2


def test_no_server_cpu_when_the_server_is_not_reachable() -> None:
    assert bench.postmaster_cpu_s("postgresql://nobody@127.0.0.1:1/none") is None


@pytest.mark.skipif(
    not os.environ.get("EFACTURA_TEST_DATABASE_URL"), reason="EFACTURA_TEST_DATABASE_URL not set"
)
def test_server_cpu_of_a_local_server_grows_with_its_backends_work() -> None:
    url = os.environ["EFACTURA_TEST_DATABASE_URL"]
    first = bench.postmaster_cpu_s(url)
    if first is None:
        pytest.skip("the server's postmaster.pid is not readable from here")

    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    for _ in range(3):  # each connection is a backend the postmaster reaps when it ends
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT count(*) FROM generate_series(1, 3000000)")).one()
    engine.dispose()
    assert first < bench.postmaster_cpu_s(url)


def test_wal_syncs_per_invoice_are_the_servers_count_over_the_run() -> None:
    pipeline = support.bench_script("pipeline")
    assert pipeline.wal_syncs_per_invoice(1_000, 18_929, 2_000) == {
        "pg_wal_syncs_per_invoice": 8.96
    }
    assert pipeline.wal_syncs_per_invoice(None, 18_929, 2_000) == {}
    assert pipeline.wal_syncs_per_invoice(1_000, None, 2_000) == {}


@pytest.mark.skipif(
    not os.environ.get("EFACTURA_TEST_DATABASE_URL"), reason="EFACTURA_TEST_DATABASE_URL not set"
)
def test_a_durable_commit_counts_a_wal_sync_of_the_server() -> None:
    pipeline = support.bench_script("pipeline")
    engine = sa.create_engine(os.environ["EFACTURA_TEST_DATABASE_URL"])
    table = f"wal_probe_{uuid.uuid4().hex[:12]}"
    try:
        first = pipeline.pg_wal_syncs(engine)
        assert first is not None
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_stat_force_next_flush()"))
            conn.execute(sa.text(f"CREATE TABLE {table} (x int)"))
            conn.execute(sa.text(f"INSERT INTO {table} VALUES (1)"))
            conn.commit()  # waits for its WAL to be on disk; its statistics are sent after
        assert first < pipeline.pg_wal_syncs(engine)
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))
        engine.dispose()
