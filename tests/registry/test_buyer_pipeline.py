"""From a Stripe Checkout to an invoice with the registries in the loop (fake ANAF registry and
VIES): the registry's name and address fill what Stripe lacks, unknown and inactive CUIs and
invalid VAT ids are problems, a registry that is down makes the invoice wait, then a problem."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from factories import stripe_flows as factory
from stripe_efactura import app as use_cases
from stripe_efactura.app import intake, issuing, lookups
from stripe_efactura.app.context import AppContext, build_context
from stripe_efactura.config import demo_settings
from stripe_efactura.intake.fake_stripe import FakeStripeReader
from stripe_efactura.invoicing.model import Address, BuyerRegistry
from stripe_efactura.invoicing.serialize import invoice_from_json
from stripe_efactura.registry.fake import FakeClock, FakeRegistry
from stripe_efactura.store import db
from stripe_efactura.store.invoices import records
from stripe_efactura.store.tables import invoices, payments
from stripe_efactura.ubl import artifacts

Json = dict[str, Any]
KEY = "pi_flowA"
EPOCH = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def validation_dir(validation_src: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("validation")
    artifacts.install_from(validation_src, dest)
    return dest


def _only_a_cui(cui: str | None) -> Callable[[Json], None]:
    """Checkout as a merchant sets it up with just a CUI field: no billing address collection
    (country only), no business name, no tax ids; the card holder's name."""

    def change(obj: Json) -> None:
        if obj.get("object") == "checkout.session":
            obj["custom_fields"][0]["text"]["value"] = cui
            details = obj["customer_details"]
            details.update(business_name=None, tax_ids=[], name="Ion Popescu")
            details["address"] = dict.fromkeys(details["address"]) | {"country": "RO"}
            obj["collected_information"]["shipping_details"] = None
        if obj.get("object") == "charge":
            bd = obj["billing_details"]
            bd["address"] = dict.fromkeys(bd["address"]) | {"country": "RO"}

    return change


def _flow(change: Callable[[Json], None]) -> factory.Flow:
    flow = factory.flow_a_checkout_card()
    for obj in flow.objects:
        change(obj)
    for event in flow.events:
        change(event["data"]["object"])
    return flow


def _ctx(
    tmp_path: Path, db_url: str, validation_dir: Path, flow: factory.Flow, fake: FakeRegistry
) -> AppContext:
    settings = demo_settings(tmp_path, database_url=db_url, validation_dir=validation_dir)
    ctx = build_context(settings, stripe=FakeStripeReader(flow.store()), registry_transport=fake)  # type: ignore[arg-type]
    use_cases.prepare(ctx)
    clock: FakeClock = fake.clock  # type: ignore[assignment]
    ctx.clock = lambda: EPOCH + timedelta(seconds=clock() - 1000.0)
    ctx.sleep = clock.sleep
    for e in flow.events:
        intake.accept_event(ctx, json.dumps(e).encode())
    return ctx


@pytest.fixture
def fake() -> FakeRegistry:
    clock = FakeClock()
    return FakeRegistry(clock=clock, sleep=clock.sleep)


@pytest.fixture
def run(
    tmp_path: Path, db_url: str, validation_dir: Path, fake: FakeRegistry
) -> Iterator[Callable[[str | None], AppContext]]:
    made: list[AppContext] = []

    def go(cui: str | None) -> AppContext:
        ctx = _ctx(tmp_path, db_url, validation_dir, _flow(_only_a_cui(cui)), fake)
        made.append(ctx)
        use_cases.make_worker(ctx).drain()
        return ctx

    yield go
    for ctx in made:
        ctx.close()


def _payment(ctx: AppContext) -> tuple[str, list[str]]:
    with db.read(ctx.engine) as conn:
        row = conn.execute(sa.select(payments).where(payments.c.payment_key == KEY)).one()
    return row.status, [p["code"] for p in json.loads(row.problems)]


def test_a_checkout_with_only_a_cui_gets_the_registrys_name_and_address(
    run: Callable[[str | None], AppContext], fake: FakeRegistry
) -> None:
    ctx = run("41833563")
    assert _payment(ctx) == ("invoiced", [])
    with db.read(ctx.engine) as conn:
        row = conn.execute(records()).one()
    invoice = invoice_from_json(row.snapshot)
    buyer = invoice.buyer
    assert buyer.name == "ATELIER DIGITAL NORD SRL"  # not the card holder's name
    assert buyer.address == Address(
        line1="Bd. Decebal nr. 14",
        city="SECTOR3",
        country="RO",
        line2="Bl. S5, Sc. 2, Ap. 21",
        postal_code="030964",
        county="RO-B",
    )
    assert (buyer.legal_id, buyer.vat_id, buyer.trade_register) == (
        "41833563",
        "RO41833563",  # a VAT payer per the registry
        "J40/11223/2019",
    )
    assert invoice.buyer_registry == (
        BuyerRegistry(
            source="anaf",
            day=invoice.issue_date,
            vat_payer=True,
            vat_on_collection=False,
        ),
    )
    assert json.loads(row.validation)["fatal"] == []
    assert b"ATELIER DIGITAL NORD SRL" in row.xml and b"Bd. Decebal nr. 14" in row.xml
    assert [c for _, c in fake.anaf_calls] == [["41833563"]]
    (event,) = lookups.timeline(ctx, KEY)
    assert (event["event"], event["detail"]["name"], event["detail"]["cached"]) == (
        "registry_lookup",
        "ATELIER DIGITAL NORD SRL",
        False,
    )


def test_a_non_vat_payer_keeps_only_its_cui(
    run: Callable[[str | None], AppContext],
) -> None:
    ctx = run("RO34567892")  # typed with RO, but not registered for VAT
    assert _payment(ctx) == ("invoiced", [])
    with db.read(ctx.engine) as conn:
        invoice = invoice_from_json(conn.execute(sa.select(invoices.c.snapshot)).scalar_one())
    assert (invoice.buyer.legal_id, invoice.buyer.vat_id) == ("34567892", None)
    assert invoice.buyer.name == "MICRO SERVICII NEPLATITOR SRL"
    assert invoice.buyer_registry[0].vat_payer is False


@pytest.mark.parametrize(
    ("cui", "codes", "text"),
    [
        (
            "13579134",
            ["P-BUYER-CUI-UNKNOWN", "P-BUYER-ADDRESS-MISSING", "P-BUYER-CITY-MISSING"],
            "The CUI 13579134 (from checkout_session",
        ),
        ("22334451", ["P-BUYER-INACTIVE"], "FIRMA INACTIVA SRL (CUI 22334451) is inactive"),
    ],
)
def test_unknown_or_inactive_cui_is_a_problem_and_uses_no_number(
    run: Callable[[str | None], AppContext], cui: str, codes: list[str], text: str
) -> None:
    ctx = run(cui)
    assert _payment(ctx) == ("needs_attention", codes)
    with db.read(ctx.engine) as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(invoices)).scalar() == 0
        problems = json.loads(conn.execute(sa.select(payments.c.problems)).scalar_one())
    assert problems[0]["message_en"].startswith(text)


def test_b2c_never_asks_a_registry(
    run: Callable[[str | None], AppContext], fake: FakeRegistry
) -> None:
    fake.anaf_faults = ["down"] * 100  # it would not answer anyway
    ctx = run(None)
    status, codes = _payment(ctx)
    assert fake.anaf_calls == [] and fake.vies_calls == []
    assert "P-REGISTRY-UNAVAILABLE" not in codes
    assert lookups.timeline(ctx, KEY) == []
    assert status in ("invoiced", "needs_attention")


def test_registry_down_waits_then_becomes_a_problem(
    run: Callable[[str | None], AppContext], fake: FakeRegistry
) -> None:
    fake.anaf_faults = ["html"] * 30
    ctx = run("41833563")
    assert _payment(ctx) == ("pending", [])  # waiting, no problem yet, no number
    clock: FakeClock = fake.clock  # type: ignore[assignment]
    clock.sleep(6 * 3600)
    with pytest.raises(lookups.LookupWait):
        issuing.issue_invoice(ctx, KEY)
    clock.sleep(lookups.MAX_WAIT.total_seconds())
    assert issuing.issue_invoice(ctx, KEY) == "needs_attention"
    status, codes = _payment(ctx)
    assert (status, codes) == (
        "needs_attention",
        ["P-REGISTRY-UNAVAILABLE", "P-BUYER-ADDRESS-MISSING", "P-BUYER-CITY-MISSING"],
    )
    events = [e["event"] for e in lookups.timeline(ctx, KEY)]
    assert events == ["registry_unavailable"] * 3 + ["registry_gave_up"]
    # the registry is back: a retry issues the invoice
    fake.anaf_faults = []
    clock.sleep(5)
    assert issuing.issue_invoice(ctx, KEY) == "issued"


# --- VIES: the demo's German company (reverse charge, EUR) ---------------------------------

EU_KEY = "pi_3DemoWooEUR"


def _demo_ctx(tmp_path: Path, db_url: str, validation_dir: Path, fake: FakeRegistry) -> AppContext:
    import httpx

    from stripe_efactura.app import fx as fx_service
    from stripe_efactura.demo.environment import banking_days_before, demo_bnr_xml
    from stripe_efactura.demo.samples import build_samples
    from stripe_efactura.tz import BUCHAREST

    now = int(EPOCH.timestamp())
    samples = build_samples(now)
    settings = demo_settings(tmp_path, database_url=db_url, validation_dir=validation_dir)
    ctx = build_context(settings, stripe=FakeStripeReader(samples.store()), registry_transport=fake)  # type: ignore[arg-type]
    use_cases.prepare(ctx)
    clock: FakeClock = fake.clock  # type: ignore[assignment]
    ctx.clock = lambda: EPOCH + timedelta(seconds=clock() - 1000.0)
    ctx.sleep = clock.sleep
    days = banking_days_before(EPOCH.astimezone(BUCHAREST).date(), 15)
    ctx.bnr_transport = httpx.MockTransport(
        lambda _r: httpx.Response(200, content=demo_bnr_xml(days))
    )
    fx_service.fetch_bnr(ctx)
    for d in samples.deliveries:
        if d.object_id.endswith("DemoWooEUR"):
            intake.accept_event(ctx, json.dumps(d.event).encode())
    use_cases.make_worker(ctx).drain()
    return ctx


def _eu_payment(ctx: AppContext) -> tuple[str, list[str]]:
    with db.read(ctx.engine) as conn:
        row = conn.execute(sa.select(payments).where(payments.c.payment_key == EU_KEY)).one()
    return row.status, [p["code"] for p in json.loads(row.problems)]


def test_reverse_charge_only_after_vies_says_valid(
    tmp_path: Path, db_url: str, validation_dir: Path, fake: FakeRegistry
) -> None:
    ctx = _demo_ctx(tmp_path, db_url, validation_dir, fake)
    assert _eu_payment(ctx) == ("invoiced", [])
    with db.read(ctx.engine) as conn:
        invoice = invoice_from_json(conn.execute(sa.select(invoices.c.snapshot)).scalar_one())
    assert [b.tax.category.value for b in invoice.vat_breakdown] == ["AE"]
    assert invoice.buyer_registry == (
        BuyerRegistry(source="vies", day=invoice.issue_date, vies_valid=True),
    )
    assert fake.vies_calls == ["DE268519733"] and fake.anaf_calls == []
    ctx.close()


def test_a_vat_id_vies_does_not_know_is_a_problem(
    tmp_path: Path, db_url: str, validation_dir: Path, fake: FakeRegistry
) -> None:
    fake.traders = {}
    ctx = _demo_ctx(tmp_path, db_url, validation_dir, fake)
    assert _eu_payment(ctx) == ("needs_attention", ["P-VAT-ID-NOT-IN-VIES"])
    ctx.close()


def test_vies_ms_unavailable_waits_then_says_so(
    tmp_path: Path, db_url: str, validation_dir: Path, fake: FakeRegistry
) -> None:
    fake.vies_unavailable = {"DE"}
    ctx = _demo_ctx(tmp_path, db_url, validation_dir, fake)
    assert _eu_payment(ctx) == ("pending", [])
    clock: FakeClock = fake.clock  # type: ignore[assignment]
    clock.sleep(lookups.MAX_WAIT.total_seconds() + 60)
    assert issuing.issue_invoice(ctx, EU_KEY) == "needs_attention"
    assert _eu_payment(ctx) == ("needs_attention", ["P-VIES-UNAVAILABLE"])
    with db.read(ctx.engine) as conn:
        (problem,) = json.loads(conn.execute(sa.select(payments.c.problems)).scalar_one())
    assert "(MS_UNAVAILABLE)" in problem["message_en"]
    ctx.close()


def test_the_lookup_is_on_the_payments_timeline_in_the_api_and_the_console(
    run: Callable[[str | None], AppContext],
) -> None:
    from starlette.testclient import TestClient

    from stripe_efactura.app import accounts, api_tokens
    from stripe_efactura.app.audit_log import Actor
    from stripe_efactura.web.app import create_app

    ctx = run("41833563")
    who = Actor(name="test", via="cli")
    password = "o parola destul de lunga"
    accounts.add_user(ctx, who, "viewer@example.ro", password, "viewer")
    token = api_tokens.create_token(ctx, who, "viewer@example.ro", "t", "read")[1]
    with TestClient(create_app(ctx), follow_redirects=False) as client:
        detail = client.get(f"/api/v1/payments/{KEY}", headers={"Authorization": f"Bearer {token}"})
        assert detail.status_code == 200, detail.text
        (entry,) = [e for e in detail.json()["timeline"] if e["event"].startswith("registry:")]
        assert entry["event"] == "registry:registry_lookup"
        assert (entry["detail"]["cui"], entry["detail"]["name"]) == (
            "41833563",
            "ATELIER DIGITAL NORD SRL",
        )
        login = client.get("/login")
        csrf = login.text.split('name="csrf" value="')[1].split('"')[0]
        form = {"csrf": csrf, "email": "viewer@example.ro", "password": password, "next": "/"}
        assert client.post("/login", data=form).status_code == 303
        page = client.get(f"/payments/{KEY}")
        assert page.status_code == 200
        section = page.text.split('id="payment-timeline"')[1].split("</ol>")[0]
        assert "registry:registry_lookup" in section
        assert "ATELIER DIGITAL NORD SRL" in section and "41833563" in section
