"""Honest email states: what happened to a message, said the same way everywhere.

``sent`` means an SMTP server accepted the message. Without ``EFACTURA_SMTP_HOST`` nothing
leaves the machine: the message is written to ``<data_dir>/outbox/`` and the state is
``outbox``, never ``sent``. ``failed`` carries the server's answer (or why it could not be
reached) and is retried with ``invoices resend-email``.

:func:`hand_over` delivers a message and says which of the two it was; :func:`summary`
reads an invoice's timeline into one line for ``invoices show``, the API and the console;
:func:`failure_problem` is what the merchant reads when one could not be sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Literal, NotRequired, TypedDict

from ..errors import EfacturaError, Problem
from ..jsontypes import JsonObject
from ..mail.compose import MailAddressError
from ..mail.send import DirectorySender, MailSender, SmtpError
from ..store.invoices import TimelineEntry

__all__ = [
    "OUTBOX",
    "SENT",
    "Delivery",
    "EmailSummary",
    "failure_problem",
    "hand_over",
    "summary",
]

SENT = "sent"
OUTBOX = "outbox"


@dataclass(frozen=True)
class Delivery:
    """``state`` is :data:`SENT` (a server accepted it) or :data:`OUTBOX` (a file at
    ``path``, because SMTP is not configured)."""

    state: str
    path: str | None = None

    def detail(self) -> dict[str, str]:
        return {"outbox": self.path} if self.path is not None else {}

    def describe(self, to: str) -> str:
        if self.state == OUTBOX:
            return f"written to the outbox {self.path} (SMTP is not configured; not sent to {to})"
        return f"sent to {to}"


def hand_over(sender: MailSender, msg: EmailMessage) -> Delivery:
    """Send ``msg`` with ``sender``; raises what the sender raises (``SmtpError``)."""
    sender.send(msg)
    if isinstance(sender, DirectorySender):
        return Delivery(OUTBOX, str(sender.path_for(msg)))
    return Delivery(SENT)


_DONE = {"email_sent", "email_outbox", "email_resent", "email_failed", "email_resend_failed"}


class EmailSummary(TypedDict):
    """An invoice's email in one line (``text``), with what the last attempt recorded."""

    state: str
    text: str
    to: NotRequired[str]
    message_id: NotRequired[str]
    outbox: NotRequired[str]
    code: NotRequired[str]
    error: NotRequired[str]


_Recorded = Literal["to", "message_id", "outbox", "code", "error"]
_RECORDED: tuple[_Recorded, ...] = ("to", "message_id", "outbox", "code", "error")


def summary(state: str, timeline: Iterable[TimelineEntry]) -> EmailSummary:
    """``{"state", "text", …}`` of an invoice's email from its timeline rows (``event``,
    ``detail`` JSON text): the recipient, the outbox file or the failure with its code."""
    last: JsonObject = {}
    for row in timeline:
        if row.event in _DONE:
            last = {"event": row.event, **(json.loads(row.detail) if row.detail else {})}
    out: EmailSummary = {"state": state, "text": _text(state, last)}
    for key in _RECORDED:
        value = last.get(key)
        if isinstance(value, str):  # the mailer records text (addresses, ids, codes)
            out[key] = value
    return out


def _text(state: str, last: JsonObject) -> str:
    to = last.get("to", "?")
    if state == OUTBOX:
        return f"in the outbox, not sent (SMTP is not configured): {last.get('outbox', '?')}"
    if state == SENT:
        return f"sent to {to} (accepted by the SMTP server)"
    if state == "failed":
        return (
            f"failed: [{last.get('code', 'E-SMTP')}] {last.get('error', '?')} "
            "(retry: `stripe-efactura invoices resend-email NUMBER`)"
        )
    if state == "retrying":
        return "not sent yet: the SMTP server could not be reached; retrying"
    texts = {
        "pending": "waiting for the PDF",
        "queued": "queued",
        "sending": "being sent",
        "no_recipient": "not sent: the buyer has no email address",
        "disabled": "not sent: [email] send_to_payer = false",
    }
    return texts.get(state, state)


def failure_problem(number: str, exc: EfacturaError, *, exhausted: bool) -> Problem:
    """What the merchant reads when invoice ``number``'s email failed with ``exc``: the
    payer's address refused, SMTP giving up after every attempt (``exhausted``), or the
    server refusing the message; each with the command that sends it again."""
    resend = f"`stripe-efactura invoices resend-email {number}`"
    resend_to = f"`stripe-efactura invoices resend-email {number} --to ADRESĂ`"
    if isinstance(exc, MailAddressError) or (
        isinstance(exc, SmtpError) and exc.context.get("recipients")
    ):
        return Problem(
            code=exc.code,
            field="buyer.email",
            message_ro=f"Adresa de email a clientului a fost refuzată: {exc.message}",
            message_en=f"The customer's email address was refused: {exc.message}",
            hint="Check the customer's email in Stripe, then send it again with "
            f"`stripe-efactura invoices resend-email {number} --to ADDRESS`.",
            hint_ro=f"Verificați emailul clientului în Stripe, apoi retrimiteți cu {resend_to}.",
        )
    if exhausted:
        return _smtp_problem(
            exc,
            "Serverul SMTP nu a acceptat emailul după mai multe încercări",
            "The SMTP server did not take the email after many attempts",
            f"Check EFACTURA_SMTP_HOST and the server, then run {resend}.",
            f"Verificați EFACTURA_SMTP_HOST și serverul, apoi rulați {resend}.",
        )
    return _smtp_problem(
        exc,
        "Serverul SMTP a refuzat emailul",
        "The SMTP server refused the email",
        "Check EFACTURA_SMTP_USER, EFACTURA_SMTP_PASSWORD, EFACTURA_MAIL_FROM and the "
        f"server's reply above, then run {resend}.",
        "Verificați EFACTURA_SMTP_USER, EFACTURA_SMTP_PASSWORD, EFACTURA_MAIL_FROM și "
        f"răspunsul serverului de mai sus, apoi rulați {resend}.",
    )


def _smtp_problem(exc: EfacturaError, ro: str, en: str, hint: str, hint_ro: str) -> Problem:
    """An SMTP failure's problem: what happened (``ro``/``en``), then the server's answer."""
    return Problem(
        code=exc.code,
        field="smtp",
        message_ro=f"{ro}: {exc.message}",
        message_en=f"{en}: {exc.message}",
        hint=hint,
        hint_ro=hint_ro,
    )
