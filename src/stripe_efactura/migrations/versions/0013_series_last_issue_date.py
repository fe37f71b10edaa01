"""A series keeps its latest issue date (``series.last_issue_date``), taken with its number.

Before each number the issuing path read the series' latest issue date from
``ix_invoices_series_issue_date`` (a later number never carries an earlier date). In a
month-end burst on PostgreSQL every invoice of the series has the same date, and the backward
scan met the index entries of the versions being updated or not yet visible first: 190-341
buffers and 0.28-0.53 ms of the server per number at 1,000 invoices, among the three most
costly statements of the burst (``bench/README.md``, "pipeline", session 24). The date now
moves with the counter, in the ``UPDATE series … RETURNING`` that takes the number (no
statement more), and the index, which nothing else read, is dropped: every insert and non-HOT
update of an invoice maintained it. Existing series take the latest date of their invoices.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # natively on SQLite too (ADD / DROP COLUMN): ``series`` is not rebuilt, which its
    # invoices' foreign key would forbid
    op.add_column("series", sa.Column("last_issue_date", sa.Date, nullable=True))
    op.execute(
        "UPDATE series SET last_issue_date ="
        " (SELECT max(issue_date) FROM invoices WHERE invoices.series_code = series.code)"
    )
    op.drop_index("ix_invoices_series_issue_date", table_name="invoices")


def downgrade() -> None:
    op.create_index("ix_invoices_series_issue_date", "invoices", ["series_code", "issue_date"])
    op.drop_column("series", "last_issue_date")
