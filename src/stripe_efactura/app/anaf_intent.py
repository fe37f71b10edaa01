"""The two write transactions around an upload to ANAF (``app.anaf_lifecycle`` sends it).

:func:`record_intent` moves the invoice to ``uploading`` with a fresh attempt id and takes the
global quota slot before anything leaves; :func:`record_upload` records ANAF's upload index for
that attempt after the answer. Each starts from what was read before its transaction (the
lifecycle's read, the work record the intent wrote) and changes the row with one guarded
``UPDATE`` while it still holds that (``invoices.update_invoice(expect=...)``); when somebody
else changed it meanwhile, the row is read again under lock (:func:`current_attempt`) and
that decides, as it did before the guard.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.engine import Connection

from ..anaf.quotas import QuotaKind
from ..invoicing.model import BuyerKind
from ..invoicing.serialize import invoice_from_json
from ..store import anaf_quota, anaf_work, db
from ..store import invoices as invoice_store
from ..store.anaf_work import AnafState, AnafWork, Lifecycle
from . import anaf_port
from .anaf_port import Step
from .context import AppContext

S = AnafState


def upload_mode(snapshot: str) -> dict[str, bool]:
    """``b2c`` for individual buyers (CNP or 0000000000000); ``extern`` for buyers outside
    Romania without a Romanian id. Read from the invoice snapshot (JSON).

    A buyer with a foreign address and a Romanian VAT id (``RO…``: not established in Romania
    but registered for VAT here, in e-Factura's scope since 1 January 2026) is uploaded like a
    Romanian company, without ``extern``. A foreign company's all-digit legal id (an Australian
    ABN) is not a CUI: only a buyer in Romania is taken to hold one without the RO prefix.
    """
    buyer = invoice_from_json(snapshot).buyer
    vat = (buyer.vat_id or "").upper()
    legal = (buyer.legal_id or "").strip()
    individual = buyer.kind is BuyerKind.INDIVIDUAL
    foreign = buyer.address.country.upper() != "RO"
    romanian_id = vat.startswith("RO") or (
        not foreign and bool(legal) and legal.isdigit() and legal != "0000000000000"
    )
    return {"b2c": individual, "extern": foreign and not romanian_id}


@dataclass(frozen=True)
class Intent:
    attempt: str
    xml: bytes
    standard: str
    mode: dict[str, bool]
    number: str
    work: AnafWork
    """The work record the intent wrote: the answer's transaction changes the row without
    reading it again while it still holds this (:func:`record_upload`)."""


def record_intent(ctx: AppContext, invoice_id: int, seen: Lifecycle | None) -> Intent | Step:
    """In one write transaction: take the global quota slot, then move to ``uploading`` with
    a fresh attempt id (or decide that the invoice is never sent, and give the slot back).
    ``seen``: the invoice as read before the transaction; while the row still holds its state
    and work record (the common case) one guarded ``UPDATE`` moves it, else the row is read
    again under lock.

    The slot comes first so that, when there is none, nothing has been written and the
    transaction ends with a commit before :class:`~.anaf_quota.QuotaWait` is raised: on
    PostgreSQL a rollback makes psycopg drop every prepared statement of the connection, and
    in a burst most intents find the window full. (So an invoice that moved on meanwhile, or
    a test-mode invoice in production, is told so once there is a slot.)"""
    attempt, now = uuid.uuid4().hex, anaf_port.now(ctx)
    with db.write(ctx.engine) as conn:
        wait = anaf_quota.slot(conn, anaf_port.tuning(ctx).policy, now, QuotaKind.GLOBAL, "")
        if wait is None:
            return _record(ctx, conn, invoice_id, seen, attempt, now)
    raise wait


def _record(
    ctx: AppContext,
    conn: Connection,
    invoice_id: int,
    seen: Lifecycle | None,
    attempt: str,
    now: datetime,
) -> Intent | Step:
    """:func:`record_intent`'s transaction once the slot is taken."""
    intended = None
    if seen is not None and seen.state is S.PENDING and (seen.row.livemode or not _prod(ctx)):
        inv, intended = seen, _intend(ctx, conn, seen, attempt, now, guarded=True)
    if intended is None:
        locked = anaf_work.load(conn, invoice_id, lock=True)
        if locked is None or locked.state is not S.PENDING:
            anaf_quota.give_back(conn, now)
            return Step(locked.state if locked else None, 0.0, "moved on")
        if not locked.row.livemode and _prod(ctx):
            anaf_quota.give_back(conn, now)
            reason = "I-TEST-MODE: a test-mode invoice is never sent to ANAF production"
            anaf_work.save(conn, invoice_id, replace(locked.work, reason=reason), S.NOT_UPLOADED)
            invoice_store.log(conn, invoice_id, "anaf_not_uploaded", {"reason": reason})
            return Step(S.NOT_UPLOADED, None, reason)
        inv, intended = locked, _intend(ctx, conn, locked, attempt, now)
    assert intended is not None  # an unguarded intent always writes
    # the XML read with ``seen`` is the row's: any change of it (a correction) changes the
    # work record and ``updated_at``, which the guarded intent checked
    xml = inv.xml if inv.xml is not None else invoice_store.xml_of(conn, invoice_id)
    work, mode = intended
    standard = "CN" if re.search(rb"<(\w+:)?CreditNote[\s>]", xml[:2000]) else "UBL"
    return Intent(attempt, xml, standard, mode, inv.number, work)


def _prod(ctx: AppContext) -> bool:
    return ctx.settings.anaf_env == "prod"


def _intend(
    ctx: AppContext,
    conn: Connection,
    inv: Lifecycle,
    attempt: str,
    now: datetime,
    *,
    guarded: bool = False,
) -> tuple[AnafWork, dict[str, bool]] | None:
    """Write the upload intent of ``inv`` (the attempt, its line; the caller took the global
    quota slot); the work record written and the upload mode. ``guarded``: only while the row
    still holds ``inv``'s state and work record (None when it did not)."""
    work = replace(
        inv.work,
        first_intent_at=inv.work.first_intent_at or now,
        attempt=attempt,
        intent_at=now,
        uploads=inv.work.uploads + 1,
        polls=0,
        reason=None,
    )
    mode = upload_mode(inv.row.snapshot)
    line = ("anaf_upload_intent", {"attempt": attempt, "env": ctx.settings.anaf_env, **mode})
    expect = {  # nothing written since the read: the snapshot above is the row's too
        "anaf_state": inv.state.value,
        "anaf_messages": inv.row.anaf_messages,
        "updated_at": inv.row.updated_at,
    }
    if not anaf_work.save(
        conn, inv.id, work, S.UPLOADING, logged=[line], expect=expect if guarded else None
    ):
        return None
    return work, mode


def record_upload(
    conn: Connection, invoice_id: int, intent: Intent, index: str, date: str
) -> Step | None:
    """Record ANAF's upload index for the intent's attempt, in the caller's transaction; the
    stale step when the invoice moved on meanwhile. While the row still holds the intent's
    state and work record (the common case) one guarded ``UPDATE`` does it; otherwise the row
    is read again under lock and the attempt compared, as for any other answer."""
    expect = {"anaf_state": S.UPLOADING.value, "anaf_messages": intent.work.to_json()}
    if _save_uploaded(conn, invoice_id, intent.work, intent.attempt, index, date, expect):
        return None
    inv = current_attempt(conn, invoice_id, intent.attempt)
    if isinstance(inv, Step):
        return inv
    _save_uploaded(conn, invoice_id, inv.work, intent.attempt, index, date)
    return None


def _save_uploaded(
    conn: Connection,
    invoice_id: int,
    before: AnafWork,
    attempt: str,
    index: str,
    date: str,
    expect: Mapping[str, object] | None = None,
) -> bool:
    work = replace(before, upload_date=date, polls=0, unknown_since=None, reason=None, waf_pages=0)
    line = ("anaf_uploaded", {"index": index, "attempt": attempt})
    return anaf_work.save(
        conn, invoice_id, work, S.UPLOADED, upload_index=index, logged=[line], expect=expect
    )


def current_attempt(conn: Connection, invoice_id: int, attempt: str) -> Lifecycle | Step:
    """The locked invoice if it is still ``uploading`` with ``attempt``, else the stale step."""
    inv = anaf_work.load(conn, invoice_id, lock=True)
    if inv is None or inv.state is not S.UPLOADING or inv.work.attempt != attempt:
        return Step(inv.state if inv else None, 0.0, "stale attempt")
    return inv
