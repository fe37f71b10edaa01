"""jobs: the claim index is (status, run_at, id), the claim's whole ``ORDER BY``: a claim
reads the first due jobs from the index in order and stops, instead of sorting every queued
job by id (``jobs.queue.claim``)

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_jobs_status_run_at_id", "jobs", ["status", "run_at", "id"])
    op.drop_index("ix_jobs_status_run_at", table_name="jobs")


def downgrade() -> None:
    op.create_index("ix_jobs_status_run_at", "jobs", ["status", "run_at"])
    op.drop_index("ix_jobs_status_run_at_id", table_name="jobs")
