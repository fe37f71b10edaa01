"""bench/pg_statements: what the PostgreSQL server spends per invoice, statement by statement,
over a ``pipeline.py --db postgresql --pg-statements`` run.

It reads ``pg_stat_statements``, which the server must load at start-up:

    ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements';
    ALTER SYSTEM SET pg_stat_statements.track_planning = on;  -- optional: planning time too
    -- restart the server; afterwards ALTER SYSTEM RESET ALL and restart it again

The extension is created in the run's scratch database (dropped with it), the counters of that
database are reset once the workers are up, and read when they have stopped: every statement
sent to that database meanwhile (workers, ``serve``, the bench's own progress polls).
Execution time is the server's wall time per statement: a statement that waits for a row lock
counts its wait, so it is an upper bound of the CPU the statement cost. The module itself
costs the server some CPU: do not time a run that uses it.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

MODULE = "pg_stat_statements"
PRELOAD_MISSING = (
    "--pg-statements: the server does not load pg_stat_statements: "
    "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements', restart it, "
    "and run again (see bench/pg_statements.py)"
)
TOP = 12
"""How many statements the summary lists, dearest first."""
TRANSACTION_CONTROL = re.compile(r"^(BEGIN|COMMIT|ROLLBACK)\b", re.IGNORECASE)
SHOWN = 90
"""Characters of a statement's text the summary keeps (whitespace collapsed)."""
_DATABASE = "(SELECT oid FROM pg_database WHERE datname = current_database())"
"""The run's database, for the module's counters (which are the whole server's)."""


class Statement(NamedTuple):
    """One row of ``pg_stat_statements`` for the run's database."""

    query: str
    calls: int
    exec_ms: float
    plan_ms: float
    hits: int
    wal_bytes: int


def problem(preload: str) -> str | None:
    """Why ``--pg-statements`` cannot run with the server's ``shared_preload_libraries``
    (``preload``), or None."""
    names = {name.strip().strip('"') for name in preload.split(",")}
    return None if MODULE in names else PRELOAD_MISSING


def check(engine: Any) -> str | None:
    """:func:`problem` for the server behind ``engine``."""
    import sqlalchemy as sa

    with engine.connect() as conn:
        preload = conn.execute(sa.text("SHOW shared_preload_libraries")).scalar_one()
    return problem(str(preload))


def start(engine: Any) -> None:
    """Create the extension in ``engine``'s database and reset that database's counters."""
    import sqlalchemy as sa

    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE EXTENSION IF NOT EXISTS {MODULE}"))
        conn.execute(sa.text(f"SELECT {MODULE}_reset(0, {_DATABASE}, 0)"))


def read(engine: Any) -> list[Statement]:
    """Every statement ``engine``'s database has run since :func:`start`."""
    import sqlalchemy as sa

    query = sa.text(
        "SELECT query, calls, total_exec_time, total_plan_time, shared_blks_hit, wal_bytes "
        f"FROM {MODULE} WHERE dbid = {_DATABASE}"
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [
        Statement(str(r[0]), int(r[1]), float(r[2]), float(r[3]), int(r[4]), int(r[5]))
        for r in rows
    ]


def summarise(rows: list[Statement], n: int, top: int = TOP) -> dict[str, Any]:
    """Per invoice (``n``): the statements other than ``BEGIN`` / ``COMMIT`` / ``ROLLBACK``,
    the commits, the server's execution and planning time, the shared buffers read and the
    WAL written; then the ``top`` statements by execution and planning time."""
    work = [r for r in rows if not TRANSACTION_CONTROL.match(r.query.strip())]
    commits = sum(r.calls for r in rows if r.query.strip().upper().startswith("COMMIT"))
    per_invoice = {
        "statements": round(sum(r.calls for r in work) / n, 1),
        "commits": round(commits / n, 1),
        "exec_ms": round(sum(r.exec_ms for r in rows) / n, 2),
        "plan_ms": round(sum(r.plan_ms for r in rows) / n, 2),
        "buffer_hits": round(sum(r.hits for r in rows) / n),
        "wal_kb": round(sum(r.wal_bytes for r in rows) / 1024 / n, 1),
    }
    dearest = sorted(work, key=lambda r: (-(r.exec_ms + r.plan_ms), r.query))[:top]
    return {"per_invoice": per_invoice, "top": [_line(r, n) for r in dearest]}


def _line(row: Statement, n: int) -> dict[str, Any]:
    return {
        "calls": round(row.calls / n, 2),
        "exec_ms": round(row.exec_ms / n, 3),
        "plan_ms": round(row.plan_ms / n, 3),
        "hits_per_call": round(row.hits / row.calls) if row.calls else 0,
        "wal_kb": round(row.wal_bytes / 1024 / n, 1),
        "query": shorten(row.query),
    }


def shorten(query: str) -> str:
    """``query`` on one line, whitespace collapsed, at most :data:`SHOWN` characters."""
    line = " ".join(query.split())
    return line if len(line) <= SHOWN else line[: SHOWN - 1] + "…"
