"""text search: invoices.search (number, payment key, buyer name, ids, e-mail) and a trigram
index on payments.search and invoices.search — FTS5 tables kept by triggers on SQLite,
pg_trgm GIN indexes on PostgreSQL (see ``store/textsearch.py``)

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BATCH = 1000


def _backfill() -> None:
    """``search`` of every stored invoice, from its number, payment key and snapshot."""
    from stripe_efactura.store.textsearch import invoice_search

    conn = op.get_bind()
    table = sa.table(
        "invoices",
        sa.column("id", sa.Integer),
        sa.column("number", sa.String),
        sa.column("payment_key", sa.String),
        sa.column("snapshot", sa.Text),
        sa.column("search", sa.String),
    )
    last = 0
    while True:
        rows = conn.execute(
            sa.select(table.c.id, table.c.number, table.c.payment_key, table.c.snapshot)
            .where(table.c.id > last)
            .order_by(table.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        for invoice_id, number, key, snapshot in rows:
            text = invoice_search(number, key, snapshot)
            conn.execute(table.update().where(table.c.id == invoice_id).values(search=text))
        last = rows[-1][0]


def upgrade() -> None:
    from stripe_efactura.store import textsearch

    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("search", sa.String(length=500), server_default="", nullable=False)
        )
    _backfill()
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        textsearch.install_sqlite(conn)
    else:
        textsearch.install_postgresql(conn)


def downgrade() -> None:
    from stripe_efactura.store import textsearch

    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        textsearch.drop_sqlite(conn)
    else:
        textsearch.drop_postgresql(conn)
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_column("search")
