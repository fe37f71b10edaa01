"""A read on PostgreSQL sends no ``BEGIN``/``COMMIT`` (each statement its own snapshot, as in
``READ COMMITTED``); on SQLite it is one deferred transaction; a write stays one transaction."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from stripe_efactura.store import db


def _own_transaction(conn: sa.Connection) -> bool:
    """Whether each statement on ``conn`` runs in its own transaction: ``now()`` (the
    transaction's start) moves between two statements 10 ms apart."""
    first = conn.exec_driver_sql("SELECT now()").scalar()
    conn.exec_driver_sql("SELECT pg_sleep(0.01)")
    return bool(conn.exec_driver_sql("SELECT now()").scalar() != first)


def test_reads_on_postgresql_need_no_transaction_and_writes_keep_theirs(engine: Engine) -> None:
    if db.is_sqlite(engine):
        with db.read(engine) as conn:
            assert conn.in_transaction()
            assert conn.exec_driver_sql("SELECT 1").scalar() == 1
        return
    sent: list[str] = []

    def seen(_c: object, _cursor: object, sql: str, *_a: object) -> None:
        sent.append(sql)

    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        with db.read(engine) as conn:
            read_alone = _own_transaction(conn)
        with db.write(engine) as conn:
            write_alone = _own_transaction(conn)
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)
    assert (read_alone, write_alone) == (True, False)
    assert not any(s.strip().upper().startswith(("BEGIN", "COMMIT")) for s in sent)
    with db.write(engine) as conn:  # the pool gave the connection back in its usual mode
        assert conn.exec_driver_sql("SHOW transaction_isolation").scalar() == "read committed"
        assert _own_transaction(conn) is False


def test_a_one_statement_write_is_its_own_transaction_on_postgresql(engine: Engine) -> None:
    """``write_one``: on PostgreSQL the statement commits by itself (no ``BEGIN``/``COMMIT``
    round trips); on SQLite it is a write transaction (``BEGIN IMMEDIATE``, the write turn).
    Either way what it wrote is there afterwards."""
    with db.write(engine) as conn:
        conn.exec_driver_sql("CREATE TABLE one_write (n INTEGER)")
    try:
        with db.write_one(engine) as conn:
            conn.exec_driver_sql("INSERT INTO one_write VALUES (1)")
            if db.is_sqlite(engine):
                assert conn.in_transaction()
            else:
                assert _own_transaction(conn) is True
        with db.read(engine) as conn:
            assert conn.exec_driver_sql("SELECT n FROM one_write").scalars().all() == [1]
        if not db.is_sqlite(engine):
            with db.write(engine) as conn:  # the pool gave the connection back as it was
                assert _own_transaction(conn) is False
    finally:
        with db.write(engine) as conn:
            conn.exec_driver_sql("DROP TABLE one_write")
