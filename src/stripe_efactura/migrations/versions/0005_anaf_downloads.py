"""anaf_downloads: downloads (descarcare) that failed, remembered per download id with a
back-off, so a message whose ZIP cannot be read is not fetched on every pass

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "anaf_downloads",
        sa.Column("download_id", sa.String(length=40), nullable=False),
        sa.Column("upload_index", sa.String(length=40), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=64), nullable=False),
        sa.Column("retry_after", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("download_id", name=op.f("pk_anaf_downloads")),
    )


def downgrade() -> None:
    op.drop_table("anaf_downloads")
