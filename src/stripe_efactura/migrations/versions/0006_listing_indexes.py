"""listings: payments.search (the text search reads a short lower-cased column, from an
index, instead of the stored sale), status + paid_at index for the status and date filters

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

BATCH = 1000


def _backfill() -> None:
    """``search`` of every stored payment, from its sale and overrides (in batches)."""
    from stripe_efactura.store.repo import payment_search, sale_from_json

    conn = op.get_bind()
    table = sa.table(
        "payments",
        sa.column("payment_key", sa.String),
        sa.column("sale", sa.Text),
        sa.column("overrides", sa.Text),
        sa.column("search", sa.String),
    )
    last = ""
    while True:
        rows = conn.execute(
            sa.select(table.c.payment_key, table.c.sale, table.c.overrides)
            .where(table.c.payment_key > last)
            .order_by(table.c.payment_key)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        for key, sale, overrides in rows:
            text = payment_search(sale_from_json(sale), overrides)
            conn.execute(table.update().where(table.c.payment_key == key).values(search=text))
        last = rows[-1][0]


def upgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("search", sa.String(length=500), server_default="", nullable=False)
        )
    _backfill()
    op.drop_index("ix_payments_status", table_name="payments")
    op.drop_index("ix_payments_paid_at", table_name="payments")
    op.create_index("ix_payments_status_paid_at", "payments", ["status", "paid_at", "payment_key"])
    op.create_index("ix_payments_paid_at_search", "payments", ["paid_at", "payment_key", "search"])


def downgrade() -> None:
    op.drop_index("ix_payments_paid_at_search", table_name="payments")
    op.drop_index("ix_payments_status_paid_at", table_name="payments")
    op.create_index("ix_payments_paid_at", "payments", ["paid_at", "payment_key"])
    op.create_index("ix_payments_status", "payments", ["status"])
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_column("search")
