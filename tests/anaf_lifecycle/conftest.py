"""Fixtures for the ANAF lifecycle tests: a service context wired to the fake ANAF (in-process,
fake clock), issued invoices inserted the way ``app.issuing`` stores them, and a driver
that runs :func:`anaf_lifecycle.advance` like the worker does, on the fake clock."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from stripe_efactura import app
from stripe_efactura.anaf.fake import FakeAnafState, FakeAnafTransport, FakeClock, create_fake_anaf
from stripe_efactura.anaf.oauth import token_set_from_response
from stripe_efactura.app import anaf_lifecycle, anaf_port, anaf_tokens, anaf_tuning
from stripe_efactura.app.context import AppContext, build_context
from stripe_efactura.config import STARTER_TOML, demo_settings
from stripe_efactura.invoicing.deadlines import upload_deadline
from stripe_efactura.invoicing.model import (
    Address,
    BuyerKind,
    Invoice,
    InvoiceLine,
    Party,
    TaxClass,
    Totals,
    VatBreakdown,
    VatCategory,
)
from stripe_efactura.invoicing.serialize import invoice_to_json
from stripe_efactura.registry.fake import FakeRegistry
from stripe_efactura.store import db
from stripe_efactura.store import invoices as invoice_store
from stripe_efactura.store.numbering import allocate
from stripe_efactura.store.tables import payments
from stripe_efactura.ubl.render import render

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # Monday, 10:00 in Bucharest
BASE = "http://anaf.fake"
D = Decimal

SELLER = Party(
    name="Firma Mea SRL",
    address=Address(
        line1="Str. Exemplu nr. 1",
        city="SECTOR1",
        county="RO-B",
        postal_code="010101",
        country="RO",
    ),
    vat_id="RO18547290",
    legal_id="18547290",
    trade_register="J40/1234/2020",
)
COMPANY = Party(
    name="Client Exemplu SRL",
    address=Address(
        line1="Bd. Revoluției nr. 3",
        city="Timișoara",
        county="RO-TM",
        postal_code="300024",
        country="RO",
    ),
    vat_id="RO34567892",
    legal_id="34567892",
)
CONSUMER = Party(
    name="Ioana Popescu",
    address=Address(
        line1="Str. Republicii nr. 10",
        city="Brașov",
        county="RO-BV",
        postal_code="500030",
        country="RO",
    ),
    kind=BuyerKind.INDIVIDUAL,
    legal_id="0000000000000",
)
FOREIGN = Party(
    name="Acme Inc.",
    address=Address(line1="1 Main St", city="Springfield", postal_code="12345", country="US"),
    legal_id="98-7654321",
)


def make_invoice(number: str, issued: date, buyer: Party = COMPANY, net: str = "100.00") -> Invoice:
    tax = TaxClass(VatCategory.STANDARD, D("21"))
    amount = D(net)
    vat = (amount * D("0.21")).quantize(D("0.01"))
    line = InvoiceLine("1", "Abonament lunar", D("1"), amount, amount, tax, unit_code="C62")
    return Invoice(
        number=number,
        issue_date=issued,
        currency="RON",
        seller=SELLER,
        buyer=buyer,
        lines=(line,),
        vat_breakdown=(VatBreakdown(tax, amount, vat),),
        totals=Totals(amount, amount, vat, amount + vat, D("0.00"), amount + vat),
    )


BUYERS = {"COMPANY": COMPANY, "CONSUMER": CONSUMER, "FOREIGN": FOREIGN}


@dataclass
class Env:
    ctx: AppContext
    state: FakeAnafState
    clock: FakeClock
    tmp: Path

    def issue(
        self,
        *,
        buyer: Party = COMPANY,
        issued: date | None = None,
        livemode: bool = True,
        anaf_state: str = "pending_upload",
        net: str = "100.00",
    ) -> tuple[int, str]:
        """Store a numbered invoice (and its payment) as issuing does; returns (id, number)."""
        issued = issued or self.clock.now().date()
        cfg = self.ctx.settings.series.invoice
        with db.write(self.ctx.engine) as conn:
            code, seq, number, _ = allocate(conn, cfg, issued)
            key = f"pi_{number}"
            now = db.db_now(conn)
            conn.execute(
                payments.insert().values(
                    payment_key=key,
                    owner_type="payment_intent",
                    owner_id=key,
                    status="invoiced",
                    livemode=livemode,
                    currency="RON",
                    amount=12100,
                    paid_at=now,
                    sale="{}",
                    created_at=now,
                    updated_at=now,
                )
            )
            invoice = make_invoice(number, issued, buyer, net)
            invoice = replace(invoice, livemode=livemode, payment_key=key)
            invoice_id = invoice_store.insert_invoice(
                conn,
                series_code=code,
                seq=seq,
                number=number,
                kind="invoice",
                payment_key=key,
                issue_date=issued,
                currency="RON",
                total=str(invoice.totals.tax_inclusive),
                livemode=livemode,
                snapshot=invoice_to_json(invoice),
                xml=render(invoice),
                deadline=upload_deadline(issued),
                anaf_state=anaf_state,
            )
        return invoice_id, number

    def row_by_number(self, number: str) -> Any:
        with db.read(self.ctx.engine) as conn:
            return invoice_store.by_number(conn, number)

    def buyer(self, name: str) -> Party:
        return BUYERS[name]

    def row(self, invoice_id: int) -> Any:
        with db.read(self.ctx.engine) as conn:
            return invoice_store.get(conn, invoice_id)

    def events(self, invoice_id: int) -> list[str]:
        with db.read(self.ctx.engine) as conn:
            return [e.event for e in invoice_store.timeline(conn, invoice_id)]

    def drive(
        self, ids: list[int], *, max_steps: int = 10_000, until: datetime | None = None
    ) -> dict[int, anaf_port.Step]:
        """Run every invoice's steps on the fake clock until none has work left."""
        heap = [(self.clock.now(), i) for i in ids]
        heapq.heapify(heap)
        last: dict[int, anaf_port.Step] = {}
        for _ in range(max_steps):
            if not heap:
                return last
            due, invoice_id = heapq.heappop(heap)
            if until is not None and due > until:
                heapq.heappush(heap, (due, invoice_id))
                return last
            if due > self.clock.now():
                self.clock.advance(due - self.clock.now())
            step = anaf_lifecycle.advance(self.ctx, invoice_id)
            last[invoice_id] = step
            if step.delay is not None:
                heapq.heappush(heap, (self.clock.now() + timedelta(seconds=step.delay), invoice_id))
        raise AssertionError("the lifecycle did not settle")


@pytest.fixture
def make_env(tmp_path: Path, db_url: str) -> Iterator[Callable[..., Env]]:
    made: list[Env] = []

    def factory(*, tune: anaf_tuning.Tuning | None = None, **state_kw: Any) -> Env:
        clock = FakeClock(START)
        kw: dict[str, Any] = {"processing_polls": 1, "processing_delay": None}
        kw.update(state_kw)
        state = FakeAnafState(clock=clock, **kw)
        settings = demo_settings(
            tmp_path,
            database_url=db_url,
            anaf_api_base=BASE,
            anaf_oauth_base=BASE,
            anaf_public_base=BASE,
            anaf_client_id="fake-client-id",
            anaf_client_secret="fake-client-secret",
            secret_key="lifecycle-test-secret",
        )
        ctx = build_context(
            settings,
            anaf_transport=FakeAnafTransport(create_fake_anaf(state)),
            registry_transport=FakeRegistry(),
        )
        ctx.clock = clock.now
        if tune is not None:
            ctx.anaf_tuning = tune
        app.prepare(ctx)
        tokens = token_set_from_response(state.mint_tokens(), clock.now())
        anaf_tokens.save_tokens(ctx, tokens, source="test")
        env = Env(ctx, state, clock, tmp_path)
        made.append(env)
        return env

    yield factory
    for env in made:
        env.ctx.close()


@pytest.fixture
def env(make_env: Callable[..., Env]) -> Env:
    return make_env()


class LoopbackServer:
    """An ASGI app served by uvicorn on a free loopback port, in a thread of this process."""

    def __init__(self, asgi: Any) -> None:
        import socket
        import threading

        import uvicorn

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        config = uvicorn.Config(asgi, log_level="critical", access_log=False, lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LoopbackServer:
        import time

        self.thread.start()
        for _ in range(500):
            if self.server.started:
                return self
            time.sleep(0.01)
        raise RuntimeError("uvicorn did not start")

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)
        self.sock.close()


@pytest.fixture
def loopback() -> Callable[[Any], LoopbackServer]:
    return LoopbackServer


PROC = Path(__file__).with_name("lifecycle_proc.py")


@pytest.fixture
def proc_script() -> Path:
    return PROC


@pytest.fixture(scope="session")
def validation_dir(validation_src: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from stripe_efactura.ubl import artifacts

    dest = tmp_path_factory.mktemp("validation")
    artifacts.install_from(validation_src, dest)
    return dest


@pytest.fixture
def cli_env(env, monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    """``env`` for the command line: a settings file and the environment naming its database,
    data dir, secret key and (fake) ANAF client."""
    config = tmp_path / "efactura.toml"
    config.write_text(STARTER_TOML)
    s = env.ctx.settings
    for name, value in {
        "CONFIG": str(config),
        "DATA_DIR": str(s.data_dir),
        "DATABASE_URL": s.database_url,
        "SECRET_KEY": str(s.secret_key),
        "ANAF_CLIENT_ID": "fake-client-id",
        "ANAF_CLIENT_SECRET": "fake-client-secret",
    }.items():
        monkeypatch.setenv(f"EFACTURA_{name}", value)
    return env
