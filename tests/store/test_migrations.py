"""Migrations build exactly the schema of ``store/tables.py`` on both databases."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from stripe_efactura.store import db
from stripe_efactura.store.migrate import (
    current_revision,
    downgrade,
    ensure_schema,
    head_revision,
    upgrade,
)
from stripe_efactura.store.tables import metadata
from stripe_efactura.store.textsearch import skipped_by_schema_compare


def test_migrations_match_tables_and_round_trip(db_url: str) -> None:
    engine = db.make_engine(db_url)
    ensure_schema(engine)
    assert current_revision(engine) == head_revision(engine)
    with engine.connect() as conn:
        # the trigram search indexes are dialect-specific, outside tables.py (test_textsearch)
        opts = {
            "compare_type": True,
            "include_name": lambda name, type_, _p: not skipped_by_schema_compare(name, type_),
        }
        ctx = MigrationContext.configure(conn, opts=opts)
        diff = compare_metadata(ctx, metadata)
    assert diff == []
    downgrade(engine)
    assert current_revision(engine) is None
    upgrade(engine)
    with engine.connect() as conn:
        names = set(sa.inspect(conn).get_table_names())
    assert set(metadata.tables) <= names
    engine.dispose()


def test_sqlite_runs_wal_with_full_sync(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = db.make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with db.read(engine) as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2
    engine.dispose()
