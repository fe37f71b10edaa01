"""An invoice's large documents (``invoice_files``): the XML, the PDF and ANAF's signed ZIP,
one row each. Inserted once; only the XML is replaced, by a correction made before ANAF
accepted the invoice (``invoices.update_invoice`` refuses it afterwards)."""

from __future__ import annotations

from typing import Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import db
from .tables import invoice_files, invoices

FileKind = Literal["xml", "pdf", "signed_zip"]
KINDS: tuple[FileKind, ...] = ("xml", "pdf", "signed_zip")


def content_of(kind: FileKind) -> sa.Label[bytes | None]:
    """The document ``kind`` of the invoice of the enclosing query (NULL when not stored),
    labelled ``kind``: a primary-key lookup per invoice row."""
    return content_query(kind).label(kind)


def content_query(kind: FileKind) -> sa.ScalarSelect[bytes | None]:
    """:func:`content_of` unlabelled (for use inside an expression)."""
    return (
        sa.select(invoice_files.c.content)
        .where(invoice_files.c.invoice_id == invoices.c.id, invoice_files.c.kind == kind)
        .scalar_subquery()
    )


def has(kind: FileKind) -> sa.Exists:
    """Whether the invoice of the enclosing query has the document ``kind`` (read from the
    primary key's index, not the document)."""
    return (
        sa.select(invoice_files.c.invoice_id)
        .where(invoice_files.c.invoice_id == invoices.c.id, invoice_files.c.kind == kind)
        .exists()
    )


def kinds_of(conn: Connection, invoice_id: int) -> frozenset[str]:
    """Which documents an invoice has (read from the primary key's index)."""
    rows = conn.execute(
        sa.select(invoice_files.c.kind).where(invoice_files.c.invoice_id == invoice_id)
    ).scalars()
    return frozenset(str(kind) for kind in rows)


def content(conn: Connection, invoice_id: int, kind: FileKind) -> bytes | None:
    """The document ``kind`` of an invoice (``None``: not stored)."""
    found = conn.execute(_CONTENT, {"q_id": invoice_id, "q_kind": kind}).scalar_one_or_none()
    return None if found is None else bytes(found)


_CONTENT = sa.select(invoice_files.c.content).where(
    invoice_files.c.invoice_id == sa.bindparam("q_id"),
    invoice_files.c.kind == sa.bindparam("q_kind"),
)
"""The prepared :func:`content` (``store/db.py``, "prepared statements")."""


def add(conn: Connection, invoice_id: int, kind: FileKind, content: bytes) -> None:
    """Store a document the invoice does not have yet (a second one violates the key)."""
    values = {
        "invoice_id": invoice_id,
        "kind": kind,
        "content": content,
        "created_at": db.db_now(conn),
    }
    conn.execute(_ADD, db.bound(values))


_ADD = invoice_files.insert().values(
    db.params(invoice_files, ("invoice_id", "kind", "content", "created_at"))
)
"""The prepared :func:`add` (``store/db.py``, "prepared statements")."""


def replace_xml(conn: Connection, invoice_id: int, xml: bytes) -> None:
    """The corrected XML of an invoice ANAF has not accepted (the caller checked)."""
    done = conn.execute(
        invoice_files.update()
        .where(invoice_files.c.invoice_id == invoice_id, invoice_files.c.kind == "xml")
        .values(content=xml, created_at=db.db_now(conn))
    )
    if done.rowcount != 1:
        raise LookupError(f"invoice {invoice_id} has no XML to replace")


def checked(invoice_id: int, kind: str, content: object) -> bytes:
    """A document given to ``update_invoice``, as bytes (``TypeError`` for anything else)."""
    if not isinstance(content, bytes | bytearray | memoryview):
        raise TypeError(f"invoice {invoice_id}: {kind} must be bytes, not {type(content)}")
    return bytes(content)


def store(conn: Connection, invoice_id: int, kind: str, content: object) -> None:
    """``update_invoice``'s ``xml=`` (replaced), ``pdf=`` and ``signed_zip=`` (inserted)."""
    data = checked(invoice_id, kind, content)
    if kind == "xml":
        replace_xml(conn, invoice_id, data)
    elif kind == "pdf":
        add(conn, invoice_id, "pdf", data)
    elif kind == "signed_zip":
        add(conn, invoice_id, "signed_zip", data)
    else:
        raise ValueError(f"not an invoice document: {kind}")
