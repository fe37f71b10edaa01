"""SmtpSender against a real aiosmtpd server on 127.0.0.1: delivery, TLS, AUTH, failures."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from types import ModuleType
from typing import Any

import pytest

from stripe_efactura.errors import EfacturaError, Problem
from stripe_efactura.mail.compose import (
    MerchantNotice,
    compose_invoice_email,
    compose_merchant_digest,
)
from stripe_efactura.mail.send import DirectorySender, SmtpError, SmtpSender, classify_smtp_code
from stripe_efactura.pdf.render import render_pdf

# what the ``auth=True`` test servers accept (tests/mail/conftest.py, ``smtp_credentials``)
USER, PASSWORD = "facturi@firma-mea.ro", "s3cret-Pass"

XML = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    "<Invoice><cbc:Note>Mulțumim — ă â î ș ț</cbc:Note></Invoice>\n"
).encode()

EXPECTED_BODY = (
    "Bună ziua,\n"
    "\n"
    "Vă transmitem factura SEF000123 din 21.11.2026, emisă de Firma Mea SRL, "
    "în valoare totală de 2.046,98 RON.\n"
    "Plata a fost efectuată cu cardul prin Stripe (referință pi_3QabcDEF123).\n"
    "\n"
    "Găsiți atașate factura în format PDF (SEF000123.pdf) și fișierul XML e-Factura "
    "(SEF000123.xml), în formatul transmis la ANAF.\n"
    "\n"
    "Cu stimă,\n"
    "Firma Mea SRL\n"
    "contabilitate@firma-mea.ro · +40 21 000 0000\n"
)


def invoice_message(factory: ModuleType) -> tuple[EmailMessage, bytes]:
    pdf = render_pdf(factory.standard_invoice())
    msg = compose_invoice_email(
        factory.standard_invoice(),
        pdf,
        XML,
        mail_from="facturi@firma-mea.ro",
        to="Client Ștefănescu SRL <achizitii@stefanescu.ro>",
    )
    return msg, pdf


def parse(data: bytes) -> EmailMessage:
    # SMTP carries CRLF line ends; a mailbox stores LF (base64 attachments do not care)
    msg = BytesParser(policy=policy.default).parsebytes(data.replace(b"\r\n", b"\n"))
    assert isinstance(msg, EmailMessage)
    return msg


def assert_invoice_received(server: Any, pdf: bytes) -> EmailMessage:
    (got,) = server.messages
    assert got.mail_from == "facturi@firma-mea.ro"
    assert got.rcpt_tos == ["achizitii@stefanescu.ro"]
    msg = parse(got.data)
    assert msg["Subject"] == "Factura SEF000123 din 21.11.2026 — Firma Mea SRL"
    assert msg["From"] == "Firma Mea SRL <facturi@firma-mea.ro>"
    assert msg["To"] == "Client Ștefănescu SRL <achizitii@stefanescu.ro>"
    assert msg["Reply-To"] == "contabilitate@firma-mea.ro"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["Date"] is not None
    assert msg["Message-ID"].endswith("@firma-mea.ro>")
    body = msg.get_body(("plain",))
    assert body is not None
    assert body.get_content() == EXPECTED_BODY
    attachments = [
        (part.get_filename(), part.get_content_type(), part.get_payload(decode=True))
        for part in msg.iter_attachments()
    ]
    assert attachments == [
        ("SEF000123.pdf", "application/pdf", pdf),
        ("SEF000123.xml", "application/xml", XML),
    ]
    return msg


@pytest.mark.parametrize("starttls", [False, True], ids=["plain", "starttls-not-offered"])
def test_invoice_arrives_intact_over_plain_smtp(
    smtp_server: Any, factory: ModuleType, starttls: bool
) -> None:
    # With starttls=True and no user, a server that offers no STARTTLS (a local relay)
    # still gets the message.
    server = smtp_server()
    msg, pdf = invoice_message(factory)
    SmtpSender("127.0.0.1", server.port, starttls=starttls, timeout=10).send(msg)
    got = assert_invoice_received(server, pdf)
    assert server.messages[0].tls is False
    assert server.messages[0].login is None
    assert got["Message-ID"] == msg["Message-ID"]  # the sender added it in place


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_auth_login_is_used_when_a_user_is_set(smtp_server: Any, factory: ModuleType) -> None:
    server = smtp_server(auth=True, auth_require_tls=False)
    msg, pdf = invoice_message(factory)
    SmtpSender("127.0.0.1", server.port, USER, PASSWORD, starttls=False, timeout=10).send(msg)
    assert_invoice_received(server, pdf)
    assert server.messages[0].login == USER.encode()


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_non_ascii_password_uses_utf8_auth_plain(smtp_server: Any, factory: ModuleType) -> None:
    server = smtp_server(auth=True, auth_require_tls=False, password="parolă-ștearsă")
    msg, pdf = invoice_message(factory)
    SmtpSender("127.0.0.1", server.port, USER, "parolă-ștearsă", starttls=False, timeout=10).send(
        msg
    )
    assert_invoice_received(server, pdf)
    assert server.messages[0].login == USER.encode()


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_wrong_password_is_permanent(smtp_server: Any, factory: ModuleType) -> None:
    server = smtp_server(auth=True, auth_require_tls=False)
    msg, _ = invoice_message(factory)
    sender = SmtpSender("127.0.0.1", server.port, USER, "wrong", starttls=False, timeout=10)
    with pytest.raises(SmtpError) as err:
        sender.send(msg)
    assert isinstance(err.value, EfacturaError)
    assert (err.value.code, err.value.retryable, err.value.smtp_code) == ("E-SMTP", False, 535)
    assert server.messages == []


def test_starttls_then_auth(smtp_server: Any, factory: ModuleType, tls: Any) -> None:
    server = smtp_server(tls_context=tls.server_context(), require_starttls=True, auth=True)
    msg, pdf = invoice_message(factory)
    SmtpSender(
        "127.0.0.1",
        server.port,
        USER,
        PASSWORD,
        starttls=True,
        timeout=10,
        ssl_context=tls.client_context(),
    ).send(msg)
    assert_invoice_received(server, pdf)
    assert server.messages[0].tls is True
    assert server.messages[0].login == USER.encode()


def test_untrusted_certificate_is_permanent(
    smtp_server: Any, factory: ModuleType, tls: Any
) -> None:
    server = smtp_server(tls_context=tls.server_context(), require_starttls=True)
    msg, _ = invoice_message(factory)
    with pytest.raises(SmtpError) as err:
        # the default context trusts the system CAs only: the self-signed cert fails
        SmtpSender("127.0.0.1", server.port, starttls=True, timeout=10).send(msg)
    assert (err.value.code, err.value.retryable) == ("E-SMTP", False)
    assert "does not verify" in err.value.message
    assert server.messages == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_implicit_tls(smtp_server: Any, factory: ModuleType, tls: Any) -> None:
    server = smtp_server(
        # aiosmtpd only advertises AUTH after STARTTLS unless told the link is safe
        ssl_context=tls.server_context(),
        auth=True,
        auth_require_tls=False,
    )
    msg, pdf = invoice_message(factory)
    SmtpSender(
        "127.0.0.1",
        server.port,
        USER,
        PASSWORD,
        timeout=10,
        implicit_tls=True,
        ssl_context=tls.client_context(),
    ).send(msg)
    assert_invoice_received(server, pdf)
    assert server.messages[0].tls is True


def test_password_is_never_sent_without_tls(smtp_server: Any, factory: ModuleType) -> None:
    server = smtp_server(auth=True, auth_required=False, auth_require_tls=False)
    msg, _ = invoice_message(factory)
    sender = SmtpSender("127.0.0.1", server.port, USER, PASSWORD, starttls=True, timeout=10)
    with pytest.raises(SmtpError) as err:
        sender.send(msg)
    assert (err.value.code, err.value.retryable) == ("E-SMTP", False)
    assert "does not offer STARTTLS" in err.value.message
    assert server.messages == []


def test_server_down_is_retryable_then_send_succeeds(
    smtp_server: Any, factory: ModuleType, free_port: Any
) -> None:
    port = free_port()
    msg, pdf = invoice_message(factory)
    sender = SmtpSender("127.0.0.1", port, starttls=False, timeout=5)
    with pytest.raises(SmtpError) as err:
        sender.send(msg)
    assert (err.value.code, err.value.retryable, err.value.smtp_code) == ("E-SMTP", True, None)
    assert "refused the connection" in err.value.message

    server = smtp_server(port=port)
    sender.send(msg)
    assert_invoice_received(server, pdf)


def test_silent_server_times_out_retryably(factory: ModuleType) -> None:
    # accepts the TCP connection (backlog) but never sends the 220 greeting
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        msg, _ = invoice_message(factory)
        with pytest.raises(SmtpError) as err:
            SmtpSender("127.0.0.1", port, starttls=False, timeout=0.5).send(msg)
    assert (err.value.code, err.value.retryable) == ("E-SMTP", True)
    assert "timed out" in err.value.message


@pytest.mark.parametrize(
    ("reply", "retryable", "code"),
    [
        ("550 5.1.1 No such user", False, 550),
        ("451 4.3.0 Try again later", True, 451),
    ],
)
def test_refused_recipient_is_classified_by_reply_code(
    smtp_server: Any, factory: ModuleType, reply: str, retryable: bool, code: int
) -> None:
    server = smtp_server(rcpt_reply={"achizitii@stefanescu.ro": reply})
    msg, _ = invoice_message(factory)
    with pytest.raises(SmtpError) as err:
        SmtpSender("127.0.0.1", server.port, starttls=False, timeout=10).send(msg)
    assert (err.value.retryable, err.value.smtp_code) == (retryable, code)
    assert f"achizitii@stefanescu.ro: {reply}" in err.value.message
    assert server.messages == []


@pytest.mark.parametrize(
    ("reply", "retryable", "code"),
    [("554 5.6.0 Message rejected", False, 554), ("452 4.3.1 Out of storage", True, 452)],
)
def test_refused_data_is_classified_by_reply_code(
    smtp_server: Any, factory: ModuleType, reply: str, retryable: bool, code: int
) -> None:
    server = smtp_server(data_reply=reply)
    msg, _ = invoice_message(factory)
    with pytest.raises(SmtpError) as err:
        SmtpSender("127.0.0.1", server.port, starttls=False, timeout=10).send(msg)
    assert (err.value.retryable, err.value.smtp_code) == (retryable, code)


def test_partial_refusal_does_not_raise(smtp_server: Any) -> None:
    # one of two merchant addresses refused: the other got it, so no retry (no duplicate)
    server = smtp_server(rcpt_reply={"gone@firma-mea.ro": "550 No such user"})
    notice = MerchantNotice(
        "auth_expiry",
        "Autorizarea ANAF expiră în 7 zile",
        "CUI 18547290",
        (),
        datetime(2026, 11, 21, 10, 30, tzinfo=UTC),
    )
    msg = compose_merchant_digest(
        [notice],
        mail_from="stripe-efactura@firma-mea.ro",
        to=["contabilitate@firma-mea.ro", "gone@firma-mea.ro"],
        company_name="Firma Mea SRL",
    )
    SmtpSender("127.0.0.1", server.port, starttls=False, timeout=10).send(msg)
    (got,) = server.messages
    assert got.rcpt_tos == ["contabilitate@firma-mea.ro"]


def test_merchant_digest_reaches_every_address(smtp_server: Any) -> None:
    server = smtp_server()
    problem = Problem(
        "E-BUYER-CUI",
        "customer.tax_ids",
        "CUI-ul cumpărătorului nu este valid.",
        "The buyer's CUI is not valid.",
        hint="Correct the tax id in Stripe.",
        hint_ro="Corectați codul fiscal în Stripe.",
    )
    notice = MerchantNotice(
        "payment_problem",
        "Plata nu poate fi facturată",
        "pi_3QabcDEF123",
        (problem,),
        datetime(2026, 11, 21, 10, 5, tzinfo=UTC),
    )
    msg = compose_merchant_digest(
        [notice],
        mail_from="stripe-efactura@firma-mea.ro",
        to=["contabilitate@firma-mea.ro", "emitent@firma-mea.ro"],
        company_name="Firma Mea SRL",
    )
    SmtpSender("127.0.0.1", server.port, starttls=False, timeout=10).send(msg)
    (got,) = server.messages
    assert got.rcpt_tos == ["contabilitate@firma-mea.ro", "emitent@firma-mea.ro"]
    received = parse(got.data)
    assert received["Subject"] == "Firma Mea SRL — e-Factura: 1 notificare / 1 notification"
    assert received.get_content() == msg.get_content()
    assert "   - [E-BUYER-CUI] customer.tax_ids: CUI-ul cumpărătorului nu este valid.\n" in (
        received.get_content()
    )


def test_credentials_match_the_test_server(smtp_credentials: tuple[str, str]) -> None:
    assert smtp_credentials == (USER, PASSWORD)


def test_reply_code_classification() -> None:
    assert [classify_smtp_code(c) for c in (421, 450, 451, 452, 454, 500, 535, 550, 554)] == [
        True,
        True,
        True,
        True,
        True,
        False,
        False,
        False,
        False,
    ]


def test_from_settings_needs_a_host(tmp_path: object) -> None:
    from pathlib import Path

    from stripe_efactura.config import demo_settings
    from stripe_efactura.errors import ConfigError

    settings = demo_settings(Path(str(tmp_path)))
    with pytest.raises(ConfigError):
        SmtpSender.from_settings(settings)
    sender = SmtpSender.from_settings(
        settings.with_(smtp_host="smtp.example.ro", smtp_port=465, smtp_user="u")
    )
    assert (sender.host, sender.port, sender.user, sender.implicit_tls) == (
        "smtp.example.ro",
        465,
        "u",
        True,
    )


def test_directory_sender_writes_each_message_once(factory: ModuleType, tmp_path: Any) -> None:
    msg, pdf = invoice_message(factory)
    sender = DirectorySender(tmp_path / "outbox")
    sender.send(msg)
    sender.send(msg)  # same Message-ID: same file
    (path,) = (tmp_path / "outbox").iterdir()
    assert path == sender.path_for(msg)
    assert path.suffix == ".eml"
    received = parse(path.read_bytes())
    assert received["Subject"] == "Factura SEF000123 din 21.11.2026 — Firma Mea SRL"
    assert received["Message-ID"] == msg["Message-ID"]
    body = received.get_body(("plain",))
    assert body is not None and body.get_content() == EXPECTED_BODY
    assert [p.get_payload(decode=True) for p in received.iter_attachments()] == [pdf, XML]


def test_directory_sender_failure_is_coded(factory: ModuleType, tmp_path: Any) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    msg, _ = invoice_message(factory)
    with pytest.raises(SmtpError) as err:
        DirectorySender(blocker / "outbox").send(msg)
    assert (err.value.code, err.value.retryable) == ("E-MAIL-WRITE", True)


def _kept(server: Any, keep_open: float = 60.0) -> SmtpSender:
    """A plain (no TLS, no AUTH) sender to ``server`` that keeps its connection."""
    return SmtpSender("127.0.0.1", server.port, starttls=False, timeout=5, keep_open=keep_open)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_a_kept_connection_carries_a_burst_with_one_log_in(
    smtp_server: Any, factory: ModuleType, smtp_credentials: tuple[str, str]
) -> None:
    server = smtp_server(auth=True, auth_require_tls=False)
    user, password = smtp_credentials
    sender = SmtpSender(
        "127.0.0.1", server.port, user, password, starttls=False, timeout=5, keep_open=60
    )
    for _ in range(3):
        sender.send(invoice_message(factory)[0])
    sender.close()
    assert server.handler.greetings == 1
    assert [m.login for m in server.messages] == [user.encode()] * 3
    assert len({m.data for m in server.messages}) == 3  # three messages, three Message-IDs


def test_a_kept_connection_the_server_dropped_is_replaced(
    smtp_server: Any, factory: ModuleType
) -> None:
    server = smtp_server()
    sender = _kept(server)
    sender.send(invoice_message(factory)[0])
    server.controller.stop()  # the kept connection dies with it
    again = smtp_server(port=server.port)
    msg, pdf = invoice_message(factory)
    sender.send(msg)
    assert_invoice_received(again, pdf)
    assert (len(server.messages), again.handler.greetings) == (1, 1)


def test_an_idle_kept_connection_is_not_used_after_keep_open(
    smtp_server: Any, factory: ModuleType
) -> None:
    server = smtp_server()
    sender = _kept(server, keep_open=0.05)
    sender.send(invoice_message(factory)[0])
    time.sleep(0.1)
    sender.send(invoice_message(factory)[0])
    assert (len(server.messages), server.handler.greetings) == (2, 2)


def test_a_failed_message_closes_the_kept_connection(smtp_server: Any, factory: ModuleType) -> None:
    server = smtp_server(data_reply="451 4.3.0 Try again later")
    sender = _kept(server)
    with pytest.raises(SmtpError) as err:
        sender.send(invoice_message(factory)[0])
    assert (err.value.retryable, err.value.smtp_code) == (True, 451)
    server.handler.data_reply = None
    msg, pdf = invoice_message(factory)
    sender.send(msg)
    assert_invoice_received(server, pdf)
    assert server.handler.greetings == 2
