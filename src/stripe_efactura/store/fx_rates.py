"""BNR exchange rates cached by day (``fx_rates``)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import db
from .tables import fx_rates


def between(conn: Connection, start: date, end: date) -> dict[date, dict[str, Decimal]]:
    """``{day: {currency: rate}}`` of the cached rates from ``start`` to ``end`` inclusive."""
    rows = conn.execute(
        sa.select(fx_rates.c.currency, fx_rates.c.rate_date, fx_rates.c.rate).where(
            fx_rates.c.rate_date.between(start, end)
        )
    ).all()
    out: dict[date, dict[str, Decimal]] = {}
    for r in rows:
        out.setdefault(r.rate_date, {})[r.currency] = Decimal(r.rate)
    return out


def add_new(conn: Connection, rates: dict[date, dict[str, Decimal]], now: datetime) -> int:
    """Store the rates not cached yet (existing ones are kept); returns how many were new."""
    n = 0
    for day, values in rates.items():
        for cur, value in values.items():
            res = conn.execute(
                db.insert_ignore(
                    conn,
                    fx_rates,
                    {"currency": cur, "rate_date": day, "rate": str(value), "fetched_at": now},
                )
            )
            n += res.rowcount or 0
    return n
