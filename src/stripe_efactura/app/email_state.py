"""Honest email states: what happened to a message, said the same way everywhere.

``sent`` means an SMTP server accepted the message. Without ``EFACTURA_SMTP_HOST`` nothing
leaves the machine: the message is written to ``<data_dir>/outbox/`` and the state is
``outbox``, never ``sent``. ``failed`` carries the server's answer (or why it could not be
reached) and is retried with ``invoices resend-email``.

:func:`hand_over` delivers a message and says which of the two it was; :func:`summary`
reads an invoice's timeline into one line for ``invoices show``, the API and the console.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Literal, NotRequired, TypedDict

from ..jsontypes import JsonObject
from ..mail.send import DirectorySender, MailSender
from ..store.invoices import TimelineEntry

__all__ = ["OUTBOX", "SENT", "Delivery", "EmailSummary", "hand_over", "summary"]

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
