"""Gap-free, unique invoice numbers under concurrency (SQLite and PostgreSQL).

The number is taken by ``UPDATE series SET next_number = next_number + 1 … RETURNING`` in
the SAME transaction as the invoice insert: the row lock serialises allocators, and a
rollback gives the number back. ``UNIQUE(series_code, seq)`` and ``UNIQUE(number)`` are the
safety net. Never a sequence, never ``max()+1`` (STACK.md §3).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..config import SeriesConfig
from ..invoicing.numbering import format_number, series_key
from . import db
from .tables import series


def ensure_series(conn: Connection, cfg: SeriesConfig) -> str:
    """Create the counter row on first use; a higher configured ``start`` moves it forward
    (to continue an existing series), never backward."""
    key = series_key(cfg)
    conn.execute(
        db.insert_ignore(
            conn,
            series,
            {
                "code": key,
                "prefix": cfg.prefix,
                "suffix": cfg.suffix,
                "padding": cfg.padding,
                "next_number": cfg.start,
            },
        )
    )
    conn.execute(
        series.update()
        .where(series.c.code == key, series.c.next_number < cfg.start)
        .values(next_number=cfg.start)
    )
    return key


def allocate(conn: Connection, cfg: SeriesConfig) -> tuple[str, int, str]:
    """Take the next number of ``cfg``: returns (series key, sequence, formatted number)."""
    key = ensure_series(conn, cfg)
    seq = conn.execute(
        series.update()
        .where(series.c.code == key)
        .values(next_number=series.c.next_number + 1)
        .returning(series.c.next_number - 1)
    ).scalar_one()
    return key, int(seq), format_number(cfg, int(seq))


def peek(conn: Connection, cfg: SeriesConfig) -> int:
    """The number the next invoice of ``cfg`` would get."""
    row = conn.execute(
        sa.select(series.c.next_number).where(series.c.code == series_key(cfg))
    ).first()
    return cfg.start if row is None else max(int(row[0]), cfg.start)
