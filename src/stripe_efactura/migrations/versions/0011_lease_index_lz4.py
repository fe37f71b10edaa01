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

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

RUNNING = sa.text("status = 'running'")


def upgrade() -> None:
    op.create_index(
        "ix_jobs_running_lease",
        "jobs",
        ["locked_until", "id"],
        sqlite_where=RUNNING,
        postgresql_where=RUNNING,
    )
    if _has_lz4():
        op.execute("ALTER TABLE invoice_files ALTER COLUMN content SET COMPRESSION lz4")


def downgrade() -> None:
    if _has_lz4():
        op.execute("ALTER TABLE invoice_files ALTER COLUMN content SET COMPRESSION pglz")
    op.drop_index("ix_jobs_running_lease", table_name="jobs")


def _has_lz4() -> bool:
    """PostgreSQL 14 or later, built with lz4 (``default_toast_compression`` offers it)."""
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return False
    found = bind.execute(
        sa.text(
            "SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' "
            "AND 'lz4' = ANY(enumvals)"
        )
    ).first()
    return found is not None
