"""Alembic environment: one env for SQLite (batch mode) and PostgreSQL."""

from __future__ import annotations

from alembic import context

from stripe_efactura.store.tables import metadata
from stripe_efactura.store.textsearch import skipped_by_schema_compare

config = context.config


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        from stripe_efactura.store.db import make_engine

        engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
        with engine.begin() as conn:
            _run(conn)
        engine.dispose()
        return
    _run(connection)


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # type: ignore[attr-defined]
        compare_type=True,
        include_name=lambda name, type_, _parents: not skipped_by_schema_compare(name, type_),
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
