"""bench/pipeline: a month-end burst from signed webhooks to emailed invoices and ANAF ``ok``.

    .venv/bin/python bench/pipeline.py N [--workers K] [--db sqlite|postgresql]

N distinct paid B2C Checkout payments (RON, two lines, live mode) are posted as 2 N signed
webhooks (``checkout.session.completed`` and ``payment_intent.succeeded``, interleaved as a
burst) to ``stripe-efactura serve --no-worker``; K worker processes run the real job handlers.
Everything they talk to runs in this process on loopback: the project's fake Stripe
(``intake/fake_stripe.py``, served over HTTP and read through the real Stripe adapter), the
fake ANAF (``anaf/fake.py``, HTTP; each upload processed ``--anaf-processing`` seconds after
it arrives, or at its first status call, unless ``--anaf-polls``) and an SMTP sink (aiosmtpd;
``--smtp-sink bulk``: ``bench/smtp_sink.py``, which reads each message's DATA as one block)
that only counts and times the messages.

Reported: invoices/s to issued, to emailed and to ANAF ``ok`` (``final.archived``: how many
signed archives are already downloaded; they may be deferred off-peak), the time from the
first webhook to the first invoice emailed, worker CPU (user + sys, from /proc) per invoice,
a stage split of that CPU measured inside the workers (build / render / validate / PDF / DB /
Stripe / SMTP / ANAF client, each exclusive of the others; "other" is the job loop, JSON,
logging), jobs run per invoice, worker RSS, the shared validator process's RSS (the workers
validate through it, ``ubl/shared.py``; ``--validator in-process`` loads the validator into
each worker instead), ANAF calls per invoice (by endpoint), and issue 17's sum-of-parts limit
measured in the same run (``parts_limit_per_s``: the cores divided by the CPU per invoice of
build + render + validate + PDF, from the stage split) with the share of it reached to emailed
(and of the issue's fixed 52.9/s, measured on another machine).

``--db postgresql`` creates a fresh database next to ``--pg-url``'s (dropped afterwards).
``--until emailed`` stops once every invoice is emailed (the ANAF figures are then those of
that moment). ``--count-sql`` also counts the workers' SQL statements and write transactions
per invoice, by job (the counting costs CPU: not for timing runs). ``--turns`` (SQLite) times
the workers' write turns: how long each job's write transactions waited for the turn and held
it, and the CPU the holder used meanwhile. ``--pg-statements`` (PostgreSQL, with the server
preloading ``pg_stat_statements``) adds the server's statements per invoice, dearest first
(``bench/pg_statements.py``; not for timing runs either). The run's folder in ``$TMPDIR`` is
removed at the end unless ``--keep``.
Worker CPU is measured, not wall time: on a shared machine it is the figure that compares.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pg_statements
import stripe
from procstat import cpu_seconds, machine_cpu, machine_share
from smtp_sink import BulkSink

SECRET = "whsec_bench_pipeline"
STRIPE_KEY = "sk_test_bench_pipeline"
ANAF_CLIENT = ("fake-client-id", "fake-client-secret")
REPO = Path(__file__).resolve().parents[1]
STAGES = ("build", "render", "validate", "pdf", "db", "stripe", "smtp", "anaf")


# --- the sample burst --------------------------------------------------------------------------


def burst(n: int, now: int) -> tuple[Any, list[dict[str, Any]]]:
    """A fake Stripe store with ``n`` paid Checkout payments and their 2 n events."""
    from stripe_efactura.demo.sample_parts import (
        Events,
        charge,
        checkout_session,
        cui_field,
        line_item,
        payment_intent,
        product,
    )
    from stripe_efactura.intake.fake_stripe import FakeStripeStore

    store = FakeStripeStore(api_key=STRIPE_KEY)
    store.add(product("prod_BenchCana", "Cană ceramică pictată manual", now - 86_400))
    store.add(product("prod_BenchSet", "Set 6 farfurii desert", now - 86_400))
    ev = Events(now - 600)
    completed, succeeded = [], []
    for i in range(n):
        pi_id, ch_id, cs_id = f"pi_Bench{i:07d}", f"ch_Bench{i:07d}", f"cs_live_Bench{i:07d}"
        address = {
            "city": "Cluj-Napoca",
            "country": "RO",
            "line1": f"Str. Memorandumului nr. {i % 90 + 1}, ap. 4",
            "line2": None,
            "postal_code": "400114",
            "state": "Cluj",
        }
        email = f"client{i}@example.com"
        details = {
            "address": address,
            "business_name": None,
            "email": email,
            "individual_name": None,
            "name": f"Client Bench {i}",
            "phone": None,
            "tax_exempt": "none",
            "tax_ids": [],
        }
        amount = 2 * 4500 + 18990
        t = now - 300 + i % 200
        pi = payment_intent(pi_id, amount, created=t, charge=ch_id)
        billing = {"address": address, "email": email, "name": details["name"], "phone": None}
        ch = charge(ch_id, amount, pi=pi_id, created=t + 2, billing=billing)
        cs = checkout_session(
            cs_id,
            pi=pi_id,
            amount=amount,
            created=t - 60,
            details=details,
            custom_fields=[cui_field(None)],
            link="plink_BenchShop",
        )
        store.add(pi, ch, cs)
        store.add_session_line_items(
            cs_id,
            [
                line_item(
                    f"li_Bench{i}a",
                    price="price_BenchCana",
                    product="prod_BenchCana",
                    quantity=2,
                    unit=4500,
                    currency="ron",
                ),
                line_item(
                    f"li_Bench{i}b",
                    price="price_BenchSet",
                    product="prod_BenchSet",
                    quantity=1,
                    unit=18990,
                    currency="ron",
                ),
            ],
        )
        completed.append(ev("checkout.session.completed", cs))
        succeeded.append(ev("payment_intent.succeeded", pi))
    # a burst: each payment's two events close together, payments one after the other
    events = [e for pair in zip(completed, succeeded, strict=True) for e in pair]
    store.add(*events)
    return store, events


def signed(event: dict[str, Any]) -> tuple[bytes, str]:
    body = json.dumps(event).encode()
    ts = int(time.time())
    sig = stripe.WebhookSignature._compute_signature(f"{ts}.{body.decode()}", SECRET)
    return body, f"t={ts},v1={sig}"


# --- the SMTP sink ----------------------------------------------------------------------------


class Sink:
    """Counts messages and keeps the time each arrived (nothing is parsed or written)."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.lock = threading.Lock()
        self.controller: Any = None
        self.port = free_port()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.times.append(time.monotonic())
        return "250 Message accepted for delivery"

    def start(self) -> Sink:
        from aiosmtpd.controller import Controller

        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes] | None = None) -> None:
    for _ in range(600):
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port}")


# --- the database ------------------------------------------------------------------------------


@contextlib.contextmanager
def database(kind: str, tmp: Path, pg_url: str) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'data' / 'efactura.db'}"
        return
    with scratch_postgres(pg_url, f"bench_pipeline_{os.getpid()}") as url:
        yield url


@contextlib.contextmanager
def scratch_postgres(pg_url: str, name: str) -> Iterator[str]:
    """The URL of a new database ``name`` on ``pg_url``'s server, dropped afterwards."""
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield database_url(pg_url, name)
    finally:
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def database_url(pg_url: str, name: str) -> str:
    """``pg_url`` with the database ``name``; its query stays (``?host=/var/run/postgresql``:
    the Unix socket, which cutting at the path's last ``/`` would lose)."""
    return urlsplit(pg_url)._replace(path=f"/{name}").geturl()


def progress(engine: Any) -> dict[str, int]:
    """Invoices issued, emailed and ANAF ``ok``: what the measuring loop counts (when:
    :class:`Poller`). One scan of ``invoices``: the loop shares the 2 cores with the service,
    so the archive and job counts (a subquery per invoice, a scan of every job) wait for
    :func:`counts`."""
    import sqlalchemy as sa

    with engine.connect() as conn:
        row = conn.execute(
            sa.text(
                "SELECT count(*),"
                " sum(CASE WHEN email_state = 'sent' THEN 1 ELSE 0 END),"
                " sum(CASE WHEN anaf_state = 'ok' THEN 1 ELSE 0 END)"
                " FROM invoices"
            )
        ).one()
    return {"issued": int(row[0] or 0), "emailed": int(row[1] or 0), "ok": int(row[2] or 0)}


def any_issued(engine: Any) -> bool:
    """Whether an invoice exists yet (one index entry; the first invoice's time)."""
    import sqlalchemy as sa

    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT 1 FROM invoices LIMIT 1")).first() is not None


class Poller:
    """When the measuring loop counts the invoices (:func:`progress`): every
    :data:`FULL_EVERY` seconds, and at each pass of the loop (0.2 s) once a count still to
    reach ``n`` is within 1.5 s of it at its last pace, or the SMTP sink has all ``n`` emails
    while the database does not say so yet. Each count reads the whole table, on the
    service's database and cores: counted at every pass it took 0.84 ms of PostgreSQL's time
    per invoice (``pg_stat_statements``: 2.2 ms a count on the table's dead row versions,
    autovacuum off), a load on the system measured that the service does not make."""

    FULL_EVERY = 1.0

    def __init__(self, n: int) -> None:
        self.n = n
        self.at = -1e9
        self.seen = {"issued": 0, "emailed": 0, "ok": 0}
        self.pace = {"issued": 0.0, "emailed": 0.0, "ok": 0.0}

    def due(self, now: float, emails: int) -> bool:
        if now - self.at >= self.FULL_EVERY:
            return True
        if emails >= self.n and self.seen["emailed"] < self.n:
            return True
        return any(
            self.seen[key] < self.n <= self.seen[key] + 1.5 * self.pace[key] for key in self.seen
        )

    def count(self, engine: Any, now: float) -> dict[str, int]:
        seen = progress(engine)
        elapsed = now - self.at
        if elapsed >= self.FULL_EVERY / 2:  # the pace over at least half a second
            self.pace = {k: (seen[k] - self.seen[k]) / elapsed for k in seen}
        self.at, self.seen = now, seen
        return seen


def counts(engine: Any) -> dict[str, int]:
    """:func:`progress` and, once, the ANAF-signed archives and the jobs done."""
    import sqlalchemy as sa

    with engine.connect() as conn:
        archived = conn.execute(
            sa.text(
                "SELECT count(*) FROM invoices WHERE anaf_state = 'ok' AND EXISTS (SELECT 1"
                " FROM invoice_files f WHERE f.invoice_id = invoices.id AND f.kind = 'signed_zip')"
            )
        ).scalar()
        jobs = conn.execute(sa.text("SELECT count(*) FROM jobs WHERE status = 'done'")).scalar()
    return {**progress(engine), "archived": int(archived or 0), "jobs_done": int(jobs or 0)}


# --- the worker processes ------------------------------------------------------------------------


def proc_rss_mb(pid: int) -> float:
    from stripe_efactura.ubl.validator_server import rss_kb

    return rss_kb(pid) / 1024


class Stages:
    """Exclusive CPU time (``time.thread_time``) per stage of the worker thread."""

    def __init__(self) -> None:
        self.total: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        self.stack: list[list[Any]] = []  # [name, start, time of nested stages]

    def enter(self, name: str) -> None:
        self.stack.append([name, time.thread_time(), 0.0])

    def leave(self) -> None:
        name, start, nested = self.stack.pop()
        spent = time.thread_time() - start
        self.total[name] += spent - nested
        self.calls[name] += 1
        if self.stack:
            self.stack[-1][2] += spent

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            self.enter(name)
            try:
                return fn(*args, **kwargs)
            finally:
                self.leave()

        return timed

    def wrap_cm(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @contextlib.contextmanager
        def timed(*args: Any, **kwargs: Any) -> Iterator[Any]:
            self.enter(name)
            try:
                with fn(*args, **kwargs) as value:
                    self.leave()
                    self.enter("other")  # the caller's body, not DB
                    try:
                        yield value
                    finally:
                        self.leave()
                        self.enter(name)  # commit or rollback
            finally:
                self.leave()

        return timed


def instrument(stages: Stages) -> None:
    from sqlalchemy.engine import Connection

    from stripe_efactura.anaf.client import AnafClient
    from stripe_efactura.app import documents, email_state, issuing
    from stripe_efactura.intake.stripe_api import StripeApi
    from stripe_efactura.invoicing import build
    from stripe_efactura.jobs import queue
    from stripe_efactura.store import db

    build.build_invoice = stages.wrap("build", build.build_invoice)  # type: ignore[assignment]
    issuing.render = stages.wrap("render", issuing.render)  # type: ignore[assignment]
    issuing.validate_xml = stages.wrap("validate", issuing.validate_xml)  # type: ignore[assignment]
    documents.render_pdf = stages.wrap("pdf", documents.render_pdf)  # type: ignore[assignment]
    email_state.hand_over = stages.wrap("smtp", email_state.hand_over)  # type: ignore[assignment]
    db.read = stages.wrap_cm("db", db.read)  # type: ignore[assignment]
    db.write = stages.wrap_cm("db", db.write)  # type: ignore[assignment]
    queue.claim = stages.wrap("db", queue.claim)  # type: ignore[assignment]
    queue.tick_schedules = stages.wrap("db", queue.tick_schedules)  # type: ignore[assignment]
    for name in ("execute", "exec_driver_sql"):
        setattr(Connection, name, stages.wrap("db", getattr(Connection, name)))
    StripeApi._get = stages.wrap("stripe", StripeApi._get)  # type: ignore[method-assign]
    for method in ("upload", "status", "download", "list_messages"):
        setattr(AnafClient, method, stages.wrap("anaf", getattr(AnafClient, method)))


def watch_turns(turns: dict[str, list[float]], current: list[str]) -> None:
    """``--turns``: time each SQLite write turn of this worker (``store/writer_turns.py``) by
    the job that took it: ``{task: [turns, wait s, held s, CPU s while held]}``. Held is wall
    time from the turn's grant to its release (the transaction, its commit, and any time the
    holder waited for a core meanwhile); CPU is this thread's own in that time."""
    from stripe_efactura.store import writer_turns

    take, release = writer_turns.WriterTurns._flock, writer_turns.WriterTurns._unlock
    held = [0.0, 0.0]

    def timed_take(self: Any) -> bool:
        asked = time.perf_counter()
        granted = take(self)
        held[:] = [time.perf_counter(), time.thread_time()]
        row = turns.setdefault(current[0], [0, 0.0, 0.0, 0.0])
        row[1] += held[0] - asked
        return bool(granted)

    def timed_release(self: Any) -> None:
        row = turns.setdefault(current[0], [0, 0.0, 0.0, 0.0])
        row[0] += 1
        row[2] += time.perf_counter() - held[0]
        row[3] += time.thread_time() - held[1]
        release(self)

    writer_turns.WriterTurns._flock = timed_take  # type: ignore[method-assign]
    writer_turns.WriterTurns._unlock = timed_release  # type: ignore[method-assign]


def child(stats_path: Path, ready_path: Path) -> int:
    """One worker process: the real handlers, timed by stage; stats written on SIGTERM."""
    from stripe_efactura import app as use_cases
    from stripe_efactura.app.runner import Access
    from stripe_efactura.config import load_settings

    stages = Stages()
    if not os.environ.get("BENCH_NO_STAGES"):  # --no-stages
        instrument(stages)
    ran: Counter[str] = Counter()
    current = ["loop"]
    sql: Counter[str] = Counter()
    if os.environ.get("BENCH_COUNT_SQL"):  # --count-sql
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        @event.listens_for(Engine, "before_cursor_execute")
        def _count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            sql[f"{current[0]} | {' '.join(statement.split())[:110]}"] += 1

        @event.listens_for(Engine, "begin")
        def _begin(conn: Any) -> None:  # PostgreSQL's BEGIN is psycopg's, not a statement
            autocommit = conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT"
            if conn.dialect.name != "sqlite" and not autocommit:
                sql[f"{current[0]} | BEGIN (PostgreSQL)"] += 1

    turns: dict[str, list[float]] = {}
    if os.environ.get("BENCH_TURNS"):  # --turns
        watch_turns(turns, current)

    settings = load_settings()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with use_cases.session(settings, Access.WRITE) as ctx:
        shared = getattr(use_cases, "use_shared_validator", None)  # absent in older checkouts
        if shared is not None and os.environ.get("BENCH_VALIDATOR", "shared") == "shared":
            shared(ctx)
        w = use_cases.make_worker(ctx)
        original = w._run

        def counted(job: Any, **kwargs: Any) -> Any:
            ran[job.task] += 1
            current[0] = job.task
            stages.enter("other")
            try:
                return original(job, **kwargs)
            finally:
                stages.leave()

        w._run = counted  # type: ignore[method-assign]
        warm = getattr(w, "on_start", None)

        def started() -> None:  # the product's warm-up, then ready (the CPU baseline)
            if warm is not None:
                warm()
            ready_path.write_text("ready")

        if hasattr(w, "on_start"):
            w.on_start = started
        else:  # a version without the warm-up (PYTHONPATH=<old checkout>/src: "before")
            ready_path.write_text("ready")
        cpu0 = time.thread_time()
        w.run(stop)
        cpu = time.thread_time() - cpu0
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    stats = {
        "stages": dict(stages.total),
        "calls": dict(stages.calls),
        "jobs": dict(ran),
        "thread_cpu": cpu,
        "maxrss_mb": usage.ru_maxrss / 1024,
        "sql": dict(sql),
        "turns": turns,
    }
    stats_path.write_text(json.dumps(stats))
    return 0


_BEGINS = ("| BEGIN IMMEDIATE", "| BEGIN (PostgreSQL)")
"""A write transaction's start in ``--count-sql``: SQLite's statement, psycopg's command (not
a statement: ``sql_per_invoice`` leaves it out; each is a round trip, and so is its
``COMMIT``)."""


# --- the run ------------------------------------------------------------------------------------


def environment(
    tmp: Path, db_url: str, stripe_url: str, anaf_url: str, smtp: int
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EFACTURA_")}
    env.update(
        EFACTURA_DATA_DIR=str(tmp / "data"),
        EFACTURA_CONFIG=str(tmp / "efactura.toml"),
        EFACTURA_DATABASE_URL=db_url,
        EFACTURA_STRIPE_WEBHOOK_SECRET=SECRET,
        EFACTURA_STRIPE_API_KEY=STRIPE_KEY,
        EFACTURA_STRIPE_API_BASE=stripe_url,
        EFACTURA_ANAF_ENV="test",
        EFACTURA_ANAF_API_BASE=anaf_url,
        EFACTURA_ANAF_OAUTH_BASE=anaf_url,
        EFACTURA_ANAF_PUBLIC_BASE=anaf_url,
        EFACTURA_ANAF_CLIENT_ID=ANAF_CLIENT[0],
        EFACTURA_ANAF_CLIENT_SECRET=ANAF_CLIENT[1],
        EFACTURA_ANAF_REDIRECT_URI="http://127.0.0.1/anaf/callback",
        EFACTURA_SMTP_HOST="127.0.0.1",
        EFACTURA_SMTP_PORT=str(smtp),
        EFACTURA_SMTP_STARTTLS="false",
        EFACTURA_MAIL_FROM="facturi@example.ro",
        EFACTURA_VALIDATION_DIR=str(tmp / "validation"),
        EFACTURA_LOG_LEVEL="WARNING",
    )
    return env


def prepare(tmp: Path, env: dict[str, str]) -> None:
    """Schema, and the ANAF authorisation (the demo's code flow against the fake)."""
    from stripe_efactura import app as use_cases
    from stripe_efactura.app.runner import Access
    from stripe_efactura.config import STARTER_TOML, load_settings
    from stripe_efactura.demo.environment import authorise_anaf
    from stripe_efactura.ubl import artifacts

    (tmp / "efactura.toml").write_text(STARTER_TOML, encoding="utf-8")
    artifacts.install_from(REPO.parent / "shared" / "validation", tmp / "validation")
    settings = load_settings(env)
    with use_cases.session(settings, Access.WRITE) as ctx:
        authorise_anaf(ctx)


def post_all(url: str, events: list[dict[str, Any]], threads: int) -> float:
    """Post every event (signed now) from ``threads`` keep-alive connections; the first post's
    time. ``http.client`` rather than httpx: the poster shares the 2 cores with the service,
    and each httpx client also built an SSL context (10 % of this process's samples)."""
    bodies = [signed(e) for e in events]
    first: list[float] = []
    local = threading.local()
    parts = urlsplit(url)

    def post(item: tuple[bytes, str]) -> None:
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = http.client.HTTPConnection(parts.netloc, timeout=60)
        if not first:
            first.append(time.monotonic())
        headers = {"Content-Type": "application/json", "Stripe-Signature": item[1]}
        conn.request("POST", parts.path, body=item[0], headers=headers)
        answer = conn.getresponse()
        text = answer.read()
        if answer.status != 200:
            raise RuntimeError(f"webhook refused: {answer.status} {text!r}")

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(post, bodies))
    return first[0]


def counting(app: Any, calls: Counter[str]) -> Any:
    """The ASGI ``app`` counting its API calls by endpoint (``/test/FCTEL/rest/<endpoint>``)."""

    async def counted(scope: Any, receive: Any, send: Any) -> None:
        path = str(scope.get("path", ""))
        if "/FCTEL/rest/" in path:
            calls[path.rsplit("/", 1)[1]] += 1
        await app(scope, receive, send)

    return counted


_RESOURCES = frozenset(
    {
        "payment_intents",
        "line_items",
        "balance_transactions",
        "invoice_payments",
        "amount_details_line_items",
    }
)


def counting_stripe(app: Any, calls: Counter[str]) -> Any:
    """The fake Stripe ``app`` counting its API calls by method and resource
    (``GET /v1/checkout/sessions``: the path without its ids)."""

    async def counted(scope: Any, receive: Any, send: Any) -> None:
        parts = str(scope.get("path", "")).strip("/").split("/")
        shape = "/".join(p if p.isalnum() or p in _RESOURCES else "{id}" for p in parts)
        calls[f"{scope.get('method', '')} /{shape}"] += 1
        await app(scope, receive, send)

    return counted


def run(opts: argparse.Namespace) -> dict[str, Any]:
    import sqlalchemy as sa

    from stripe_efactura.anaf.fake import FakeAnafState, create_fake_anaf
    from stripe_efactura.demo.environment import AsgiServer
    from stripe_efactura.intake.fake_stripe import create_fake_stripe
    from stripe_efactura.store.db import make_engine

    if opts.pg_statements:  # the server's setting, asked before anything is set up
        admin = make_engine(opts.pg_url)
        problem = pg_statements.check(admin)
        admin.dispose()
        if problem:
            raise SystemExit(problem)
    tmp = Path(tempfile.mkdtemp(prefix="efactura-pipeline-"))
    store, events = burst(opts.n, int(time.time()))
    processing = None if opts.anaf_processing < 0 else timedelta(seconds=opts.anaf_processing)
    anaf_state = FakeAnafState(processing_polls=opts.anaf_polls, processing_delay=processing)
    stripe_calls: Counter[str] = Counter()
    stripe_app = counting_stripe(create_fake_stripe(store), stripe_calls)
    stripe_srv = AsgiServer(stripe_app, lifespan="off", what="fake Stripe").start()
    anaf_calls: Counter[str] = Counter()
    anaf_app = counting(create_fake_anaf(anaf_state), anaf_calls)
    anaf_srv = AsgiServer(anaf_app, lifespan="off", what="fake ANAF").start()
    sink = (BulkSink() if opts.smtp_sink == "bulk" else Sink()).start()
    procs: list[subprocess.Popen[bytes]] = []
    with database(opts.db, tmp, opts.pg_url) as db_url:
        env = environment(tmp, db_url, stripe_srv.url, anaf_srv.url, sink.port)
        if opts.count_sql:
            env["BENCH_COUNT_SQL"] = "1"
        if opts.no_stages:
            env["BENCH_NO_STAGES"] = "1"
        if opts.turns:
            env["BENCH_TURNS"] = "1"
        env["BENCH_VALIDATOR"] = opts.validator
        prepare(tmp, env)
        engine = make_engine(db_url)
        try:
            port = free_port()
            exe = Path(sys.executable).with_name("stripe-efactura")
            serve = subprocess.Popen(
                [str(exe), "serve", "--no-worker", "--port", str(port)], env=env
            )
            procs.append(serve)
            wait_for_port(port, serve)
            workers = []
            for k in range(opts.workers):
                stats, ready = tmp / f"worker{k}.json", tmp / f"worker{k}.ready"
                cmd = [sys.executable, __file__, "--child", str(stats), str(ready)]
                workers.append((subprocess.Popen(cmd, env=env), stats, ready))
            procs.extend(p for p, _s, _r in workers)
            while not all(r.exists() for _p, _s, r in workers):
                if any(p.poll() is not None for p, _s, _r in workers):
                    raise RuntimeError("a worker exited during start-up")
                time.sleep(0.1)
            wal0 = pg_wal_syncs(engine) if opts.db == "postgresql" else None
            if opts.pg_statements:
                pg_statements.start(engine)
            cpu0 = {p.pid: cpu_seconds(p.pid) for p, _s, _r in workers}
            validator = validator_pid(tmp)
            if validator is not None:  # its CPU is the workers' validation: counted with theirs
                cpu0[validator] = cpu_seconds(validator)
            others = {"web": serve.pid, "bench": os.getpid()}
            result = measure(
                opts, engine, sink, workers, cpu0, others, port, events, anaf_calls, validator
            )
            for p, _s, _r in workers:
                p.send_signal(signal.SIGTERM)
            for p, _stats, _r in workers:
                p.wait(timeout=60)
            split = [json.loads(s.read_text()) for _p, s, _r in workers]
            with engine.connect() as conn:
                numbers = conn.execute(sa.text("SELECT seq FROM invoices ORDER BY seq")).all()
            seqs = [int(r[0]) for r in numbers]
            result["numbers_without_gap"] = seqs == list(range(1, len(seqs) + 1))
            if opts.db == "postgresql":
                result["pg_tables"] = pg_table_stats(engine)
                result.update(wal_syncs_per_invoice(wal0, pg_wal_syncs(engine), opts.n))
            if opts.pg_statements:
                rows = pg_statements.read(engine)
                result["pg_statements"] = pg_statements.summarise(rows, opts.n)
            if validator is not None:
                os.kill(validator, signal.SIGTERM)
            result.update(summarise_split(split, opts.n))
            result.update(parts_limit(result))
            result["stripe_calls"] = dict(stripe_calls.most_common())
            result["stripe_calls_per_invoice"] = round(sum(stripe_calls.values()) / opts.n, 2)
        finally:
            for p in procs:
                if p.poll() is None:
                    p.terminate()
                    p.wait(timeout=30)
            engine.dispose()
    sink.stop()
    anaf_srv.stop()
    stripe_srv.stop()
    if not opts.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    return result


PG_TABLES = ("invoices", "invoice_files", "invoice_log", "jobs", "payments", "stripe_events")


def pg_table_stats(engine: Any) -> dict[str, dict[str, int]]:
    """Rows inserted, updated and updated in place (HOT: no index entry written) per table,
    and the table's size in kB, from ``pg_stat_user_tables`` at the end of the run."""
    import sqlalchemy as sa

    query = sa.text(
        "SELECT relname, n_tup_ins, n_tup_upd, n_tup_hot_upd, "
        "pg_table_size(relid) / 1024 FROM pg_stat_user_tables WHERE relname = ANY(:names)"
    )
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT pg_stat_force_next_flush()"))
        rows = conn.execute(query, {"names": list(PG_TABLES)}).all()
    keys = ("inserted", "updated", "hot_updated", "kb")
    return {str(r[0]): dict(zip(keys, map(int, r[1:]), strict=True)) for r in sorted(rows)}


def pg_wal_syncs(engine: Any) -> int | None:
    """How often the PostgreSQL server has written its WAL out to disk (``pg_stat_wal``'s
    ``wal_sync``: a commit waits for one unless another commit's covered it; the whole
    server's, PostgreSQL 14 or later); None without the view."""
    import sqlalchemy as sa

    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT wal_sync FROM pg_stat_wal")).scalar_one())
    except sa.exc.DBAPIError:
        return None


def wal_syncs_per_invoice(before: int | None, after: int | None, n: int) -> dict[str, float]:
    """``{"pg_wal_syncs_per_invoice": …}`` from the server's count before the workers ran and
    after they stopped; nothing when either is unknown."""
    if before is None or after is None or n <= 0:
        return {}
    return {"pg_wal_syncs_per_invoice": round((after - before) / n, 2)}


def validator_pid(tmp: Path) -> int | None:
    """The pid of the shared validator the workers started (None: they validate in-process)."""
    try:
        from stripe_efactura.ubl import shared
    except ImportError:  # a checkout before the shared validator
        return None
    path = shared.socket_path(tmp / "data")
    if not path.exists():
        return None
    client = shared.SharedValidator(Path("unused"), path, command=["false"])
    try:
        return int(str(client.info()["pid"]))
    finally:
        client.close()


def measure(
    opts: argparse.Namespace,
    engine: Any,
    sink: Sink | BulkSink,
    workers: list[tuple[subprocess.Popen[bytes], Path, Path]],
    cpu0: dict[int, float],
    others: dict[str, int],
    port: int,
    events: list[dict[str, Any]],
    anaf_calls: Counter[str],
    validator: int | None,
) -> dict[str, Any]:
    n = opts.n
    reached: dict[str, float] = {}
    first_issued: list[float] = []
    cpu_at_emailed: dict[int, float] = {}
    rss: dict[int, float] = {}
    validator_rss = 0.0
    calls_at_ok: Counter[str] = Counter()
    other0 = {name: cpu_seconds(pid) for name, pid in others.items()}
    other_at_emailed: dict[str, float] = {}
    machine0 = machine_cpu()
    machine_at_emailed = machine0
    poster = ThreadPoolExecutor(1)
    started = poster.submit(
        post_all, f"http://127.0.0.1:{port}/webhooks/stripe", events, opts.connections
    )
    t_start = time.monotonic()
    deadline = t_start + opts.timeout
    poller = Poller(n)
    while time.monotonic() < deadline:
        now = time.monotonic()
        if not first_issued and any_issued(engine):
            first_issued.append(now)
        seen = poller.count(engine, now) if poller.due(now, len(sink.times)) else poller.seen
        for key in ("issued", "emailed", "ok"):
            if key not in reached and seen[key] >= n:
                reached[key] = now
                if key == "ok":
                    calls_at_ok.update(anaf_calls)
        for p, _s, _r in workers:
            rss[p.pid] = max(rss.get(p.pid, 0.0), proc_rss_mb(p.pid))
        if validator is not None:
            validator_rss = max(validator_rss, proc_rss_mb(validator))
        if "emailed" in reached and not cpu_at_emailed:
            cpu_at_emailed = {pid: cpu_seconds(pid) for pid in cpu0}
            other_at_emailed = {name: cpu_seconds(pid) for name, pid in others.items()}
            machine_at_emailed = machine_cpu()
        if len(reached) == 3 or opts.until in reached:
            break
        time.sleep(0.2)
    posted_at = started.result()
    poster.shutdown()
    cpu_end = {pid: cpu_seconds(pid) for pid in cpu0}
    final = counts(engine)
    calls = Counter(anaf_calls)

    def rate(key: str) -> float | None:
        return round(n / (reached[key] - posted_at), 2) if key in reached else None

    def spent(upto: dict[int, float]) -> float:
        return sum(upto[pid] - cpu0[pid] for pid in upto)

    return {
        "payments": n,
        "workers": opts.workers,
        "db": opts.db,
        "final": final,
        "issued_per_s": rate("issued"),
        "emailed_per_s": rate("emailed"),
        "ok_per_s": rate("ok"),
        "first_issued_s": round(first_issued[0] - posted_at, 2) if first_issued else None,
        "first_emailed_s": round(min(sink.times) - posted_at, 2) if sink.times else None,
        "all_emailed_s": round(reached["emailed"] - posted_at, 2) if "emailed" in reached else None,
        "cpu_ms_per_invoice_to_emailed": round(spent(cpu_at_emailed) * 1000 / n, 1)
        if cpu_at_emailed
        else None,
        "cpu_ms_per_invoice_total": round(spent(cpu_end) * 1000 / n, 1),
        "worker_rss_mb": [round(v) for v in rss.values()],
        "validator_rss_mb": round(validator_rss) if validator is not None else None,
        "total_rss_mb": round(sum(rss.values()) + validator_rss),
        "validator_cpu_ms_per_invoice": round((cpu_end[validator] - cpu0[validator]) * 1000 / n, 1)
        if validator is not None
        else None,
        "anaf_calls": dict(calls),
        "anaf_calls_per_invoice": round(sum(calls.values()) / n, 2),
        "anaf_calls_to_ok": dict(calls_at_ok) if "ok" in reached else None,
        "anaf_calls_per_invoice_to_ok": round(sum(calls_at_ok.values()) / n, 2)
        if "ok" in reached
        else None,
        "emails_received": len(sink.times),
        "smtp_sink": opts.smtp_sink,
        **{
            f"{name}_cpu_ms_per_invoice_to_emailed": round((spent_at - other0[name]) * 1000 / n, 1)
            for name, spent_at in other_at_emailed.items()
        },
        "machine_busy_to_emailed": machine_share(machine0, machine_at_emailed),
        "machine_steal_to_emailed": machine_share(machine0, machine_at_emailed, stolen=True),
    }


#: Issue 17's sum of the parts (build 0.4 + render 1.3 x 2 + validate 15.5 + PDF 19.2 = 37.8 ms
#: of CPU per invoice on its machine): 2 cores / 37.8 ms.
ISSUE_PARTS_LIMIT = 52.9


def parts_limit(result: dict[str, Any]) -> dict[str, Any]:
    """The sum-of-parts limit measured in this run, on this machine: the CPU the workers spent
    per invoice in the parts issue 17 counts (build, every XML render, validation in the worker
    and in the shared validator, PDF), and the rate the machine's cores would reach doing
    nothing else; the share of it reached to emailed, and of issue 17's fixed 52.9/s."""
    stages = result.get("stage_ms_per_invoice") or {}
    emailed = result.get("emailed_per_s")
    if not stages.get("pdf") or not emailed:
        return {}
    parts = sum(stages.get(k, 0.0) for k in ("build", "render", "validate", "pdf"))
    parts += result.get("validator_cpu_ms_per_invoice") or 0.0
    cores = os.cpu_count() or 1
    limit = cores * 1000 / parts
    return {
        "parts_ms_per_invoice": round(parts, 1),
        "parts_limit_per_s": round(limit, 1),
        "emailed_share_of_parts_limit": round(emailed / limit, 3),
        "emailed_share_of_issue_parts_limit": round(emailed / ISSUE_PARTS_LIMIT, 3),
    }


def summarise_turns(split: list[dict[str, Any]], n: int) -> dict[str, Any]:
    """``--turns``: the workers' SQLite write turns per invoice (ms), in all and by job."""
    by_task: dict[str, list[float]] = {}
    for s in split:
        for task, row in s.get("turns", {}).items():
            acc = by_task.setdefault(task, [0, 0.0, 0.0, 0.0])
            for i, value in enumerate(row):
                acc[i] += value
    if not by_task:
        return {}
    rows = sorted(by_task.items(), key=lambda kv: -kv[1][2])
    return {
        "write_turns_per_invoice": round(sum(r[0] for r in by_task.values()) / n, 2),
        "turn_wait_ms_per_invoice": round(sum(r[1] for r in by_task.values()) * 1000 / n, 1),
        "turn_held_ms_per_invoice": round(sum(r[2] for r in by_task.values()) * 1000 / n, 1),
        "turn_cpu_ms_per_invoice": round(sum(r[3] for r in by_task.values()) * 1000 / n, 1),
        "turns_by_job": {
            task: {
                "per_invoice": round(r[0] / n, 2),
                "held_ms": round(r[2] * 1000 / max(r[0], 1), 2),
                "cpu_ms": round(r[3] * 1000 / max(r[0], 1), 2),
            }
            for task, r in rows
        },
    }


def summarise_split(split: list[dict[str, Any]], n: int) -> dict[str, Any]:
    stages: Counter[str] = Counter()
    jobs: Counter[str] = Counter()
    for s in split:
        stages.update(s["stages"])
        jobs.update(s["jobs"])
    sql: Counter[str] = Counter()
    for s in split:
        sql.update(s.get("sql", {}))
    counted = {}
    if sql:
        per_task: Counter[str] = Counter()
        for key, times in sql.items():
            per_task[key.split(" | ")[0]] += times
        begins = sum(v for k, v in sql.items() if k.endswith("| BEGIN (PostgreSQL)"))
        counted = {
            "sql_per_invoice": round((sum(sql.values()) - begins) / n, 1),
            "write_transactions_per_invoice": round(
                sum(v for k, v in sql.items() if k.endswith(_BEGINS)) / n, 2
            ),
            # PostgreSQL only: each statement a round trip, each write transaction's BEGIN and
            # COMMIT two more
            **(
                {"pg_round_trips_per_invoice": round((sum(sql.values()) + begins) / n, 1)}
                if begins
                else {}
            ),
            "sql_per_invoice_by_task": {k: round(v / n, 1) for k, v in per_task.most_common()},
            "sql_per_invoice_by_statement": {
                k: round(v / n, 2) for k, v in sql.most_common() if v / n >= 0.05
            },
        }
    return {
        **counted,
        **summarise_turns(split, n),
        "stage_ms_per_invoice": {k: round(v * 1000 / n, 1) for k, v in sorted(stages.items())},
        "jobs_per_invoice": round(sum(jobs.values()) / n, 2),
        "jobs": dict(jobs),
        "worker_maxrss_mb": [round(s["maxrss_mb"]) for s in split],
    }


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("n", type=int, help="payments (each posted as 2 signed webhooks)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--pg-url", default="postgresql://root@127.0.0.1:5432/postgres")
    ap.add_argument("--connections", type=int, default=16, help="concurrent webhook posts")
    ap.add_argument("--anaf-polls", type=int, default=0, help="'in prelucrare' answers first")
    ap.add_argument(
        "--anaf-processing",
        type=float,
        default=2.0,
        help="seconds the fake ANAF takes to process an upload (listed from then on); "
        "-1: only a status call finishes it",
    )
    ap.add_argument("--timeout", type=float, default=900.0)
    ap.add_argument(
        "--until",
        choices=("emailed", "ok"),
        default="ok",
        help="stop measuring once every invoice is emailed (no ANAF `ok` rate: a run about "
        "a third as long, for comparing the rate to emailed) or ANAF `ok` (the default)",
    )
    ap.add_argument("--keep", action="store_true", help="keep the run's folder in $TMPDIR")
    ap.add_argument(
        "--no-stages",
        action="store_true",
        help="no stage split (the timers around every statement cost some CPU themselves)",
    )
    ap.add_argument(
        "--count-sql",
        action="store_true",
        help="count the workers' SQL statements by job (attributes each claim to the job before "
        "it; the counting costs CPU: leave it off when timing)",
    )
    ap.add_argument(
        "--turns",
        action="store_true",
        help="time the workers' SQLite write turns (waited, held, CPU while held) by job",
    )
    ap.add_argument(
        "--smtp-sink",
        choices=("aiosmtpd", "bulk"),
        default="aiosmtpd",
        help="the SMTP sink: aiosmtpd (line by line, the runs in bench/README.md unless "
        "they say otherwise) or bench/smtp_sink.py's (DATA read as one block: about half the "
        "bench's own CPU per invoice)",
    )
    ap.add_argument(
        "--validator",
        choices=("shared", "in-process"),
        default="shared",
        help="the workers validate through one shared validator process (as `worker` does "
        "by default) or each in its own process",
    )
    ap.add_argument(
        "--pg-statements",
        action="store_true",
        help="with --db postgresql: the server's statements per invoice, dearest first, from "
        "pg_stat_statements (which the server must preload; bench/pg_statements.py): for "
        "finding where the server's CPU goes, not for timing",
    )
    return ap


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line, with the options that only make sense together checked."""
    ap = parser()
    opts = ap.parse_args(argv)
    if opts.pg_statements and opts.db != "postgresql":
        ap.error("--pg-statements needs --db postgresql")
    return opts


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        return child(Path(sys.argv[2]), Path(sys.argv[3]))
    opts = arguments()
    load = os.getloadavg()
    result = run(opts)
    result["load_before"] = [round(x, 1) for x in load]
    result["load_after"] = [round(x, 1) for x in os.getloadavg()]
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
