"""PostgreSQL's results in the binary format (psycopg's ``cursor_factory``).

psycopg 3 asks for results as text unless a cursor says otherwise. In text, PostgreSQL sends
a ``bytea`` value hex-encoded (twice its size) and psycopg decodes it again; a timestamp is
formatted by the server and parsed by the client. Reading an invoice's row with its PDF
(47 KB) and XML (5 KB), as the email job does, took 340-380 us of the server's CPU and
190 us of the client's as text, 150 us and 80-100 us in binary; over a burst, binary results
gave about 2 % more invoices per second (``bench/README.md``, session 23). Every type the
schema uses has a binary loader in psycopg, so rows come back with the same Python values
(``tests/store/test_pg_results.py``). Parameters are sent as before.

The system catalogs are read as text: some of their types (``int2vector``, ``oidvector``)
have no binary loader, and SQLAlchemy's reflection (alembic's comparisons) parses their
text. A statement that names ``pg_catalog`` or ``information_schema`` asks for text.
"""

from __future__ import annotations

from typing import Self

import psycopg
import sqlalchemy as sa
from psycopg.abc import Params, QueryNoTemplate
from psycopg.pq import Format
from psycopg.rows import TupleRow
from sqlalchemy.engine import Engine

_CATALOGS = ("pg_catalog", "information_schema")


class BinaryResultsCursor(psycopg.Cursor[TupleRow]):
    """A client-side cursor whose results come in the binary format, the catalogs' in text.

    The choice is made here, in the cursor: an engine event (``before_cursor_execute``) made
    SQLAlchemy take its events path for every statement, 5-14 us more of the client's CPU
    each (``bench/README.md``, session 23)."""

    def __init__(self, connection: psycopg.Connection[TupleRow], **kwargs: object) -> None:
        super().__init__(connection, **kwargs)
        self.format = Format.BINARY

    def execute(  # type: ignore[override]  # SQLAlchemy never sends a t-string Template
        self,
        query: QueryNoTemplate,
        params: Params | None = None,
        *,
        prepare: bool | None = None,
        binary: bool | None = None,
    ) -> Self:
        if binary is None and isinstance(query, str) and any(c in query for c in _CATALOGS):
            binary = False
        return super().execute(query, params, prepare=prepare, binary=binary)


def make_pg_engine(url: str, pool_size: int) -> Engine:
    """An engine for the PostgreSQL ``url`` whose results come in binary, the catalogs' in
    text."""
    args = {"cursor_factory": BinaryResultsCursor}
    return sa.create_engine(url, pool_size=pool_size, max_overflow=10, connect_args=args)
