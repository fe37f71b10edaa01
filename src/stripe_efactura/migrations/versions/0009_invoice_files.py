"""invoice_files: an invoice's XML, PDF and signed ZIP move out of ``invoices`` into a table
of their own (one row per document, inserted once), so that the small UPDATEs of an invoice
row (ANAF state, e-mail state) no longer rewrite 60-80 KB of documents on SQLite, which
rewrites a whole record on every UPDATE. The documents are copied byte for byte, then the
three columns dropped (natively on SQLite 3.35+: ``invoices`` is not rebuilt, its text-search
triggers stay).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

KINDS = ("xml", "pdf", "signed_zip")


def upgrade() -> None:
    op.create_table(
        "invoice_files",
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_invoice_files_invoice_id_invoices"),
        ),
        sa.PrimaryKeyConstraint("invoice_id", "kind", name=op.f("pk_invoice_files")),
    )
    # the XML dates from the invoice; when the PDF and the ZIP were stored is not recorded:
    # the row's last change is the closest bound
    for kind in KINDS:
        since = "created_at" if kind == "xml" else "updated_at"
        op.execute(
            "INSERT INTO invoice_files (invoice_id, kind, content, created_at) "
            f"SELECT id, '{kind}', {kind}, {since} FROM invoices WHERE {kind} IS NOT NULL"
        )
    for kind in KINDS:
        op.drop_column("invoices", kind)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for kind in KINDS:
        # SQLite adds a NOT NULL column only with a default, and a NOT NULL added later would
        # copy ``invoices`` (losing its text-search triggers, and refused by the foreign keys
        # of ``invoice_log``): the XML column comes back with an empty default there
        required = kind == "xml" and sqlite
        op.add_column(
            "invoices",
            sa.Column(
                kind,
                sa.LargeBinary(),
                nullable=not required,
                server_default=sa.text("x''") if required else None,
            ),
        )
    for kind in KINDS:
        op.execute(
            f"UPDATE invoices SET {kind} = (SELECT content FROM invoice_files f "
            f"WHERE f.invoice_id = invoices.id AND f.kind = '{kind}') "
            f"WHERE id IN (SELECT invoice_id FROM invoice_files WHERE kind = '{kind}')"
        )
    if not sqlite:
        op.alter_column("invoices", "xml", existing_type=sa.LargeBinary(), nullable=False)
    op.drop_table("invoice_files")
