"""Upload deadlines: a ``deadline`` notice for every live invoice ANAF has not validated within
one working day of its deadline, and again once it is overdue."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy.engine import Connection

from ..errors import Problem
from ..invoicing.deadlines import working_days_after
from ..store import anaf_invoices, db
from ..store.anaf_work import AnafState, AnafWork
from ..store.invoices import InvoiceRecord
from ..store.listings import InvoiceRow
from ..store.periods import IssuedInvoice
from . import anaf_port, anaf_tokens
from .context import AppContext


class DeadlineStatus(StrEnum):
    DUE = "due"
    """Within one working day of the deadline."""
    OVERDUE = "overdue"
    """Past the deadline, not validated."""


def deadline_status(
    row: InvoiceRecord | IssuedInvoice | InvoiceRow, today: date
) -> DeadlineStatus | None:
    """How close an invoice row is to its upload deadline (None: not close, validated, or a
    test-mode invoice, which has no deadline)."""
    if row.deadline is None or not row.livemode or row.anaf_state == AnafState.OK:
        return None
    if today > row.deadline:
        return DeadlineStatus.OVERDUE
    if working_days_after(today, 1) >= row.deadline:
        return DeadlineStatus.DUE
    return None


def check_deadlines(ctx: AppContext) -> list[str]:
    """Periodic ``anaf_deadlines``: a ``deadline`` notice (once each) for every live invoice
    not validated yet within one working day of its deadline, and again once overdue; then
    the ANAF authorisation expiry notices. Returns the refs recorded."""
    today = anaf_port.today(ctx)
    recorded: list[str] = []
    with db.write(ctx.engine) as conn:
        for row in anaf_invoices.live_with_deadline(conn):
            status = deadline_status(row, today)
            if status is None:
                continue
            ref = f"{row.number}:{status}"
            title = _deadline_title(row, status)
            if anaf_tokens.notice_once(
                conn, "deadline", ref, title, [_deadline_problem(row, status)]
            ):
                recorded.append(ref)
    recorded += check_unknown(ctx)
    recorded += anaf_tokens.check_expiry(ctx)
    return recorded


# ---- upload outcome unknown for too long ---------------------------------------------------


def unknown_too_long(ctx: AppContext, since: datetime | None) -> bool:
    """Whether an outcome unknown since ``since`` passed ``anaf_unknown_notice_minutes``."""
    limit = timedelta(minutes=ctx.settings.anaf_unknown_notice_minutes)
    return since is not None and anaf_port.now(ctx) - since >= limit


def unknown_notice(conn: Connection, ctx: AppContext, number: str, since: datetime) -> bool:
    """An ``anaf_unknown`` notice (once per episode) for an invoice whose upload outcome has
    been unknown since ``since``; True when recorded."""
    hours = (anaf_port.now(ctx) - since).total_seconds() / 3600
    stamp = since.isoformat(timespec="seconds")
    problem = Problem(
        code="W-ANAF-UNKNOWN",
        field="invoice",
        message_ro=f"Rezultatul transmiterii facturii {number} la ANAF este necunoscut de "
        f"{hours:.1f} ore (din {stamp}): răspunsul ANAF s-a pierdut și factura nu a fost "
        "găsită încă în lista de mesaje SPV.",
        message_en=f"The outcome of uploading invoice {number} to ANAF has been unknown for "
        f"{hours:.1f} hours (since {stamp}): ANAF's answer was lost and the filing is not in "
        "the SPV message list yet.",
        hint="The service keeps checking ANAF and uploads again only when that is safe. See "
        "`stripe-efactura invoices show NUMBER`; check the invoice in SPV if it lasts.",
        hint_ro="Serviciul verifică în continuare la ANAF și retransmite doar când este sigur. "
        "Vedeți `stripe-efactura invoices show NUMĂR`; verificați factura în SPV dacă durează.",
        fatal=False,
    )
    return anaf_tokens.notice_once(
        conn,
        "anaf_unknown",
        f"{number}:{stamp}",
        f"Factura {number}: rezultat ANAF necunoscut / Invoice {number}: ANAF outcome unknown",
        [problem],
    )


def check_unknown(ctx: AppContext) -> list[str]:
    """A notice for every invoice whose upload outcome has been unknown for too long."""
    recorded: list[str] = []
    with db.write(ctx.engine) as conn:
        for row in anaf_invoices.uncertain(conn):
            since = AnafWork.from_json(row.anaf_messages).unknown_since
            if (
                since is not None
                and unknown_too_long(ctx, since)
                and unknown_notice(conn, ctx, str(row.number), since)
            ):
                recorded.append(f"{row.number}:unknown")
    return recorded


def _deadline_title(row: InvoiceRecord, status: DeadlineStatus) -> str:
    if status is DeadlineStatus.OVERDUE:
        return (
            f"Factura {row.number} a depășit termenul ANAF ({row.deadline}) / "
            f"Invoice {row.number} is past its ANAF deadline ({row.deadline})"
        )
    return (
        f"Factura {row.number} trebuie transmisă la ANAF până la {row.deadline} / "
        f"Invoice {row.number} must reach ANAF by {row.deadline}"
    )


def _deadline_problem(row: InvoiceRecord, status: DeadlineStatus) -> Problem:
    late = status is DeadlineStatus.OVERDUE
    head_ro = f"Factura {row.number} (emisă {row.issue_date}, stare ANAF {row.anaf_state}) "
    head_en = f"Invoice {row.number} (issued {row.issue_date}, ANAF state {row.anaf_state}) "
    return Problem(
        code="W-ANAF-OVERDUE" if late else "W-ANAF-DEADLINE",
        field="invoice",
        message_ro=head_ro
        + (
            f"a depășit termenul de transmitere {row.deadline}."
            if late
            else f"trebuie transmisă până la {row.deadline}."
        ),
        message_en=head_en
        + (
            f"missed the upload deadline {row.deadline}."
            if late
            else f"must be uploaded by {row.deadline}."
        ),
        hint="See `stripe-efactura invoices show NUMBER`; fix what ANAF reported and run "
        "`stripe-efactura invoices retry NUMBER`.",
        hint_ro="Vedeți `stripe-efactura invoices show NUMĂR`; corectați ce a raportat ANAF și "
        "rulați `stripe-efactura invoices retry NUMĂR`.",
        fatal=False,
    )
