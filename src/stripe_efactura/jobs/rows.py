"""The prepared multi-row ``INSERT … ON CONFLICT DO NOTHING`` of ``queue.enqueue_each``."""

from __future__ import annotations

import functools

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ..store.tables import jobs


@functools.cache
def insert_ignore(dialect: str, names: tuple[str, ...], rows: int) -> sa.Insert:
    """``rows`` jobs in one statement, returning their ids (a duplicate ``dedupe_key`` adds
    none): row ``n``'s value of column ``c`` is the parameter ``r<n>_<c>``; built once per
    dialect and row count (``store/db.py``, "prepared statements")."""
    values = [
        {name: sa.bindparam(f"r{n}_{name}", type_=jobs.c[name].type) for name in names}
        for n in range(rows)
    ]
    insert = sqlite.insert(jobs) if dialect == "sqlite" else postgresql.insert(jobs)
    return insert.values(values).on_conflict_do_nothing().returning(jobs.c.id)
