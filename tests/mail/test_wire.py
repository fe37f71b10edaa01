"""The SMTP bytes of a composed message (``mail/wire.py``) are the bytes ``send_message``
sends, to the byte, with its envelope; what it does not cover goes to ``send_message``."""

from __future__ import annotations

import smtplib
from dataclasses import replace
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.mime.text import MIMEText
from types import ModuleType

import pytest

from stripe_efactura.errors import Problem
from stripe_efactura.mail import wire
from stripe_efactura.mail.compose import (
    MerchantNotice,
    compose_invoice_email,
    compose_merchant_digest,
)

PDF = bytes(range(256)) * 120  # 30 KB: many base64 lines
XML = '<?xml version="1.0"?><Invoice>Șoseaua Ștefan</Invoice>'.encode() * 200
DATE = "Wed, 02 Dec 2026 22:00:00 +0000"


class _Captured(smtplib.SMTP):
    """What ``send_message`` hands to ``sendmail``, without a server."""

    def __init__(self) -> None:
        super().__init__()
        self.ehlo_resp = b"test"
        self.does_esmtp = True
        self.sent: list[tuple[str, list[str], bytes]] = []

    def sendmail(self, from_addr, to_addrs, msg, mail_options=(), rcpt_options=()):  # type: ignore[no-untyped-def]
        self.sent.append((from_addr, list(to_addrs), msg))
        return {}


def _send_message(msg: EmailMessage) -> tuple[str, list[str], bytes]:
    smtp = _Captured()
    smtp.send_message(msg)
    (sent,) = smtp.sent
    return sent


def _same_as_send_message(msg: EmailMessage) -> wire.Envelope:
    msg["Date"] = DATE
    got = wire.envelope(msg)  # first: it gives the multipart its boundary
    assert got is not None
    assert (got.sender, got.recipients, got.data) == _send_message(msg)
    return got


def _invoices(factory: ModuleType) -> list[object]:
    long_name = replace(
        factory.SELLER, name="Societatea Comercială de Servicii Informatice Bună Ziua SRL"
    )
    return [
        factory.standard_invoice(),
        factory.storno_invoice(),
        factory.eur_invoice(),
        factory.reverse_charge_invoice(),  # a payer abroad: Romanian and English texts
        replace(factory.standard_invoice(), seller=long_name),  # a subject that folds
    ]


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"bcc": ["arhiva@firma-mea.ro", "Contabil <contabil@firma-mea.ro>"]},
        {"reply_to": "office@firma-mea.ro"},
    ],
)
def test_invoice_emails_are_sent_as_send_message_sends_them(
    factory: ModuleType, options: dict[str, object]
) -> None:
    for invoice in _invoices(factory):
        msg = compose_invoice_email(
            invoice,  # type: ignore[arg-type]
            PDF,
            XML,
            mail_from="Facturare Ștefănescu <facturi@firma-mea.ro>",
            to=[  # a To line longer than 78 characters: folded
                "achizitii@stefanescu.ro",
                '"Popescu, Ion" <ion@example.com>',
                "contabilitate@stefanescu-distributie.ro",
            ],
            message_id="factura-SEF000123-1@firma-mea.ro",
            **options,  # type: ignore[arg-type]
        )
        got = _same_as_send_message(msg)
        assert got.sender == "facturi@firma-mea.ro"
        assert got.recipients[:2] == ["achizitii@stefanescu.ro", "ion@example.com"]
        assert b"\r\nBcc:" not in got.data and not got.data.startswith(b"Bcc:")


def test_the_bcc_addresses_are_envelope_only(factory: ModuleType) -> None:
    msg = compose_invoice_email(
        factory.standard_invoice(),
        PDF,
        XML,
        mail_from="facturi@firma-mea.ro",
        to="achizitii@stefanescu.ro",
        bcc=["arhiva@firma-mea.ro"],
    )
    got = _same_as_send_message(msg)
    assert got.recipients == ["achizitii@stefanescu.ro", "arhiva@firma-mea.ro"]
    assert b"arhiva@" not in got.data
    assert msg["Bcc"] == "arhiva@firma-mea.ro"  # the message itself keeps it


def test_the_merchant_digest_is_sent_as_send_message_sends_it() -> None:
    notice = MerchantNotice(
        "anaf_rejected",
        "Factura a fost respinsă de ANAF",
        "SEF000120",
        (Problem("BR-RO-100", "", "Codul de identificare al cumpărătorului lipsește.", ""),),
        datetime(2026, 11, 21, 9, 0, tzinfo=UTC),
        title_en="The invoice was rejected by ANAF",
    )
    msg = compose_merchant_digest(
        [notice],
        mail_from="facturi@firma-mea.ro",
        to=["patron@firma-mea.ro"],
        company_name="Firma Mea SRL",
    )
    _same_as_send_message(msg)


def test_the_bytes_read_back_as_the_standard_policy_writes_them(factory: ModuleType) -> None:
    """Composed with :data:`wire.POLICY` (one class per header name), the message is what
    the standard policy makes of the same bytes."""
    msg = compose_invoice_email(
        factory.standard_invoice(), PDF, XML, mail_from="facturi@firma-mea.ro", to="a@b.ro"
    )
    data = _same_as_send_message(msg).data
    assert message_from_bytes(data, policy=policy.SMTP).as_bytes() == data
    registry = wire.POLICY.header_factory
    assert registry["Subject"] is registry["subject"]  # type: ignore[index]


def test_what_it_does_not_cover_goes_to_send_message(factory: ModuleType) -> None:
    def invoice_mail(to: str) -> EmailMessage:
        return compose_invoice_email(
            factory.standard_invoice(), PDF, XML, mail_from="facturi@firma-mea.ro", to=to
        )

    resent = invoice_mail("a@b.ro")
    resent["Resent-From"] = "alt@firma-mea.ro"
    assert wire.envelope(resent) is None
    assert wire.envelope(invoice_mail("ștefan@exemplu.ro")) is None  # SMTPUTF8
    legacy = MIMEText("text", "plain", "utf-8")  # compat32: not the default policy
    legacy["From"], legacy["To"] = "a@b.ro", "c@d.ro"
    assert wire.envelope(legacy) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text", ["one\ntwo\n", "one\r\ntwo\r\n", "mixed\r\nends\rhere\n", "no end", ""]
)
def test_a_text_body_has_crlf_line_ends_as_the_generator_writes_them(text: str) -> None:
    msg = EmailMessage(policy=wire.POLICY)
    msg["From"], msg["To"], msg["Subject"] = "a@b.ro", "c@d.ro", "s"
    msg.set_payload(text)
    msg["Content-Type"] = "text/plain"
    _same_as_send_message(msg)
