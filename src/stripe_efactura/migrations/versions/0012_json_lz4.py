"""The JSON the burst path writes once per payment, compressed with lz4 instead of pglz on
PostgreSQL builds that have it: ``stripe_events.payload`` (each webhook's event, about 6 KB),
``payments.sale`` (the sale read from Stripe, about 6 KB) and ``invoices.snapshot`` (the
issued invoice, about 2.5 KB). PostgreSQL compresses a value over 2 KB when it stores it;
pglz took about 130 us more of the server's CPU than lz4 for each 6 KB of this JSON, four
values per invoice (``bench/README.md``, "pipeline", session 21), and reads it back as fast.
``invoice_files.content`` went to lz4 in 0011. New values only; stored ones stay readable as
they are.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from stripe_efactura.migrations.compression import compress

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

COLUMNS = (("stripe_events", "payload"), ("payments", "sale"), ("invoices", "snapshot"))
"""(table, column) compressed with lz4."""


def upgrade() -> None:
    compress(COLUMNS, "lz4")


def downgrade() -> None:
    compress(COLUMNS, "pglz")
