"""From Stripe's events to the payer's inbox: webhook payloads -> process_event ->
issue_invoice (official validation) -> render_pdf -> email_invoice -> aiosmtpd on 127.0.0.1.

Needs the official validation artifacts from ../shared (skipped when absent)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from factories import stripe_flows as stripe_flows
from stripe_efactura import app as use_cases
from stripe_efactura.app import intake
from stripe_efactura.app.context import build_context
from stripe_efactura.config import demo_settings
from stripe_efactura.intake.fake_stripe import FakeStripeReader
from stripe_efactura.invoicing.serialize import invoice_from_json
from stripe_efactura.jobs.worker import Worker
from stripe_efactura.pdf.render import render_pdf
from stripe_efactura.registry.fake import FakeRegistry
from stripe_efactura.store import db
from stripe_efactura.store import invoices as invoice_store
from stripe_efactura.ubl import artifacts


@pytest.fixture(scope="module")
def validation_dir(validation_src: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("validation")
    artifacts.install_from(validation_src, dest)
    return dest


def test_stripe_payment_to_payer_inbox(
    tmp_path: Path, db_url: str, smtp_port: int, start_smtp: Any, validation_dir: Path
) -> None:
    server = start_smtp()
    flow = stripe_flows.flow_a_checkout_card()
    settings = demo_settings(
        tmp_path,
        database_url=db_url,
        validation_dir=validation_dir,
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        smtp_starttls=False,
        mail_from="facturi@example.ro",
    )
    ctx = build_context(
        settings, stripe=FakeStripeReader(flow.store()), registry_transport=FakeRegistry()
    )
    try:
        use_cases.prepare(ctx)
        for event in flow.events + flow.events:  # every event delivered twice
            intake.accept_event(ctx, json.dumps(event).encode())
        handlers = use_cases.handlers(ctx)
        tasks = {"process_event", "issue_invoice", "render_pdf", "email_invoice"}
        worker = Worker(ctx.engine, {t: handlers[t] for t in tasks})
        worker.drain()
        worker.drain()
        with db.read(ctx.engine) as conn:
            (row,) = invoice_store.listing(conn)
        assert (row.number, row.email_state) == ("TEST000001", "sent")
        invoice = invoice_from_json(row.snapshot)
        (got,) = server.messages
        assert got.mail_from == "facturi@example.ro"
        assert got.rcpt_tos == [invoice.buyer.email]
        msg = got.parsed()
        assert msg["Subject"] == (
            f"Factura TEST000001 din {invoice.issue_date:%d.%m.%Y} — Firma Mea SRL"
        )
        assert msg["To"] == invoice.buyer.email
        body = msg.get_body(("plain",))
        assert body is not None
        assert body.get_content() == (
            "Bună ziua,\n"
            "\n"
            f"Vă transmitem factura TEST000001 din {invoice.issue_date:%d.%m.%Y}, emisă de "
            "Firma Mea SRL, în valoare totală de 121,00 RON.\n"
            f"Plata a fost efectuată cu cardul prin Stripe (referință {row.payment_key}).\n"
            "\n"
            "Găsiți atașate factura în format PDF (TEST000001.pdf) și fișierul XML e-Factura "
            "(TEST000001.xml), în formatul transmis la ANAF.\n"
            "\n"
            "Cu stimă,\n"
            "Firma Mea SRL\n"
            "contabilitate@example.ro\n"
        )
        parts = [
            (p.get_filename(), p.get_content_type(), p.get_payload(decode=True))
            for p in msg.iter_attachments()
        ]
        assert parts == [
            ("TEST000001.pdf", "application/pdf", render_pdf(invoice)),
            ("TEST000001.xml", "application/xml", bytes(row.xml)),
        ]
        assert row.pdf == render_pdf(invoice)
    finally:
        ctx.close()
