"""PostgreSQL: the job queue's table vacuumed between autovacuum runs while a burst churns it.

Every job is inserted, leased and finished: two dead row versions, and dead entries in each
index, per job. Autovacuum reaches ``jobs`` only after a fifth of it is dead (by default, and
never where it is turned off), so in a month-end burst the claims read more dead entries at
each turn: the due jobs' scan went from a few entries to 12,000 (1-2 ms per claim, every
claim, bench/pipeline), and a table never analyzed is planned as if it were empty. So the
worker loop looks every :data:`LOOK_EVERY` seconds at the table's dead rows (a counter of
the statistics system, no scan) and, past :data:`DEAD_ROWS`, runs ``VACUUM (ANALYZE) jobs``:
tens of milliseconds for a burst's table, without blocking the other workers' writes (it
takes no lock they wait for). One worker at a time (an advisory lock; the others go on).

SQLite needs none of this: its B-trees drop a deleted or moved row at once.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from . import db

log = logging.getLogger("stripe_efactura.store.upkeep")

LOOK_EVERY = 10.0
"""Seconds between two looks of one worker loop at the queue's dead rows."""

DEAD_ROWS = 2000
"""Dead row versions in ``jobs`` from which a look vacuums it (a burst makes ~500 a second)."""

LOCK_KEY = 0x6A6F6273  # "jobs"
"""The advisory lock that makes one worker vacuum at a time."""

_DEAD = sa.text("SELECT pg_stat_get_dead_tuples('jobs'::regclass)")


def vacuum_jobs(engine: Engine, *, dead_rows: int | None = None) -> bool:
    """``VACUUM (ANALYZE) jobs`` when it holds at least ``dead_rows`` (default
    :data:`DEAD_ROWS`) dead row versions and no other worker is at it; whether it ran.
    Nothing on SQLite."""
    if db.is_sqlite(engine):
        return False
    threshold = DEAD_ROWS if dead_rows is None else dead_rows
    with db.read(engine) as conn:
        if int(conn.execute(_DEAD).scalar_one() or 0) < threshold:
            return False
    with db.pg_try_lock(engine, LOCK_KEY) as got:
        if not got:
            return False
        with engine.connect() as conn:
            auto = conn.execution_options(isolation_level="AUTOCOMMIT")  # VACUUM needs it
            auto.exec_driver_sql("VACUUM (ANALYZE) jobs")
    log.debug("vacuumed the job queue's table")
    return True
