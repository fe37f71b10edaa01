"""Honest email states (issue 14): ``sent`` only when an SMTP server (a real aiosmtpd here)
accepted the message, ``outbox`` when SMTP is not configured and the message only went to
``outbox/``, ``failed`` with the server's answer and a way to retry. The state, the timeline,
the log, ``invoices show``, ``resend-email`` and the API/console detail say the same."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from stripe_efactura import cli
from stripe_efactura.app import browse, mailing
from stripe_efactura.app import digest as digest_use_case
from stripe_efactura.config import STARTER_TOML
from stripe_efactura.store import db
from stripe_efactura.store import invoices as invoice_store

BUYER = "achizitii@stefanescu.ro"


def last_event(pipe: Any, invoice_id: int) -> tuple[str, dict[str, Any]]:
    with db.read(pipe.ctx.engine) as conn:
        row = invoice_store.timeline(conn, invoice_id)[-1]
    return str(row.event), json.loads(row.detail) if row.detail else {}


def email_logs(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "stripe_efactura.mailing"]


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str) -> Path:
    """``stripe-efactura`` on the test's database, without SMTP."""
    config = tmp_path / "efactura.toml"
    config.write_text(STARTER_TOML, encoding="utf-8")
    monkeypatch.setenv("EFACTURA_CONFIG", str(config))
    monkeypatch.setenv("EFACTURA_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("EFACTURA_DATABASE_URL", db_url)
    monkeypatch.setenv("EFACTURA_MAIL_FROM", "facturi@example.ro")
    monkeypatch.delenv("EFACTURA_SMTP_HOST", raising=False)
    return tmp_path


def test_sent_means_the_smtp_server_accepted_it(
    pipe: Any, start_smtp: Any, factory: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    server = start_smtp()
    invoice_id, _invoice = pipe.issue(factory.standard_invoice())
    with caplog.at_level(logging.INFO, logger="stripe_efactura.mailing"):
        pipe.drain()
    (message,) = server.messages
    message_id = str(message.parsed()["Message-ID"])
    assert pipe.row(invoice_id).email_state == "sent"
    assert last_event(pipe, invoice_id) == (
        "email_sent",
        {"attempt": 1, "message_id": message_id, "to": BUYER},
    )
    assert email_logs(caplog) == [f"invoice SEF000001: email sent to {BUYER} ({message_id})"]
    detail = browse.invoice_detail(pipe.ctx, "SEF000001")
    assert detail is not None
    assert detail["email"] == {
        "state": "sent",
        "text": f"sent to {BUYER} (accepted by the SMTP server)",
        "to": BUYER,
        "message_id": message_id,
    }


def test_without_smtp_the_state_is_outbox_never_sent(
    make_pipe: Any,
    tmp_path: Path,
    factory: ModuleType,
    cli_env: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pipe = make_pipe(smtp_host=None)
    invoice_id, _invoice = pipe.issue(factory.standard_invoice())
    with caplog.at_level(logging.INFO, logger="stripe_efactura.mailing"):
        pipe.drain()
    (eml,) = sorted((tmp_path / "outbox").glob("*.eml"))
    row = pipe.row(invoice_id)
    assert row.email_state == "outbox"
    event, detail = last_event(pipe, invoice_id)
    message_id = detail["message_id"]
    assert (event, detail) == (
        "email_outbox",
        {"attempt": 1, "message_id": message_id, "to": BUYER, "outbox": str(eml)},
    )
    assert email_logs(caplog) == [
        (
            f"invoice SEF000001: email written to the outbox {eml} (SMTP is not configured; "
            f"not sent to {BUYER}) ({message_id})"
        )
    ]
    # the job does not act on it again: a final state
    assert mailing.send_invoice_email(pipe.ctx, invoice_id) == "already"
    api = browse.invoice_detail(pipe.ctx, "SEF000001")
    assert api is not None
    text = f"in the outbox, not sent (SMTP is not configured): {eml}"
    assert api["email"] == {
        "state": "outbox",
        "text": text,
        "to": BUYER,
        "message_id": message_id,
        "outbox": str(eml),
    }
    assert api["email_state"] == "outbox"

    capsys.readouterr()
    assert cli.main(["invoices", "show", "SEF000001"]) == 0
    assert f"  email: {text}\n" in capsys.readouterr().out
    assert cli.main(["invoices", "resend-email", "SEF000001"]) == 0
    resent = last_event(pipe, invoice_id)[1]
    second = tmp_path / "outbox" / Path(resent["outbox"]).name
    assert second.is_file() and second != eml
    assert capsys.readouterr().out == (
        f"SEF000001: written to the outbox {second} (SMTP is not configured; not sent to "
        f"{BUYER}) ({resent['message_id']})\n"
    )
    assert pipe.row(invoice_id).email_state == "outbox"
    assert cli.main(["invoices", "resend-email", "SEF000001", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["state"], out["to"]) == ("outbox", BUYER)
    assert Path(out["outbox"]).is_file()


def test_the_merchant_digest_without_smtp_says_outbox(
    make_pipe: Any, factory: ModuleType, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pipe = make_pipe(smtp_host=None)
    from stripe_efactura.app import notices

    with db.write(pipe.ctx.engine) as conn:
        notices.record(conn, "deadline", "SEF000001", "Termen", ())
    pipe.travel(digest_use_case.DIGEST_SETTLE_SECONDS + 1)
    with caplog.at_level(logging.INFO, logger="stripe_efactura.mailing"):
        assert digest_use_case.send_merchant_digest(pipe.ctx) == "outbox"
    (eml,) = sorted((tmp_path / "outbox").glob("*.eml"))
    to = "contabilitate@example.ro, emitent@example.ro"
    assert [r.getMessage() for r in caplog.records if "digest" in r.getMessage()] == [
        (
            f"merchant digest with 1 notices written to the outbox {eml} (SMTP is not configured; "
            f"not sent to {to})"
        )
    ]


def test_a_refusing_server_gives_failed_with_its_answer_and_a_retry(
    pipe: Any, start_smtp: Any, factory: ModuleType
) -> None:
    server = start_smtp(rcpt_reply={BUYER: "550 5.1.1 No such user"})
    invoice_id, _invoice = pipe.issue(factory.standard_invoice())
    pipe.drain()
    assert server.messages == []
    assert pipe.row(invoice_id).email_state == "failed"
    port = pipe.ctx.settings.smtp_port
    error = f"127.0.0.1:{port} refused every recipient: {BUYER}: 550 5.1.1 No such user"
    assert last_event(pipe, invoice_id) == (
        "email_failed",
        {"attempt": 1, "code": "E-SMTP", "error": error},
    )
    detail = browse.invoice_detail(pipe.ctx, "SEF000001")
    assert detail is not None
    assert detail["email"] == {
        "state": "failed",
        "text": f"failed: [E-SMTP] {error} (retry: `stripe-efactura invoices resend-email NUMBER`)",
        "code": "E-SMTP",
        "error": error,
    }
    result = mailing.resend_email(pipe.ctx, "SEF000001", to="plati@stefanescu.ro")
    assert (result.state, result.outbox, result.to) == ("sent", None, "plati@stefanescu.ro")
    assert result.describe() == "sent to plati@stefanescu.ro"
    assert [m.rcpt_tos for m in server.messages] == [["plati@stefanescu.ro"]]
    assert pipe.row(invoice_id).email_state == "sent"
