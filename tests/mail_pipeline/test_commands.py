"""`invoices export` and `invoices resend-email`: the use-cases and the command line."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import sqlalchemy as sa

from stripe_efactura import cli
from stripe_efactura.app import documents
from stripe_efactura.config import STARTER_TOML
from stripe_efactura.pdf.render import render_pdf
from stripe_efactura.store import db
from stripe_efactura.store.tables import invoice_files, jobs
from stripe_efactura.ubl.render import render


def test_export_writes_the_stored_bytes_rendering_a_missing_pdf_once(
    pipe: Any, tmp_path: Path, factory: ModuleType
) -> None:
    invoice_id, invoice = pipe.issue(factory.standard_invoice())
    assert pipe.row(invoice_id).pdf is None  # render_pdf has not run yet
    pdf_path, xml_path = tmp_path / "out" / "f.pdf", tmp_path / "out" / "f.xml"
    result = documents.export(pipe.ctx, "SEF000001", pdf_path, xml_path)
    stored = pipe.row(invoice_id)
    assert pdf_path.read_bytes() == bytes(stored.pdf) == render_pdf(invoice)
    assert xml_path.read_bytes() == bytes(stored.xml) == render(invoice)
    assert result == documents.ExportResult(
        number="SEF000001",
        pdf_path=pdf_path,
        xml_path=xml_path,
        pdf_bytes=len(render_pdf(invoice)),
        xml_bytes=len(render(invoice)),
    )
    assert pipe.timeline(invoice_id) == ["issued", "pdf_rendered"]
    # the job finds the PDF stored and only schedules the email
    assert documents.render_invoice_pdf(pipe.ctx, invoice_id) == "already"
    assert pipe.timeline(invoice_id) == ["issued", "pdf_rendered", "email_queued"]
    assert _files(pipe, invoice_id) == [("pdf", render_pdf(invoice)), ("xml", render(invoice))]
    only_xml = documents.export(pipe.ctx, "SEF000001", None, tmp_path / "again.xml")
    assert (only_xml.pdf_bytes, only_xml.xml_bytes) == (0, len(render(invoice)))
    with pytest.raises(documents.InvoiceNotFound, match="no invoice numbered 'SEF999'"):
        documents.export(pipe.ctx, "SEF999", pdf_path, None)
    with pytest.raises(ValueError, match="give a PDF path, an XML path or both"):
        documents.export(pipe.ctx, "SEF000001")


def test_render_pdf_stores_the_pdf_and_the_email_state_with_one_update_of_the_row(
    pipe: Any, factory: ModuleType
) -> None:
    invoice_id, invoice = pipe.issue(factory.standard_invoice())
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    sa.event.listen(pipe.ctx.engine, "before_cursor_execute", seen)
    try:
        assert documents.render_invoice_pdf(pipe.ctx, invoice_id) == "rendered"
    finally:
        sa.event.remove(pipe.ctx.engine, "before_cursor_execute", seen)
    updates = [s for s in statements if "UPDATE invoices" in s]
    assert len(updates) == 1 and "email_state" in updates[0] and "updated_at" in updates[0]
    writes = [s for s in statements if s.lstrip().startswith(("INSERT", "UPDATE", "WITH"))]
    # the row is read once, before the PDF is rendered; the change is guarded by that read
    reads = [s for s in statements if s.lstrip().startswith("SELECT") and "FROM invoices" in s]
    assert len(reads) == 1 and "FOR UPDATE" not in reads[0]
    if db.is_sqlite(pipe.ctx.engine):  # the row, the PDF, both lines (one executemany)
        assert [w.split("(")[0].strip() for w in writes if "jobs" not in w] == [
            (
                "UPDATE invoices SET email_state=?, updated_at=? WHERE invoices.id = ? AND "
                "invoices.email_state IS ? AND invoices.updated_at IS ?"
            ),
            "INSERT INTO invoice_files",
            "INSERT INTO invoice_log",
        ]
    else:  # the row, the PDF and both lines in one statement (store/invoices.py)
        assert [w for w in writes if "jobs" not in w] == updates
        assert "INSERT INTO invoice_files" in updates[0]
        assert updates[0].count("INSERT INTO invoice_log") == 1
        assert "invoices.updated_at IS NOT DISTINCT FROM" in updates[0]
    row = pipe.row(invoice_id)
    assert (row.email_state, bytes(row.pdf)) == ("queued", render_pdf(invoice))
    assert pipe.timeline(invoice_id) == ["issued", "pdf_rendered", "email_queued"]


def test_render_pdf_after_the_row_changed_reads_it_again_and_stores_one_pdf(
    pipe: Any, factory: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the job rendered, ``invoices export`` stored the PDF (``ensure_pdf``): the
    guarded change matches nothing, the locked read decides, the stored PDF stays the only
    one and the email is still queued once."""
    invoice_id, invoice = pipe.issue(factory.standard_invoice())
    render_job = documents._render
    exports: list[bytes] = []

    def export_meanwhile(ctx: Any, inv: Any) -> tuple[bytes, str | None]:
        if not exports:  # the job's render: the export renders and stores its own first
            exports.append(b"")
            exports.append(documents.ensure_pdf(pipe.ctx, invoice_id))
        return render_job(ctx, inv)

    monkeypatch.setattr(documents, "_render", export_meanwhile)
    assert documents.render_invoice_pdf(pipe.ctx, invoice_id) == "already"
    row = pipe.row(invoice_id)
    assert exports[1] == render_pdf(invoice)
    assert (row.email_state, bytes(row.pdf)) == ("queued", render_pdf(invoice))
    assert pipe.timeline(invoice_id) == ["issued", "pdf_rendered", "email_queued"]
    assert _files(pipe, invoice_id) == [("pdf", render_pdf(invoice)), ("xml", render(invoice))]
    with db.read(pipe.ctx.engine) as conn:
        queued = conn.execute(sa.select(jobs.c.task).where(jobs.c.task == "email_invoice"))
        assert list(queued.scalars()) == ["email_invoice"]


def _files(pipe: Any, invoice_id: int) -> list[tuple[str, bytes]]:
    """The invoice's rows of ``invoice_files``: one per document."""
    with db.read(pipe.ctx.engine) as conn:
        rows = conn.execute(
            sa.select(invoice_files.c.kind, invoice_files.c.content)
            .where(invoice_files.c.invoice_id == invoice_id)
            .order_by(invoice_files.c.kind)
        )
        return [(str(kind), bytes(content)) for kind, content in rows]


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str, smtp_port: int) -> Path:
    """The environment ``stripe-efactura`` reads, pointing at the test's database and SMTP."""
    config = tmp_path / "efactura.toml"
    config.write_text(STARTER_TOML, encoding="utf-8")
    for name, value in {
        "EFACTURA_CONFIG": str(config),
        "EFACTURA_DATA_DIR": str(tmp_path),
        "EFACTURA_DATABASE_URL": db_url,
        "EFACTURA_SMTP_HOST": "127.0.0.1",
        "EFACTURA_SMTP_PORT": str(smtp_port),
        "EFACTURA_SMTP_STARTTLS": "false",
        "EFACTURA_MAIL_FROM": "facturi@example.ro",
    }.items():
        monkeypatch.setenv(name, value)
    return tmp_path


def test_cli_export_and_resend_email(
    pipe: Any,
    cli_env: Path,
    start_smtp: Any,
    factory: ModuleType,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = start_smtp()
    invoice_id, invoice = pipe.issue(factory.standard_invoice())
    pipe.drain()
    assert len(server.messages) == 1
    pdf_path, xml_path = cli_env / "SEF000001.pdf", cli_env / "SEF000001.xml"
    args = ["invoices", "export", "SEF000001", "--pdf", str(pdf_path), "--xml", str(xml_path)]
    assert cli.main(args) == 0
    pdf, xml = render_pdf(invoice), render(invoice)
    assert pdf_path.read_bytes() == pdf
    assert xml_path.read_bytes() == xml
    assert capsys.readouterr().out == (
        f"{pdf_path} ({len(pdf)} bytes)\n{xml_path} ({len(xml)} bytes)\n"
    )

    assert cli.main(["invoices", "resend-email", "SEF000001", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["number"] == "SEF000001"
    assert out["to"] == "achizitii@stefanescu.ro"
    assert out["message_id"].startswith("<SEF000001.r1.")
    assert len(server.messages) == 2
    resent = server.messages[1].parsed()
    assert resent["Message-ID"] == out["message_id"]
    assert [p.get_payload(decode=True) for p in resent.iter_attachments()] == [pdf, xml]
    assert pipe.timeline(invoice_id)[-1] == "email_resent"

    assert cli.main(["invoices", "resend-email", "SEF000001", "--to", "x@stefanescu.ro"]) == 0
    assert server.messages[2].rcpt_tos == ["x@stefanescu.ro"]
    assert capsys.readouterr().out.startswith("SEF000001: sent to x@stefanescu.ro (<SEF000001.r2.")


def test_cli_errors(
    pipe: Any, cli_env: Path, factory: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    pipe.issue(factory.standard_invoice())
    assert cli.main(["invoices", "export", "SEF000001"]) == 2
    assert capsys.readouterr().err == (
        "[E-USAGE] give --pdf PATH, --xml PATH or both / dați --pdf CALE, --xml CALE sau amândouă\n"
    )
    assert cli.main(["invoices", "export", "NOPE", "--xml", str(cli_env / "x.xml")]) == 1
    assert capsys.readouterr().err == "[E-INVOICE-NOT-FOUND] no invoice numbered 'NOPE'\n"
    # nothing listens on the SMTP port
    assert cli.main(["invoices", "resend-email", "SEF000001"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("[E-SMTP] 127.0.0.1:")
    assert err.endswith(" refused the connection (is it down?)\n")
