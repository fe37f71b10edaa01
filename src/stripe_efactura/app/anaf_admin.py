"""What the merchant asks about invoices at ANAF: ``invoices list``, ``invoices show`` and
``invoices retry`` (send again an invoice ANAF did not validate, rebuilt from corrected data)."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import date
from typing import TypedDict

from ..anaf.errors import AnafApiError
from ..errors import InvoiceProblems
from ..invoicing import build
from ..invoicing.serialize import invoice_to_json
from ..jsontypes import JsonObject
from ..store import anaf_invoices, anaf_work, db, repo
from ..store import invoices as invoice_store
from ..store.anaf_work import RETRYABLE, AnafState, AnafWork, PastFiling
from ..store.invoices import InvoiceRecord
from ..store.periods import IssuedInvoice
from . import anaf_jobs, anaf_port, email_state, issuing, waiting
from . import fx as fx_service
from .anaf_archive import archive_path
from .anaf_deadlines import DeadlineStatus, deadline_status
from .context import AppContext
from .timeline import validation_entry


class InvoiceNotFound(AnafApiError):
    code = "E-INVOICE-NOT-FOUND"


class RetryRefused(AnafApiError):
    code = "E-INVOICE-RETRY-REFUSED"


class _InvoiceFields(TypedDict):
    """What ``invoices list`` and ``show`` both print of an invoice (``findings`` aside: a
    summary lists their texts, a detail the findings in full)."""

    number: str
    kind: str
    series: str
    issue_date: str
    total: str
    currency: str
    livemode: bool
    payment_key: str
    anaf_state: str
    upload_index: str | None
    download_id: str | None
    archived: bool
    deadline: str | None
    deadline_status: DeadlineStatus | None
    email_state: str
    reason: str | None
    waiting: dict[str, str] | None
    """Why it waits for ANAF (``waiting.invoice_reason``), None when it does not."""


class InvoiceSummary(_InvoiceFields):
    """One invoice as ``invoices list``/``show`` print it."""

    findings: list[str]


class InvoiceDetail(_InvoiceFields):
    """``invoices show``: the summary with ANAF's findings in full, the filing state, the
    e-mail, the archive and the timeline."""

    findings: list[JsonObject]
    anaf: JsonObject
    email: email_state.EmailSummary
    archive_path: str | None
    timeline: list[JsonObject]


def _summary(
    row: InvoiceRecord | IssuedInvoice,
    today: date,
    waits: waiting.InvoiceWaits,
    *,
    archived: bool,
) -> InvoiceSummary:
    """One invoice as ``invoices list``/``show`` print it (``row``: a full record or a listing
    row without documents)."""
    work = AnafWork.from_json(row.anaf_messages)
    livemode = bool(row.livemode)
    return {
        "number": row.number,
        "kind": row.kind,
        "series": row.series_code,
        "issue_date": row.issue_date.isoformat(),
        "total": row.total,
        "currency": row.currency,
        "livemode": livemode,
        "payment_key": row.payment_key,
        "anaf_state": row.anaf_state,
        "upload_index": row.upload_index,
        "download_id": row.download_id,
        "archived": archived,
        "deadline": row.deadline.isoformat() if row.deadline else None,
        "deadline_status": deadline_status(row, today),
        "email_state": row.email_state,
        "findings": work.finding_codes(),
        "reason": work.reason,
        "waiting": waits.as_dict(str(row.anaf_state), work.reason, livemode=livemode),
    }


def invoices_listing(
    ctx: AppContext, *, overdue: bool = False, search: str | None = None
) -> list[InvoiceSummary]:
    """``invoices list --json``; ``overdue``: only invoices due within one working day or late;
    ``search``: only those whose number, payment key, buyer name, CUI / CNP, VAT id or e-mail
    contains it (the API's ``q``)."""
    today = anaf_port.today(ctx)
    with db.read(ctx.engine) as conn:
        rows = anaf_invoices.listing(conn, text=search or None)
    if overdue:
        rows = [r for r in rows if deadline_status(r, today) is not None]
    waits = waiting.InvoiceWaits(ctx)
    return [_summary(r, today, waits, archived=r.has_signed_zip) for r in rows]


def invoice_detail(ctx: AppContext, number: str) -> InvoiceDetail:
    """``invoices show NUMBER``: the summary, ANAF findings and the timeline."""
    with db.read(ctx.engine) as conn:
        row = invoice_store.by_number(conn, number)
        if row is None:
            raise InvoiceNotFound(f"no invoice numbered {number}")
        events = invoice_store.timeline(conn, int(row.id))
    summary = _summary(
        row, anaf_port.today(ctx), waiting.InvoiceWaits(ctx), archived=row.signed_zip is not None
    )
    work = AnafWork.from_json(row.anaf_messages)
    anaf = work.to_dict()
    anaf.pop("findings", None)
    timeline = [validation_entry(str(row.number), row.created_at, row.validation)]
    timeline.extend(
        {
            "at": e.at.isoformat(),
            "event": e.event,
            "detail": json.loads(e.detail) if e.detail else None,
        }
        for e in events
    )
    return {
        **summary,
        "findings": [p.to_dict() for p in work.findings or ()],
        "anaf": anaf,
        "email": email_state.summary(str(row.email_state), events),
        "archive_path": (
            str(archive_path(ctx, str(row.number), row.issue_date)) if row.signed_zip else None
        ),
        "timeline": timeline,
    }


class RetryDetail(TypedDict):
    """What a retry changed, as the timeline records it."""

    previous_state: str
    previous_index: str | None
    xml_changed: bool
    old_sha256: str
    new_sha256: str


class RetryResult(RetryDetail):
    """``invoices retry``: the invoice, its new state and what changed."""

    number: str
    anaf_state: AnafState


@dataclass(frozen=True)
class Corrected:
    """An invoice document to send again: the XML, its snapshot and validation summary."""

    xml: bytes
    snapshot: str
    validation: str


def rebuild(ctx: AppContext, row: InvoiceRecord) -> Corrected:
    """The invoice rebuilt from its payment's current data (overrides included) with the SAME
    number and issue date, through issuing's build → render → validate path. Raises
    InvoiceProblems."""
    with db.read(ctx.engine) as conn:
        pay = repo.get_payment(conn, row.payment_key)
    if pay is None:
        raise RetryRefused(f"payment {row.payment_key} of invoice {row.number} is not stored")
    sale = repo.sale_from_json(pay.sale)
    fx = None
    if sale.currency.upper() != "RON":
        fx = fx_service.rate_for(ctx, sale.currency, row.issue_date)
    overrides = build.BuyerOverrides.from_json(pay.overrides) if pay.overrides else None
    checked = issuing.build_checked(
        ctx, sale, number=row.number, fx=fx, overrides=overrides, issued_on=row.issue_date
    )
    if checked.problems or checked.result.invoice is None:
        raise InvoiceProblems(checked.problems)
    return Corrected(checked.xml, invoice_to_json(checked.result.invoice), checked.summary)


def _check_retryable(ctx: AppContext, row: InvoiceRecord, number: str) -> AnafState:
    state = AnafState(str(row.anaf_state))
    if state is AnafState.OK:
        raise RetryRefused(
            f"invoice {number} was validated by ANAF (index {row.upload_index}); it is never "
            "sent again: correct it with a storno and a new invoice"
        )
    if state not in RETRYABLE:
        raise RetryRefused(f"invoice {number} is {state}: its ANAF lifecycle is still running")
    if not row.livemode and ctx.settings.anaf_env == "prod":
        raise RetryRefused(
            f"invoice {number} is a test-mode invoice: never sent to ANAF production"
        )
    return state


def retry_invoice(
    ctx: AppContext,
    number: str,
    *,
    force: bool = False,
    corrected: Corrected | None = None,
) -> RetryResult:
    """``invoices retry NUMBER``: send again an invoice ANAF did not validate (``nok``,
    ``rejected_at_upload``) or that was never sent (``not_uploaded``), rebuilt from the
    corrected payment data with the same number and date. The correction is recorded in the
    timeline. ``corrected`` replaces the rebuild. An invoice ANAF validated is never re-sent
    (issue a storno); one in flight is left alone."""
    with db.read(ctx.engine) as conn:
        row = invoice_store.by_number(conn, number)
    if row is None:
        raise InvoiceNotFound(f"no invoice numbered {number}")
    state = _check_retryable(ctx, row, number)
    if corrected is None:
        corrected = (
            rebuild(ctx, row)
            if row.kind == "invoice"
            else Corrected(bytes(row.xml), row.snapshot, row.validation or "")
        )
    changed = corrected.xml != bytes(row.xml)
    # a firewall page is often a passing block: the same document may simply go again
    firewall = AnafWork.from_json(row.anaf_messages).finding_codes() == ["E-ANAF-WAF"]
    if not changed and not force and state is not AnafState.NOT_UPLOADED and not firewall:
        raise RetryRefused(
            f"invoice {number} rebuilt from the current data is identical to the one ANAF "
            "refused: correct the payment data first (or use --force to send it unchanged)"
        )
    detail = _send_again(ctx, int(row.id), number, state, corrected, changed)
    return {"number": number, "anaf_state": AnafState.PENDING, **detail}


def _send_again(
    ctx: AppContext,
    invoice_id: int,
    number: str,
    state: AnafState,
    corrected: Corrected,
    changed: bool,
) -> RetryDetail:
    """Back to ``pending_upload`` with the corrected document; the old filing goes to the
    history and the timeline. Returns the timeline detail."""
    with db.write(ctx.engine) as conn:
        fresh = anaf_work.load(conn, invoice_id, lock=True)
        assert fresh is not None
        if fresh.state is not state:
            raise RetryRefused(f"invoice {number} changed state meanwhile ({fresh.state})")
        past = PastFiling(state, fresh.row.upload_index, tuple(fresh.work.finding_codes()))
        work = AnafWork(history=(*fresh.work.history, past), uploads=fresh.work.uploads)
        detail: RetryDetail = {
            "previous_state": state.value,
            "previous_index": fresh.row.upload_index,
            "xml_changed": changed,
            "old_sha256": hashlib.sha256(invoice_store.xml_of(conn, invoice_id)).hexdigest(),
            "new_sha256": hashlib.sha256(corrected.xml).hexdigest(),
        }
        values: dict[str, object] = {}
        if changed:
            values.update(
                xml=corrected.xml, snapshot=corrected.snapshot, validation=corrected.validation
            )
        anaf_work.save(
            conn,
            invoice_id,
            work,
            AnafState.PENDING,
            logged=[("corrected" if changed else "resent", detail)],
            upload_index=None,
            download_id=None,
            expect=None,
            **values,
        )
        repo.set_payment_status(conn, str(fresh.row.payment_key), "invoiced")
        anaf_jobs.enqueue_step(conn, invoice_id, 0.0, gen=f"retry-{uuid.uuid4().hex[:8]}")
    return detail
