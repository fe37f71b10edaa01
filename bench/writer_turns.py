"""bench/writer_turns: short SQLite write transactions from several processes taking turns.

Each process opens the same SQLite file (WAL, ``synchronous=FULL``) and runs N transactions
(``BEGIN IMMEDIATE``, one insert, a little Python work, ``COMMIT``) inside
:meth:`store.writer_turns.WriterTurns.turn`, with some Python work between them, the shape of
the workers' transactions in a month-end burst. It reports write transactions per second in
all processes together. Before/after a change to the turns: run it with
``PYTHONPATH=<other checkout>/src``.

    .venv/bin/python bench/writer_turns.py --processes 3 --transactions 600 --rounds 3
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path


def _work(db: str, n: int, inside: int, outside: int, out: mp.Queue[float]) -> None:
    from stripe_efactura.store.writer_turns import WriterTurns

    conn = sqlite3.connect(db, isolation_level=None, timeout=30)
    conn.execute("PRAGMA synchronous=FULL")
    turns = WriterTurns(Path(db + "-writers"))
    started = time.perf_counter()
    for _ in range(n):
        with turns.turn():
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO t (v) VALUES (?)", ("x" * 200,))
            sum(range(inside))  # Python work inside the transaction
            conn.execute("COMMIT")
        sum(range(outside))  # and between transactions
    out.put(time.perf_counter() - started)


def one_round(folder: Path, processes: int, n: int, inside: int, outside: int) -> float:
    db = str(folder / "turns.db")
    for suffix in ("", "-wal", "-shm", "-writers"):
        Path(db + suffix).unlink(missing_ok=True)
    with sqlite3.connect(db, isolation_level=None) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    out: mp.Queue[float] = mp.Queue()
    started = time.perf_counter()
    procs = [mp.Process(target=_work, args=(db, n, inside, outside, out)) for _ in range(processes)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    return processes * n / (time.perf_counter() - started)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--processes", type=int, default=3)
    ap.add_argument("--transactions", type=int, default=600, help="per process")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--inside", type=int, default=3000, help="sum(range(N)) inside each")
    ap.add_argument("--outside", type=int, default=20000, help="sum(range(N)) between")
    opts = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="efactura-turns-") as tmp:
        rates = [
            one_round(Path(tmp), opts.processes, opts.transactions, opts.inside, opts.outside)
            for _ in range(opts.rounds)
        ]
    load = os.getloadavg()
    print(
        f"write transactions/s: median {statistics.median(rates):.0f}, "
        f"rounds {', '.join(f'{r:.0f}' for r in rates)}; load {load[0]:.1f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
