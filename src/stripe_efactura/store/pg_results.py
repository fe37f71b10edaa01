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

import psycopg
import sqlalchemy as sa
from psycopg.pq import Format
from psycopg.rows import TupleRow
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

_CATALOGS = ("pg_catalog", "information_schema")


class BinaryResultsCursor(psycopg.Cursor[TupleRow]):
    """A client-side cursor whose results come in the binary format."""

    def __init__(self, connection: psycopg.Connection[TupleRow], **kwargs: object) -> None:
        super().__init__(connection, **kwargs)
        self.format = Format.BINARY


def make_pg_engine(url: str, pool_size: int) -> Engine:
    """An engine for the PostgreSQL ``url`` whose results come in binary, the catalogs' in
    text."""
    args = {"cursor_factory": BinaryResultsCursor}
    engine = sa.create_engine(url, pool_size=pool_size, max_overflow=10, connect_args=args)
    _catalogs_in_text(engine)
    return engine


def _catalogs_in_text(engine: Engine) -> None:
    """Read the system catalogs of ``engine``'s database as text (see the module)."""

    @event.listens_for(engine, "before_cursor_execute")
    def _text_for_catalogs(
        _conn: Connection, cursor: psycopg.Cursor[TupleRow], statement: str, *_args: object
    ) -> None:
        if any(name in statement for name in _CATALOGS):
            cursor.format = Format.TEXT
