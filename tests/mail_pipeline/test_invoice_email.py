"""The payer's email through the job pipeline (render_pdf -> email_invoice) against a real
SMTP server on 127.0.0.1: exact content, exactly once, SMTP down then up, a crash between
the send and its record, permanent failures, no recipient, the outbox directory."""

from __future__ import annotations

import hashlib
import json
import socket
from collections import Counter
from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import sqlalchemy as sa

from stripe_efactura.app import digest as digest_use_case
from stripe_efactura.app import mailing
from stripe_efactura.config import EmailPolicy
from stripe_efactura.errors import RetryLater
from stripe_efactura.invoicing.model import Invoice
from stripe_efactura.mail.send import SmtpError, SmtpSender
from stripe_efactura.pdf.render import render_pdf
from stripe_efactura.store import db
from stripe_efactura.store import invoices as store
from stripe_efactura.store.tables import invoice_log, jobs, notices
from stripe_efactura.ubl.render import render

BUYER = "achizitii@stefanescu.ro"


def expected_body(number: str) -> str:
    return (
        "Bună ziua,\n"
        "\n"
        f"Vă transmitem factura {number} din 21.11.2026, emisă de Firma Mea SRL, "
        "în valoare totală de 2.046,98 RON.\n"
        "Plata a fost efectuată cu cardul prin Stripe (referință pi_3QabcDEF123).\n"
        "\n"
        f"Găsiți atașate factura în format PDF ({number}.pdf) și fișierul XML e-Factura "
        f"({number}.xml), în formatul transmis la ANAF.\n"
        "\n"
        "Cu stimă,\n"
        "Firma Mea SRL\n"
        "contabilitate@firma-mea.ro · +40 21 000 0000\n"
    )


def expected_message_id(invoice_id: int, number: str, payment_key: str, part: str = "") -> str:
    seed = f"{invoice_id}\0{number}\0{payment_key}\0invoice"
    return f"<{number}{part}.{hashlib.sha256(seed.encode()).hexdigest()[:16]}@example.ro>"


def attachments(msg: EmailMessage) -> list[tuple[str | None, str, bytes]]:
    out = []
    for part in msg.iter_attachments():
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        out.append((part.get_filename(), part.get_content_type(), payload))
    return out


def assert_invoice_email(
    msg: EmailMessage, invoice: Invoice, row: Any, *, message_id: str, to: str = BUYER
) -> None:
    number = invoice.number
    assert msg["Subject"] == f"Factura {number} din 21.11.2026 — Firma Mea SRL"
    assert msg["From"] == "Firma Mea SRL <facturi@example.ro>"
    assert msg["To"] == to
    assert msg["Reply-To"] == "contabilitate@firma-mea.ro"
    assert msg["X-Efactura-Invoice"] == number
    assert msg["Message-ID"] == message_id
    body = msg.get_body(("plain",))
    assert body is not None
    assert body.get_content() == expected_body(number)
    assert attachments(msg) == [
        (f"{number}.pdf", "application/pdf", render_pdf(invoice)),
        (f"{number}.xml", "application/xml", render(invoice)),
    ]
    assert bytes(row.pdf) == render_pdf(invoice)
    assert bytes(row.xml) == render(invoice)


def test_issued_invoice_is_emailed_once_with_exact_content(
    pipe: Any, start_smtp: Any, factory: ModuleType
) -> None:
    server = start_smtp()
    invoice_id, invoice = pipe.issue(factory.standard_invoice())
    assert invoice.number == "SEF000001"
    pipe.drain()
    assert pipe.job_states("render_pdf") == [("done", 1)]
    assert pipe.job_states("email_invoice") == [("done", 1)]
    (got,) = server.messages
    assert got.mail_from == "facturi@example.ro"
    assert got.rcpt_tos == [BUYER]
    row = pipe.row(invoice_id)
    assert row.email_state == "sent"
    message_id = expected_message_id(invoice_id, "SEF000001", "pi_3QabcDEF123")
    assert_invoice_email(got.parsed(), invoice, row, message_id=message_id)
    assert pipe.timeline(invoice_id) == [
        "issued",
        "pdf_rendered",
        "email_queued",
        "email_sending",
        "email_sent",
    ]
    # the jobs again (a duplicate delivery of the same job): nothing more is sent
    with db.write(pipe.ctx.engine) as conn:
        conn.execute(jobs.update().values(status="queued", attempts=0))
    pipe.drain()
    assert pipe.job_states("email_invoice") == [("done", 1)]
    assert len(server.messages) == 1
    assert pipe.timeline(invoice_id)[-1] == "email_sent"


def test_smtp_down_then_up_nothing_lost_each_email_exactly_once(
    pipe: Any, start_smtp: Any, factory: ModuleType
) -> None:
    issued = [pipe.issue(factory.standard_invoice(), payment_key=f"pi_down_{i}") for i in range(3)]
    pipe.drain()  # nothing listens on the SMTP port
    for invoice_id, _invoice in issued:
        assert pipe.row(invoice_id).email_state == "retrying"
    assert pipe.job_states("email_invoice") == [("queued", 1)] * 3
    pipe.travel(3600)
    pipe.drain()  # still down
    assert pipe.job_states("email_invoice") == [("queued", 2)] * 3

    server = start_smtp()
    pipe.travel(3600)
    pipe.drain()
    pipe.travel(3600)
    pipe.drain()  # nothing left to do
    assert pipe.job_states("email_invoice") == [("done", 3)] * 3

    expected = {
        expected_message_id(invoice_id, invoice.number, f"pi_down_{i}"): invoice.number
        for i, (invoice_id, invoice) in enumerate(issued)
    }
    received = Counter(m.parsed()["Message-ID"] for m in server.messages)
    assert received == Counter(dict.fromkeys(expected, 1))
    for got in server.messages:
        msg = got.parsed()
        number = expected[msg["Message-ID"]]
        invoice_id, invoice = next((i, inv) for i, inv in issued if inv.number == number)
        assert got.rcpt_tos == [BUYER]
        assert_invoice_email(msg, invoice, pipe.row(invoice_id), message_id=msg["Message-ID"])
    for invoice_id, _invoice in issued:
        assert pipe.row(invoice_id).email_state == "sent"
        assert pipe.timeline(invoice_id) == [
            "issued",
            "pdf_rendered",
            "email_queued",
            "email_sending",
            "email_retry",
            "email_sending",
            "email_retry",
            "email_sending",
            "email_sent",
        ]
    with db.read(pipe.ctx.engine) as conn:  # a retryable failure is not a merchant notice
        assert conn.execute(sa.select(sa.func.count()).select_from(notices)).scalar() == 0


class CrashAfterSend:
    """The server accepts the message, then the worker dies before recording it."""

    def __init__(self, inner: SmtpSender) -> None:
        self.inner = inner

    def send(self, msg: EmailMessage) -> None:
        self.inner.send(msg)
        raise RuntimeError("worker killed right after the server accepted the message")


def test_crash_between_send_and_record_resends_with_the_same_message_id(
    pipe: Any, start_smtp: Any, factory: ModuleType
) -> None:
    server = start_smtp()
    invoice_id, invoice = pipe.issue(factory.standard_invoice())
    pipe.ctx.mail_sender = CrashAfterSend(SmtpSender.from_settings(pipe.ctx.settings))
    pipe.drain()
    pipe.ctx.mail_sender = None
    assert len(server.messages) == 1
    assert pipe.row(invoice_id).email_state == "sending"

    # a minute later: the mark is fresh, it could be another worker still sending -> wait
    pipe.travel(60)
    pipe.drain()
    assert len(server.messages) == 1
    assert pipe.row(invoice_id).email_state == "sending"

    # past SENDING_STALE_SECONDS: a crashed attempt, sent again with the same Message-ID
    pipe.travel(mailing.SENDING_STALE_SECONDS)
    pipe.drain()
    message_id = expected_message_id(invoice_id, "SEF000001", "pi_3QabcDEF123")
    assert [m.parsed()["Message-ID"] for m in server.messages] == [message_id, message_id]
    row = pipe.row(invoice_id)
    assert row.email_state == "sent"
    assert_invoice_email(server.messages[1].parsed(), invoice, row, message_id=message_id)
    with db.read(pipe.ctx.engine) as conn:
        marks = conn.execute(
            sa.select(invoice_log.c.detail)
            .where(invoice_log.c.invoice_id == invoice_id, invoice_log.c.event == "email_sending")
            .order_by(invoice_log.c.id)
        ).all()
    details = [json.loads(m.detail) for m in marks]
    assert [(d["attempt"], d["message_id"], d["recovered"]) for d in details] == [
        (1, message_id, False),
        (3, message_id, True),
    ]


def test_fresh_sending_mark_makes_a_second_worker_wait(
    pipe: Any, start_smtp: Any, factory: ModuleType
) -> None:
    server = start_smtp()
    invoice_id, _invoice = pipe.issue(factory.standard_invoice())
    with db.write(pipe.ctx.engine) as conn:  # render_pdf ran; another worker marked sending
        conn.execute(jobs.update().values(status="done"))
    pipe.ctx.mail_sender = CrashAfterSend(SmtpSender.from_settings(pipe.ctx.settings))
    with pytest.raises(RuntimeError):
        mailing.send_invoice_email(pipe.ctx, invoice_id)
    pipe.ctx.mail_sender = None
    with pytest.raises(RetryLater, match="another worker is sending"):
        mailing.send_invoice_email(pipe.ctx, invoice_id, attempt=2)
    assert len(server.messages) == 1


@pytest.mark.parametrize("meanwhile", ["sending", "sent"])
def test_a_worker_that_read_the_invoice_before_another_took_the_email_sends_nothing(
    pipe: Any, start_smtp: Any, factory: ModuleType, monkeypatch: Any, meanwhile: str
) -> None:
    """The claim is a guarded UPDATE on the state read before the email was composed; when
    another worker marked the email ``sending`` or ``sent`` in between, it matches nothing
    and the locked path decides: wait for the other worker, or nothing to do."""
    server = start_smtp()
    invoice_id, _invoice = pipe.issue(factory.standard_invoice())
    with db.write(pipe.ctx.engine) as conn:  # render_pdf ran
        conn.execute(jobs.update().values(status="done"))
    compose = mailing.compose_invoice_email

    def other_worker_first(*args: Any, **kwargs: Any) -> EmailMessage:
        msg = compose(*args, **kwargs)
        mark = ("email_sending", {"attempt": 1, "message_id": "<other@x>", "to": BUYER})
        with db.write(pipe.ctx.engine) as conn:
            store.update_invoice(conn, invoice_id, logged=[mark], email_state=meanwhile)
        return msg

    monkeypatch.setattr(mailing, "compose_invoice_email", other_worker_first)
    if meanwhile == "sending":
        with pytest.raises(RetryLater, match="another worker is sending"):
            mailing.send_invoice_email(pipe.ctx, invoice_id)
    else:
        assert mailing.send_invoice_email(pipe.ctx, invoice_id) == "already"
    assert server.messages == []
    assert pipe.row(invoice_id).email_state == meanwhile
    assert pipe.timeline(invoice_id) == ["issued", "pdf_rendered", "email_sending"]


def test_permanent_refusal_marks_failed_notifies_merchant_and_resend_to_another_address(
    pipe: Any, start_smtp: Any, factory: ModuleType
) -> None:
    server = start_smtp(rcpt_reply={BUYER: "550 5.1.1 No such user"})
    invoice_id, invoice = pipe.issue(factory.standard_invoice())
    pipe.drain()
    assert server.messages == []
    assert pipe.row(invoice_id).email_state == "failed"
    assert pipe.job_states("email_invoice") == [("done", 1)]  # not retried: a person must act
    assert pipe.timeline(invoice_id)[-2:] == ["email_sending", "email_failed"]

    pipe.travel(digest_use_case.DIGEST_SETTLE_SECONDS + 1)
    pipe.drain()
    (digest,) = server.messages
    assert sorted(digest.rcpt_tos) == ["contabilitate@example.ro", "emitent@example.ro"]
    msg = digest.parsed()
    assert msg["Subject"] == "Firma Mea SRL — e-Factura: 1 notificare / 1 notification"
    body = msg.get_body(("plain",))
    assert body is not None
    lines = body.get_content().splitlines()
    refused = f"127.0.0.1:{server.port} refused every recipient: {BUYER}: 550 5.1.1 No such user"
    start = lines.index("   Factura SEF000001 nu a putut fi trimisă clientului pe email")
    assert lines[start - 1].startswith("1. Email netrimis către client: SEF000001 (")
    assert lines[start + 1 : start + 4] == [
        f"   - [E-SMTP] buyer.email: Adresa de email a clientului a fost refuzată: {refused}",
        (
            "     Cum rezolvați: Verificați emailul clientului în Stripe, apoi retrimiteți cu "
            "`stripe-efactura invoices resend-email SEF000001 --to ADRESĂ`."
        ),
        "",
    ]
    assert "   Invoice SEF000001 could not be emailed to the customer" in lines

    result = mailing.resend_email(pipe.ctx, "SEF000001", to="contabilitate@stefanescu.ro")
    assert result == mailing.ResendResult(
        number="SEF000001",
        to="contabilitate@stefanescu.ro",
        message_id=expected_message_id(invoice_id, "SEF000001", "pi_3QabcDEF123", ".r1"),
    )
    assert len(server.messages) == 2
    got = server.messages[1]
    assert got.rcpt_tos == ["contabilitate@stefanescu.ro"]
    assert_invoice_email(
        got.parsed(),
        invoice,
        pipe.row(invoice_id),
        message_id=result.message_id,
        to="contabilitate@stefanescu.ro",
    )
    assert pipe.row(invoice_id).email_state == "sent"
    assert pipe.timeline(invoice_id)[-2:] == ["email_sending", "email_resent"]


def test_resend_sends_again_with_its_own_message_id(
    pipe: Any, start_smtp: Any, factory: ModuleType
) -> None:
    server = start_smtp()
    invoice_id, invoice = pipe.issue(factory.standard_invoice())
    pipe.drain()
    first = mailing.resend_email(pipe.ctx, "SEF000001")
    second = mailing.resend_email(pipe.ctx, "SEF000001")
    ids = [m.parsed()["Message-ID"] for m in server.messages]
    base = expected_message_id(invoice_id, "SEF000001", "pi_3QabcDEF123")
    r1 = expected_message_id(invoice_id, "SEF000001", "pi_3QabcDEF123", ".r1")
    r2 = expected_message_id(invoice_id, "SEF000001", "pi_3QabcDEF123", ".r2")
    assert ids == [base, r1, r2]
    assert (first.message_id, second.message_id, first.to) == (r1, r2, BUYER)
    for got in server.messages:
        assert got.rcpt_tos == [BUYER]
        assert_invoice_email(
            got.parsed(), invoice, pipe.row(invoice_id), message_id=got.parsed()["Message-ID"]
        )
    assert pipe.timeline(invoice_id)[3:] == [
        "email_sending",
        "email_sent",
        "email_sending",
        "email_resent",
        "email_sending",
        "email_resent",
    ]


def test_resend_while_smtp_is_down_raises_and_keeps_the_state(
    pipe: Any, start_smtp: Any, factory: ModuleType
) -> None:
    server = start_smtp()
    invoice_id, _invoice = pipe.issue(factory.standard_invoice())
    pipe.drain()
    assert len(server.messages) == 1
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as closed:
        closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        port = int(closed.getsockname()[1])
        pipe.ctx.settings = pipe.ctx.settings.with_(smtp_port=port)
        with pytest.raises(SmtpError) as info:
            mailing.resend_email(pipe.ctx, "SEF000001")
    assert info.value.retryable
    assert pipe.row(invoice_id).email_state == "sent"
    assert pipe.timeline(invoice_id)[-2:] == ["email_sending", "email_resend_failed"]


def test_payer_without_email_and_sending_switched_off(
    make_pipe: Any, start_smtp: Any, factory: ModuleType
) -> None:
    server = start_smtp()
    pipe = make_pipe()
    no_email = replace(factory.standard_invoice(), buyer=replace(factory.BUYER_RO, email=None))
    invoice_id, _invoice = pipe.issue(no_email)
    pipe.drain()
    assert pipe.job_states("render_pdf") == [("done", 1)]
    assert pipe.row(invoice_id).email_state == "no_recipient"
    assert pipe.timeline(invoice_id) == ["issued", "pdf_rendered", "email_skipped"]
    assert pipe.job_states("email_invoice") == []

    off = make_pipe(email=EmailPolicy(send_to_payer=False))
    other_id, _ = off.issue(factory.standard_invoice(), payment_key="pi_off")
    off.drain()
    assert off.row(other_id).email_state == "disabled"
    assert server.messages == []


def test_without_smtp_host_messages_go_to_the_outbox_with_merchant_templates(
    make_pipe: Any, tmp_path: Path, factory: ModuleType
) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "invoice_subject.txt").write_text("Factura dvs. $number de la $seller_name\n")
    (templates / "invoice_body.txt").write_text(
        "Bună ziua, $buyer_name,\n\nAtașat: $document_lower $number ($total).\n"
    )
    pipe = make_pipe(smtp_host=None, email=EmailPolicy(templates_dir=str(templates)))
    invoice_id, invoice = pipe.issue(factory.standard_invoice())
    pipe.drain()
    (eml,) = sorted((tmp_path / "outbox").glob("*.eml"))
    from email import policy
    from email.parser import BytesParser

    msg = BytesParser(policy=policy.default).parsebytes(eml.read_bytes().replace(b"\r\n", b"\n"))
    assert isinstance(msg, EmailMessage)
    assert msg["Subject"] == "Factura dvs. SEF000001 de la Firma Mea SRL"
    assert msg["To"] == BUYER
    assert msg["Message-ID"] == expected_message_id(invoice_id, "SEF000001", "pi_3QabcDEF123")
    body = msg.get_body(("plain",))
    assert body is not None
    assert body.get_content() == (
        "Bună ziua, Client Ștefănescu SRL,\n\nAtașat: factura SEF000001 (2.046,98 RON).\n"
    )
    assert attachments(msg) == [
        ("SEF000001.pdf", "application/pdf", render_pdf(invoice)),
        ("SEF000001.xml", "application/xml", render(invoice)),
    ]
    assert pipe.row(invoice_id).email_state == "outbox"  # written, not sent


def test_last_attempt_with_smtp_down_marks_failed_and_notifies(
    pipe: Any, factory: ModuleType
) -> None:
    invoice_id, _invoice = pipe.issue(factory.standard_invoice())
    with db.write(pipe.ctx.engine) as conn:
        conn.execute(jobs.update().values(status="done"))
    from stripe_efactura.app import documents

    documents.render_invoice_pdf(pipe.ctx, invoice_id)
    last = documents.EMAIL_MAX_ATTEMPTS
    with pytest.raises(RetryLater):  # nothing listens on the SMTP port
        mailing.send_invoice_email(pipe.ctx, invoice_id, attempt=last - 1)
    assert mailing.send_invoice_email(pipe.ctx, invoice_id, attempt=last) == "failed"
    assert pipe.row(invoice_id).email_state == "failed"
    with db.read(pipe.ctx.engine) as conn:
        (notice,) = conn.execute(sa.select(notices)).all()
    payload = json.loads(notice.payload)
    assert (notice.kind, notice.ref, payload["title"], payload["title_en"]) == (
        "email_failed",
        "SEF000001",
        "Factura SEF000001 nu a putut fi trimisă clientului pe email",
        "Invoice SEF000001 could not be emailed to the customer",
    )
    (problem,) = payload["problems"]
    port = pipe.ctx.settings.smtp_port
    assert (problem["code"], problem["field"], problem["message_en"], problem["hint"]) == (
        "E-SMTP",
        "smtp",
        (
            "The SMTP server did not take the email after many attempts: "
            f"127.0.0.1:{port} refused the connection (is it down?)"
        ),
        (
            "Check EFACTURA_SMTP_HOST and the server, then run "
            "`stripe-efactura invoices resend-email SEF000001`."
        ),
    )


def test_unreadable_logo_gives_a_pdf_without_logo_and_says_why(
    make_pipe: Any, tmp_path: Path, factory: ModuleType
) -> None:
    (tmp_path / "logo.png").write_bytes(b"not an image")
    base = make_pipe(smtp_host=None)
    company = replace(base.ctx.settings.company, logo_path="logo.png")
    base.ctx.settings = base.ctx.settings.with_(
        company=company, config_path=tmp_path / "efactura.toml"
    )
    invoice_id, invoice = base.issue(factory.standard_invoice())
    base.drain()
    assert bytes(base.row(invoice_id).pdf) == render_pdf(invoice)
    with db.read(base.ctx.engine) as conn:
        (detail,) = conn.execute(
            sa.select(invoice_log.c.detail).where(invoice_log.c.event == "pdf_rendered")
        ).all()
    assert json.loads(detail[0])["logo_error"].startswith("[E-PDF-LOGO] ")


def test_one_smtp_sender_per_context_and_settings_keeps_its_connection(
    make_pipe: Any,
) -> None:
    pipe = make_pipe()
    first = mailing.mail_sender(pipe.ctx)
    assert isinstance(first, SmtpSender) and first.keep_open == mailing.SMTP_KEEP_OPEN
    assert mailing.mail_sender(pipe.ctx) is first
    pipe.ctx.settings = replace(pipe.ctx.settings, smtp_port=first.port + 1)
    second = mailing.mail_sender(pipe.ctx)
    assert isinstance(second, SmtpSender)
    assert second is not first and second.port == first.port + 1


def test_the_emails_outcome_and_its_jobs_completion_after_the_send(
    pipe: Any, start_smtp: Any, factory: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After the SMTP server took the message: on PostgreSQL the outcome is one statement of
    its own and the job's completion another, both without ``BEGIN`` (two round trips where a
    transaction was four); on SQLite both in one write transaction (one commit)."""
    start_smtp()
    invoice_id, _invoice = pipe.issue(factory.standard_invoice())
    seen: list[str] = []
    real = mailing.email_state.hand_over

    def sent(*args: Any) -> Any:
        delivery = real(*args)
        seen.append("SENT")
        return delivery

    def statement(_conn: Any, _cursor: Any, text: str, *_args: Any) -> None:
        seen.append(" ".join(text.split())[:40])

    def begin(conn: Any) -> None:
        if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            seen.append("BEGIN")

    monkeypatch.setattr(mailing.email_state, "hand_over", sent)
    sa.event.listen(pipe.ctx.engine, "before_cursor_execute", statement)
    sa.event.listen(pipe.ctx.engine, "begin", begin)
    try:
        pipe.drain()
    finally:
        sa.event.remove(pipe.ctx.engine, "before_cursor_execute", statement)
        sa.event.remove(pipe.ctx.engine, "begin", begin)
    after = seen[seen.index("SENT") + 1 :]
    done = next(n for n, s in enumerate(after) if s.startswith("UPDATE jobs SET status"))
    steps = [s for s in after[: done + 1] if not s.startswith(("BEGIN IMMEDIATE", "SELECT"))]
    if db.is_sqlite(pipe.ctx.engine):
        assert steps == [
            "BEGIN",
            "UPDATE invoices SET email_state=?, updat",
            "INSERT INTO invoice_log (invoice_id, at,",
            "UPDATE jobs SET status=?, last_error=?, ",
        ]
    else:
        assert steps == [
            "WITH changed AS (UPDATE invoices SET ema",
            "UPDATE jobs SET status=%(status)s::VARCH",
        ]
    assert pipe.row(invoice_id).email_state == "sent"
    assert pipe.job_states("email_invoice") == [("done", 1)]
