"""Invoice rows and their timeline. An invoice ANAF accepted is never changed or deleted:
``update_invoice`` refuses to touch the legal content of an ``ok`` invoice."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..errors import EfacturaError
from . import db, invoice_files, invoice_writes
from .tables import invoice_log, invoices
from .textsearch import invoice_search

LEGAL_CONTENT = frozenset(
    {"number", "seq", "series_code", "issue_date", "snapshot", "xml", "total"}
)


class ImmutableInvoice(EfacturaError):
    code = "E-INVOICE-IMMUTABLE"


@dataclass(frozen=True)
class InvoiceHead:
    """One row of ``invoices`` without its documents (see ``store/tables.py`` for the
    columns' meaning); ``has_pdf`` and ``has_signed_zip`` say whether those are stored. What
    the jobs read and lock: an invoice's PDF (about 50 KB) and XML are read only where they
    are sent (:class:`InvoiceRecord`, :func:`xml_of`)."""

    id: int
    series_code: str
    seq: int
    number: str
    kind: str
    payment_key: str
    refers_to: int | None
    issue_date: date
    currency: str
    total: str
    livemode: bool
    snapshot: str
    validation: str | None
    anaf_state: str
    upload_index: str | None
    download_id: str | None
    anaf_messages: str | None
    deadline: date | None
    email_state: str
    created_at: datetime
    updated_at: datetime
    has_pdf: bool
    has_signed_zip: bool

    @classmethod
    def from_row(cls, row: db.SqlRow) -> InvoiceHead:
        return db.record(cls, row)


@dataclass(frozen=True)
class InvoiceRecord(InvoiceHead):
    """One row of ``invoices`` with its documents (``invoice_files``)."""

    xml: bytes
    pdf: bytes | None
    signed_zip: bytes | None

    @classmethod
    def from_row(cls, row: db.SqlRow) -> InvoiceRecord:
        return db.record(cls, row)


_HEAD = [c for c in invoices.c if c.name != "search"] + [
    invoice_files.has("pdf").label("has_pdf"),
    invoice_files.has("signed_zip").label("has_signed_zip"),
]
# an invoice row with its documents (``invoice_files``) under their old column names
_RECORD = _HEAD + [invoice_files.content_of(kind) for kind in invoice_files.KINDS]


def records() -> sa.Select[*tuple[object, ...]]:
    """``SELECT`` of :class:`InvoiceRecord` rows (add the ``WHERE`` and ``ORDER BY``)."""
    return sa.select(*_RECORD)


@dataclass(frozen=True)
class TimelineEntry:
    """One line of an invoice's timeline (``invoice_log``); ``detail`` is JSON text."""

    id: int
    invoice_id: int
    at: datetime
    event: str
    detail: str | None


def insert_invoice(
    conn: Connection,
    *,
    series_code: str,
    seq: int,
    number: str,
    kind: str,
    payment_key: str,
    issue_date: date,
    currency: str,
    total: str,
    livemode: bool,
    snapshot: str,
    xml: bytes,
    validation: str | None = None,
    deadline: date | None = None,
    anaf_state: str = "pending_upload",
    refers_to: int | None = None,
) -> int:
    now = db.db_now(conn)
    values = {
        "series_code": series_code,
        "seq": seq,
        "number": number,
        "kind": kind,
        "payment_key": payment_key,
        "refers_to": refers_to,
        "issue_date": issue_date,
        "currency": currency,
        "total": total,
        "livemode": livemode,
        "snapshot": snapshot,
        "validation": validation,
        "anaf_state": anaf_state,
        "deadline": deadline,
        "email_state": "pending",
        "search": invoice_search(number, payment_key, snapshot),
        "created_at": now,
        "updated_at": now,
    }
    issued = {"number": number}
    if not db.is_sqlite(conn):  # the row, its XML and its first line: one statement
        params = {**db.bound(values), "f_xml": xml, "l_detail": _detail(issued)}
        statement = invoice_writes.insert_issued(_insert(tuple(values)))
        return int(conn.execute(statement, params).scalar_one())
    new_id = int(conn.execute(_insert(tuple(values)), db.bound(values)).scalar_one())
    invoice_files.add(conn, new_id, "xml", xml)
    log_many(conn, [(new_id, "issued", issued)], at=now)
    return new_id


@functools.cache
def _insert(columns: tuple[str, ...]) -> sa.Insert:
    """The prepared :func:`insert_invoice` of ``columns`` (``store/db.py``, "prepared
    statements"), as :func:`_update` for updates."""
    return invoices.insert().values(db.params(invoices, columns)).returning(invoices.c.id)


def log(conn: Connection, invoice_id: int, event: str, detail: object = None) -> None:
    values = {
        "invoice_id": invoice_id,
        "at": db.db_now(conn),
        "event": event,
        "detail": _detail(detail),
    }
    conn.execute(_LOG, db.bound(values))


def _detail(detail: object) -> str | None:
    return None if detail is None else json.dumps(detail, ensure_ascii=False, default=str)


def log_many(
    conn: Connection, lines: Sequence[tuple[int, str, object]], *, at: datetime | None = None
) -> None:
    """:func:`log` of many ``(invoice id, event, detail)`` lines, in order, with one
    ``executemany`` and one time (``at``, else the database clock's now)."""
    if not lines:
        return
    at = db.db_now(conn) if at is None else at
    rows = [
        {
            "invoice_id": invoice_id,
            "at": at,
            "event": event,
            "detail": _detail(detail),
        }
        for invoice_id, event, detail in lines
    ]
    conn.execute(_LOG, [db.bound(r) for r in rows])


_LOG = invoice_log.insert().values(db.params(invoice_log, ("invoice_id", "at", "event", "detail")))
"""The prepared :func:`log` (``store/db.py``, "prepared statements")."""


def timeline(conn: Connection, invoice_id: int, *, event: str | None = None) -> list[TimelineEntry]:
    """An invoice's timeline, oldest first (only the lines ``event`` when given)."""
    query = sa.select(invoice_log).where(invoice_log.c.invoice_id == invoice_id)
    if event is not None:
        query = query.where(invoice_log.c.event == event)
    rows = conn.execute(query.order_by(invoice_log.c.id)).all()
    return [TimelineEntry(int(r.id), int(r.invoice_id), r.at, str(r.event), r.detail) for r in rows]


def in_order(conn: Connection) -> list[InvoiceRecord]:
    """Every invoice, by series and number."""
    rows = conn.execute(records().order_by(invoices.c.series_code, invoices.c.seq))
    return [InvoiceRecord.from_row(r) for r in rows]


def details_of(conn: Connection, event: str) -> dict[int, str | None]:
    """The ``detail`` (JSON text) of the last timeline line ``event`` of each invoice."""
    rows = conn.execute(
        sa.select(invoice_log.c.invoice_id, invoice_log.c.detail)
        .where(invoice_log.c.event == event)
        .order_by(invoice_log.c.id)
    )
    return {int(r.invoice_id): r.detail for r in rows}


def _one(conn: Connection, query: sa.Select[*tuple[object, ...]]) -> InvoiceRecord | None:
    row = conn.execute(query).first()
    return None if row is None else InvoiceRecord.from_row(row)


def for_payment(conn: Connection, payment_key: str, kind: str = "invoice") -> InvoiceRecord | None:
    row = conn.execute(_FOR_PAYMENT, {"q_key": payment_key, "q_kind": kind}).first()
    return None if row is None else InvoiceRecord.from_row(row)


def get(conn: Connection, invoice_id: int, *, for_update: bool = False) -> InvoiceRecord | None:
    q = _GET_FOR_UPDATE if for_update and not db.is_sqlite(conn) else _GET
    row = conn.execute(q, {"q_id": invoice_id}).first()
    return None if row is None else InvoiceRecord.from_row(row)


_FOR_PAYMENT = records().where(
    invoices.c.payment_key == sa.bindparam("q_key"), invoices.c.kind == sa.bindparam("q_kind")
)
_GET = records().where(invoices.c.id == sa.bindparam("q_id"))
_GET_FOR_UPDATE = _GET.with_for_update()
"""The prepared reads of :func:`for_payment` and :func:`get` (``store/db.py``, "prepared
statements")."""


def must_get(conn: Connection, invoice_id: int, *, for_update: bool = False) -> InvoiceRecord:
    """The invoice ``invoice_id`` that the caller read before (invoices are never deleted)."""
    record = get(conn, invoice_id, for_update=for_update)
    if record is None:
        raise LookupError(f"invoice {invoice_id} vanished")
    return record


def head(conn: Connection, invoice_id: int, *, for_update: bool = False) -> InvoiceHead | None:
    """The invoice ``invoice_id`` without its documents (``for_update``: locked on
    PostgreSQL; SQLite's write transaction holds the database)."""
    q = _HEAD_FOR_UPDATE if for_update and not db.is_sqlite(conn) else _HEAD_GET
    row = conn.execute(q, {"q_id": invoice_id}).first()
    return None if row is None else InvoiceHead.from_row(row)


def must_head(conn: Connection, invoice_id: int, *, for_update: bool = False) -> InvoiceHead:
    """:func:`head` of an invoice that the caller read before (invoices are never deleted)."""
    record = head(conn, invoice_id, for_update=for_update)
    if record is None:
        raise LookupError(f"invoice {invoice_id} vanished")
    return record


_HEAD_GET = sa.select(*_HEAD).where(invoices.c.id == sa.bindparam("q_id"))
_HEAD_FOR_UPDATE = _HEAD_GET.with_for_update()
"""The prepared reads of :func:`head` (``store/db.py``, "prepared statements")."""


def head_and_xml(
    conn: Connection, invoice_id: int, *, when_state: str
) -> tuple[InvoiceHead, bytes | None] | None:
    """:func:`head`, and the invoice's XML when its ``anaf_state`` is ``when_state`` (else
    ``None``): one statement where :func:`head` and :func:`xml_of` were two."""
    row = conn.execute(_HEAD_XML, {"q_id": invoice_id, "q_state": when_state}).first()
    if row is None:
        return None
    xml = row._mapping["xml"]
    return InvoiceHead.from_row(row), None if xml is None else bytes(xml)


_HEAD_XML = sa.select(
    *_HEAD,
    sa.case(
        (invoices.c.anaf_state == sa.bindparam("q_state"), invoice_files.content_query("xml"))
    ).label("xml"),
).where(invoices.c.id == sa.bindparam("q_id"))
"""The prepared read of :func:`head_and_xml`."""


def heads(
    conn: Connection, invoice_ids: Iterable[int], *, for_update: bool = False
) -> dict[int, InvoiceHead]:
    """:func:`head` of many invoices by id, with one statement (``for_update``: locked on
    PostgreSQL, in id order)."""
    ids = sorted(set(invoice_ids))
    if not ids:
        return {}
    q = _HEADS_FOR_UPDATE if for_update and not db.is_sqlite(conn) else _HEADS
    return {int(r.id): InvoiceHead.from_row(r) for r in conn.execute(q, {"q_ids": ids})}


_HEADS = (
    sa.select(*_HEAD)
    .where(invoices.c.id.in_(sa.bindparam("q_ids", expanding=True)))
    .order_by(invoices.c.id)
)
_HEADS_FOR_UPDATE = _HEADS.with_for_update()
"""The prepared reads of :func:`heads`."""


def xml_of(conn: Connection, invoice_id: int) -> bytes:
    """The stored XML of an invoice (every invoice has one, inserted with it)."""
    xml = invoice_files.content(conn, invoice_id, "xml")
    if xml is None:
        raise LookupError(f"invoice {invoice_id} has no XML")
    return xml


def by_number(conn: Connection, number: str) -> InvoiceRecord | None:
    return _one(conn, records().where(invoices.c.number == number))


def listing(conn: Connection, *, limit: int = 10000) -> list[InvoiceRecord]:
    query = records().order_by(invoices.c.series_code, invoices.c.seq).limit(limit)
    return [InvoiceRecord.from_row(r) for r in conn.execute(query)]


Line = tuple[str, object]
"""A timeline line to write: ``(event, detail)``, as :func:`log` takes them."""


def update_invoice(
    conn: Connection,
    invoice_id: int,
    *,
    logged: Sequence[Line] = (),
    expect: Mapping[str, object] | None = None,
    **values: object,
) -> bool:
    """Change operational fields (ANAF state, PDF, email state…) of an invoice. ``pdf=`` and
    ``signed_zip=`` store a document once (``invoice_files``); ``xml=`` replaces the XML.
    ``logged``: the change's timeline lines, written after it in order, at the change's
    ``updated_at``. On PostgreSQL the change, a new document and the lines go as one statement
    (``store/invoice_writes.py``): one round trip where there were two to four.

    ``expect``: change the row only while these columns still hold these values (what the
    caller read before its transaction), with its lines; returns whether it did. A caller that
    read the row outside its transaction thus changes it without reading it again under lock
    in the common case, and takes the locked path only when somebody else was there first.
    A document it stores goes in only with the change. Not with the XML, nor with the content
    or search columns (``ValueError``)."""
    guard = expect or {}
    if guard and (LEGAL_CONTENT | _SEARCHED) & values.keys():
        raise ValueError("update_invoice(expect=...) changes operational columns only")
    touched = LEGAL_CONTENT & values.keys()
    if touched:
        row = conn.execute(
            sa.select(invoices.c.anaf_state).where(invoices.c.id == invoice_id)
        ).scalar_one()
        if row == "ok":
            raise ImmutableInvoice(
                f"invoice {invoice_id} was accepted by ANAF; {sorted(touched)} cannot change "
                "(issue a storno instead)"
            )
    if _SEARCHED & values.keys():
        current = conn.execute(
            sa.select(invoices.c.number, invoices.c.payment_key, invoices.c.snapshot).where(
                invoices.c.id == invoice_id
            )
        ).one()
        merged = {**current._asdict(), **values}
        values["search"] = invoice_search(
            str(merged["number"]), str(merged["payment_key"]), str(merged["snapshot"])
        )
    files = {kind: values.pop(kind) for kind in invoice_files.KINDS if kind in values}
    values["updated_at"] = changed_at = db.db_now(conn)
    params = {"u_id": invoice_id, **db.bound(values)}
    params.update({f"e_{name}": value for name, value in guard.items()})
    update = _update(tuple(sorted(values)), tuple(sorted(guard)))
    if logged and "xml" not in files and not db.is_sqlite(conn):
        return _update_logged(conn, invoice_id, update, params, files, logged, bool(guard))
    changed = conn.execute(update, params).rowcount
    if guard and not changed:
        return False
    for kind, content in files.items():
        invoice_files.store(conn, invoice_id, kind, content)
    log_many(conn, [(invoice_id, event, detail) for event, detail in logged], at=changed_at)
    return True


def _update_logged(
    conn: Connection,
    invoice_id: int,
    update: sa.Update,
    params: dict[str, object],
    files: Mapping[invoice_files.FileKind, object],
    logged: Sequence[Line],
    guarded: bool,
) -> bool:
    """PostgreSQL: :func:`update_invoice`'s change, documents and lines as one statement."""
    for kind, content in files.items():
        params[f"f_{kind}"] = invoice_files.checked(invoice_id, kind, content)
    params["l_events"] = [event for event, _ in logged]
    params["l_details"] = [_detail(detail) for _, detail in logged]
    statement = invoice_writes.update_logged(update, tuple(sorted(files)), guarded)
    result = conn.execute(statement, params)
    return not guarded or bool(result.all())  # guarded: the lines it wrote, if it changed


def update_many(conn: Connection, changes: Sequence[tuple[int, Mapping[str, object]]]) -> None:
    """:func:`update_invoice` of many invoices' operational columns (ANAF and email state,
    work record, ids from ANAF): one ``executemany`` per set of columns, one ``updated_at``.
    Not for an invoice's content, search text or documents (``ValueError``)."""
    groups: dict[tuple[str, ...], list[dict[str, object]]] = {}
    now = db.db_now(conn) if changes else None
    for invoice_id, values in changes:
        wrong = (LEGAL_CONTENT | _SEARCHED | frozenset(invoice_files.KINDS)) & values.keys()
        if wrong:
            raise ValueError(f"update_many cannot change {sorted(wrong)}")
        row = {**values, "updated_at": now}
        groups.setdefault(tuple(sorted(row)), []).append({"u_id": invoice_id, **db.bound(row)})
    for columns, params in groups.items():
        conn.execute(_update(columns), params)


_SEARCHED = frozenset({"number", "payment_key", "snapshot"})
"""The columns :func:`update_invoice` derives the search text from."""


@functools.cache
def _update(columns: tuple[str, ...], expected: tuple[str, ...] = ()) -> sa.Update:
    """The prepared :func:`update_invoice` of ``columns``, where the ``expected`` columns still
    hold ``e_<column>`` (``store/db.py``, "prepared statements"); a handful of sets exist."""
    where = [invoices.c.id == sa.bindparam("u_id")] + [  # NULL as a value too
        invoices.c[name].is_not_distinct_from(
            sa.bindparam(f"e_{name}", type_=invoices.c[name].type)
        )
        for name in expected
    ]
    return invoices.update().where(*where).values(db.params(invoices, columns))


def storno_totals(conn: Connection, invoice_id: int) -> list[str]:
    """The totals (decimal text, negative) of the stornos that refer to an invoice."""
    return [
        str(t)
        for t in conn.execute(
            sa.select(invoices.c.total).where(
                invoices.c.kind == "storno", invoices.c.refers_to == invoice_id
            )
        ).scalars()
    ]


def storno_snapshots(conn: Connection, invoice_id: int) -> list[str]:
    """The snapshots (JSON) of the stornos that refer to an invoice, oldest first."""
    return [
        str(t)
        for t in conn.execute(
            sa.select(invoices.c.snapshot)
            .where(invoices.c.kind == "storno", invoices.c.refers_to == invoice_id)
            .order_by(invoices.c.id)
        ).scalars()
    ]
