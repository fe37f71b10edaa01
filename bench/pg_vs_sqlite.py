"""bench/pg_vs_sqlite: issue 17's "PostgreSQL within 10 % of SQLite", in interleaved blocks.

    .venv/bin/python bench/pg_vs_sqlite.py [N] [--workers K] [--blocks B]

Each block runs ``bench/pipeline.py N --workers K --until emailed --no-stages`` four times,
PostgreSQL, SQLite, SQLite, PostgreSQL (every other block the reverse, SQLite first), so that
a machine that speeds up or slows down during a block weighs on both databases alike: on a
shared VM the same code moves by a tenth or more within an hour, more than the difference
measured. Printed: a line per run (invoices emailed per second, the whole machine's busy CPU
per invoice, worker CPU per invoice, the PostgreSQL server's CPU per invoice when its
``postmaster.pid`` is readable: the CPU of the backends it reaped during the run), then per
block the PostgreSQL mean over the SQLite mean, their mean over the blocks and the lowest
block; the whole as JSON at the end. Nothing is written to ``bench/README.md``: the blocks
take a while (four runs of about a minute and a half per block at N = 2,000 on 2 cores), and
the table there says which machine and hour they are from.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from statistics import fmean
from typing import Any

import sqlalchemy as sa
from procstat import reaped_children_seconds
from readme_section import parser

PIPELINE = Path(__file__).resolve().parent / "pipeline.py"
#: issue 17's target: PostgreSQL within 10 % of SQLite
TARGET = 0.9
_ORDERS = (
    ("postgresql", "sqlite", "sqlite", "postgresql"),
    ("sqlite", "postgresql", "postgresql", "sqlite"),
)


def arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    ap = parser(__doc__)
    ap.add_argument("n", type=int, nargs="?", default=2000, help="payments per run")
    ap.add_argument("--workers", type=int, default=4, help="worker processes in every run")
    ap.add_argument("--blocks", type=int, default=4, help="blocks of four runs")
    ap.add_argument("--pg-url", default="postgresql://root@127.0.0.1:5432/postgres")
    return ap.parse_args(argv)


def order(block: int) -> tuple[str, ...]:
    """The databases of block ``block`` (from 0), in the order they run."""
    return _ORDERS[block % 2]


def pipeline_json(stdout: str) -> dict[str, Any]:
    """The JSON document ``bench/pipeline.py`` prints last (it may print lines before it)."""
    start = stdout.find("\n{")
    text = stdout if stdout.startswith("{") else stdout[start + 1 :]
    if not text.startswith("{"):
        raise ValueError("bench/pipeline.py printed no JSON result")
    result: dict[str, Any] = json.loads(text)
    return result


def postmaster_cpu_s(pg_url: str) -> float | None:
    """CPU seconds of the server's reaped backends (the postmaster's ``cutime + cstime``), or
    None when the server is not on this machine or its files are not readable."""
    try:
        engine = sa.create_engine(pg_url)
        with engine.connect() as conn:
            data_dir = str(conn.execute(sa.text("SHOW data_directory")).scalar_one())
        engine.dispose()
        pid = int((Path(data_dir) / "postmaster.pid").read_text().split("\n")[0])
        return reaped_children_seconds(pid)
    except (OSError, ValueError, sa.exc.SQLAlchemyError):
        return None


def run_once(opts: argparse.Namespace, db: str) -> dict[str, Any]:
    """One ``bench/pipeline.py`` run on ``db``: its result, with the server's CPU."""
    cmd = [sys.executable, str(PIPELINE), str(opts.n), "--workers", str(opts.workers)]
    cmd += ["--db", db, "--pg-url", opts.pg_url, "--until", "emailed", "--no-stages"]
    before = postmaster_cpu_s(opts.pg_url) if db == "postgresql" else None
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    after = postmaster_cpu_s(opts.pg_url) if db == "postgresql" else None
    result = pipeline_json(done.stdout)
    if before is not None and after is not None:
        result["pg_cpu_ms_per_invoice"] = round((after - before) * 1000 / opts.n, 2)
    result["machine_ms_per_invoice"] = machine_ms_per_invoice(result, os.cpu_count() or 1)
    result["end"] = time.strftime("%H:%M", time.gmtime())
    return result


def block_ratios(runs: Sequence[dict[str, Any]]) -> list[float]:
    """Per block of four consecutive runs: the PostgreSQL mean rate over the SQLite mean."""
    ratios = []
    for i in range(0, len(runs) - len(runs) % 4, 4):
        rates: dict[str, list[float]] = {"postgresql": [], "sqlite": []}
        for run in runs[i : i + 4]:
            rates[run["db"]].append(float(run["emailed_per_s"]))
        ratios.append(round(fmean(rates["postgresql"]) / fmean(rates["sqlite"]), 3))
    return ratios


def summary(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    ratios = block_ratios(runs)
    mean = round(fmean(ratios), 3)
    return {
        "block_ratios": ratios,
        "mean_ratio": mean,
        "lowest_block": min(ratios),
        "target": TARGET,
        "met_on_average": mean >= TARGET,
        "met_in_every_block": min(ratios) >= TARGET,
    }


def machine_ms_per_invoice(run: dict[str, Any], cores: int) -> float | None:
    """The whole machine's busy CPU per invoice emailed (every process, the server's and the
    kernel's included): what ``bench/pg_costs.py`` projects a saving against. The pipeline
    gives the busy share to two decimals, so this is good to about half a percent."""
    busy = run.get("machine_busy_to_emailed")
    if busy is None or not run.get("emailed_per_s"):
        return None
    return round(cores * float(busy) * 1000 / float(run["emailed_per_s"]), 1)


def line(run: dict[str, Any]) -> str:
    machine = run.get("machine_ms_per_invoice")
    whole = f"machine {machine} ms, " if machine is not None else ""
    pg = run.get("pg_cpu_ms_per_invoice")
    server = f", server {pg} ms" if pg is not None else ""
    syncs = run.get("pg_wal_syncs_per_invoice")
    server += f" and {syncs} WAL syncs" if syncs is not None else ""
    stolen = run.get("machine_steal_to_emailed")
    steal = f", steal {stolen:.0%}" if stolen is not None else ""
    return (
        f"{run['end']} {run['db']:<10} {run['emailed_per_s']:>6} emailed/s, {whole}worker "
        f"{run['cpu_ms_per_invoice_to_emailed']} ms{server} per invoice{steal}, load "
        f"{os.getloadavg()[0]:.1f}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    opts = arguments(argv)
    runs: list[dict[str, Any]] = []
    for block in range(opts.blocks):
        for db in order(block):
            runs.append(run_once(opts, db))
            print(line(runs[-1]), flush=True)
        print(f"block {block + 1}: PostgreSQL / SQLite {block_ratios(runs)[-1]}", flush=True)
    keep = ("db", "end", "emailed_per_s", "cpu_ms_per_invoice_to_emailed", "first_emailed_s")
    measured = ("machine_ms_per_invoice", "pg_cpu_ms_per_invoice")
    table = [{k: r.get(k) for k in (*keep, *measured)} for r in runs]
    report = {"n": opts.n, "workers": opts.workers, "runs": table, **summary(runs)}
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
