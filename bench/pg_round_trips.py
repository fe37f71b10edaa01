"""bench/pg_round_trips: what one statement and one transaction cost on PostgreSQL.

Issue 17's PostgreSQL target (within 10 % of SQLite in bench/pipeline.py) is a question of
cost per statement: PostgreSQL answers every statement over a connection (a round trip, the
server's parse/bind/execute, and the driver and SQLAlchemy on the client), where SQLite runs it
in the worker's own process. This bench measures that cost with the project's own engine and
transaction wrappers (``store/db.py``: ``db.read``, ``db.write``) on a scratch table shaped like
``invoice_log``, one thread, nothing else in flight:

- ``read``: ``db.read`` and one ``SELECT`` by primary key;
- ``write + N inserts``: ``db.write`` and N single-row ``INSERT`` statements (SQLAlchemy Core,
  the way the store writes a timeline line);
- ``write + 5 rows, executemany``: ``db.write`` and one ``execute`` with five rows;
- ``write + 2 inserts, pipelined with the COMMIT``: the two rows and the ``COMMIT`` sent in one
  psycopg pipeline (what deferring a transaction's trailing inserts to its commit would save).

Client CPU is this process's; server CPU is the bench database's backends' (``/proc``, so only
when the server runs on this machine; otherwise it is left out). Run by anyone:

    .venv/bin/python bench/pg_round_trips.py [--pg-url postgresql://root@127.0.0.1:5432/test]

A database ``bench_rt_<pid>`` is created next to ``--pg-url``'s and dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from datetime import datetime

import psycopg
import sqlalchemy as sa
from pipeline import scratch_postgres
from procstat import cpu_seconds
from readme_section import write_section

HEADING = "## PostgreSQL round trips"
DATABASE = f"bench_rt_{os.getpid()}"

_META = sa.MetaData()
LINES = sa.Table(
    "bench_lines",
    _META,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("invoice_id", sa.Integer, nullable=False),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("event", sa.String(64), nullable=False),
    sa.Column("detail", sa.Text),
)
_INSERT = LINES.insert().values(
    invoice_id=sa.bindparam("invoice_id"),
    at=sa.bindparam("at"),
    event=sa.bindparam("event"),
    detail=sa.bindparam("detail"),
)
_RAW_INSERT = "INSERT INTO bench_lines (invoice_id, at, event, detail) VALUES (%s, %s, %s, %s)"
_AT = datetime(2026, 12, 4, 12, 0, 0)
_ROW = {"invoice_id": 1, "at": _AT, "event": "email_sent", "detail": '{"to": "a@example.ro"}'}


def backend_cpu(engine: sa.Engine) -> float | None:
    """CPU seconds of the bench database's backends so far (None: the server is elsewhere)."""
    with engine.connect() as conn:
        pids = conn.exec_driver_sql(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
        ).scalars()
        total = 0.0
        for pid in pids:
            try:
                total += cpu_seconds(pid)
            except OSError:  # not on this machine
                return None
        conn.rollback()
    return total


def cases(engine: sa.Engine) -> dict[str, Callable[[], object]]:
    from stripe_efactura.store import db

    def read() -> object:
        with db.read(engine) as conn:
            return conn.execute(sa.select(LINES.c.event).where(LINES.c.id == 1)).first()

    def inserts(n: int) -> Callable[[], object]:
        def run() -> object:
            with db.write(engine) as conn:
                for _ in range(n):
                    conn.execute(_INSERT, _ROW)
            return None

        return run

    def many() -> object:
        with db.write(engine) as conn:
            conn.execute(_INSERT, [_ROW] * 5)
        return None

    def pipelined() -> object:
        with db.write(engine) as conn:
            raw = conn.connection.dbapi_connection
            assert isinstance(raw, psycopg.Connection)
            with raw.pipeline():
                with raw.cursor() as cur:
                    cur.executemany(_RAW_INSERT, [tuple(_ROW.values())] * 2)
                raw.commit()  # SQLAlchemy's COMMIT that follows finds nothing to commit
        return None

    return {
        "read": read,
        "write + 1 insert": inserts(1),
        "write + 2 inserts": inserts(2),
        "write + 5 inserts": inserts(5),
        "write + 5 rows, executemany": many,
        "write + 2 inserts, pipelined with the COMMIT": pipelined,
    }


def measure(engine: sa.Engine, fn: Callable[[], object], n: int) -> dict[str, float | None]:
    for _ in range(50):  # warm: pooled connection, prepared statements
        fn()
    server0, client0, wall0 = backend_cpu(engine), time.process_time(), time.perf_counter()
    for _ in range(n):
        fn()
    client, wall = time.process_time() - client0, time.perf_counter() - wall0
    server1 = backend_cpu(engine)
    server = None if server0 is None or server1 is None else server1 - server0
    return {
        "client_us": round(client / n * 1e6),
        "server_us": None if server is None else round(server / n * 1e6),
        "wall_us": round(wall / n * 1e6),
    }


def run(pg_url: str, n: int, rounds: int) -> dict[str, list[dict[str, float | None]]]:
    from stripe_efactura.store import db

    with scratch_postgres(pg_url, DATABASE) as url:
        engine = db.make_engine(url)
        with engine.begin() as conn:
            _META.create_all(conn)
            conn.execute(_INSERT, _ROW)
        results: dict[str, list[dict[str, float | None]]] = {}
        try:
            for _ in range(rounds):  # the cases alternate: the machine's drift hits all of them
                for name, fn in cases(engine).items():
                    results.setdefault(name, []).append(measure(engine, fn, n))
        finally:
            engine.dispose()
    return results


def _mean(rows: list[dict[str, float | None]], key: str) -> float | None:
    values = [r[key] for r in rows]
    if any(v is None for v in values):
        return None
    return round(sum(v for v in values if v is not None) / len(values))


def section(results: dict[str, list[dict[str, float | None]]], opts: argparse.Namespace) -> str:
    lines = [
        HEADING,
        "",
        "`bench/pg_round_trips.py` (see its docstring): the project's `db.read` / `db.write` on",
        (
            "a scratch table shaped like `invoice_log`, one thread, per transaction (mean of "
            f"{opts.rounds} alternating rounds of {opts.n:,} each)."
        ),
        "",
        "| case | client CPU us | PostgreSQL CPU us | wall us |",
        "|---|---|---|---|",
    ]
    for name, rows in results.items():
        cells = [_mean(rows, k) for k in ("client_us", "server_us", "wall_us")]
        shown = " | ".join("-" if c is None else str(c) for c in cells)
        lines.append(f"| {name} | {shown} |")
    one, five = results["write + 1 insert"], results["write + 5 inserts"]
    per = {k: _fmt_step(_mean(five, k), _mean(one, k)) for k in ("client_us", "server_us")}
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    lines += [
        "",
        (
            f"One more statement in a transaction: {per['client_us']} us of client CPU and "
            f"{per['server_us']} us of PostgreSQL's ((5 inserts - 1 insert) / 4)."
        ),
        "",
        f"Load average at the end: {load}. Machine: {os.uname().machine}, {os.cpu_count()} cores.",
        "",
    ]
    return "\n".join(lines)


def _fmt_step(five: float | None, one: float | None) -> str:
    return "-" if five is None or one is None else str(round((five - one) / 4))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pg-url", default="postgresql://root@127.0.0.1:5432/test")
    ap.add_argument("-n", "--n", type=int, default=2000, help="transactions per case and round")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--no-readme", action="store_true")
    opts = ap.parse_args()
    results = run(opts.pg_url, opts.n, opts.rounds)
    print(json.dumps(results, indent=1))
    if not opts.no_readme:
        write_section(HEADING, section(results, opts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
