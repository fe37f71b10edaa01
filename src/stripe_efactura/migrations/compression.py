"""TOAST compression for the migrations: lz4 where PostgreSQL offers it.

PostgreSQL compresses a value of a ``text`` or ``bytea`` column over about 2 KB when it
stores it, with pglz unless the column says otherwise. lz4 (PostgreSQL 14 and later, when
built with it) costs the server a fraction of pglz's CPU and gives up at once on data that
is compressed already (PDFs, ZIPs). SQLite and PostgreSQL builds without lz4: nothing to do.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


def has_lz4() -> bool:
    """PostgreSQL 14 or later, built with lz4 (``default_toast_compression`` offers it)."""
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return False
    found = bind.execute(
        sa.text(
            "SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' "
            "AND 'lz4' = ANY(enumvals)"
        )
    ).first()
    return found is not None


def compress(columns: tuple[tuple[str, str], ...], method: str) -> None:
    """Store new values of the (table, column) ``columns`` with ``method`` (``lz4`` or
    ``pglz``) where the server has lz4; stored values stay readable as they are."""
    if has_lz4():
        for table, column in columns:
            op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION {method}")
