"""The ANAF lifecycle record of an invoice: its state (``invoices.anaf_state``) and the work
record kept in ``invoices.anaf_messages`` (JSON).

The JSON format is the one earlier versions wrote (the same keys, absent when unset), so
rows written before this module existed read back unchanged and older readers still read
what this module writes. :class:`AnafWork` is the only code that reads or writes that column.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from sqlalchemy.engine import Connection

from ..errors import Problem
from ..jsontypes import JsonObject, JsonValue
from . import invoices as invoice_store

#: An ``invoices`` row as SQLAlchemy returns it.


class AnafState(StrEnum):
    """Where an invoice stands with ANAF (docs/anaf-lifecycle.md has the diagram)."""

    PENDING = "pending_upload"
    UPLOADING = "uploading"
    UPLOADED = "uploaded"
    IN_PROCESSING = "in_processing"
    OK = "ok"
    NOK = "nok"
    REJECTED = "rejected_at_upload"
    UNKNOWN = "unknown"
    NOT_UPLOADED = "not_uploaded"


#: States in which the lifecycle may still have work to do (``ok`` until archived, ``nok``
#: until its findings are read).
ACTIVE = (
    AnafState.PENDING,
    AnafState.UPLOADING,
    AnafState.UNKNOWN,
    AnafState.UPLOADED,
    AnafState.IN_PROCESSING,
    AnafState.OK,
    AnafState.NOK,
)
#: States in which ANAF never validated the invoice: ``invoices retry`` may send it again.
RETRYABLE = (AnafState.NOK, AnafState.REJECTED, AnafState.NOT_UPLOADED)
#: States with a request to ANAF outstanding or an answer to chase.
IN_FLIGHT = (
    AnafState.PENDING,
    AnafState.UPLOADING,
    AnafState.UNKNOWN,
    AnafState.UPLOADED,
    AnafState.IN_PROCESSING,
)


@dataclass(frozen=True)
class Reconciled:
    """How the filing of an ``unknown`` invoice was found again."""

    via: str
    index: str


@dataclass(frozen=True)
class PastFiling:
    """A filing ANAF did not validate, kept when the invoice is sent again."""

    state: str
    upload_index: str | None
    findings: tuple[str | None, ...]


def _when(value: object) -> datetime | None:
    return datetime.fromisoformat(str(value)) if value else None


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _count(value: object) -> int:
    return int(value) if isinstance(value, int | float | str) else 0


def _items(value: object) -> list[JsonValue]:
    return value if isinstance(value, list) else []


def _object(value: object) -> JsonObject:
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class AnafWork:
    """What the lifecycle remembers about an invoice's filings (one JSON object per row)."""

    attempt: str | None = None
    """The upload attempt id written with the intent; answers are matched against it."""
    intent_at: datetime | None = None
    first_intent_at: datetime | None = None
    uploads: int = 0
    polls: int = 0
    upload_date: str | None = None
    unknown_since: datetime | None = None
    reupload_after_unknown: str | None = None
    reconciled: Reconciled | None = None
    findings: tuple[Problem, ...] | None = None
    """ANAF's findings once read (None: not read yet; empty: read, none given)."""
    archive_error: str | None = None
    history: tuple[PastFiling, ...] = ()
    reason: str | None = None
    duplicate_of: str | None = None
    rejected_duplicate: str | None = None
    waf_pages: int = 0
    """Firewall ("Request Rejected") pages answered to uploads of this document in a row."""
    archive_after: datetime | None = None
    """``ok`` from the message list: the signed archive is downloaded from then on (off-peak,
    :mod:`app.anaf_archive`); None: at once."""
    extra: Mapping[str, JsonValue] = field(default_factory=dict)
    """Keys this version does not know (kept as they were)."""

    @classmethod
    def from_json(cls, text: str | None) -> AnafWork:
        if not text:
            return cls()
        try:
            data = json.loads(text)
        except ValueError:
            return cls()
        return cls.from_dict(data) if isinstance(data, dict) else cls()

    @classmethod
    def from_dict(cls, data: JsonObject) -> AnafWork:
        rec = _object(data.get("reconciled"))
        found = data.get("findings")
        return cls(
            attempt=_text(data.get("attempt")),
            intent_at=_when(data.get("intent_at")),
            first_intent_at=_when(data.get("first_intent_at")),
            uploads=_count(data.get("uploads")),
            polls=_count(data.get("polls")),
            upload_date=_text(data.get("upload_date")),
            unknown_since=_when(data.get("unknown_since")),
            reupload_after_unknown=_text(data.get("reupload_after_unknown")),
            reconciled=Reconciled(str(rec["via"]), str(rec["index"])) if rec else None,
            findings=None
            if found is None
            else tuple(Problem.from_dict(_object(f)) for f in _items(found)),
            archive_error=_text(data.get("archive_error")),
            history=tuple(
                PastFiling(
                    str(h.get("state")),
                    _text(h.get("upload_index")),
                    tuple(_text(c) for c in _items(h.get("findings"))),
                )
                for h in map(_object, _items(data.get("history")))
            ),
            reason=_text(data.get("reason")),
            duplicate_of=_text(data.get("duplicate_of")),
            rejected_duplicate=_text(data.get("rejected_duplicate")),
            waf_pages=_count(data.get("waf_pages")),
            archive_after=_when(data.get("archive_after")),
            extra={k: v for k, v in data.items() if k not in _KNOWN},
        )

    def to_dict(self) -> JsonObject:
        """The stored JSON object: unset values are left out, as before."""
        out: JsonObject = dict(self.extra)
        for name in _KNOWN:
            value = getattr(self, name)
            # counters are written from the first upload intent on (zero included)
            if value is None or value == () or (value == 0 and not self.attempt):
                continue
            if name == "waf_pages" and not value:
                continue  # written only once a firewall page was answered
            out[name] = _encode(value)
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True)

    def finding_codes(self) -> list[str]:
        return [p.code for p in self.findings or ()]


_KNOWN = (
    "attempt",
    "intent_at",
    "first_intent_at",
    "uploads",
    "polls",
    "upload_date",
    "unknown_since",
    "reupload_after_unknown",
    "reconciled",
    "findings",
    "archive_error",
    "history",
    "reason",
    "duplicate_of",
    "rejected_duplicate",
    "waf_pages",
    "archive_after",
)


def _encode(value: object) -> JsonValue:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Reconciled):
        return {"via": value.via, "index": value.index}
    if isinstance(value, tuple):
        return [_encode(v) for v in value]
    if isinstance(value, Problem):
        return value.to_dict()
    if isinstance(value, PastFiling):
        return {
            "state": value.state,
            "upload_index": value.upload_index,
            "findings": list(value.findings),
        }
    if value is None or isinstance(value, str | int | float):
        return value
    raise TypeError(f"not a work record value: {value!r}")


def has_work(state: str, work: AnafWork, unarchived: bool) -> bool:
    """Whether the lifecycle still has something to do for an invoice in ``state``."""
    if state in IN_FLIGHT:
        return True
    if state == AnafState.OK:
        return unarchived and not work.archive_error
    if state == AnafState.NOK:
        return work.findings is None
    return False


@dataclass(frozen=True)
class Lifecycle:
    """An invoice row as the lifecycle reads it: its state and work record."""

    row: invoice_store.InvoiceHead
    state: AnafState
    work: AnafWork
    xml: bytes | None = None
    """The stored XML of an invoice pending upload, when read with the row
    (:func:`load_for_step`): what its upload sends."""

    @property
    def id(self) -> int:
        return int(self.row.id)

    @property
    def number(self) -> str:
        return str(self.row.number)


def lifecycle(row: invoice_store.InvoiceHead) -> Lifecycle:
    return Lifecycle(row, AnafState(str(row.anaf_state)), AnafWork.from_json(row.anaf_messages))


def load(conn: Connection, invoice_id: int, *, lock: bool = False) -> Lifecycle | None:
    """The invoice's lifecycle (``lock``: the row is held for the write transaction)."""
    row = invoice_store.head(conn, invoice_id, for_update=lock)
    return None if row is None else lifecycle(row)


def load_for_step(conn: Connection, invoice_id: int) -> Lifecycle | None:
    """:func:`load`, with the XML of an invoice pending upload (:attr:`Lifecycle.xml`) in the
    same statement: its upload's intent then reads no document (one round trip fewer)."""
    got = invoice_store.head_and_xml(conn, invoice_id, when_state=AnafState.PENDING.value)
    if got is None:
        return None
    row, xml = got
    return replace(lifecycle(row), xml=xml)


def save(
    conn: Connection,
    invoice_id: int,
    work: AnafWork | None = None,
    state: AnafState | None = None,
    *,
    logged: Sequence[invoice_store.Line] = (),
    expect: Mapping[str, object] | None = None,
    **values: object,
) -> bool:
    """Write the work record and/or state plus other operational ``values`` of an invoice,
    with the timeline lines ``logged``; with ``expect``, only while those columns still hold
    those values (``invoices.update_invoice``): whether it wrote."""
    return invoice_store.update_invoice(
        conn, invoice_id, logged=logged, expect=expect, **changes(work, state, **values)
    )


def changes(
    work: AnafWork | None = None, state: AnafState | None = None, **values: object
) -> dict[str, object]:
    """The columns :func:`save` writes (for ``invoices.update_many``)."""
    if work is not None:
        values["anaf_messages"] = work.to_json()
    if state is not None:
        values["anaf_state"] = state.value
    return values
