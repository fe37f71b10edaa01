"""bench/pg_costs: what a round trip and a durable commit cost a loaded PostgreSQL machine.

    .venv/bin/python bench/pg_costs.py [--processes K] [--writes W] [--seconds S]

Issue 17 asks for PostgreSQL within 10 % of SQLite on 2 cores, where the server shares the
cores with the workers. This bench prices the two things a redesign of the job chain could
take away on PostgreSQL: round trips (statements sent one by one) and durable commits (a WAL
flush each). K processes (4, as many as ``bench/pg_vs_sqlite.py``'s workers) each run
transactions of W one-row ``UPDATE``s for S seconds, through the project's engine
(``store/db.py``: psycopg, binary results), in three shapes:

- ``split``: ``BEGIN``, the W statements, ``COMMIT``: W + 2 round trips, one commit;
- ``fused``: the W updates as one data-modifying CTE in autocommit: one round trip, one commit;
- ``autocommit``: each update its own transaction: W round trips, W commits.

The machine's busy CPU (``/proc/stat``: the clients, the server's backends and the kernel)
per transaction gives the cost of a round trip, ``(split - fused) / (W + 1)``, and of a
commit beyond its round trip, ``(autocommit - fused) / (W - 1)`` less a round trip. The
shapes run in the order split, fused, autocommit, autocommit, fused, split; the lowest cost of
each counts. ``--invoice-ms``, ``--ratio``, ``--round-trips`` and ``--commits`` (a
``pg_vs_sqlite`` block's PostgreSQL CPU per invoice, its ratio, and the round trips and commits
per invoice a redesign would save) add what that saving could give the ratio at most. Runs in
a scratch database next to ``--pg-url``'s, dropped afterwards; writes nothing to
``bench/README.md``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import time
from collections.abc import Sequence
from datetime import datetime
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from typing import NamedTuple

import sqlalchemy as sa
from pipeline import scratch_postgres
from procstat import machine_cpu
from readme_section import parser

from stripe_efactura.store.db import make_engine

SHAPES = ("split", "fused", "autocommit", "autocommit", "fused", "split")
ROWS_PER_PROCESS = 20_000
_UPDATE = "UPDATE bench_rows SET n = n + 1, at = :at WHERE id = :id"


def arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    ap = parser(__doc__)
    ap.add_argument("--processes", type=int, default=4)
    ap.add_argument("--writes", type=int, default=4, help="updates per transaction (>= 2)")
    ap.add_argument("--seconds", type=float, default=12.0, help="per shape")
    ap.add_argument("--pg-url", default="postgresql://root@127.0.0.1:5432/postgres")
    ap.add_argument("--invoice-ms", type=float, help="PostgreSQL's machine CPU per invoice")
    ap.add_argument("--ratio", type=float, help="PostgreSQL / SQLite, invoices per second")
    ap.add_argument("--round-trips", type=float, default=0.0, help="saved per invoice")
    ap.add_argument("--commits", type=float, default=0.0, help="saved per invoice")
    args = ap.parse_args(argv)
    if args.writes < 2:
        ap.error("--writes must be 2 or more")
    return args


class UnitCosts(NamedTuple):
    """Microseconds of the machine's CPU."""

    round_trip_us: float
    commit_us: float


def unit_costs(split_us: float, fused_us: float, autocommit_us: float, writes: int) -> UnitCosts:
    """The cost of a round trip and of a commit beyond its round trip, from the machine CPU
    per transaction of the three shapes (W = ``writes``): ``split`` sends W + 1 round trips
    more than ``fused``, ``autocommit`` W - 1 round trips and W - 1 commits more."""
    round_trip = (split_us - fused_us) / (writes + 1)
    commit = (autocommit_us - fused_us) / (writes - 1) - round_trip
    return UnitCosts(round(round_trip, 1), round(commit, 1))


def projected_ratio(
    ratio: float, invoice_ms: float, costs: UnitCosts, round_trips: float, commits: float
) -> float:
    """The ratio PostgreSQL / SQLite once an invoice costs PostgreSQL's machine ``round_trips``
    round trips and ``commits`` commits fewer (the machine as busy as before, SQLite's rate
    unchanged): the rate grows as the CPU per invoice shrinks."""
    saved_ms = (round_trips * costs.round_trip_us + commits * costs.commit_us) / 1000
    return round(ratio * invoice_ms / (invoice_ms - saved_ms), 3)


def _fused(writes: int) -> sa.TextClause:
    parts = [f"u{i} AS ({_UPDATE.replace(':id', f':id{i}')} RETURNING id)" for i in range(writes)]
    counts = " + ".join(f"(SELECT count(*) FROM u{i})" for i in range(writes))
    return sa.text(f"WITH {', '.join(parts)} SELECT {counts}")


def _prepare(url: str, processes: int) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE bench_rows (id integer PRIMARY KEY, status varchar(20), n integer, "
            "at timestamp)"
        )
        conn.exec_driver_sql("CREATE INDEX bench_rows_status ON bench_rows (status, id)")
        conn.exec_driver_sql(
            "INSERT INTO bench_rows SELECT g, 'queued', 0, now() "
            f"FROM generate_series(1, {processes * ROWS_PER_PROCESS}) g"
        )
    engine.dispose()


def _transactions(
    url: str, shape: str, writes: int, index: int, seconds: float, go: Event, out: Queue[int]
) -> None:
    """Once ``go`` is set, run ``shape`` transactions for ``seconds``; put how many ran."""
    engine = make_engine(url)
    update, fused = sa.text(_UPDATE), _fused(writes)
    at = datetime(2026, 1, 1)
    with engine.connect() as warm:  # connected before the measuring starts
        warm.exec_driver_sql("SELECT 1")
    go.wait()
    first = index * ROWS_PER_PROCESS  # this process's rows
    until, done = time.monotonic() + seconds, 0
    while time.monotonic() < until:
        ids = [first + (done * writes + j) % ROWS_PER_PROCESS + 1 for j in range(writes)]
        with engine.connect() as base:
            if shape == "split":
                with base.begin():
                    for row in ids:
                        base.execute(update, {"at": at, "id": row})
            else:
                conn = base.execution_options(isolation_level="AUTOCOMMIT")
                with conn.begin():
                    if shape == "fused":
                        values = {f"id{j}": row for j, row in enumerate(ids)}
                        conn.execute(fused, {"at": at, **values}).scalar_one()
                    else:
                        for row in ids:
                            conn.execute(update, {"at": at, "id": row})
        done += 1
    out.put(done)
    engine.dispose()


class Run(NamedTuple):
    """One shape's run: how many transactions, and the machine's busy CPU seconds meanwhile."""

    transactions: int
    busy_s: float

    @property
    def us_per_transaction(self) -> float:
        return self.busy_s / max(self.transactions, 1) * 1e6


def measure(url: str, shape: str, processes: int, writes: int, seconds: float) -> Run:
    """``processes`` processes running ``shape`` for ``seconds``, measured from the moment
    every process has connected until the last has counted (their start-up is not)."""
    ctx = multiprocessing.get_context("fork")
    go, out = ctx.Event(), ctx.Queue()
    procs = [
        ctx.Process(target=_transactions, args=(url, shape, writes, i, seconds, go, out))
        for i in range(processes)
    ]
    for proc in procs:
        proc.start()
    time.sleep(1.0)  # the processes connect
    before = machine_cpu()
    go.set()
    count = sum(out.get(timeout=seconds + 60) for _ in procs)  # a process that failed: raises
    busy = machine_cpu()[0] - before[0]
    for proc in procs:
        proc.join()
    return Run(count, busy)


def main(argv: Sequence[str] | None = None) -> int:
    args = arguments(argv)
    lowest: dict[str, float] = {}
    with scratch_postgres(args.pg_url, f"bench_pg_costs_{os.getpid()}") as url:
        _prepare(url, args.processes)
        for shape in SHAPES:
            us = measure(url, shape, args.processes, args.writes, args.seconds).us_per_transaction
            clock = time.strftime("%H:%M", time.gmtime())
            print(f"{clock} {shape:10s} {us:7.0f} us of machine CPU per transaction")
            lowest[shape] = min(us, lowest.get(shape, us))
    costs = unit_costs(lowest["split"], lowest["fused"], lowest["autocommit"], args.writes)
    print(f"round trip {costs.round_trip_us} us, commit beyond its round trip {costs.commit_us} us")
    if args.invoice_ms and args.ratio:
        ratio = projected_ratio(args.ratio, args.invoice_ms, costs, args.round_trips, args.commits)
        print(
            f"{args.round_trips:g} round trips and {args.commits:g} commits fewer per invoice: "
            f"PostgreSQL / SQLite {args.ratio} -> at most {ratio}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
