"""store/db: PostgreSQL's clock, queried once per resync interval and followed in between."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from stripe_efactura.store import db

CLOCK_SQL = "SELECT clock_timestamp() AT TIME ZONE 'UTC'"


def _clock_queries(engine: Engine) -> list[str]:
    seen: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    return seen


def _database_clock(engine: Engine) -> object:
    with engine.connect() as conn:
        return conn.exec_driver_sql(CLOCK_SQL).scalar_one().replace(tzinfo=None)


def test_the_postgresql_clock_is_queried_once_per_interval_and_followed(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    if db.is_sqlite(engine):
        pytest.skip("SQLite's clock is the host's, without a statement")
    statements = _clock_queries(engine)
    stamps = []
    for _ in range(3):
        with db.write(engine) as conn:
            stamps.append(db.db_now(conn))
        time.sleep(0.01)
    assert statements.count(CLOCK_SQL) == 1  # the first transaction only
    assert stamps[0] < stamps[1] < stamps[2]
    assert stamps[2] - stamps[0] >= timedelta(milliseconds=20)  # it still advances
    after = _database_clock(engine)
    assert timedelta(0) <= after - stamps[2] < timedelta(milliseconds=50)  # type: ignore[operator]
    monkeypatch.setattr(db, "CLOCK_RESYNC_SECONDS", 0.0)
    with db.write(engine) as conn:
        again = db.db_now(conn)
    assert statements.count(CLOCK_SQL) == 3  # the resync, and the reference read above
    assert again >= stamps[2]
