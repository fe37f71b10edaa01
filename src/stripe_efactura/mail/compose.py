"""Composing emails (pure): the invoice for the payer and the merchant's digest of notices.

Nothing here sends, reads the clock or touches the disk: the caller passes the PDF and XML
bytes, the templates (:func:`~stripe_efactura.mail.templates.load_templates`) and the notices;
:class:`~stripe_efactura.mail.send.SmtpSender` delivers the result.

Texts for the payer are Romanian; the merchant digest is Romanian first, English after.
"""

from __future__ import annotations

import binascii
import re
import secrets
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import getaddresses
from typing import Literal, get_args

from ..errors import EfacturaError, Problem
from ..invoicing.model import Invoice
from ..invoicing.payment import PAYMENT_MEANS_RO
from ..money import format_amount
from ..tz import BUCHAREST
from .templates import Templates
from .wire import POLICY

__all__ = [
    "KIND_LABELS",
    "MailAddressError",
    "MerchantNotice",
    "NoticeKind",
    "attachment_basename",
    "compose_invoice_email",
    "compose_merchant_digest",
    "invoice_template_values",
]

NoticeKind = Literal[
    "payment_problem",
    "anaf_rejected",
    "deadline",
    "anaf_unknown",
    "auth_expiry",
    "email_failed",
    "reconciliation",
    "general",
]

KIND_LABELS: dict[str, tuple[str, str]] = {
    "payment_problem": ("Plată care nu poate fi facturată", "Payment that cannot be invoiced"),
    "anaf_rejected": ("Factură respinsă de ANAF", "Invoice rejected by ANAF"),
    "deadline": ("Termen de transmitere la ANAF", "ANAF reporting deadline"),
    "anaf_unknown": ("Rezultat ANAF necunoscut", "ANAF outcome unknown"),
    "auth_expiry": ("Autorizarea ANAF expiră", "ANAF authorization is expiring"),
    "email_failed": ("Email netrimis către client", "Email to the customer not sent"),
    "reconciliation": ("Neconcordanță la reconcilierea lunii", "Month reconciliation finding"),
    "general": ("Altă notificare", "Other notice"),
}
"""Notice kind -> (Romanian, English) label; also the order of kinds in the digest."""


class MailAddressError(EfacturaError):
    """A sender or recipient address is missing or malformed."""

    code = "E-MAIL-ADDRESS"


@dataclass(frozen=True)
class MerchantNotice:
    """One thing the merchant must look at, listed in the digest email.

    ``title`` is Romanian (``title_en`` its English version, else ``title`` is reused);
    ``subject_ref`` names what it is about (``pi_…``, ``SEF000123``, an ANAF upload index);
    ``problems`` say what is wrong and how to fix it; ``details_ro``/``details_en`` are free
    text (e.g. the deadline date); ``link`` points at the dashboard page.
    """

    kind: NoticeKind
    title: str
    subject_ref: str
    problems: tuple[Problem, ...]
    created_at: datetime
    title_en: str | None = None
    details_ro: str = ""
    details_en: str = ""
    link: str | None = None
    livemode: bool = True

    def __post_init__(self) -> None:
        if self.kind not in get_args(NoticeKind):
            raise ValueError(f"unknown notice kind {self.kind!r}")


# --------------------------------------------------------------------------------------------
# helpers


def _ro_date(value: date) -> str:
    return f"{value.day:02d}.{value.month:02d}.{value.year:04d}"


def attachment_basename(number: str) -> str:
    """File name stem for an invoice's attachments: ``SEF000123`` (unsafe characters -> ``_``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", number).strip("._") or "factura"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _addr_spec(raw: str) -> str:
    parsed = getaddresses([raw])
    if len(parsed) != 1 or not parsed[0][1] or "@" not in parsed[0][1]:
        raise MailAddressError(f"not an email address: {raw!r}", address=raw)
    return parsed[0][1]


def _from_header(mail_from: str, display_name: str) -> str:
    """``mail_from`` as is when it has a display name, else ``"<display_name> <mail_from>"``."""
    mail_from = mail_from.strip()
    if not mail_from:
        raise MailAddressError("no sender address (set EFACTURA_MAIL_FROM)")
    if "<" in mail_from:
        _addr_spec(mail_from)
        return mail_from
    spec = _addr_spec(mail_from)
    try:
        return str(Address(display_name=_one_line(display_name), addr_spec=spec))
    except (ValueError, IndexError) as exc:
        raise MailAddressError(f"not an email address: {mail_from!r}", address=mail_from) from exc


def _recipients(to: str | Sequence[str]) -> list[str]:
    raw = [to] if isinstance(to, str) else list(to)
    out: list[str] = []
    seen: set[str] = set()
    for item in raw:
        if not item or not item.strip():
            continue
        spec = _addr_spec(item.strip())
        if spec.lower() not in seen:
            seen.add(spec.lower())
            out.append(item.strip())
    if not out:
        raise MailAddressError("no recipient address", code="E-MAIL-NO-RECIPIENT")
    return out


def _new_message(
    *, subject: str, mail_from: str, to: Sequence[str], message_id: str | None
) -> EmailMessage:
    msg = EmailMessage(policy=POLICY)
    msg["Subject"] = _one_line(subject)
    msg["From"] = mail_from
    msg["To"] = ", ".join(to)
    if message_id:
        msg["Message-ID"] = message_id if message_id.startswith("<") else f"<{message_id}>"
    msg["Auto-Submitted"] = "auto-generated"
    return msg


# --------------------------------------------------------------------------------------------
# invoice email


def _payment_note(invoice: Invoice) -> str:
    parts: list[str] = []
    if invoice.is_storno:
        for prev in invoice.preceding:
            parts.append(
                f"Aceasta stornează factura {prev.number} din {_ro_date(prev.issue_date)}."
            )
    pay = invoice.payment
    if pay is not None:
        ref = pay.reference or invoice.payment_key
        suffix = f" (referință {ref})" if ref else ""
        if invoice.is_storno:
            parts.append(f"Suma a fost rambursată prin Stripe{suffix}.")
        else:
            means = PAYMENT_MEANS_RO.get(pay.means_code)
            how = f"{means} prin Stripe" if means else "prin Stripe"
            parts.append(f"Plata a fost efectuată {how}{suffix}.")
    return " ".join(parts)


_MEANS_EN: dict[str, str] = {
    "cu cardul": "by card",
    "prin debit direct": "by direct debit",
    "prin transfer bancar": "by bank transfer",
}


def _payment_note_en(invoice: Invoice) -> str:
    parts: list[str] = []
    if invoice.is_storno:
        for prev in invoice.preceding:
            parts.append(f"It reverses invoice {prev.number} of {_en_date(prev.issue_date)}.")
    pay = invoice.payment
    if pay is not None:
        ref = pay.reference or invoice.payment_key
        suffix = f" (reference {ref})" if ref else ""
        if invoice.is_storno:
            parts.append(f"The amount was refunded via Stripe{suffix}.")
        else:
            means = _MEANS_EN.get(PAYMENT_MEANS_RO.get(pay.means_code, ""))
            how = f"{means} via Stripe" if means else "via Stripe"
            parts.append(f"The payment was made {how}{suffix}.")
    return " ".join(parts)


def _en_date(value: date) -> str:
    return value.isoformat()


def is_international(invoice: Invoice) -> bool:
    """A payer outside Romania gets the bilingual (Romanian and English) email and PDF."""
    return invoice.buyer.address.country.strip().upper() not in ("", "RO")


def invoice_template_values(invoice: Invoice) -> dict[str, str]:
    """The ``$placeholders`` of the invoice templates for ``invoice``."""
    seller = invoice.seller
    document = "Factura storno" if invoice.is_storno else "Factura"
    base = attachment_basename(invoice.number)
    legal = seller.legal_id or (
        seller.vat_id[2:] if seller.vat_id and seller.vat_id.upper().startswith("RO") else ""
    )
    pay_ref = ""
    if invoice.payment is not None:
        pay_ref = invoice.payment.reference or invoice.payment_key or ""
    return {
        "document": document,
        "document_lower": document.lower(),
        "number": invoice.number,
        "issue_date": _ro_date(invoice.issue_date),
        "seller_name": seller.name,
        "seller_cui": legal or "",
        "seller_email": seller.email or "",
        "seller_phone": seller.phone or "",
        "seller_contact": " · ".join(x for x in (seller.email, seller.phone) if x),
        "buyer_name": invoice.buyer.name,
        "total": format_amount(invoice.totals.tax_inclusive, invoice.currency),
        "payable": format_amount(invoice.totals.payable, invoice.currency),
        "currency": invoice.currency,
        "payment_reference": pay_ref,
        "payment_note": _payment_note(invoice),
        "preceding": ", ".join(
            f"{p.number} din {_ro_date(p.issue_date)}" for p in invoice.preceding
        ),
        "order_reference": invoice.order_reference or "",
        "pdf_filename": f"{base}.pdf",
        "xml_filename": f"{base}.xml",
        "document_en": "Storno invoice" if invoice.is_storno else "Invoice",
        "issue_date_en": _en_date(invoice.issue_date),
        "payment_note_en": _payment_note_en(invoice),
    }


def compose_invoice_email(
    invoice: Invoice,
    pdf: bytes,
    xml: bytes,
    *,
    mail_from: str,
    to: str | Sequence[str],
    templates: Templates | None = None,
    reply_to: str | None = None,
    bcc: Sequence[str] = (),
    message_id: str | None = None,
) -> EmailMessage:
    """The email that carries ``invoice`` to the payer, with the PDF and the UBL XML attached.

    Subject and body come from ``templates`` (Romanian defaults; Romanian and English, the
    ``*_intl`` templates, for a payer outside Romania). The attachments are named
    after the invoice number (``SEF000123.pdf``, ``SEF000123.xml``). ``From`` gets the seller's
    name as display name unless ``mail_from`` has one; ``Reply-To`` defaults to the seller's
    email. ``message_id`` (e.g. derived from an outbox row) makes resends recognisable; when
    omitted the sender adds one. No ``Date`` header: the sender sets it when it sends.
    """
    tpl = templates or Templates()
    values = invoice_template_values(invoice)
    suffix = "_intl" if is_international(invoice) else ""
    msg = _new_message(
        subject=tpl.render(f"invoice_subject{suffix}", values),
        mail_from=_from_header(mail_from, invoice.seller.name),
        to=_recipients(to),
        message_id=message_id,
    )
    reply = reply_to or invoice.seller.email
    if reply:
        _addr_spec(reply)
        msg["Reply-To"] = reply
    if bcc:
        msg["Bcc"] = ", ".join(_recipients(bcc))
    msg["X-Efactura-Invoice"] = _one_line(invoice.number)
    msg.set_content(
        tpl.render(f"invoice_body{suffix}", values),
        subtype="plain",
        charset="utf-8",
        cte="quoted-printable",
    )
    msg.make_mixed(boundary=_boundary())
    msg.attach(_attachment(pdf, "pdf", values["pdf_filename"]))
    msg.attach(_attachment(xml, "xml", values["xml_filename"]))
    return msg


def _boundary() -> str:
    """A boundary as the standard generator makes one (``===============<19 digits>==``),
    chosen here so that nothing searches the parts for it: it cannot occur in them. The text
    is quoted-printable and the attachments base64, and neither encoding writes ``==`` inside
    a line (a quoted-printable ``=`` is ``=3D``; base64 pads at most two, at the end)."""
    return f"{'=' * 15}{secrets.randbelow(sys.maxsize):019d}=="


def _attachment(data: bytes, subtype: str, filename: str) -> EmailMessage:
    """The part ``add_attachment(data, maintype="application", subtype=subtype,
    filename=filename)`` makes, header for header and line for line, without parsing its
    headers (``filename`` is :func:`attachment_basename`'s, which needs no quoting) nor
    encoding the payload 57 bytes at a time. ``tests/mail/test_compose.py`` holds the two to
    the same bytes."""
    part = EmailMessage(policy=POLICY)
    part.set_raw("Content-Type", f"application/{subtype}")
    part.set_raw("Content-Transfer-Encoding", "base64")
    part.set_raw("Content-Disposition", f'attachment; filename="{filename}"')
    part.set_raw("MIME-Version", "1.0")
    text = binascii.b2a_base64(data, newline=False).decode("ascii")
    part.set_payload("".join([text[i : i + 76] + "\n" for i in range(0, len(text), 76)]))
    return part


# --------------------------------------------------------------------------------------------
# merchant digest


def _count_ro(n: int) -> str:
    if n == 1:
        return "1 notificare"
    if 1 <= n % 100 <= 19:
        return f"{n} notificări"
    return f"{n} de notificări"


def _count_en(n: int) -> str:
    return "1 notification" if n == 1 else f"{n} notifications"


def _when(value: datetime, *, english: bool) -> str:
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    local = aware.astimezone(BUCHAREST)
    label = "Romania time" if english else "ora României"
    stamp = f"{_ro_date(local.date())}, {local.hour:02d}:{local.minute:02d}"
    return f"{stamp} {label}" if english else f"{stamp}, {label}"


def _indent(text: str, prefix: str) -> list[str]:
    return [prefix + line if line.strip() else "" for line in text.strip().splitlines()]


def _notice_text(index: int, notice: MerchantNotice, *, english: bool) -> str:
    label_ro, label_en = KIND_LABELS[notice.kind]
    label = label_en if english else label_ro
    test = "[TEST] " if not notice.livemode else ""
    when = _when(notice.created_at, english=english)
    lines = [f"{index}. {test}{label}: {notice.subject_ref} ({when})"]
    title = (notice.title_en or notice.title) if english else notice.title
    if title.strip():
        lines += _indent(title, "   ")
    details = (notice.details_en or notice.details_ro) if english else notice.details_ro
    if details.strip():
        lines += _indent(details, "   ")
    for problem in notice.problems:
        message = (problem.message_en or problem.message_ro) if english else problem.message_ro
        message = message or problem.message_en
        warn = (" (warning)" if english else " (avertisment)") if not problem.fatal else ""
        field = f" {problem.field}:" if problem.field else ""
        lines.append(f"   - [{problem.code}]{warn}{field} {_one_line(message)}".rstrip())
        hint = (problem.hint or problem.hint_ro) if english else (problem.hint_ro or problem.hint)
        if hint.strip():
            how = "How to fix" if english else "Cum rezolvați"
            lines.append(f"     {how}: {_one_line(hint)}")
    if notice.link:
        lines.append(f"   {'Details' if english else 'Detalii'}: {notice.link}")
    return "\n".join(lines)


def _ordered(items: Sequence[MerchantNotice]) -> list[MerchantNotice]:
    order = {kind: i for i, kind in enumerate(KIND_LABELS)}
    return sorted(items, key=lambda n: order[n.kind])  # stable: input order within a kind


def compose_merchant_digest(
    items: Sequence[MerchantNotice],
    *,
    mail_from: str,
    to: Sequence[str],
    company_name: str,
    templates: Templates | None = None,
    dashboard_url: str | None = None,
    message_id: str | None = None,
) -> EmailMessage:
    """One email to the merchant listing every notice in ``items``.

    Notices are grouped by kind (payment problems, ANAF rejections, deadlines, authorization
    expiry), in input order within a kind. Each problem shows its code, field, message and how
    to fix it; the Romanian text comes first, the English one after. Raises ``ValueError`` for
    an empty ``items`` and :class:`MailAddressError` when ``to`` has no valid address.
    """
    if not items:
        raise ValueError("a digest needs at least one notice")
    tpl = templates or Templates()
    ordered = _ordered(items)
    values = {
        "company_name": company_name,
        "count": str(len(ordered)),
        "count_ro": _count_ro(len(ordered)),
        "count_en": _count_en(len(ordered)),
        "items_ro": "\n\n".join(
            _notice_text(i, n, english=False) for i, n in enumerate(ordered, start=1)
        ),
        "items_en": "\n\n".join(
            _notice_text(i, n, english=True) for i, n in enumerate(ordered, start=1)
        ),
        "dashboard_ro": f"\nTabloul de bord: {dashboard_url}" if dashboard_url else "",
        "dashboard_en": f"\nDashboard: {dashboard_url}" if dashboard_url else "",
    }
    msg = _new_message(
        subject=tpl.render("merchant_subject", values),
        mail_from=_from_header(mail_from, "stripe-efactura"),
        to=_recipients(to),
        message_id=message_id,
    )
    msg.set_content(
        tpl.render("merchant_body", values),
        subtype="plain",
        charset="utf-8",
        cte="quoted-printable",
    )
    return msg
