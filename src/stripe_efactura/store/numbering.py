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
    """Take the next number of ``cfg``: returns (series key, sequence, formatted number).

    One statement when the series exists and has reached its configured ``start``; else
    :func:`ensure_series` first, in the same transaction (a number below ``start`` taken by
    the first try is not part of the series: ``start`` is where it continues)."""
    key = series_key(cfg)
    seq = _take(conn, key)
    if seq is None or seq < cfg.start:
        ensure_series(conn, cfg)
        seq = _take(conn, key)
        assert seq is not None  # the row exists now
    return key, seq, format_number(cfg, seq)


def _take(conn: Connection, key: str) -> int | None:
    taken = conn.execute(_TAKE, {"u_code": key}).scalar_one_or_none()
    return None if taken is None else int(taken)


_TAKE = (
    series.update()
    .where(series.c.code == sa.bindparam("u_code"))
    .values(next_number=series.c.next_number + 1)
    .returning(series.c.next_number - 1)
)
"""The prepared :func:`_take` (``store/db.py``, "prepared statements"): built for each number
it cost 170 us more of CPU, inside the write turn."""


def peek(conn: Connection, cfg: SeriesConfig) -> int:
    """The number the next invoice of ``cfg`` would get."""
    row = conn.execute(
        sa.select(series.c.next_number).where(series.c.code == series_key(cfg))
    ).first()
    return cfg.start if row is None else max(int(row[0]), cfg.start)
