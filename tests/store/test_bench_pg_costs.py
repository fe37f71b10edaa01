"""``bench/pg_costs.py``: the unit costs it derives, the projection it prints, and that each of
its three transaction shapes does its updates against a real server (the timings themselves
are a benchmark, not a test)."""

from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa

import support

bench = support.bench_script("pg_costs")


def test_a_round_trip_and_a_commit_are_priced_from_the_three_shapes() -> None:
    # split sends 5 round trips more than fused; autocommit 3 round trips and 3 commits more
    assert bench.unit_costs(784.0, 551.0, 1079.0, 4) == bench.UnitCosts(46.6, 129.4)


def test_the_projection_grows_the_rate_as_the_cpu_per_invoice_shrinks() -> None:
    costs = bench.UnitCosts(47.7, 130.1)
    # 50 round trips and 9 commits: 3.5559 ms of 43.6 -> 0.83 * 43.6 / 40.0441
    assert bench.projected_ratio(0.83, 43.6, costs, 50, 9) == 0.904
    assert bench.projected_ratio(0.83, 43.6, costs, 0, 0) == 0.83


def test_a_transaction_needs_two_writes_to_compare_the_shapes() -> None:
    with pytest.raises(SystemExit):
        bench.arguments(["--writes", "1"])
    assert bench.arguments([]).writes == 4


@pytest.mark.skipif(
    not os.environ.get("EFACTURA_TEST_DATABASE_URL"), reason="EFACTURA_TEST_DATABASE_URL not set"
)
def test_each_shape_runs_its_transactions_of_updates_against_the_server() -> None:
    url = os.environ["EFACTURA_TEST_DATABASE_URL"]
    with bench.scratch_postgres(url, f"bench_pg_costs_{uuid.uuid4().hex[:12]}") as scratch:
        bench._prepare(scratch, 2)
        engine = bench.make_engine(scratch)  # the project's, as the bench's processes use
        updates = 0
        try:
            for shape in ("split", "fused", "autocommit"):
                run = bench.measure(scratch, shape, 2, 3, 0.2)
                assert run.transactions > 0
                assert run.busy_s > 0
                updates += 3 * run.transactions
                with engine.connect() as conn:
                    total = conn.execute(sa.text("SELECT sum(n) FROM bench_rows")).scalar_one()
                assert total == updates  # every transaction did its three updates
        finally:
            engine.dispose()
