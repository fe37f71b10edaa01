"""Gap-free, unique invoice numbers under concurrency (SQLite and PostgreSQL).

The number is taken by ``UPDATE series SET next_number = next_number + 1 … RETURNING`` in
the SAME transaction as the invoice insert: the row lock serialises allocators, and a
rollback gives the number back. ``UNIQUE(series_code, seq)`` and ``UNIQUE(number)`` are the
safety net. Never a sequence, never ``max()+1`` (STACK.md §3).
"""

from __future__ import annotations

from datetime import date
from typing import NamedTuple

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


def allocate(conn: Connection, cfg: SeriesConfig, issue_date: date) -> Allocation:
    """Take the next number of ``cfg`` for an invoice dated ``issue_date``, which becomes the
    series' latest issue date unless it has a later one (:class:`Allocation`).

    One statement when the series exists and has reached its configured ``start``; else
    :func:`ensure_series` first, in the same transaction (a number below ``start`` taken by
    the first try is not part of the series: ``start`` is where it continues)."""
    key = series_key(cfg)
    taken = _take(conn, key, issue_date)
    if taken is None or taken[0] < cfg.start:
        ensure_series(conn, cfg)
        taken = _take(conn, key, issue_date)
        assert taken is not None  # the row exists now
    seq, latest = taken
    return Allocation(key, seq, format_number(cfg, seq), latest)


class Allocation(NamedTuple):
    """A number taken from a series."""

    series: str
    seq: int
    number: str
    latest_issue_date: date
    """The series' latest issue date, this number's included: later than the number's own
    date when another process numbered the series on a later day (its clock ahead); a later
    number never carries an earlier date, so the caller rolls back."""


def _take(conn: Connection, key: str, issue_date: date) -> tuple[int, date] | None:
    row = conn.execute(_TAKE, {"u_code": key, "u_date": issue_date}).first()
    if row is None:
        return None
    latest = row[1]
    if not isinstance(latest, date):
        raise TypeError(f"series {key}: no latest issue date after a number: {latest!r}")
    return int(row[0]), latest


_DATE = sa.bindparam("u_date", type_=series.c.last_issue_date.type)
_TAKE = (
    series.update()
    .where(series.c.code == sa.bindparam("u_code"))
    .values(
        next_number=series.c.next_number + 1,
        last_issue_date=sa.case(
            (sa.or_(series.c.last_issue_date.is_(None), series.c.last_issue_date < _DATE), _DATE),
            else_=series.c.last_issue_date,
        ),
    )
    .returning(series.c.next_number - 1, series.c.last_issue_date)
)
"""The prepared :func:`_take` (``store/db.py``, "prepared statements"): built for each number
it cost 170 us more of CPU, inside the write turn. The series' latest issue date moves with
the number (migration 0013): reading it from the invoices cost PostgreSQL a statement and
0.3-0.5 ms per number in a burst."""


def peek(conn: Connection, cfg: SeriesConfig) -> int:
    """The number the next invoice of ``cfg`` would get."""
    row = conn.execute(
        sa.select(series.c.next_number).where(series.c.code == series_key(cfg))
    ).first()
    return cfg.start if row is None else max(int(row[0]), cfg.start)
