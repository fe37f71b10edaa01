"""Nothing waits silently (issue 14): a live payment under the starter template is kept,
unnumbered, with its reason, and issued once the profile is completed; test-mode payments go
on into the TEST series; without validation artifacts a payment waits (not fails) with its
reason; an invoice due at ANAF without authorisation says so."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from factories import stripe_flows as factory
from factories.waits import live_flow
from stripe_efactura import app as use_cases
from stripe_efactura import cli
from stripe_efactura.app import anaf_admin, browse, intake
from stripe_efactura.app import waiting as waiting_reasons
from stripe_efactura.app.context import AppContext, build_context
from stripe_efactura.config import STARTER_TOML, TEMPLATE_TOML, demo_settings
from stripe_efactura.intake.fake_stripe import FakeStripeReader
from stripe_efactura.registry.fake import FakeRegistry
from stripe_efactura.store import db
from stripe_efactura.store.tables import invoices, jobs

NOW = datetime(2026, 1, 2, 9, 0, tzinfo=UTC)
TEMPLATE_WAIT = {
    "code": "W-WAIT-PROFILE",
    "message_en": "waiting for the company profile: efactura.toml is still the starter template; "
    "restart the service after completing the company block",
    "message_ro": "așteaptă profilul firmei: efactura.toml este încă fișierul de pornire; "
    "reporniți serviciul după completarea blocului [company]",
    "fix": "Fill in [company] in efactura.toml and delete the `template = true` line (or run "
    "`stripe-efactura init --cui YOUR_CUI`), then restart the service after completing the "
    "company block (a running service keeps the settings it started with).",
}


def flow_t() -> factory.Flow:
    """A second, test-mode payment (flow A under other ids: ``pi_flowT``)."""
    flow = factory.flow_a_checkout_card()

    def renamed(value: Any) -> Any:
        return json.loads(json.dumps(value).replace("flowA", "flowT").replace("evt_A", "evt_T"))

    return dataclasses.replace(
        flow,
        events=renamed(flow.events),
        objects=renamed(flow.objects),
        session_line_items=renamed(flow.session_line_items),
    )


def make_ctx(tmp_path: Path, db_url: str, validation_dir: Path, **changes: Any) -> AppContext:
    flows = [live_flow(), flow_t()]
    store = flows[0].store()
    flows[1].store(store)
    settings = demo_settings(
        tmp_path, database_url=db_url, validation_dir=validation_dir, **changes
    )
    ctx = build_context(settings, stripe=FakeStripeReader(store), registry_transport=FakeRegistry())  # type: ignore[arg-type]
    ctx.clock = lambda: NOW
    use_cases.prepare(ctx)
    return ctx


def feed(ctx: AppContext, *flows: factory.Flow) -> None:
    for flow in flows:
        for event in flow.events:
            intake.accept_event(ctx, json.dumps(event).encode())
    use_cases.make_worker(ctx).drain()


def numbers(ctx: AppContext) -> list[tuple[str, str]]:
    with db.read(ctx.engine) as conn:
        rows = conn.execute(
            sa.select(invoices.c.number, invoices.c.payment_key).order_by(invoices.c.id)
        ).all()
    return [(r.number, r.payment_key) for r in rows]


def waiting(ctx: AppContext) -> dict[str, tuple[str, Any]]:
    return {
        str(r["payment_key"]): (str(r["status"]), r["waiting"])
        for r in use_cases.payments_listing(ctx)
        if r["kind"] == "payment"
    }


def due_now(ctx: AppContext) -> None:
    """Let the waiting jobs' delay pass."""
    with db.write(ctx.engine) as conn:
        conn.execute(jobs.update().values(run_at=db.utc_naive(datetime.now(UTC) - timedelta(1))))


def test_a_live_payment_waits_under_the_template_and_is_issued_once_it_is_completed(
    tmp_path: Path, db_url: str, validation_dir: Path
) -> None:
    ctx = make_ctx(tmp_path, db_url, validation_dir, template=True)
    feed(ctx, live_flow(), flow_t())
    assert numbers(ctx) == [("TEST000001", "pi_flowT")]  # test mode goes on
    assert waiting(ctx) == {
        "pi_flowA": ("pending", TEMPLATE_WAIT),
        "pi_flowT": ("invoiced", None),
    }
    assert browse.payment_detail(ctx, "pi_flowA")["waiting"] == TEMPLATE_WAIT
    with db.read(ctx.engine) as conn:
        job = conn.execute(sa.select(jobs).where(jobs.c.task == "issue_invoice")).all()
    assert sorted((j.args, j.status, j.attempts) for j in job) == [
        ('{"payment_key": "pi_flowA"}', "queued", 0),  # waits without spending attempts
        ('{"payment_key": "pi_flowT"}', "done", 1),
    ]

    fixed = make_ctx(tmp_path, db_url, validation_dir)  # the profile completed, a restart
    due_now(fixed)
    use_cases.make_worker(fixed).drain()
    assert numbers(fixed) == [("TEST000001", "pi_flowT"), ("SEF000001", "pi_flowA")]
    assert waiting(fixed) == {"pi_flowA": ("invoiced", None), "pi_flowT": ("invoiced", None)}


def test_without_validation_artifacts_a_payment_waits_with_its_reason(
    tmp_path: Path, db_url: str, validation_dir: Path
) -> None:
    ctx = make_ctx(tmp_path, db_url, tmp_path / "no-validation")
    feed(ctx, flow_t())
    assert numbers(ctx) == []
    assert waiting(ctx) == {
        "pi_flowT": (
            "pending",
            {
                "code": "W-WAIT-VALIDATION",
                "message_en": "waiting for the validation artifacts (UBL XSD, CIUS-RO schematron)",
                "message_ro": "așteaptă fișierele oficiale de validare (UBL XSD, schematron "
                "CIUS-RO)",
                "fix": "stripe-efactura validation fetch (offline: --from DIR)",
            },
        )
    }
    with db.read(ctx.engine) as conn:
        job = conn.execute(sa.select(jobs).where(jobs.c.task == "issue_invoice")).one()
    assert (job.status, job.attempts) == ("queued", 0)  # a wait, never dead

    installed = make_ctx(tmp_path, db_url, validation_dir)
    due_now(installed)
    use_cases.make_worker(installed).drain()
    assert numbers(installed) == [("TEST000001", "pi_flowT")]


def test_an_invoice_due_at_anaf_without_authorisation_says_why(
    tmp_path: Path, db_url: str, validation_dir: Path
) -> None:
    ctx = make_ctx(tmp_path, db_url, validation_dir)
    feed(ctx, live_flow())
    (row,) = anaf_admin.invoices_listing(ctx)
    # the ANAF job records its own reason once it ran (the lifecycle's); never None
    assert (row["number"], row["anaf_state"]) == ("SEF000001", "pending_upload")
    assert str(row["reason"]).startswith("E-ANAF-NOT-AUTHORISED: no usable ANAF token")
    assert row["waiting"] is None
    # before the ANAF job has run, the reason is worked out from the authorisation
    expected = {
        "code": "W-WAIT-ANAF-AUTH",
        "message_en": "waiting for ANAF authorisation",
        "message_ro": "așteaptă autorizarea ANAF",
        "fix": "stripe-efactura anaf login (the qualified certificate, once a year)",
    }
    waits = waiting_reasons.InvoiceWaits(ctx)
    assert waits.as_dict("pending_upload", None, livemode=True) == expected
    assert waits.as_dict("not_uploaded", None, livemode=False) is None


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, validation_dir: Path) -> Path:
    monkeypatch.setenv("EFACTURA_CONFIG", str(tmp_path / "efactura.toml"))
    monkeypatch.setenv("EFACTURA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("EFACTURA_VALIDATION_DIR", str(validation_dir))
    for name in ("EFACTURA_DATABASE_URL", "EFACTURA_STRIPE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_payments_list_shows_the_waiting_reason(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (cli_env / "efactura.toml").write_text(TEMPLATE_TOML, encoding="utf-8")
    flow = live_flow()
    files = []
    for i, event in enumerate(flow.events):
        path = cli_env / f"e{i}.json"
        path.write_text(json.dumps(event), encoding="utf-8")
        files.append(str(path))
    assert cli.main(["init"]) == 0
    assert cli.main(["ingest", *files]) == 0
    capsys.readouterr()
    assert cli.main(["payments", "list"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "STATUS           PAYMENT                                    AMOUNT  MODE  OWNER / REASON",
        (
            "pending          pi_flowA                               121,00 RON  live  "
            "checkout_session:cs_flowA"
        ),
        (
            "                 waiting: W-WAIT-PROFILE waiting for the company profile: "
            "efactura.toml is still the starter template; restart the service after completing "
            "the company block"
        ),
        (
            "ignored          evt_A05                                         -  live  "
            "I-NOT-TRIGGER: This event type does not confirm a payment; nothing to invoice."
        ),
        (
            "ignored          evt_A01                                         -  live  "
            "I-NOT-PAID: The payment is not complete yet; the invoice is issued on the event that "
            "confirms it."
        ),
    ]
    assert STARTER_TOML in TEMPLATE_TOML
