"""Fixtures for the mail pipeline tests: a service context on SQLite/PostgreSQL, invoices
stored as the issuing step stores them, a real aiosmtpd server on 127.0.0.1, a worker that
runs the mail jobs, and a way to let time pass (every stored timestamp moves back)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

import support
from stripe_efactura import app as use_cases
from stripe_efactura.app.context import AppContext, build_context
from stripe_efactura.config import demo_settings
from stripe_efactura.invoicing.model import Invoice
from stripe_efactura.invoicing.serialize import invoice_to_json
from stripe_efactura.jobs import queue
from stripe_efactura.jobs.worker import Worker
from stripe_efactura.registry.fake import FakeRegistry
from stripe_efactura.store import db
from stripe_efactura.store import invoices as invoice_store
from stripe_efactura.store.numbering import allocate
from stripe_efactura.store.tables import invoice_log, jobs, notices, schedules
from stripe_efactura.ubl.render import render

MAIL_TASKS = frozenset({"render_pdf", "email_invoice", "send_merchant_digest"})


def _load_factory() -> ModuleType:
    return support.invoice_factory()


@pytest.fixture(scope="session")
def factory() -> ModuleType:
    return _load_factory()


free_port = support.free_port


# ---- SMTP --------------------------------------------------------------------------------


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    def parsed(self) -> EmailMessage:
        msg = BytesParser(policy=policy.default).parsebytes(self.data.replace(b"\r\n", b"\n"))
        assert isinstance(msg, EmailMessage)
        return msg


@dataclass
class Collector:
    rcpt_reply: dict[str, str] = field(default_factory=dict)
    messages: list[Received] = field(default_factory=list)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        reply = self.rcpt_reply.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(
            Received(
                mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos),
                data=envelope.original_content or envelope.content,
            )
        )
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    handler: Collector
    port: int

    @property
    def messages(self) -> list[Received]:
        return self.handler.messages


StartServer = Callable[..., SmtpServer]


@pytest.fixture
def smtp_port() -> int:
    """The port the context's SMTP settings point at (nobody listens until started)."""
    return free_port()


@pytest.fixture
def start_smtp(smtp_port: int) -> Iterator[StartServer]:
    """``start(rcpt_reply=None)``: aiosmtpd on 127.0.0.1:``smtp_port``, stopped at the end."""
    started: list[Controller] = []

    def start(*, rcpt_reply: dict[str, str] | None = None) -> SmtpServer:
        handler = Collector(rcpt_reply=dict(rcpt_reply or {}))
        controller = Controller(handler, hostname="127.0.0.1", port=smtp_port)
        controller.start()
        started.append(controller)
        return SmtpServer(handler=handler, port=smtp_port)

    yield start
    for controller in started:
        controller.stop()


# ---- the service --------------------------------------------------------------------------


class Pipeline:
    """A service context plus the steps the tests drive."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def worker(self) -> Worker:
        """The app's own handlers for the mail tasks (other capabilities' jobs wait)."""
        handlers = use_cases.handlers(self.ctx)
        return Worker(self.ctx.engine, {task: handlers[task] for task in MAIL_TASKS})

    def drain(self) -> int:
        return self.worker().drain()

    def issue(self, invoice: Invoice, *, payment_key: str | None = None) -> tuple[int, Invoice]:
        """Store ``invoice`` numbered in the invoice series and enqueue ``render_pdf``, as
        ``app.issuing`` does. Returns (invoice id, the numbered invoice)."""
        with db.write(self.ctx.engine) as conn:
            code, seq, number, _ = allocate(
                conn, self.ctx.settings.series.invoice, invoice.issue_date
            )
            numbered = replace(
                invoice, number=number, payment_key=payment_key or invoice.payment_key
            )
            invoice_id = invoice_store.insert_invoice(
                conn,
                series_code=code,
                seq=seq,
                number=number,
                kind="invoice",
                payment_key=str(numbered.payment_key),
                issue_date=numbered.issue_date,
                currency=numbered.currency,
                total=str(numbered.totals.tax_inclusive),
                livemode=True,
                snapshot=invoice_to_json(numbered),
                xml=render(numbered),
                anaf_state="not_uploaded",
            )
            queue.enqueue(
                conn, "render_pdf", {"invoice_id": invoice_id}, dedupe_key=f"pdf:{invoice_id}"
            )
        return invoice_id, numbered

    def travel(self, seconds: float) -> None:
        """Let ``seconds`` pass: move every stored time of jobs, schedules, notices and the
        invoice timeline back (the code reads the database clock, which keeps running)."""
        shift = timedelta(seconds=seconds)
        moves: list[tuple[sa.Table, str, tuple[str, ...]]] = [
            (jobs, "id", ("run_at", "locked_until", "created_at", "finished_at")),
            (schedules, "name", ("next_run_at",)),
            (notices, "id", ("created_at", "sent_at")),
            (invoice_log, "id", ("at",)),
        ]
        with db.write(self.ctx.engine) as conn:
            for table, key, columns in moves:
                for row in conn.execute(sa.select(table)).all():
                    values = {
                        c: getattr(row, c) - shift for c in columns if getattr(row, c) is not None
                    }
                    if values:
                        conn.execute(
                            table.update().where(table.c[key] == getattr(row, key)).values(**values)
                        )

    def timeline(self, invoice_id: int) -> list[str]:
        with db.read(self.ctx.engine) as conn:
            return [r.event for r in invoice_store.timeline(conn, invoice_id)]

    def row(self, invoice_id: int) -> Any:
        with db.read(self.ctx.engine) as conn:
            return invoice_store.get(conn, invoice_id)

    def job_states(self, task: str) -> list[tuple[str, int]]:
        with db.read(self.ctx.engine) as conn:
            rows = conn.execute(
                sa.select(jobs.c.status, jobs.c.attempts)
                .where(jobs.c.task == task)
                .order_by(jobs.c.id)
            ).all()
        return [(str(r.status), int(r.attempts)) for r in rows]


@pytest.fixture
def make_pipe(tmp_path: Path, db_url: str, smtp_port: int) -> Iterator[Callable[..., Pipeline]]:
    """``make_pipe(**settings_changes)``: demo settings on ``db_url``, SMTP at
    127.0.0.1:``smtp_port`` without STARTTLS, ``mail_from='facturi@example.ro'``."""
    made: list[AppContext] = []

    def make(**changes: Any) -> Pipeline:
        values: dict[str, Any] = {
            "database_url": db_url,
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_port,
            "smtp_starttls": False,
            "mail_from": "facturi@example.ro",
        }
        values.update(changes)
        ctx = build_context(demo_settings(tmp_path, **values), registry_transport=FakeRegistry())
        use_cases.prepare(ctx)
        made.append(ctx)
        return Pipeline(ctx)

    yield make
    for ctx in made:
        ctx.close()


@pytest.fixture
def pipe(make_pipe: Callable[..., Pipeline]) -> Pipeline:
    return make_pipe()
