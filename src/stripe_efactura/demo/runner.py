"""``stripe-efactura demo``: the whole flow on one machine, without any account.

What runs (all in this process, on loopback):

- the real service: the Starlette web app under uvicorn (``POST /webhooks/stripe``) and one
  worker thread, as ``serve`` runs them, on a fresh SQLite database in the demo folder;
- a fake Stripe API (:class:`~stripe_efactura.intake.fake_stripe.FakeStripeReader`) holding
  the sample objects of :mod:`.samples`, so the service reads line items, invoices and
  customers "from the API" as it does in production;
- the fake ANAF (:mod:`stripe_efactura.anaf.fake`) of the *test* environment, authorised with
  an OAuth authorization-code flow against the fake; the tokens are stored encrypted like real
  ones (``app.anaf_tokens``);
- a demo BNR feed (an ``httpx.MockTransport``) with a clearly labelled demo EUR rate;
- a local SMTP sink (aiosmtpd) that keeps every message and saves it as an ``.eml`` file.

The signed sample webhooks go over HTTP to the web app, duplicates and out-of-order deliveries
included. The demo then waits (bounded) until every invoice is validated by ANAF (``ok``),
archived and emailed, exports the PDF and XML files and prints an account of what happened.
"""

from __future__ import annotations

import email
import email.policy
import json
import logging
import os
import re
import socket
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import sqlalchemy as sa

from .. import app as use_cases
from ..anaf.fake import FakeAnafState, FakeAnafTransport, create_fake_anaf
from ..app import anaf_sync, anaf_tokens, documents
from ..app import fx as fx_service
from ..app.context import AppContext, build_context
from ..config import STARTER_TOML, Settings, demo_settings
from ..errors import EfacturaError
from ..intake.fake_stripe import FakeStripeReader
from ..intake.signature import sign
from ..invoicing import deadlines
from ..invoicing.model import BuyerKind, Invoice
from ..invoicing.serialize import invoice_from_json
from ..store import db
from ..store import invoices as invoice_store
from ..store.tables import invoices, jobs, notices, payments, stripe_events
from ..tz import BUCHAREST
from ..ubl import artifacts
from .samples import Delivery, SamplePayment, build_samples

__all__ = [
    "DEMO_EUR_RATE",
    "DemoError",
    "DemoOptions",
    "DemoResult",
    "render_account",
    "run_demo",
]

log = logging.getLogger("stripe_efactura.demo")

DEMO_EUR_RATE = Decimal("5.0875")
"""The demo feed's EUR rate (RON per euro). A demo value, not a BNR publication."""
DEMO_USD_RATE = Decimal("4.3912")
WEBHOOK_SECRET = "whsec_demo_not_a_real_secret"
ANAF_CLIENT = ("fake-client-id", "fake-client-secret")
FAKE_ANAF_BASE = "https://fake-anaf.invalid"
"""``.invalid`` never resolves: every ANAF call goes to the in-process fake."""
REPO_ROOT = Path(__file__).resolve().parents[3]

ANAF_EVENTS = {
    "anaf_upload_intent": "uploading",
    "anaf_uploaded": "uploaded",
    "anaf_in_processing": "in_processing",
    "anaf_ok": "ok",
    "anaf_archived": "archived",
}


class DemoError(EfacturaError):
    """The demo could not run (missing validation files, a folder that is not empty…)."""

    code = "E-DEMO"


@dataclass(frozen=True)
class DemoOptions:
    directory: Path | None = None
    """Where to put everything; a new temporary folder when None. Must be empty or absent."""
    timeout: float = 50.0
    """Seconds to wait for every invoice to be ``ok`` at ANAF and emailed."""
    anaf_polls: int = 1
    """``stareMesaj`` answers of the fake ANAF that say ``in prelucrare`` before ``ok``."""
    env: Mapping[str, str] | None = None
    """Environment for finding installed validation files (default ``os.environ``)."""


@dataclass(frozen=True)
class DeliveryResult:
    delivery: Delivery
    status: int
    body: dict[str, Any]

    @property
    def answer(self) -> str:
        if self.status != 200:
            return f"{self.status} {self.body.get('error', '')}".strip()
        return "200 duplicate" if self.body.get("duplicate") else "200 stored"

    @property
    def short(self) -> str:
        return self.answer.removeprefix("200 ")


@dataclass(frozen=True)
class CapturedMail:
    path: Path
    message: EmailMessage

    @property
    def to(self) -> str:
        return str(self.message.get("To", ""))

    @property
    def subject(self) -> str:
        return str(self.message.get("Subject", ""))

    @property
    def message_id(self) -> str:
        return str(self.message.get("Message-ID", ""))

    def attachments(self) -> list[str]:
        return [str(p.get_filename()) for p in self.message.iter_attachments()]


@dataclass
class InvoiceReport:
    number: str
    payment: SamplePayment
    invoice: Invoice
    event_ids: list[str]
    validation: dict[str, list[str]]
    anaf_states: list[str]
    anaf_state: str
    upload_index: str | None
    download_id: str | None
    endpoint: str
    """The ANAF upload endpoint used: ``upload``, ``uploadb2c``, ``upload (extern=DA)``."""
    email_state: str
    mail: CapturedMail | None
    pdf: Path
    xml: Path
    signed_zip: Path | None
    anaf_uploads: int = 0
    """Uploads of this invoice the fake ANAF received (exactly once: 1)."""


@dataclass
class DemoResult:
    directory: Path
    validation_source: str
    web_url: str
    smtp: str
    rate_date: date | None
    deliveries: list[DeliveryResult]
    event_outcomes: dict[str, str]
    """Event id -> outcome (``sale pi_…``, ``ignored I-…``)."""
    invoices: list[InvoiceReport]
    mails: list[CapturedMail]
    unsent_notices: int
    elapsed: float
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


# --------------------------------------------------------------------------------------------
# the pieces


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _prepare_directory(directory: Path | None) -> Path:
    if directory is None:
        return Path(tempfile.mkdtemp(prefix="stripe-efactura-demo-"))
    directory = directory.expanduser().resolve()
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise DemoError(f"{directory} is not an empty folder: give a new or empty --dir")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def find_validation(
    directory: Path, env: Mapping[str, str], *, cwd: Path | None = None
) -> tuple[Path, str]:
    """The official validation files: ``(folder, where they came from)``.

    Order: ``EFACTURA_VALIDATION_DIR`` or ``<EFACTURA_DATA_DIR or efactura-data>/validation``
    when installed there; else installed into ``<directory>/validation`` from a
    ``../shared/validation`` folder (next to the current folder or to the checkout); else
    downloaded (``validation fetch``). Raises :class:`DemoError` when none works.
    """
    cwd = cwd or Path.cwd()
    installed = [
        Path(p)
        for p in (
            env.get("EFACTURA_VALIDATION_DIR"),
            str(Path(env.get("EFACTURA_DATA_DIR") or "efactura-data") / "validation"),
        )
        if p
    ]
    for candidate in installed:
        path = candidate if candidate.is_absolute() else cwd / candidate
        if artifacts.is_installed(path):
            return path, f"installed in {path}"
    dest = directory / "validation"
    for source in (
        cwd.parent / "shared" / "validation",
        REPO_ROOT.parent / "shared" / "validation",
    ):
        if source.is_dir():
            try:
                artifacts.install_from(source, dest)
            except EfacturaError as exc:
                log.warning("validation files in %s are not usable: %s", source, exc)
                continue
            return dest, f"installed from {source.resolve()}"
    try:
        artifacts.fetch(dest, timeout=45.0)
    except (EfacturaError, httpx.HTTPError, OSError) as exc:
        detail = exc.message if isinstance(exc, EfacturaError) else str(exc)
        raise DemoError(
            "The official validation files (UBL 2.1 XSD + ANAF CIUS-RO schematron) are not "
            f"installed and could not be downloaded ({detail}). Run `stripe-efactura validation "
            "fetch --dir efactura-data/validation` (or `... --from DIR` offline) in this folder, "
            "or set EFACTURA_VALIDATION_DIR, then run the demo again."
        ) from exc
    return dest, "downloaded from ANAF and OASIS (`stripe-efactura validation fetch`)"


def _check_font() -> None:
    """Fail at once (not after the timeout) when no font with the Romanian letters exists."""
    from ..pdf.fonts import FontNotFound, find_font_files

    try:
        find_font_files()
    except FontNotFound as exc:
        raise DemoError(f"the PDF needs a font with the Romanian letters: {exc.message}") from exc


def banking_days_before(issue: date, count: int = 10) -> list[date]:
    """The last ``count`` Romanian banking days before ``issue``, oldest first."""
    holidays = deadlines.romanian_holidays(issue.year) | deadlines.romanian_holidays(issue.year - 1)
    days: list[date] = []
    day = issue - timedelta(days=1)
    while len(days) < count:
        if day.weekday() < 5 and day not in holidays:
            days.append(day)
        day -= timedelta(days=1)
    return sorted(days)


def demo_bnr_xml(days: list[date]) -> bytes:
    """A feed in BNR's format (``nbrfxrates10days.xml`` shape) with the demo rates."""
    cubes = "".join(
        f'<Cube date="{d.isoformat()}"><Rate currency="EUR">{DEMO_EUR_RATE}</Rate>'
        f'<Rate currency="USD">{DEMO_USD_RATE}</Rate></Cube>\n'
        for d in days
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<DataSet xmlns="http://www.bnr.ro/xsd">\n'
        "<Header><Publisher>stripe-efactura DEMO feed - NOT published by the National Bank "
        f"of Romania</Publisher><PublishingDate>{days[-1].isoformat()}</PublishingDate>"
        "<MessageType>DR</MessageType></Header>\n"
        "<Body><Subject>Reference rates (demo values)</Subject><OrigCurrency>RON</OrigCurrency>\n"
        f"{cubes}</Body></DataSet>\n"
    ).encode()


class SmtpSink:
    """A local SMTP server that keeps every message and writes it to ``<folder>/NN-to.eml``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.mails: list[CapturedMail] = []
        self._lock = threading.Lock()
        self.port = _free_port()
        self._controller: Any = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = bytes(envelope.original_content or envelope.content)
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            n = len(self.mails) + 1
            rcpt = re.sub(r"[^A-Za-z0-9@._-]+", "_", ",".join(envelope.rcpt_tos))[:60]
            path = self.folder / f"{n:02d}-{rcpt}.eml"
            self.folder.mkdir(parents=True, exist_ok=True)
            path.write_bytes(raw)
            self.mails.append(CapturedMail(path, message))
        return "250 Message accepted for delivery"

    def start(self) -> SmtpSink:
        from aiosmtpd.controller import Controller

        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


class WebServer:
    """The service's web app under uvicorn on a free loopback port, in a thread."""

    def __init__(self, ctx: AppContext) -> None:
        import uvicorn

        from ..web.app import create_app

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        config = uvicorn.Config(
            create_app(ctx), log_level="warning", access_log=False, lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, name="demo-web", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> WebServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise DemoError("the web app did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


@contextmanager
def _running(start: Callable[[], Any], stop: Callable[[], Any]) -> Iterator[None]:
    start()
    try:
        yield
    finally:
        stop()


def authorise_anaf(ctx: AppContext) -> None:
    """``anaf login`` without a browser: the authorization-code flow against the fake ANAF,
    then the tokens are exchanged and stored (encrypted) by ``app.anaf_tokens``."""
    redirect_uri = str(ctx.settings.anaf_redirect_uri)
    url = anaf_tokens.authorize_url(ctx, redirect_uri)
    with httpx.Client(transport=ctx.anaf_transport, follow_redirects=False) as browser:
        answer = browser.get(url)
    location = answer.headers.get("location", "")
    query = parse_qs(urlsplit(location).query)
    code = (query.get("code") or [""])[0]
    state = (query.get("state") or [None])[0]
    if answer.status_code != 302 or not code or not anaf_tokens.check_login_state(ctx, state):
        raise DemoError(f"the fake ANAF authorisation failed: {answer.status_code} {location}")
    anaf_tokens.exchange_code(ctx, code, redirect_uri)


def demo_context(directory: Path, validation_dir: Path, smtp_port: int) -> AppContext:
    """Settings and adapters of the demo (the sample Stripe API, the fake ANAF and BNR).

    The starter ``efactura.toml`` the settings come from is written to the folder, so the
    other commands can look at the demo's data afterwards (``docs/demo.md``)."""
    (directory / "efactura.toml").write_text(STARTER_TOML, encoding="utf-8")
    settings: Settings = demo_settings(
        directory,
        database_url=f"sqlite:///{directory / 'efactura.db'}",
        stripe_webhook_secrets=(WEBHOOK_SECRET,),
        anaf_env="test",
        anaf_api_base=FAKE_ANAF_BASE,
        anaf_oauth_base=FAKE_ANAF_BASE,
        anaf_public_base=FAKE_ANAF_BASE,
        anaf_client_id=ANAF_CLIENT[0],
        anaf_client_secret=ANAF_CLIENT[1],
        anaf_redirect_uri="http://127.0.0.1/anaf/callback",
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        smtp_starttls=False,
        validation_dir=validation_dir,
        config_path=directory / "efactura.toml",
    )
    return build_context(settings)


# --------------------------------------------------------------------------------------------
# the run


def _post_all(url: str, plan: list[Delivery]) -> list[DeliveryResult]:
    results: list[DeliveryResult] = []
    with httpx.Client(base_url=url, timeout=30) as client:
        for delivery in plan:
            raw = json.dumps(delivery.event, ensure_ascii=False, indent=2).encode("utf-8")
            header = sign(raw, WEBHOOK_SECRET, timestamp=int(time.time()))
            response = client.post(
                "/webhooks/stripe",
                content=raw,
                headers={
                    "Content-Type": "application/json; charset=utf-8",
                    "Stripe-Signature": header,
                    "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                },
            )
            try:
                body = response.json()
            except ValueError:
                body = {"error": response.text[:200]}
            results.append(DeliveryResult(delivery, response.status_code, body))
    return results


def _done(ctx: AppContext, expected: int) -> bool:
    with db.read(ctx.engine) as conn:
        rows = conn.execute(
            sa.select(
                invoices.c.anaf_state, invoices.c.email_state, invoices.c.signed_zip.is_not(None)
            )
        ).all()
    return len(rows) == expected and all(
        state == anaf_sync.OK and mail == "sent" and archived for state, mail, archived in rows
    )


def _anaf_trail(ctx: AppContext, invoice_id: int) -> tuple[list[str], str]:
    """The ANAF states an invoice went through (from its timeline) and the upload endpoint."""
    with db.read(ctx.engine) as conn:
        events = invoice_store.timeline(conn, invoice_id)
    states = ["pending_upload"]
    endpoint = "-"
    for e in events:
        if e.event == "anaf_upload_intent":
            mode = json.loads(e.detail) if e.detail else {}
            endpoint = "uploadb2c" if mode.get("b2c") else "upload"
            if mode.get("extern"):
                endpoint += " (extern=DA)"
        state = ANAF_EVENTS.get(str(e.event))
        if state is not None and states[-1] != state:
            states.append(state)
    return states, endpoint


def _report(
    ctx: AppContext, directory: Path, samples: dict[str, SamplePayment], mails: list[CapturedMail]
) -> list[InvoiceReport]:
    by_id = {m.message_id: m for m in mails}
    with db.read(ctx.engine) as conn:
        rows = conn.execute(sa.select(invoices).order_by(invoices.c.seq)).all()
        event_ids = {
            r.payment_key: json.loads(r.event_ids)
            for r in conn.execute(sa.select(payments.c.payment_key, payments.c.event_ids))
        }
        sent = {
            int(r.invoice_id): json.loads(r.detail)
            for r in conn.execute(
                sa.text("SELECT invoice_id, detail FROM invoice_log WHERE event = 'email_sent'")
            )
        }
    out: list[InvoiceReport] = []
    for row in rows:
        number = str(row.number)
        pdf = directory / "invoices" / f"{number}.pdf"
        xml = directory / "invoices" / f"{number}.xml"
        documents.export(ctx, number, pdf, xml)
        zip_path = anaf_sync.archive_path(ctx, number, row.issue_date)
        mail_detail = sent.get(int(row.id)) or {}
        states, endpoint = _anaf_trail(ctx, int(row.id))
        out.append(
            InvoiceReport(
                number=number,
                payment=samples.get(
                    str(row.payment_key),
                    SamplePayment(str(row.payment_key), "(not a sample)", "?", "?"),
                ),
                invoice=invoice_from_json(row.snapshot),
                event_ids=list(event_ids.get(row.payment_key, [])),
                validation=json.loads(row.validation or "{}"),
                anaf_states=states,
                anaf_state=str(row.anaf_state),
                upload_index=row.upload_index,
                download_id=row.download_id,
                endpoint=endpoint,
                email_state=str(row.email_state),
                mail=by_id.get(str(mail_detail.get("message_id", ""))),
                pdf=pdf,
                xml=xml,
                signed_zip=zip_path if zip_path.is_file() else None,
            )
        )
    return out


def _event_outcomes(ctx: AppContext) -> dict[str, str]:
    with db.read(ctx.engine) as conn:
        rows = conn.execute(
            sa.select(
                stripe_events.c.id,
                stripe_events.c.outcome,
                stripe_events.c.reason,
                stripe_events.c.payment_key,
            )
        ).all()
    out: dict[str, str] = {}
    for r in rows:
        if r.outcome == "ignored":
            out[r.id] = f"ignored {str(r.reason or '').split(':', 1)[0]}"
        elif r.outcome == "processed" and r.payment_key:
            out[r.id] = f"sale {r.payment_key}"
        else:
            out[r.id] = str(r.outcome)
    return out


def _check(result: DemoResult, expected: list[SamplePayment]) -> list[str]:
    problems: list[str] = []
    bad = [d for d in result.deliveries if d.status != 200]
    if bad:
        problems.append(f"{len(bad)} webhook deliveries were refused: {bad[0].answer}")
    issued = {r.payment.key for r in result.invoices}
    for p in expected:
        if p.key not in issued:
            problems.append(f"payment {p.key} ({p.title}) has no invoice")
    if len(result.invoices) != len(expected):
        problems.append(f"{len(result.invoices)} invoices for {len(expected)} payments")
    for r in result.invoices:
        if r.validation.get("fatal"):
            problems.append(f"{r.number}: fatal validation findings {r.validation['fatal']}")
        if r.anaf_state != anaf_sync.OK or r.signed_zip is None:
            problems.append(f"{r.number}: ANAF state {r.anaf_state}, not ok and archived")
        if r.anaf_uploads != 1:
            problems.append(f"{r.number}: ANAF received {r.anaf_uploads} uploads")
        if r.email_state != "sent" or r.mail is None:
            problems.append(f"{r.number}: email {r.email_state}")
    return problems


def run_demo(
    options: DemoOptions | None = None, *, say: Callable[[str], None] = lambda _line: None
) -> DemoResult:
    """Run the whole demo; ``say`` gets progress lines. Raises :class:`DemoError` when the
    demo cannot start; a run that starts returns a result (``ok`` false with its problems)."""
    options = options or DemoOptions()
    started = time.monotonic()
    env = os.environ if options.env is None else options.env
    directory = _prepare_directory(options.directory)
    with _demo_logging(directory / "demo.log"):
        say(f"Demo folder: {directory}")
        validation_dir, validation_source = find_validation(directory, env)
        _check_font()
        sink = SmtpSink(directory / "mail")
        ctx = demo_context(directory, validation_dir, sink.port)
        try:
            result = _run(ctx, options, sink, say, started)
        finally:
            ctx.close()
    result.validation_source = validation_source
    return result


def _run(
    ctx: AppContext,
    options: DemoOptions,
    sink: SmtpSink,
    say: Callable[[str], None],
    started: float,
) -> DemoResult:
    directory = ctx.settings.data_dir
    now = int(time.time())
    samples = build_samples(now)
    ctx.stripe = FakeStripeReader(samples.store())
    fake = FakeAnafState(processing_polls=options.anaf_polls, processing_delay=None)
    ctx.anaf_transport = FakeAnafTransport(create_fake_anaf(fake))
    issue = datetime.fromtimestamp(now, UTC).astimezone(BUCHAREST).date()
    days = banking_days_before(issue, 15)
    ctx.bnr_transport = httpx.MockTransport(
        lambda _request: httpx.Response(200, content=demo_bnr_xml(days))
    )
    use_cases.prepare(ctx)
    authorise_anaf(ctx)
    fx_service.fetch_bnr(ctx)
    web = WebServer(ctx)
    worker = use_cases.make_worker(ctx, poll_interval=0.2)
    stop = threading.Event()
    worker_thread = threading.Thread(target=worker.run, args=(stop,), name="demo-worker")
    checkpointer = db.Checkpointer(ctx.engine)
    with ExitStack() as stack:
        stack.enter_context(_running(sink.start, sink.stop))
        stack.enter_context(_running(checkpointer.start, checkpointer.stop))
        stack.enter_context(_running(web.start, web.stop))
        stack.enter_context(_running(worker_thread.start, lambda: _stop(stop, worker_thread)))
        say(f"Posting {len(samples.deliveries)} signed webhooks to {web.url}/webhooks/stripe")
        deliveries = _post_all(web.url, samples.deliveries)
        say("Waiting for the worker: invoices, PDF, ANAF (fake) and email…")
        deadline = started + options.timeout
        while time.monotonic() < deadline and not _done(ctx, len(samples.payments)):
            time.sleep(0.25)
    mails = list(sink.mails)
    reports = _report(ctx, directory, {p.key: p for p in samples.payments}, mails)
    for report in reports:
        report.anaf_uploads = fake.upload_count(report.number)
    with db.read(ctx.engine) as conn:
        unsent = int(
            conn.execute(
                sa.select(sa.func.count()).select_from(notices).where(notices.c.sent_at.is_(None))
            ).scalar_one()
        )
    result = DemoResult(
        directory=directory,
        validation_source="",
        web_url=web.url,
        smtp=f"127.0.0.1:{sink.port}",
        rate_date=days[-1],
        deliveries=deliveries,
        event_outcomes=_event_outcomes(ctx),
        invoices=reports,
        mails=mails,
        unsent_notices=unsent,
        elapsed=time.monotonic() - started,
    )
    result.problems = _check(result, samples.payments)
    if result.problems:
        result.problems += _job_errors(ctx)
    return result


def _job_errors(ctx: AppContext, limit: int = 5) -> list[str]:
    """The distinct errors of jobs that did not finish (why a run failed)."""
    with db.read(ctx.engine) as conn:
        rows = conn.execute(
            sa.select(jobs.c.task, jobs.c.status, jobs.c.last_error)
            .where(jobs.c.last_error.is_not(None), jobs.c.status != "done")
            .order_by(jobs.c.id)
        ).all()
    out: list[str] = []
    for task, status, error in rows:
        line = f"job {task} ({status}): {str(error).strip().splitlines()[0][:200]}"
        if line not in out:
            out.append(line)
    return out[:limit]


def _stop(stop: threading.Event, thread: threading.Thread) -> None:
    stop.set()
    thread.join(timeout=15)


@contextmanager
def _demo_logging(path: Path) -> Iterator[None]:
    """The service's own log lines go to ``demo.log`` while the demo runs (the terminal shows
    the account); the logging set-up is restored afterwards."""
    logger = logging.getLogger("stripe_efactura")
    quiet = [logging.getLogger(name) for name in ("mail.log", "asyncio")]
    saved = (logger.level, logger.propagate, [q.level for q in quiet])
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    for q in quiet:
        q.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        handler.close()
        logger.setLevel(saved[0])
        logger.propagate = saved[1]
        for q, level in zip(quiet, saved[2], strict=True):
            q.setLevel(level)


# --------------------------------------------------------------------------------------------
# the account


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def _rate(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _buyer(inv: Invoice) -> str:
    b = inv.buyer
    region = b.address.county if b.address.country == "RO" else b.address.country
    place = ", ".join(x for x in (b.address.city, region) if x)
    if b.kind is BuyerKind.INDIVIDUAL:
        ident = f"individual, CNP {b.legal_id}" if b.legal_id else "individual"
    elif b.vat_id:
        ident = f"company, VAT id {b.vat_id}"
    else:
        ident = f"company, CUI {b.legal_id}"
    return f"{b.name} ({ident}; {place})"


def _vat(inv: Invoice) -> str:
    parts = []
    for v in inv.vat_breakdown:
        cat = v.tax.category.value
        if v.tax.rate:
            parts.append(f"{cat} {_rate(v.tax.rate)} %: VAT {_money(v.tax_amount)}")
        else:
            reason = f" ({v.tax.exemption_reason})" if v.tax.exemption_reason else ""
            parts.append(f"{cat}{reason}: no VAT")
    return "; ".join(parts)


def _rel(path: Path | None, directory: Path) -> str:
    if path is None:
        return "-"
    try:
        return str(path.relative_to(directory))
    except ValueError:
        return str(path)


def render_account(result: DemoResult) -> str:
    """The readable account of a run (English text, Romanian names and invoices)."""
    d = result.directory
    lines: list[str] = []
    add = lines.append
    add("stripe-efactura demo: Stripe payments -> Romanian invoices -> ANAF -> email")
    add("")
    add("Set-up (nothing leaves this machine)")
    add(f"  folder      {d}")
    add(f"  database    SQLite {_rel(d / 'efactura.db', d)} (migrated)")
    add("  Stripe      in-process fake API holding the sample objects (livemode)")
    add("  ANAF        in-process fake of the e-Factura test API; OAuth code flow done,")
    add("              tokens stored encrypted")
    if result.rate_date is not None:
        add(
            f"  BNR         demo feed: 1 EUR = {_rate(DEMO_EUR_RATE)} RON on "
            f"{result.rate_date.isoformat()} (a DEMO rate, not BNR's)"
        )
    add(f"  SMTP        local sink {result.smtp}, messages saved in mail/")
    add(f"  validation  UBL 2.1 XSD + CIUS-RO 1.0.9 schematron, {result.validation_source}")
    add(f"  web         {result.web_url}/webhooks/stripe")
    add("")
    stored = sum(1 for r in result.deliveries if r.answer == "200 stored")
    dups = sum(1 for r in result.deliveries if r.answer == "200 duplicate")
    answered = "all answered 200" if all(r.status == 200 for r in result.deliveries) else "!"
    add(
        f"Webhooks: {len(result.deliveries)} signed deliveries ({answered}): {stored} stored, "
        f"{dups} duplicates"
    )
    for n, dr in enumerate(result.deliveries, 1):
        outcome = result.event_outcomes.get(dr.delivery.event_id, "?")
        add(
            f"  {n:2d}. {dr.delivery.event_id:<11} {dr.delivery.type:<27} {dr.short:<9} "
            f"{outcome:<22} {dr.delivery.note}".rstrip()
        )
    ignored = Counter(v.split(" ", 1)[1] for v in result.event_outcomes.values() if "ignored" in v)
    sales = {v for v in result.event_outcomes.values() if v.startswith("sale ")}
    confirmed = sum(1 for v in result.event_outcomes.values() if v.startswith("sale "))
    add(
        f"  => {confirmed} events confirmed {len(sales)} payments (one sale each); "
        f"{sum(ignored.values())} ignored ("
        + ", ".join(f"{code} x{n}" for code, n in sorted(ignored.items()))
        + ")"
    )
    add("")
    add("Invoices")
    for r in result.invoices:
        inv = r.invoice
        t = inv.totals
        add(f"  {r.number}  {r.payment.title}")
        add(f"    payment     {r.payment.key} (events {', '.join(r.event_ids)})")
        add(f"    buyer       {_buyer(inv)}")
        count = len(inv.lines)
        add(f"    issued      {inv.issue_date.isoformat()}, {count} line{'s' if count > 1 else ''}")
        add(
            f"    total       {_money(t.tax_inclusive)} {inv.currency} = net "
            f"{_money(t.tax_exclusive)} + VAT {_money(t.tax_total)} ({_vat(inv)})"
        )
        if inv.fx is not None and inv.currency != "RON":
            add(
                f"    in RON      VAT {_money(t.tax_total_ron or Decimal(0))} RON at "
                f"{_rate(inv.fx.rate)} RON/{inv.currency} ({inv.fx.rate_date.isoformat()})"
            )
        fatal = r.validation.get("fatal", [])
        warnings = r.validation.get("warnings", [])
        add(
            f"    validation  {len(fatal)} fatal, {len(warnings)} warnings"
            + (f" ({', '.join(warnings)})" if warnings else "")
        )
        add(f"    ANAF        {' -> '.join(r.anaf_states)}")
        add(
            f"                upload index {r.upload_index} via {r.endpoint} "
            f"({r.anaf_uploads} upload{'s' if r.anaf_uploads != 1 else ''}), "
            f"download id {r.download_id}"
        )
        if r.mail is not None:
            add(f"    email       {r.email_state} to {r.mail.to}")
            add(f'                "{r.mail.subject}"')
            add(f"                {_rel(r.mail.path, d)} ({' + '.join(r.mail.attachments())})")
        else:
            add(f"    email       {r.email_state}")
        add(f"    files       {_rel(r.pdf, d)}, {_rel(r.xml, d)}")
        if r.signed_zip is not None:
            add(f"                {_rel(r.signed_zip, d)} (XML + ANAF signature, as downloaded)")
        else:
            add("                (no signed ZIP: ANAF has not validated it yet)")
    add("")
    payer = {r.mail.path for r in result.invoices if r.mail is not None}
    others = [m for m in result.mails if m.path not in payer]
    if others:
        add("Other emails")
        for m in others:
            add(f"  {_rel(m.path, d)}  to {m.to}: {m.subject}")
    elif result.unsent_notices:
        add(f"Merchant digest: {result.unsent_notices} notices wait for the next digest")
    else:
        add("Merchant digest: none (no notices: nothing needs attention)")
    add("")
    if result.ok:
        numbers = [r.number for r in result.invoices]
        add(
            f"OK: {len(result.deliveries)} webhooks -> {len(numbers)} invoices "
            f"{numbers[0]}..{numbers[-1]}: validated, ANAF ok, emailed ({result.elapsed:.1f} s)."
        )
        add("The service's own log is demo.log in the folder.")
    else:
        add("FAILED:")
        for p in result.problems:
            add(f"  - {p}")
        add("See demo.log in the folder above.")
    return "\n".join(lines)
