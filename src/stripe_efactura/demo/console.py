"""``stripe-efactura demo --console``: the merchant console running on the demo's data.

After the demo run, the service starts again on the same folder (web app with the console,
worker, local SMTP sink) with:

- the fake ANAF served over HTTP on loopback, so the console's "Authorise" button runs the
  real OAuth redirect flow in the browser (``/anaf/callback`` included); the demo's tokens are
  renewed against it first;
- one more sample payment whose buyer address is missing in Stripe, so the inbox shows what
  "needs attention" looks like and the buyer-override form can fix it;
- an admin account with a random password, printed once (or none: the first-run page).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

from .. import app as use_cases
from ..anaf.fake import FakeAnafState, FakeAnafTransport, create_fake_anaf
from ..app import accounts, browse
from ..app.anaf_tuning import Tuning
from ..app.audit_log import Actor
from ..app.context import AppContext
from ..intake.fake_stripe import FakeStripeReader, FakeStripeStore
from ..intake.signature import sign
from ..jsontypes import JsonObject
from ..store.checkpoints import Checkpointer
from ..tz import BUCHAREST
from .environment import (
    AsgiServer,
    SmtpSink,
    WebServer,
    authorise_anaf,
    banking_days_before,
    demo_bnr_xml,
    demo_context,
)
from .model import WEBHOOK_SECRET, DemoError
from .sample_parts import Events, charge, payment_intent
from .samples import build_samples

BROKEN_KEY = "pi_3DemoNoAddress"
DEMO_ADMIN = "admin@demo.example"


def broken_payment(now: int) -> tuple[list[JsonObject], JsonObject]:
    """A card payment whose billing address has only the country: (objects, event)."""
    pi_id, ch_id = BROKEN_KEY, "ch_3DemoNoAddress"
    description = "Consultanță fiscală (1 oră)"
    pi = payment_intent(pi_id, 35000, created=now - 30, charge=ch_id, description=description)
    billing: JsonObject = {
        "address": {
            "city": None,
            "country": "RO",
            "line1": None,
            "line2": None,
            "postal_code": None,
            "state": None,
        },
        "email": "mihai.ionescu@example.com",
        "name": "Mihai Ionescu",
        "phone": None,
    }
    ch = charge(ch_id, 35000, pi=pi_id, created=now - 28, billing=billing, description=description)
    event = Events(now - 20)("payment_intent.succeeded", pi)
    event["id"] = "evt_1DemoNoAddress"
    return [pi, ch], event


@dataclass
class ConsoleDemo:
    ctx: AppContext
    url: str
    anaf_url: str
    admin: tuple[str, str] | None
    _stops: list[Callable[[], None]] = field(default_factory=list)

    def stop(self) -> None:
        while self._stops:
            try:
                self._stops.pop()()
            except Exception:  # stop the rest even when one part fails
                continue
        self.ctx.close()


def _post(url: str, event: JsonObject) -> None:
    raw = json.dumps(event, ensure_ascii=False).encode("utf-8")
    header = sign(raw, WEBHOOK_SECRET, timestamp=int(time.time()))
    answer = httpx.post(
        f"{url}/webhooks/stripe",
        content=raw,
        headers={"Content-Type": "application/json", "Stripe-Signature": header},
        timeout=30,
    )
    if answer.status_code != 200:
        raise DemoError(f"the sample webhook was refused: {answer.status_code} {answer.text}")


def _wait_for_attention(ctx: AppContext, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    flt = browse.payment_filter(status="needs_attention")
    while time.monotonic() < deadline:
        found = browse.list_payments(ctx, flt, limit=200).items
        if any(p["payment_key"] == BROKEN_KEY for p in found):
            return
        time.sleep(0.2)
    raise DemoError(f"payment {BROKEN_KEY} did not reach needs_attention")


def _context(directory: Path, validation_dir: Path, smtp_port: int, now: int) -> AppContext:
    ctx = demo_context(directory, validation_dir, smtp_port)
    store = FakeStripeStore()
    samples = build_samples(now)
    store.add(*samples.objects)
    store.add(*{d.event_id: d.event for d in samples.deliveries}.values())  # reconcile reads them
    objects, event = broken_payment(now)
    store.add(*objects, event)
    ctx.stripe = FakeStripeReader(store)
    issue = datetime.fromtimestamp(now, UTC).astimezone(BUCHAREST).date()
    days = banking_days_before(issue, 15)
    ctx.bnr_transport = httpx.MockTransport(
        lambda _request: httpx.Response(200, content=demo_bnr_xml(days))
    )
    return ctx


def start_console(
    directory: Path,
    validation_dir: Path,
    *,
    admin: bool = True,
    say: Callable[[str], None] = lambda _line: None,
) -> ConsoleDemo:
    """Start the service with the console on a demo folder (see the module docstring)."""
    now = int(time.time())
    sink = SmtpSink(directory / "mail")
    ctx = _context(directory, validation_dir, sink.port, now)
    fake_anaf = create_fake_anaf(FakeAnafState(processing_polls=1, processing_delay=None))
    anaf = AsgiServer(fake_anaf)
    ctx.anaf_transport = FakeAnafTransport(fake_anaf)  # the same fake over HTTP and in-process
    # this fake processes an upload when it is polled: each invoice polls stareMesaj itself
    ctx.anaf_tuning = ctx.anaf_tuning or Tuning(list_status=False)
    demo = ConsoleDemo(ctx, "", "", None)
    try:
        _start(demo, sink, anaf, admin, now, say)
    except BaseException:
        demo.stop()
        raise
    return demo


def _start(
    demo: ConsoleDemo,
    sink: SmtpSink,
    anaf: AsgiServer,
    admin: bool,
    now: int,
    say: Callable[[str], None],
) -> None:
    ctx = demo.ctx
    sink.start()
    demo._stops.append(sink.stop)
    anaf.start()
    demo._stops.append(anaf.stop)
    demo.anaf_url = anaf.url
    ctx.settings = ctx.settings.with_(anaf_oauth_base=anaf.url, anaf_redirect_uri=None)
    use_cases.prepare(ctx)
    authorise_anaf_at(ctx)
    web = WebServer(ctx)
    web.start()
    demo._stops.append(web.stop)
    demo.url = web.url
    stop = threading.Event()
    worker = use_cases.make_worker(ctx, poll_interval=0.2)
    thread = threading.Thread(target=worker.run, args=(stop,), name="console-worker", daemon=True)
    thread.start()

    def stop_worker() -> None:
        stop.set()
        thread.join(timeout=15)

    demo._stops.append(stop_worker)
    checkpointer = Checkpointer(ctx.engine).start()
    demo._stops.append(checkpointer.stop)
    _objects, event = broken_payment(now)
    say(f"Posting one more sample payment ({BROKEN_KEY}, no buyer address)…")
    _post(web.url, event)
    _wait_for_attention(ctx)
    if admin:
        password = secrets.token_urlsafe(12)
        accounts.add_user(ctx, Actor(name="demo", via="cli"), DEMO_ADMIN, password, "admin")
        demo.admin = (DEMO_ADMIN, password)


def authorise_anaf_at(ctx: AppContext) -> None:
    """The demo's ANAF authorisation against this fake (the redirect URI is the callback)."""
    ctx.settings = ctx.settings.with_(anaf_redirect_uri="http://127.0.0.1/anaf/callback")
    try:
        authorise_anaf(ctx)
    finally:
        ctx.settings = ctx.settings.with_(anaf_redirect_uri=None)
