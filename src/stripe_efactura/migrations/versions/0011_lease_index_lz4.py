"""Two costs of a burst on PostgreSQL that grew with the burst:

- ``ix_jobs_running_lease`` (locked_until, id) over running jobs only: a claim's read of the
  expired leases (``jobs/due.py``) went through ``(status, run_at, id)`` and read every
  ``running`` entry of the index, live or dead, to compare ``locked_until`` (2 ms per claim
  after 4,000 jobs with autovacuum behind); the new index answers it from its start, where
  only expired leases lie (a finished job's old entry holds a lease in the future).
- ``invoice_files.content`` compressed with lz4 instead of pglz on PostgreSQL builds that
  have it: pglz tried every 50 KB PDF (already Flate-compressed) on insert, about 5 % of
  the server's CPU in bench/pipeline. New rows only; stored ones stay readable as they are.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from stripe_efactura.migrations.compression import compress

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

RUNNING = sa.text("status = 'running'")
DOCUMENTS = (("invoice_files", "content"),)


def upgrade() -> None:
    op.create_index(
        "ix_jobs_running_lease",
        "jobs",
        ["locked_until", "id"],
        sqlite_where=RUNNING,
        postgresql_where=RUNNING,
    )
    compress(DOCUMENTS, "lz4")


def downgrade() -> None:
    compress(DOCUMENTS, "pglz")
    op.drop_index("ix_jobs_running_lease", table_name="jobs")
