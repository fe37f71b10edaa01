"""PostgreSQL: an invoice's write with its documents and timeline lines as one statement.

An issued invoice is a row, its XML and its ``issued`` line; a change of its state (the PDF
stored, the email sending or sent, the upload intended or done) is an ``UPDATE`` and one or
two lines. On PostgreSQL each statement is a round trip and costs the server a parse, a bind
and an execution: the bench's workers ran 55 per invoice, 45 with this module
(``bench/README.md``, "pipeline", session 20: +1.3 % to emailed; the inserts' own work
stays). Here the row's statement and the inserts that follow it become data-modifying CTEs
of one statement, which PostgreSQL runs to completion in the same snapshot and transaction,
in the order written for the lines of one ``INSERT``. SQLite has no DML in a ``WITH``:
``store/invoices.py`` runs the change, the document and the lines (one ``executemany``)
apart there (in-process, they cost no round trip).

The builders take the cached ``INSERT``/``UPDATE`` of ``store/invoices.py`` and are cached
themselves (``store/db.py``, "prepared statements"): a handful of shapes exist.
"""

from __future__ import annotations

import functools

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

from .tables import invoice_files, invoice_log, invoices


@functools.cache
def insert_issued(insert: sa.Insert) -> sa.Select[int]:
    """``insert`` (an invoice's row, returning its id) with the invoice's XML (``f_xml``) and
    its ``issued`` line (``l_detail``), both at its ``created_at``: one statement returning
    the id."""
    new = insert.cte("new")
    at = sa.bindparam("p_created_at", type_=invoices.c.created_at.type)
    xml = sa.bindparam("f_xml", type_=invoice_files.c.content.type)
    doc = (
        invoice_files.insert()
        .from_select(
            ["invoice_id", "kind", "content", "created_at"],
            sa.select(new.c.id, sa.literal("xml"), xml, at),
        )
        .returning(invoice_files.c.kind)
        .cte("doc")
    )
    detail = sa.bindparam("l_detail", type_=invoice_log.c.detail.type)
    line = (
        invoice_log.insert()
        .from_select(
            ["invoice_id", "at", "event", "detail"],
            sa.select(new.c.id, at, sa.literal("issued"), detail),
        )
        .returning(invoice_log.c.id)
        .cte("line")
    )
    return sa.select(new.c.id).add_cte(doc, line)


@functools.cache
def update_logged(update: sa.Update, kinds: tuple[str, ...], guarded: bool = False) -> sa.Insert:
    """``update`` (an invoice's row by ``u_id``), the documents ``kinds`` added (``f_<kind>``)
    and the timeline lines (the arrays ``l_events`` and ``l_details``, in order), all at the
    change's ``updated_at``: the update and the documents as CTEs of the lines' ``INSERT``.
    The lines come from ``unnest`` in their order (``WITH ORDINALITY``): a multi-row
    ``VALUES`` would be a statement SQLAlchemy compiles again at every call. ``guarded``
    (``update`` has conditions besides the id): the lines only where it changed the row,
    returned, so that the caller sees whether it did (the driver gives no row count here)."""
    changed = update.returning(invoices.c.id).cte("changed")
    at = sa.bindparam("p_updated_at", type_=invoices.c.updated_at.type)
    stored = [_stored(kind, at, changed if guarded else None) for kind in kinds]
    lines = (
        sa.func.unnest(
            sa.bindparam("l_events", type_=ARRAY(invoice_log.c.event.type)),
            sa.bindparam("l_details", type_=ARRAY(invoice_log.c.detail.type)),
        )
        .table_valued("event", "detail", with_ordinality="n")
        .render_derived(name="line")
    )
    rows = sa.select(
        sa.bindparam("u_id", type_=invoices.c.id.type), at, lines.c.event, lines.c.detail
    ).order_by(lines.c.n)
    if guarded:
        rows = rows.where(sa.exists(sa.select(changed.c.id)))
    insert = invoice_log.insert().from_select(["invoice_id", "at", "event", "detail"], rows)
    if guarded:
        insert = insert.returning(invoice_log.c.id)
    return insert.add_cte(changed, *stored)


def _stored(kind: str, at: sa.BindParameter[object], changed: sa.CTE | None) -> sa.CTE:
    """The ``INSERT`` of the document ``kind`` (``f_<kind>``) as a CTE; with ``changed`` (a
    guarded update) only where the update changed the row."""
    content = sa.bindparam(f"f_{kind}", type_=invoice_files.c.content.type)
    columns = (sa.bindparam("u_id", type_=invoices.c.id.type), sa.literal(kind), content, at)
    if changed is None:
        insert = invoice_files.insert().values(dict(zip(_FILE_COLUMNS, columns, strict=True)))
    else:
        rows = sa.select(*columns).where(sa.exists(sa.select(changed.c.id)))
        insert = invoice_files.insert().from_select(list(_FILE_COLUMNS), rows)
    return insert.returning(invoice_files.c.kind).cte(f"stored_{kind}")


_FILE_COLUMNS = ("invoice_id", "kind", "content", "created_at")
