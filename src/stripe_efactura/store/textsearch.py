"""The listings' text search (``q``): a substring of the lower-cased ``search`` column of
``payments`` and ``invoices``, read through a trigram index so that a rare term does not read
every row.

The result is always exactly what ``search LIKE '%<q lower-cased>%'`` selects (``%`` and
``_`` are characters, not wildcards); the index only narrows which rows are tested.

- SQLite (3.34 or newer, with FTS5): the external-content FTS5 tables ``payments_fts`` and
  ``invoices_fts`` (tokenizer ``trigram case_sensitive 1``, the text being lower-cased
  already) index the ``search`` columns; triggers keep them in sync with every insert, update
  and delete, whoever writes the row (migration 0007, :func:`install_sqlite`). A term of 3
  characters or more first asks the index for its rows, at most :data:`CANDIDATES`: when
  there are no more, the page reads just those rows; when there are more, the term is common
  and the listing's ordered scan finds a page of matches after a few rows. A shorter term, or
  a database without the index, is the ordered scan alone.
- PostgreSQL: GIN indexes with ``pg_trgm``'s ``gin_trgm_ops`` on both columns (migration
  0007, :func:`install_postgresql`); the planner uses them for the ``LIKE`` itself. Without
  the extension the migration logs it and the search reads every row.

The FTS5 rowid of a payment is its SQLite ``rowid`` (payments have a text primary key, so an
implicit rowid): it survives ``VACUUM`` (a table with an index keeps its rowids), but a
migration that rebuilds ``payments`` (batch mode) drops the triggers and renumbers the rows,
and must call :func:`install_sqlite` again.
"""

from __future__ import annotations

import json
import logging
import sqlite3

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .tables import invoices, payments

log = logging.getLogger(__name__)

SEARCH_MAX = 500
MIN_INDEXED = 3
"""A trigram index can answer a term of at least this many characters."""
CANDIDATES = 2000
"""At most this many rows from the index; a term with more is common (see above)."""
SQLITE_MIN = (3, 34, 0)
"""The first SQLite with FTS5's ``trigram`` tokenizer."""

_FTS = {"payments": "payments_fts", "invoices": "invoices_fts"}
_CONTENT_ROWID = {"payments": "rowid", "invoices": "id"}
PG_INDEXES = {"payments": "ix_payments_search_trgm", "invoices": "ix_invoices_search_trgm"}
SQLITE_OBJECTS = frozenset(
    f"{fts}{suffix}"
    for fts in _FTS.values()
    for suffix in ("", "_data", "_idx", "_docsize", "_config", "_content")
)
"""The FTS5 table and its shadow tables: not in ``tables.py`` (migration 0007 makes them)."""


def skipped_by_schema_compare(name: str | None, type_: str) -> bool:
    """Whether alembic's comparison of the schema with ``tables.py`` must leave this object
    out: the dialect-specific search indexes live outside the metadata."""
    if type_ == "table":
        return name in SQLITE_OBJECTS
    return type_ == "index" and name in PG_INDEXES.values()


# -- the text each row is found by ------------------------------------------------------


def _words(values: list[str | None]) -> str:
    seen: dict[str, None] = {}
    for value in values:
        text = " ".join(str(value or "").lower().split())
        if text:
            seen.setdefault(text, None)
    return " ".join(seen)[:SEARCH_MAX]


def invoice_search(number: str, payment_key: str, snapshot: str) -> str:
    """The ``invoices.search`` text: the number, the payment key and the buyer's name,
    CUI / CNP, VAT id and e-mail (from the stored snapshot), lower-cased, each once."""
    try:
        data = json.loads(snapshot)
    except ValueError:
        data = None
    buyer = data.get("buyer") if isinstance(data, dict) else None
    fields = buyer if isinstance(buyer, dict) else {}
    found = [fields.get(k) for k in ("name", "legal_id", "vat_id", "email")]
    # the CNP placeholder of a private buyer (``0000000000000``) identifies no one
    words = [v for v in found if isinstance(v, str) and v.strip("0")]
    return _words([number, payment_key, *words])


# -- the condition of a listing ---------------------------------------------------------


NUL = "\x00"
"""No stored search text holds it (PostgreSQL's text cannot), so a term with it matches
nothing; neither FTS5 (``unterminated string``) nor PostgreSQL would even take it."""


def like_pattern(text: str) -> str:
    """``%text%``, lower-cased, with ``\\``, ``%`` and ``_`` escaped (``ESCAPE '\\'``)."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _phrase(text: str) -> str:
    """An FTS5 query of one phrase: the exact substring (``"`` doubled inside)."""
    return '"' + text.lower().replace('"', '""') + '"'


def _has_fts(conn: Connection, table: str) -> bool:
    found = conn.execute(
        sa.text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :name"),
        {"name": _FTS[table]},
    ).first()
    return found is not None


def _candidates(conn: Connection, table: str, text: str) -> list[int] | None:
    """The rowids the trigram index gives for ``text`` (None: no index, a term too short for
    it, or more than :data:`CANDIDATES` rows)."""
    if conn.dialect.name != "sqlite" or len(text) < MIN_INDEXED:
        return None
    if not _has_fts(conn, table):
        return None
    fts = _FTS[table]
    rows = conn.execute(
        sa.text(f"SELECT rowid FROM {fts} WHERE {fts} MATCH :phrase LIMIT :n"),
        {"phrase": _phrase(text), "n": CANDIDATES + 1},
    ).all()
    if len(rows) > CANDIDATES:
        return None
    return [int(r[0]) for r in rows]


def payments_match(conn: Connection, text: str) -> sa.ColumnElement[bool]:
    """The condition "the payment's search text contains ``text``"."""
    if NUL in text:
        return sa.false()
    like = payments.c.search.like(like_pattern(text), escape="\\")
    rowids = _candidates(conn, "payments", text)
    if rowids is None:
        return like
    return sa.and_(sa.literal_column("payments.rowid").in_(rowids), like)


def invoices_match(conn: Connection, text: str) -> sa.ColumnElement[bool]:
    """The condition "the invoice's search text contains ``text``"."""
    if NUL in text:
        return sa.false()
    like = invoices.c.search.like(like_pattern(text), escape="\\")
    ids = _candidates(conn, "invoices", text)
    if ids is None:
        return like
    return sa.and_(invoices.c.id.in_(ids), like)


# -- the indexes (migration 0007) -------------------------------------------------------


def _sqlite_ddl(table: str) -> list[str]:
    fts, rowid = _FTS[table], _CONTENT_ROWID[table]
    insert = f"INSERT INTO {fts}(rowid, search) VALUES (new.{rowid}, new.search);"
    delete = f"INSERT INTO {fts}({fts}, rowid, search) VALUES ('delete', old.{rowid}, old.search);"
    create = (
        f"CREATE VIRTUAL TABLE {fts} USING fts5(search, content='{table}', "
        f"content_rowid='{rowid}', tokenize='trigram case_sensitive 1')"
    )
    on_update = (
        f"CREATE TRIGGER {fts}_update AFTER UPDATE OF search ON {table} "
        f"WHEN old.search IS NOT new.search BEGIN {delete} {insert} END"
    )
    return [
        create,
        f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN {insert} END",
        f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN {delete} END",
        on_update,
        f"INSERT INTO {fts}({fts}) VALUES ('rebuild')",
    ]


def install_sqlite(conn: Connection) -> bool:
    """Create (again) the FTS5 tables and their triggers, filled from the ``search`` columns.
    False, with a log line, when this SQLite has no FTS5 trigram tokenizer."""
    if sqlite3.sqlite_version_info < SQLITE_MIN:
        log.warning(
            "text search: SQLite %s has no FTS5 trigram tokenizer (3.34 or newer has): "
            "searches read every row",
            sqlite3.sqlite_version,
        )
        return False
    drop_sqlite(conn)
    try:
        for table in _FTS:
            for statement in _sqlite_ddl(table):
                conn.exec_driver_sql(statement)
    except sa.exc.OperationalError as exc:
        log.warning("text search: no FTS5 index (%s): searches read every row", exc.orig)
        drop_sqlite(conn)
        return False
    return True


def drop_sqlite(conn: Connection) -> None:
    for fts in _FTS.values():
        for trigger in ("insert", "delete", "update"):
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {fts}_{trigger}")
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {fts}")


def _trgm_schema(conn: Connection) -> str | None:
    """The schema ``pg_trgm`` is installed in (None: not installed)."""
    value = conn.execute(
        sa.text(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n "
            "ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"
        )
    ).scalar_one_or_none()
    return None if value is None else str(value)


def _create_trgm(conn: Connection) -> str | None:
    """Install ``pg_trgm`` (in ``public`` when allowed, so that every schema of the
    database finds it; else in the current schema); its schema, or None."""
    for statement in (
        "CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public",
        "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    ):
        try:
            with conn.begin_nested():
                conn.exec_driver_sql(statement)
        except sa.exc.DBAPIError as exc:  # no privilege, no public schema, a parallel install
            log.info("text search: %s failed: %s", statement, str(exc.orig).splitlines()[0])
        schema = _trgm_schema(conn)
        if schema is not None:
            return schema
    return None


def install_postgresql(conn: Connection) -> bool:
    """``pg_trgm`` and a GIN trigram index on both ``search`` columns. False, with a log
    line, when the extension is not available to this database user."""
    schema = _trgm_schema(conn) or _create_trgm(conn)
    if schema is None:
        log.warning(
            "text search: the PostgreSQL extension pg_trgm is not available (install the "
            "postgresql-contrib package, or have a superuser run CREATE EXTENSION pg_trgm): "
            "no trigram index, searches read every row"
        )
        return False
    for table, index in PG_INDEXES.items():
        conn.exec_driver_sql(
            f"CREATE INDEX IF NOT EXISTS {index} ON {table} "
            f'USING gin (search "{schema}".gin_trgm_ops)'
        )
    return True


def drop_postgresql(conn: Connection) -> None:
    """The GIN indexes (the extension stays: something else may use it)."""
    for index in PG_INDEXES.values():
        conn.exec_driver_sql(f"DROP INDEX IF EXISTS {index}")
