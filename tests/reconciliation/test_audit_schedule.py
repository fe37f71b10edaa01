"""The scheduled audit: this month and the previous one, findings into the merchant digest."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from stripe_efactura.app import digest
from stripe_efactura.app.audit_schedule import scheduled_audit
from stripe_efactura.app.handlers import handlers as job_handlers
from stripe_efactura.app.runner import periodic
from stripe_efactura.config import AuditPolicy, demo_settings
from stripe_efactura.intake.fake_stripe import FakeStripeStore, create_fake_stripe, run_in_thread
from stripe_efactura.jobs.queue import Job
from stripe_efactura.mail.compose import compose_merchant_digest
from stripe_efactura.store import db
from stripe_efactura.store import notices as notice_store
from stripe_efactura.store.tables import jobs, schedules

from . import month as mo


@pytest.fixture
def fake_stripe() -> Iterator[tuple[FakeStripeStore, str]]:
    store = FakeStripeStore(api_key="sk_test_recon")
    with run_in_thread(create_fake_stripe(store)) as base:
        yield store, base


def test_schedule_is_daily_by_default_configurable_and_can_be_off(tmp_path: Path) -> None:
    s = demo_settings(tmp_path)
    assert ("period_audit", "period_audit", 86400) in periodic(s)
    assert ("period_audit", "period_audit", 6 * 3600) in periodic(
        s.with_(audit=AuditPolicy(every_hours=6))
    )
    assert all(name != "period_audit" for name, _t, _i in periodic(s.with_(audit=AuditPolicy(0))))
    from stripe_efactura.config import parse_toml, settings_from

    parsed = settings_from(parse_toml("[audit]\nevery_hours = 12\ncheck_spv = false\n"), {})
    assert parsed.audit == AuditPolicy(every_hours=12, check_spv=False)


def test_findings_of_both_months_go_into_the_digest_once(
    tmp_path: Path, db_url: str, fake_stripe: tuple[FakeStripeStore, str]
) -> None:
    store, base = fake_stripe
    m = mo.open_month(tmp_path, db_url, base, store)
    mo.stripe_activity(m)
    mo.books(m)
    mo.settle(m)
    m.add_charge("ch_E", "pi_E", 5000, mo.ts(21))
    with db.read(m.ctx.engine) as conn:
        registered = conn.execute(
            sa.select(schedules).where(schedules.c.name == "period_audit")
        ).one()
        now = db.db_now(conn)
    # first run one day after the first start-up, then daily
    assert registered.interval_seconds == 86400
    assert 86000 < (registered.next_run_at - now).total_seconds() <= 86400
    assert "period_audit" in job_handlers(m.ctx)

    first = scheduled_audit(m.ctx)
    assert (first.periods, first.findings, first.notified) == (("2026-11", "2026-12"), 1, 1)
    job_handlers(m.ctx)["period_audit"](Job(0, "period_audit", {}, 1, 5, "t"))
    with db.read(m.ctx.engine) as conn:
        rows = notice_store.unsent(conn, limit=10)
        digests = conn.execute(
            sa.select(jobs.c.id).where(jobs.c.task == "send_merchant_digest")
        ).all()
    m.ctx.close()
    assert [(r.kind, r.ref) for r in rows] == [
        ("reconciliation", "audit:2026-11:R-COLLECTED-NO-INVOICE:pi_E")
    ]
    assert len(digests) == 1
    payload = json.loads(rows[0].payload)
    assert payload["problems"][0]["code"] == "R-COLLECTED-NO-INVOICE"
    assert payload["problems"][0]["hint"] == "stripe-efactura reconcile --since 2026-11-21"
    notice = digest.notice_from_row(rows[0])
    assert notice.kind == "reconciliation"
    msg = compose_merchant_digest(
        [notice],
        mail_from="facturi@example.ro",
        to=["contabilitate@example.ro"],
        company_name="Firma Mea SRL",
        message_id="<d1@example.ro>",
    )
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Neconcordanță la reconcilierea lunii" in text
    assert "stripe-efactura reconcile --since 2026-11-21" in text


def test_without_a_stripe_key_the_scheduled_audit_does_nothing(tmp_path: Path) -> None:
    from stripe_efactura import app as use_cases
    from stripe_efactura.app.context import build_context

    ctx = build_context(demo_settings(tmp_path))
    use_cases.prepare(ctx)
    result = scheduled_audit(ctx)
    ctx.close()
    assert (result.periods, result.findings, result.notified) == ((), 0, 0)
