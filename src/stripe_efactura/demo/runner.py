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

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx

from .. import app as use_cases
from ..anaf.fake import FakeAnafState, FakeAnafTransport, create_fake_anaf
from ..app import anaf_archive, documents, system
from ..app import fx as fx_service
from ..app.anaf_tuning import Tuning
from ..app.context import AppContext
from ..config import environment
from ..intake.fake_stripe import FakeStripeReader
from ..intake.signature import sign
from ..invoicing.serialize import invoice_from_json
from ..registry.fake import FakeRegistry
from ..store.anaf_work import AnafState
from ..store.checkpoints import Checkpointer
from ..store.invoices import TimelineEntry
from ..tz import BUCHAREST
from ..ubl import artifacts
from .account import render_account
from .environment import (
    SmtpSink,
    WebServer,
    authorise_anaf,
    banking_days_before,
    check_font,
    demo_bnr_xml,
    demo_context,
    find_validation,
    prepare_directory,
    running,
)
from .model import (
    ANAF_EVENTS,
    DEMO_EUR_RATE,
    WEBHOOK_SECRET,
    CapturedMail,
    DeliveryResult,
    DemoError,
    DemoOptions,
    DemoResult,
    InvoiceReport,
)
from .sample_parts import Delivery, SamplePayment, SampleSet
from .samples import build_samples

__all__ = [
    "DEMO_EUR_RATE",
    "DemoError",
    "DemoOptions",
    "DemoResult",
    "artifacts",
    "banking_days_before",
    "demo_bnr_xml",
    "find_validation",
    "render_account",
    "run_demo",
]

log = logging.getLogger("stripe_efactura.demo")


def run_demo(
    options: DemoOptions | None = None, *, say: Callable[[str], None] = lambda _line: None
) -> DemoResult:
    """Run the whole demo; ``say`` gets progress lines. Raises :class:`DemoError` when the
    demo cannot start; a run that starts returns a result (``ok`` false with its problems)."""
    options = options or DemoOptions()
    started = time.monotonic()
    env = environment() if options.env is None else options.env
    directory = prepare_directory(options.directory)
    with _demo_logging(directory / "demo.log"):
        say(f"Demo folder: {directory}")
        validation_dir, validation_source = find_validation(directory, env)
        check_font(env)
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
    now = int(time.time())
    samples = build_samples(now)
    fake = _wire_fakes(ctx, samples, options)
    days = banking_days_before(datetime.fromtimestamp(now, UTC).astimezone(BUCHAREST).date(), 15)
    ctx.bnr_transport = httpx.MockTransport(
        lambda _request: httpx.Response(200, content=demo_bnr_xml(days))
    )
    use_cases.open_context(ctx, use_cases.Access.WRITE)
    authorise_anaf(ctx)
    fx_service.fetch_bnr(ctx)
    web = WebServer(ctx)
    deliveries = _serve_and_post(ctx, web, sink, samples, say, started + options.timeout)
    mails = list(sink.mails)
    seen = system.overview(ctx)
    reports = _report(ctx, seen, {p.key: p for p in samples.payments}, mails)
    for report in reports:
        report.anaf_uploads = fake.upload_count(report.number)
    result = DemoResult(
        directory=ctx.settings.data_dir,
        validation_source="",
        web_url=web.url,
        smtp=f"127.0.0.1:{sink.port}",
        rate_date=days[-1],
        deliveries=deliveries,
        event_outcomes=_event_outcomes(seen),
        invoices=reports,
        mails=mails,
        unsent_notices=seen.unsent_notices,
        elapsed=time.monotonic() - started,
    )
    result.problems = _check(result, samples.payments)
    if result.problems:
        result.problems += system.unfinished_job_errors(ctx)
    return result


def _wire_fakes(ctx: AppContext, samples: SampleSet, options: DemoOptions) -> FakeAnafState:
    """The sample Stripe API and the fake ANAF become the context's adapters."""
    ctx.stripe = FakeStripeReader(samples.store())
    fake = FakeAnafState(processing_polls=options.anaf_polls, processing_delay=None)
    ctx.anaf_transport = FakeAnafTransport(create_fake_anaf(fake))
    # this fake processes an upload when it is polled: each invoice polls stareMesaj itself
    ctx.anaf_tuning = ctx.anaf_tuning or Tuning(list_status=False)
    ctx.registry_transport = FakeRegistry()
    return fake


def _serve_and_post(
    ctx: AppContext,
    web: WebServer,
    sink: SmtpSink,
    samples: SampleSet,
    say: Callable[[str], None],
    deadline: float,
) -> list[DeliveryResult]:
    """Start the SMTP sink, the web app and a worker; post the webhooks; wait (bounded)
    until every invoice is done; stop everything again."""
    worker = use_cases.make_worker(ctx, poll_interval=0.2)
    stop = threading.Event()
    worker_thread = threading.Thread(target=worker.run, args=(stop,), name="demo-worker")
    checkpointer = Checkpointer(ctx.engine)
    with ExitStack() as stack:
        stack.enter_context(running(sink.start, sink.stop))
        stack.enter_context(running(checkpointer.start, checkpointer.stop))
        stack.enter_context(running(web.start, web.stop))
        stack.enter_context(running(worker_thread.start, lambda: _stop(stop, worker_thread)))
        say(f"Posting {len(samples.deliveries)} signed webhooks to {web.url}/webhooks/stripe")
        deliveries = _post_all(web.url, samples.deliveries)
        say("Waiting for the worker: invoices, PDF, ANAF (fake) and email…")
        while time.monotonic() < deadline and not _done(ctx, len(samples.payments)):
            time.sleep(0.25)
    return deliveries


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
    rows = system.invoice_progress(ctx)
    return len(rows) == expected and all(
        r.anaf_state == AnafState.OK and r.email_state == "sent" and r.archived for r in rows
    )


def _anaf_trail(events: list[TimelineEntry]) -> tuple[list[str], str]:
    """The ANAF states an invoice went through (from its timeline) and the upload endpoint."""
    states = ["pending_upload"]
    endpoint = "-"
    for e in events:
        if e.event == "anaf_upload_intent":
            mode = json.loads(e.detail) if e.detail else {}
            endpoint = "uploadb2c" if mode.get("b2c") else "upload"
            if mode.get("extern"):
                endpoint += " (extern=DA)"
        state = ANAF_EVENTS.get(e.event)
        if state is not None and states[-1] != state:
            states.append(state)
    return states, endpoint


def _report(
    ctx: AppContext,
    seen: system.Overview,
    samples: dict[str, SamplePayment],
    mails: list[CapturedMail],
) -> list[InvoiceReport]:
    by_id = {m.message_id: m for m in mails}
    folder = ctx.settings.data_dir / "invoices"
    out: list[InvoiceReport] = []
    for row in seen.invoices:
        pdf, xml = folder / f"{row.number}.pdf", folder / f"{row.number}.xml"
        documents.export(ctx, row.number, pdf, xml)
        zip_path = anaf_archive.archive_path(ctx, row.number, row.issue_date)
        mail_detail = seen.sent_emails.get(row.id) or {}
        states, endpoint = _anaf_trail(seen.timelines.get(row.id, []))
        out.append(
            InvoiceReport(
                number=row.number,
                payment=samples.get(
                    row.payment_key, SamplePayment(row.payment_key, "(not a sample)", "?", "?")
                ),
                invoice=invoice_from_json(row.snapshot),
                event_ids=list(seen.event_ids.get(row.payment_key, [])),
                validation=json.loads(row.validation or "{}"),
                anaf_states=states,
                anaf_state=row.anaf_state,
                upload_index=row.upload_index,
                download_id=row.download_id,
                endpoint=endpoint,
                email_state=row.email_state,
                mail=by_id.get(str(mail_detail.get("message_id", ""))),
                pdf=pdf,
                xml=xml,
                signed_zip=zip_path if zip_path.is_file() else None,
            )
        )
    return out


def _event_outcomes(seen: system.Overview) -> dict[str, str]:
    out: dict[str, str] = {}
    for r in seen.events:
        if r.outcome == "ignored":
            out[r.id] = f"ignored {str(r.reason or '').split(':', 1)[0]}"
        elif r.outcome == "processed" and r.payment_key:
            out[r.id] = f"sale {r.payment_key}"
        else:
            out[r.id] = r.outcome
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
        if r.anaf_state != AnafState.OK or r.signed_zip is None:
            problems.append(f"{r.number}: ANAF state {r.anaf_state}, not ok and archived")
        if r.anaf_uploads != 1:
            problems.append(f"{r.number}: ANAF received {r.anaf_uploads} uploads")
        if r.email_state != "sent" or r.mail is None:
            problems.append(f"{r.number}: email {r.email_state}")
    return problems


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
