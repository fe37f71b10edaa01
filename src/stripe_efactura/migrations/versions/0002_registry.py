"""registry lookups: cached answers, wanted lookups, the call throttle, the payment timeline

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "registry_answers",
        sa.Column("service", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("service", "key", "day", name=op.f("pk_registry_answers")),
    )
    op.create_table(
        "registry_wanted",
        sa.Column("service", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("service", "key", "day", name=op.f("pk_registry_wanted")),
    )
    op.create_index(
        "ix_registry_wanted_requested_at", "registry_wanted", ["requested_at"], unique=False
    )
    op.create_table(
        "registry_throttle",
        sa.Column("service", sa.String(length=16), nullable=False),
        sa.Column("next_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("service", name=op.f("pk_registry_throttle")),
    )
    op.create_table(
        "payment_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("payment_key", sa.String(length=255), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_log")),
    )
    op.create_index("ix_payment_log_payment_key", "payment_log", ["payment_key"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_payment_log_payment_key", table_name="payment_log")
    op.drop_table("payment_log")
    op.drop_table("registry_throttle")
    op.drop_index("ix_registry_wanted_requested_at", table_name="registry_wanted")
    op.drop_table("registry_wanted")
    op.drop_table("registry_answers")
