"""Two lookups that each invoice makes stop reading rows in proportion to the data:

- ``ix_invoices_series_issue_date`` (series_code, issue_date): the latest issue date of a
  series, read before every number (``store/invoices.py``, ``latest_issue_date``), came from
  every invoice of the series; the index answers it at its end.
- ``ix_jobs_queued_task`` (task) over queued jobs only: whether a status sweep is queued,
  asked at every upload in a burst (``store/anaf_invoices.py``, ``job_queued``), read every
  queued job of the burst through the claim index.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

QUEUED = sa.text("status = 'queued'")


def upgrade() -> None:
    op.create_index("ix_invoices_series_issue_date", "invoices", ["series_code", "issue_date"])
    op.create_index(
        "ix_jobs_queued_task", "jobs", ["task"], sqlite_where=QUEUED, postgresql_where=QUEUED
    )


def downgrade() -> None:
    op.drop_index("ix_jobs_queued_task", table_name="jobs")
    op.drop_index("ix_invoices_series_issue_date", table_name="invoices")
