"""Refunds and lost disputes become storno invoices: from Stripe events to a numbered,
validated storno referring to the original invoice, whatever the order and the duplicates."""

from __future__ import annotations

import json
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from factories import stripe_flows as factory
from stripe_efactura import app as use_cases
from stripe_efactura import cli
from stripe_efactura.app import intake, repair
from stripe_efactura.app.context import AppContext, build_context
from stripe_efactura.app.disputes import decide_dispute
from stripe_efactura.config import STARTER_TOML, StornoPolicy, demo_settings
from stripe_efactura.intake.fake_stripe import FakeStripeReader, FakeStripeStore
from stripe_efactura.invoicing.model import InvoiceKind, PrecedingInvoice
from stripe_efactura.invoicing.serialize import invoice_from_json
from stripe_efactura.registry.fake import FakeRegistry
from stripe_efactura.store import db
from stripe_efactura.store.invoices import records
from stripe_efactura.store.tables import invoices, jobs, payments, stripe_events
from stripe_efactura.ubl.validate import get_validator

Json = dict[str, Any]
T_REFUND = factory.T0 + 86400


def make_ctx(
    tmp_path: Path, db_url: str, validation_dir: Path, storno: StornoPolicy | None = None
) -> AppContext:
    store: FakeStripeStore = factory.flow_g_legacy_charge().store(
        factory.flow_a_checkout_card().store()
    )
    settings = demo_settings(tmp_path, database_url=db_url, validation_dir=validation_dir)
    if storno is not None:
        settings = settings.with_(storno=storno)
    ctx = build_context(settings, stripe=FakeStripeReader(store), registry_transport=FakeRegistry())  # type: ignore[arg-type]
    use_cases.prepare(ctx)
    return ctx


def refund(rid: str, amount: int, *, status: str = "succeeded") -> Json:
    return {
        "id": rid,
        "object": "refund",
        "amount": amount,
        "balance_transaction": None,
        "charge": "ch_flowA",
        "created": T_REFUND,
        "currency": "ron",
        "metadata": {},
        "payment_intent": "pi_flowA",
        "reason": "requested_by_customer",
        "status": status,
    }


def dispute(dpid: str, status: str) -> Json:
    return {
        "id": dpid,
        "object": "dispute",
        "amount": 12100,
        "charge": "ch_flowA",
        "created": T_REFUND,
        "currency": "ron",
        "payment_intent": "pi_flowA",
        "reason": "fraudulent",
        "status": status,
    }


def ev(etype: str, obj: Json, n: int) -> Json:
    return factory.event(etype, obj, eid=f"evt_storno{n:02d}", created=T_REFUND + n)


def feed(ctx: AppContext, *events: Json) -> None:
    for e in events:
        intake.accept_event(ctx, json.dumps(e).encode())


def drain(ctx: AppContext) -> None:
    use_cases.make_worker(ctx).drain()


def make_due(ctx: AppContext) -> None:
    with db.write(ctx.engine) as conn:
        conn.execute(jobs.update().where(jobs.c.status == "queued").values(run_at=db.db_now(conn)))


def sale_invoiced(ctx: AppContext) -> None:
    feed(ctx, *factory.flow_a_checkout_card().events)
    drain(ctx)


def issued(ctx: AppContext) -> list[tuple[str, str, str, str, int | None]]:
    with db.read(ctx.engine) as conn:
        rows = conn.execute(
            sa.select(
                invoices.c.number,
                invoices.c.kind,
                invoices.c.payment_key,
                invoices.c.total,
                invoices.c.refers_to,
            ).order_by(invoices.c.seq)
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def status_of(ctx: AppContext, key: str) -> tuple[str, str, str | None, list[str]]:
    with db.read(ctx.engine) as conn:
        r = conn.execute(sa.select(payments).where(payments.c.payment_key == key)).one()
    return r.kind, r.status, r.refers_to, [p["code"] for p in json.loads(r.problems)]


def storno_row(ctx: AppContext, key: str) -> Any:
    with db.read(ctx.engine) as conn:
        return conn.execute(
            records().where(invoices.c.payment_key == key, invoices.c.kind == "storno")
        ).one()


def reasons(ctx: AppContext) -> list[tuple[str, str, str | None]]:
    with db.read(ctx.engine) as conn:
        rows = conn.execute(
            sa.select(stripe_events.c.id, stripe_events.c.outcome, stripe_events.c.reason)
            .where(stripe_events.c.id.like("evt_storno%"))
            .order_by(stripe_events.c.id)
        ).all()
    return [(r.id, r.outcome, (r.reason or "").split(":")[0] or None) for r in rows]


def test_full_refund_after_flow_a_gives_one_valid_storno(
    tmp_path: Path, db_url: str, validation_dir: Path
) -> None:
    ctx = make_ctx(tmp_path, db_url, validation_dir)
    sale_invoiced(ctx)
    feed(ctx, ev("refund.created", refund("re_full", 12100), 1))
    drain(ctx)
    assert issued(ctx) == [
        ("TEST000001", "invoice", "pi_flowA", "121.00", None),
        ("TEST000002", "storno", "re_full", "-121.00", 1),
    ]
    assert status_of(ctx, "re_full") == ("refund", "invoiced", "pi_flowA", [])
    row = storno_row(ctx, "re_full")
    storno = invoice_from_json(row.snapshot)
    assert storno.kind is InvoiceKind.STORNO and storno.type_code == "380"
    assert storno.preceding == (PrecedingInvoice("TEST000001", storno.preceding[0].issue_date),)
    assert [(ln.name, ln.quantity, ln.unit_price, ln.net_amount) for ln in storno.lines] == [
        ("Carte de bucate", D("-2"), D("50.00"), D("-100.00"))
    ]
    assert (storno.totals.tax_total, storno.totals.prepaid, storno.totals.payable) == (
        D("-21.00"),
        D("-121.00"),
        D("0.00"),
    )
    assert b"<cbc:ID>TEST000001</cbc:ID>" in row.xml and b"<cbc:ID>TEST000002</cbc:ID>" in row.xml
    assert get_validator(validation_dir).validate(row.xml).fatal == ()
    with db.read(ctx.engine) as conn:
        pdf_jobs = conn.execute(
            sa.select(jobs.c.dedupe_key).where(jobs.c.task == "render_pdf").order_by(jobs.c.id)
        ).all()
    assert [r[0] for r in pdf_jobs] == ["pdf:1", f"pdf:{row.id}"]
    ctx.close()


def test_two_partial_refunds_give_two_exact_stornos_and_a_third_is_too_large(
    tmp_path: Path, db_url: str, validation_dir: Path
) -> None:
    ctx = make_ctx(tmp_path, db_url, validation_dir)
    sale_invoiced(ctx)
    feed(ctx, ev("refund.created", refund("re_p1", 3000), 1))
    drain(ctx)
    feed(ctx, ev("refund.created", refund("re_p2", 2050), 2))
    drain(ctx)
    feed(ctx, ev("refund.created", refund("re_p3", 7100), 3))  # 71.00 > 121 − 50.50
    drain(ctx)
    assert issued(ctx)[1:] == [
        ("TEST000002", "storno", "re_p1", "-30.00", 1),
        ("TEST000003", "storno", "re_p2", "-20.50", 1),
    ]
    name = "Cota 21%: stornare parțială proporțională a facturii TEST000001 din "
    s1 = invoice_from_json(storno_row(ctx, "re_p1").snapshot)
    s2 = invoice_from_json(storno_row(ctx, "re_p2").snapshot)
    # 30.00 / 1.21 = 24.7933… ; 20.50 / 1.21 = 16.9421…
    assert [
        (ln.name.startswith(name), ln.quantity, ln.unit_price, ln.net_amount) for ln in s1.lines
    ] == [(True, D("-1"), D("24.79"), D("-24.79"))]
    assert (s1.totals.tax_total, s1.totals.tax_inclusive) == (D("-5.21"), D("-30.00"))
    assert [(ln.quantity, ln.unit_price, ln.net_amount) for ln in s2.lines] == [
        (D("-1"), D("16.94"), D("-16.94"))
    ]
    assert (s2.totals.tax_total, s2.totals.tax_inclusive) == (D("-3.56"), D("-20.50"))
    validator = get_validator(validation_dir)
    for key in ("re_p1", "re_p2"):
        assert validator.validate(storno_row(ctx, key).xml).fatal == ()
    assert status_of(ctx, "re_p3") == (
        "refund",
        "needs_attention",
        "pi_flowA",
        ["P-STORNO-TOO-LARGE"],
    )
    ctx.close()


def test_a_refund_before_the_sale_waits_then_issues(
    tmp_path: Path, db_url: str, validation_dir: Path
) -> None:
    ctx = make_ctx(tmp_path, db_url, validation_dir)
    feed(ctx, ev("refund.created", refund("re_early", 12100), 1))
    drain(ctx)
    assert issued(ctx) == []
    assert status_of(ctx, "re_early") == ("refund", "pending", "pi_flowA", [])
    sale_invoiced(ctx)
    assert [r[0] for r in issued(ctx)] == ["TEST000001"]
    make_due(ctx)
    drain(ctx)
    assert issued(ctx)[1:] == [("TEST000002", "storno", "re_early", "-121.00", 1)]
    ctx.close()


def test_a_refund_whose_sale_never_comes_needs_attention_and_can_be_retried(
    tmp_path: Path, db_url: str, validation_dir: Path
) -> None:
    ctx = make_ctx(tmp_path, db_url, validation_dir)
    feed(ctx, ev("refund.created", refund("re_orphan", 12100), 1))
    drain(ctx)
    with db.write(ctx.engine) as conn:  # the job's last attempt is due
        conn.execute(
            jobs.update()
            .where(jobs.c.task == "issue_storno")
            .values(attempts=jobs.c.max_attempts - 1, run_at=db.db_now(conn))
        )
    drain(ctx)
    assert status_of(ctx, "re_orphan") == (
        "refund",
        "needs_attention",
        "pi_flowA",
        ["P-STORNO-NO-ORIGINAL"],
    )
    assert issued(ctx) == []
    sale_invoiced(ctx)
    assert repair.retry_payment(ctx, "re_orphan") == "storno of re_orphan queued again"
    drain(ctx)
    assert issued(ctx)[1:] == [("TEST000002", "storno", "re_orphan", "-121.00", 1)]
    assert status_of(ctx, "re_orphan")[1] == "invoiced"
    ctx.close()


def test_duplicated_refund_events_give_one_storno(
    tmp_path: Path, db_url: str, validation_dir: Path
) -> None:
    ctx = make_ctx(tmp_path, db_url, validation_dir)
    sale_invoiced(ctx)
    created = ev("refund.created", refund("re_dup", 12100), 1)
    updated = ev("refund.updated", refund("re_dup", 12100), 2)
    charge_updated = ev("charge.refund.updated", refund("re_dup", 12100), 3)
    feed(ctx, created, updated, created, charge_updated, updated)
    drain(ctx)
    make_due(ctx)
    drain(ctx)
    assert issued(ctx)[1:] == [("TEST000002", "storno", "re_dup", "-121.00", 1)]
    with db.read(ctx.engine) as conn:
        event_ids = conn.execute(
            sa.select(payments.c.event_ids).where(payments.c.payment_key == "re_dup")
        ).scalar_one()
    assert json.loads(event_ids) == ["evt_storno01", "evt_storno02", "evt_storno03"]
    ctx.close()


def test_a_refund_that_does_not_succeed_is_ignored(
    tmp_path: Path, db_url: str, validation_dir: Path
) -> None:
    ctx = make_ctx(tmp_path, db_url, validation_dir)
    sale_invoiced(ctx)
    feed(
        ctx,
        ev("refund.created", refund("re_bad", 12100, status="pending"), 1),
        ev("refund.failed", refund("re_bad", 12100, status="failed"), 2),
    )
    drain(ctx)
    assert [r[1] for r in issued(ctx)] == ["invoice"]
    assert reasons(ctx) == [
        ("evt_storno01", "ignored", "I-REFUND-NOT-SUCCEEDED"),
        ("evt_storno02", "ignored", "I-REFUND-NOT-SUCCEEDED"),
    ]
    with db.read(ctx.engine) as conn:
        keys = [r[0] for r in conn.execute(sa.select(payments.c.payment_key))]
    assert keys == ["pi_flowA"]
    ctx.close()


def test_a_lost_dispute_asks_the_merchant_by_default_then_follows_the_decision(
    tmp_path: Path, db_url: str, validation_dir: Path
) -> None:
    """Art. 287 Cod fiscal reduces the taxable amount for cancelled or returned supplies; a
    chargeback where the buyer kept the goods is not clearly one: by default a lost dispute
    needs the merchant's decision (P-DISPUTE-DECISION); a won one issues nothing."""
    ctx = make_ctx(tmp_path, db_url, validation_dir)
    sale_invoiced(ctx)
    feed(
        ctx,
        ev("charge.dispute.created", dispute("dp_won", "needs_response"), 1),
        ev("charge.dispute.closed", dispute("dp_won", "won"), 2),
    )
    drain(ctx)
    assert [r[1] for r in issued(ctx)] == ["invoice"]
    feed(ctx, ev("charge.dispute.closed", dispute("dp_lost", "lost"), 3))
    drain(ctx)
    assert [r[1] for r in issued(ctx)] == ["invoice"]
    assert status_of(ctx, "dp_lost") == (
        "dispute",
        "needs_attention",
        "pi_flowA",
        ["P-DISPUTE-DECISION"],
    )
    assert reasons(ctx) == [
        ("evt_storno01", "ignored", "I-DISPUTE-NOT-LOST"),
        ("evt_storno02", "ignored", "I-DISPUTE-NOT-LOST"),
        ("evt_storno03", "processed", None),
    ]
    assert decide_dispute(ctx, "dp_lost", storno=True) == "lost dispute dp_lost: storno queued"
    drain(ctx)
    assert issued(ctx)[1:] == [("TEST000002", "storno", "dp_lost", "-121.00", 1)]
    assert status_of(ctx, "dp_lost") == ("dispute", "invoiced", "pi_flowA", [])
    storno = invoice_from_json(storno_row(ctx, "dp_lost").snapshot)
    assert storno.notes == (
        "Stornare factura TEST000001 din " + f"{storno.preceding[0].issue_date:%d.%m.%Y}",
        "Motiv: Dispută pierdută: plată frauduloasă (plata dp_lost)",
    )
    assert storno.payment is not None and storno.payment.reference == "dp_lost"
    ctx.close()


def test_a_lost_dispute_decided_without_storno_issues_nothing(
    tmp_path: Path, db_url: str, validation_dir: Path
) -> None:
    ctx = make_ctx(tmp_path, db_url, validation_dir)
    sale_invoiced(ctx)
    feed(ctx, ev("charge.dispute.closed", dispute("dp_kept", "lost"), 1))
    drain(ctx)
    assert decide_dispute(ctx, "dp_kept", storno=False) == (
        "lost dispute dp_kept: no storno (decided)"
    )
    drain(ctx)
    assert [r[1] for r in issued(ctx)] == ["invoice"]
    assert status_of(ctx, "dp_kept") == ("dispute", "ignored", "pi_flowA", [])
    ctx.close()


def test_lost_disputes_storno_setting_reverses_at_once(
    tmp_path: Path, db_url: str, validation_dir: Path
) -> None:
    ctx = make_ctx(tmp_path, db_url, validation_dir, StornoPolicy(lost_disputes="storno"))
    sale_invoiced(ctx)
    feed(ctx, ev("charge.dispute.closed", dispute("dp_lost", "lost"), 1))
    drain(ctx)
    assert issued(ctx)[1:] == [("TEST000002", "storno", "dp_lost", "-121.00", 1)]
    ctx.close()


def test_lost_disputes_ignore_setting_issues_nothing(
    tmp_path: Path, db_url: str, validation_dir: Path
) -> None:
    ctx = make_ctx(tmp_path, db_url, validation_dir, StornoPolicy(lost_disputes="ignore"))
    sale_invoiced(ctx)
    feed(ctx, ev("charge.dispute.closed", dispute("dp_lost", "lost"), 1))
    drain(ctx)
    assert [r[1] for r in issued(ctx)] == ["invoice"]
    assert status_of(ctx, "dp_lost") == ("dispute", "ignored", "pi_flowA", [])
    ctx.close()


def test_a_refund_of_a_legacy_charge_refers_to_the_charge(
    tmp_path: Path, db_url: str, validation_dir: Path
) -> None:
    ctx = make_ctx(tmp_path, db_url, validation_dir)
    feed(ctx, *factory.flow_g_legacy_charge().events)
    drain(ctx)
    legacy = dict(refund("re_legacy", 2000), payment_intent=None, charge="ch_flowG")
    feed(ctx, ev("refund.created", legacy, 1))
    drain(ctx)
    assert issued(ctx) == [
        ("TEST000001", "invoice", "ch_flowG", "50.00", None),
        ("TEST000002", "storno", "re_legacy", "-20.00", 1),
    ]
    assert status_of(ctx, "re_legacy") == ("refund", "invoiced", "ch_flowG", [])
    assert get_validator(validation_dir).validate(storno_row(ctx, "re_legacy").xml).fatal == ()
    ctx.close()


def test_a_refund_naming_its_items_reverses_exactly_those_lines_art_287_b(
    tmp_path: Path, db_url: str, validation_dir: Path
) -> None:
    """Art. 287 lit. b) Cod fiscal: the refund's ``efactura_items`` says one of the two books
    came back; the storno reverses that line at its rate (not a proportional split)."""
    ctx = make_ctx(tmp_path, db_url, validation_dir)
    sale_invoiced(ctx)
    one_book = dict(
        refund("re_item", 6050), metadata={"efactura_items": '[{"line": 1, "quantity": 1}]'}
    )
    feed(ctx, ev("refund.created", one_book, 1))
    drain(ctx)
    assert issued(ctx)[1:] == [("TEST000002", "storno", "re_item", "-60.50", 1)]
    s = invoice_from_json(storno_row(ctx, "re_item").snapshot)
    assert [(ln.name, ln.quantity, ln.unit_price, ln.net_amount) for ln in s.lines] == [
        ("Carte de bucate", D("-1"), D("50.00"), D("-50.00"))
    ]
    assert (s.totals.tax_total, s.totals.tax_inclusive) == (D("-10.50"), D("-60.50"))
    assert get_validator(validation_dir).validate(storno_row(ctx, "re_item").xml).fatal == ()
    ctx.close()


def test_refund_items_that_do_not_fit_need_attention_and_issue_nothing(
    tmp_path: Path, db_url: str, validation_dir: Path
) -> None:
    ctx = make_ctx(tmp_path, db_url, validation_dir)
    sale_invoiced(ctx)
    three = dict(refund("re_3", 6050), metadata={"efactura_items": '[{"line": 1, "quantity": 3}]'})
    broken = dict(refund("re_bad", 6050), metadata={"efactura_items": "line 1"})
    feed(ctx, ev("refund.created", three, 1), ev("refund.created", broken, 2))
    drain(ctx)
    assert [r[1] for r in issued(ctx)] == ["invoice"]
    assert status_of(ctx, "re_3")[3] == ["P-STORNO-ITEMS-QUANTITY"]
    assert status_of(ctx, "re_bad")[3] == ["P-STORNO-ITEMS-INVALID"]
    ctx.close()


def test_credit_note_381_setting_issues_a_valid_ubl_credit_note(
    tmp_path: Path, db_url: str, validation_dir: Path
) -> None:
    """``[storno] credit_note_381 = true``: the correction is a CreditNote of type 381 with
    positive amounts referring to the invoice (BG-3), as CIUS-RO allows."""
    ctx = make_ctx(tmp_path, db_url, validation_dir, StornoPolicy(credit_note_381=True))
    sale_invoiced(ctx)
    feed(ctx, ev("refund.created", refund("re_cn", 12100), 1))
    drain(ctx)
    assert issued(ctx)[1:] == [("TEST000002", "storno", "re_cn", "-121.00", 1)]
    row = storno_row(ctx, "re_cn")
    xml = bytes(row.xml) if not isinstance(row.xml, str) else row.xml.encode()
    assert b"<CreditNote " in xml and b"<cbc:CreditNoteTypeCode>381<" in xml
    assert b'<cbc:PayableAmount currencyID="RON">0.00<' in xml
    assert b'<cbc:TaxInclusiveAmount currencyID="RON">121.00<' in xml
    assert invoice_from_json(row.snapshot).type_code == "381"
    assert get_validator(validation_dir).validate(row.xml).fatal == ()
    ctx.close()


def test_payments_dispute_command_decides_a_lost_dispute(
    tmp_path: Path,
    db_url: str,
    validation_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``stripe-efactura payments dispute dp_… --storno`` issues the storno the default
    ``ask`` policy held back; an unknown key is one coded line."""
    ctx = make_ctx(tmp_path, db_url, validation_dir)
    sale_invoiced(ctx)
    feed(ctx, ev("charge.dispute.closed", dispute("dp_cli", "lost"), 1))
    drain(ctx)
    assert status_of(ctx, "dp_cli")[1] == "needs_attention"
    config = tmp_path / "efactura.toml"
    config.write_text(STARTER_TOML)
    s = ctx.settings
    for name, value in {
        "CONFIG": str(config),
        "DATA_DIR": str(s.data_dir),
        "DATABASE_URL": s.database_url,
        "VALIDATION_DIR": str(s.validation_dir),
        "SECRET_KEY": str(s.secret_key),
    }.items():
        monkeypatch.setenv(f"EFACTURA_{name}", value)
    capsys.readouterr()
    assert cli.main(["payments", "dispute", "dp_cli", "--storno"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[:2] == ["lost dispute dp_cli: storno queued", "status: invoiced"]
    assert [r[1:3] for r in issued(ctx)] == [("invoice", "pi_flowA"), ("storno", "dp_cli")]
    assert cli.main(["payments", "dispute", "pi_flowA", "--no-storno"]) == 1
    assert "E-DISPUTE-UNKNOWN" in capsys.readouterr().err
    ctx.close()
