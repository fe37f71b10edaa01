"""The period audit end to end: a month in the fake Stripe (over HTTP) and the fake ANAF.

A clean month has no finding; each anomaly produces exactly its finding; payouts reconcile.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path

import pytest

from stripe_efactura.app import period_audit, periods
from stripe_efactura.cli import main
from stripe_efactura.config import STARTER_TOML
from stripe_efactura.errors import StripeApiError
from stripe_efactura.intake import fake_ledger
from stripe_efactura.intake.fake_stripe import FakeStripeStore, create_fake_stripe, run_in_thread
from stripe_efactura.intake.sale import Sale
from stripe_efactura.store import db, repo
from stripe_efactura.store.tables import invoice_files

from . import month as mo

NOV = periods.month("2026-11")


@pytest.fixture
def fake_stripe() -> Iterator[tuple[FakeStripeStore, str]]:
    store = FakeStripeStore(api_key="sk_test_recon")
    with run_in_thread(create_fake_stripe(store)) as base:
        yield store, base


def build(
    tmp_path: Path,
    db_url: str,
    fake: tuple[FakeStripeStore, str],
    before_send: Callable[[mo.Month], None] | None = None,
    **kw: object,
) -> mo.Month:
    store, base = fake
    m = mo.open_month(tmp_path, db_url, base, store, **kw)
    mo.stripe_activity(m)
    mo.books(m)
    if before_send is not None:
        before_send(m)
    mo.settle(m)
    mo.spv_extras(m)
    return m


def test_a_clean_month_has_no_finding_and_its_payout_reconciles(
    tmp_path: Path, db_url: str, fake_stripe: tuple[FakeStripeStore, str]
) -> None:
    m = build(tmp_path, db_url, fake_stripe)
    report = period_audit.run_audit(m.ctx, NOV)
    assert [(f.code, f.ref, f.message_en) for f in report.findings] == []
    assert report.clean
    assert report.counts == {
        "stripe_transactions": 13,
        "payouts": 1,
        "documents": 7,
        "spv_messages": 9,
    }
    (payout,) = report.payouts
    assert (payout.payout_id, payout.arrival_date, payout.currency) == ("po_1", "2026-11-25", "RON")
    assert payout.invoices == ["SEF000001", "SEF000002", "SEF000003"]
    assert payout.stornos == ["SEF000005"]
    assert payout.unmatched == []
    # 121.00 + 1231.20 + 363.00 - 121.00; fees 3.25 + 20.00 + 8.00 and the 5.00 fee
    assert payout.sums == {
        "charges": D("1715.20"),
        "refunds": D("-121.00"),
        "disputes": D("0.00"),
        "fees": D("-36.25"),
        "other": D("0.00"),
        "net": D("1557.95"),
    }
    assert payout.amount == D("1557.95") and payout.balanced
    assert report.spv_window is not None
    assert report.spv_window[0] == datetime(2026, 10, 31, 22, 0, tzinfo=UTC)
    assert report.notes == []
    # one list page at ANAF, through the shared quota table
    lists = [t for _, _, t in m.anaf.request_log if "listaMesajePaginatie" in t]
    assert len(lists) == report.anaf_requests == 1
    m.ctx.close()


def _unknown_charge(m: mo.Month) -> None:
    m.add_charge("ch_E", "pi_E", 5000, mo.ts(21))


def _refund_without_storno(m: mo.Month) -> None:
    m.add_refund("re_C2", "ch_C", "pi_C", 3000, mo.ts(22))


def _lost_dispute_without_storno(m: mo.Month) -> None:
    m.add_lost_dispute("dp_A", "ch_A", "pi_A", 12100, mo.ts(24))


def _invoice_without_money(m: mo.Month) -> None:
    m.issue(mo.invoice("SEF000008", date(2026, 11, 21), "99.00", "pi_X"))


def _amount_differs(m: mo.Month) -> None:
    obj = m.stripe.get("charge", "ch_G")
    assert obj is not None
    obj.update(amount=6000, amount_captured=6000)
    m.stripe.add(obj)


def _rejected_by_anaf(m: mo.Month) -> None:
    m.anaf.inject_nok(invoice_number="SEF000003")


def _not_sent_yet(m: mo.Month) -> None:
    m.add_charge("ch_H", "pi_H", 1210, mo.ts(30, 20))
    inv = mo.invoice("SEF000008", date(2026, 11, 30), "12.10", "pi_H")
    m.issue(inv)
    m.ids.pop("SEF000008")  # not sent: stays pending_upload


def _error_from_elsewhere(m: mo.Month) -> None:
    m.anaf.add_spv_message(
        datetime(2026, 11, 20, 8, 0, tzinfo=UTC),
        "ERORI FACTURA",
        "5009999999",
        "Erori de validare identificate la factura transmisa cu id_incarcare=5009999999",
        mo.CUI,
        "3009999999",
    )


def _buyer_message_about_nothing(m: mo.Month) -> None:
    m.anaf.add_spv_message(
        datetime(2026, 11, 26, 8, 0, tzinfo=UTC),
        "MESAJ CUMPARATOR PRIMIT",
        "5208888888",
        "Mesaj de la cumparator pentru factura cu index_incarcare=4000000001",
        mo.CUI,
        "3208888888",
    )


def _not_listed_in_spv(m: mo.Month) -> None:
    index = m.index_of("SEF000002")
    with m.anaf.lock:
        del m.anaf.messages[index]


def _signed_zip_lost(m: mo.Month) -> None:
    with db.write(m.ctx.engine) as conn:
        conn.execute(  # the archive is insert-only: only an accident loses it
            invoice_files.delete().where(
                invoice_files.c.invoice_id == m.ids["SEF000004"],
                invoice_files.c.kind == "signed_zip",
            )
        )


BEFORE = {
    "collected": (_unknown_charge, ("R-COLLECTED-NO-INVOICE", "pi_E")),
    "refunded": (_refund_without_storno, ("R-REFUND-NO-STORNO", "re_C2")),
    "disputed": (_lost_dispute_without_storno, ("R-DISPUTE-NO-STORNO", "dp_A")),
    "no_money": (_invoice_without_money, ("R-INVOICE-NO-MONEY", "SEF000008")),
    "amount": (_amount_differs, ("R-AMOUNT-MISMATCH", "SEF000007")),
    "nok": (_rejected_by_anaf, ("R-ANAF-OVERDUE", "SEF000003")),
    "pending": (_not_sent_yet, ("R-ANAF-NOT-OK", "SEF000008")),
}
AFTER = {
    "spv_error": (_error_from_elsewhere, ("R-SPV-UNMATCHED", "5009999999")),
    "buyer_message": (_buyer_message_about_nothing, ("R-SPV-UNMATCHED", "5208888888")),
    "spv_missing": (_not_listed_in_spv, ("R-SPV-MISSING", "SEF000002")),
    "archive": (_signed_zip_lost, ("R-ARCHIVE-MISSING", "SEF000004")),
}


@pytest.mark.parametrize("name", [*BEFORE, *AFTER])
def test_each_anomaly_gives_exactly_its_finding(
    name: str, tmp_path: Path, db_url: str, fake_stripe: tuple[FakeStripeStore, str]
) -> None:
    if name in BEFORE:
        change, expected = BEFORE[name]
        m = build(tmp_path, db_url, fake_stripe, before_send=change)
    else:
        change, expected = AFTER[name]
        m = build(tmp_path, db_url, fake_stripe)
        change(m)
    report = period_audit.run_audit(m.ctx, NOV)
    m.ctx.close()
    assert [(f.code, f.ref) for f in report.findings] == [expected]
    assert not report.clean
    assert report.findings[0].fix.startswith(("stripe-efactura ", "read it", "an "))


def test_a_lost_dispute_decided_without_storno_is_no_finding(
    tmp_path: Path, db_url: str, fake_stripe: tuple[FakeStripeStore, str]
) -> None:
    """The merchant decided (or ``[storno] lost_disputes = "ignore"``) that the chargeback is
    no reduction of the taxable amount: the audit does not ask for a storno."""
    m = build(tmp_path, db_url, fake_stripe, before_send=_lost_dispute_without_storno)
    sale = Sale(
        payment_key="dp_A",
        owner_type="dispute",
        owner_id="dp_A",
        currency="RON",
        amount=12100,
        paid_at=datetime.fromtimestamp(mo.ts(24), UTC),
        livemode=True,
        objects={"dispute": {"id": "dp_A", "status": "lost", "reason": "fraudulent"}},
    )
    with db.write(m.ctx.engine) as conn:
        repo.record_sale(conn, sale, "evt_dp_A", kind="dispute", refers_to="pi_A")
        repo.set_payment_status(conn, "dp_A", "ignored")
    report = period_audit.run_audit(m.ctx, NOV)
    m.ctx.close()
    assert [(f.code, f.ref) for f in report.findings] == []


def test_an_interrupted_audit_resumes_after_the_last_page_read(
    tmp_path: Path, db_url: str, fake_stripe: tuple[FakeStripeStore, str]
) -> None:
    store, _base = fake_stripe
    m = build(tmp_path, db_url, fake_stripe, page_limit=3)
    listed = [t["id"] for t in fake_ledger.balance_transactions(store, {})]

    def cut_after_two_pages(stage: str, done: int, total: int | None) -> None:
        if stage == "stripe:balance" and done == 6:
            store.fail_next(500, path_prefix="/v1/balance_transactions", times=50)

    with pytest.raises(StripeApiError) as failed:
        period_audit.run_audit(m.ctx, NOV, progress=cut_after_two_pages)
    assert failed.value.code == "E-STRIPE-UNAVAILABLE"
    checkpoint = tmp_path / "audit" / "2026-11-live.jsonl"
    assert len(checkpoint.read_text().splitlines()) == 3  # header + two pages
    store.faults.clear()
    before = len(store.requests)
    report = period_audit.run_audit(m.ctx, NOV)
    m.ctx.close()
    assert report.clean and report.resumed_pages == 2
    first = store.requests[before]
    assert first.path == "/v1/balance_transactions"
    assert ("starting_after", listed[5]) in first.query
    # 13 transactions, 3 a page: pages 3-5 now, then payouts (1) and po_1's 5 (2 pages)
    assert report.stripe_requests == 6
    assert report.counts["stripe_transactions"] == 13
    assert not checkpoint.exists()


def test_the_spv_window_survives_our_clock_running_ahead_of_anaf(
    tmp_path: Path, db_url: str, fake_stripe: tuple[FakeStripeStore, str]
) -> None:
    m = build(tmp_path, db_url, fake_stripe)
    m.ctx.clock = lambda: m.clock.now() + timedelta(minutes=25)
    report = period_audit.run_audit(m.ctx, NOV)
    m.ctx.close()
    assert report.clean
    assert report.spv_window is not None and report.spv_window[1] <= m.clock.now()
    lists = [t for _, _, t in m.anaf.request_log if "listaMesajePaginatie" in t]
    # end = now + 25 min - 2 min lag: refused three times, moved back 10 minutes each time
    assert len(lists) == 4 and report.anaf_requests == 1


def test_cli_audit_exit_codes_json_and_fixes(
    tmp_path: Path,
    db_url: str,
    fake_stripe: tuple[FakeStripeStore, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store, base = fake_stripe
    build(tmp_path, db_url, fake_stripe).ctx.close()
    store.api_key = "sk_live_recon"
    config = tmp_path / "efactura.toml"
    config.write_text(STARTER_TOML, encoding="utf-8")
    for name, value in {
        "CONFIG": str(config),
        "DATA_DIR": str(tmp_path),
        "DATABASE_URL": db_url,
        "STRIPE_API_KEY": "sk_live_recon",
        "STRIPE_API_BASE": base,
    }.items():
        monkeypatch.setenv(f"EFACTURA_{name}", value)
    assert main(["audit", "--period", "2026-11", "--no-spv"]) == 0
    assert (
        "2026-11: clean (13 Stripe transactions, 1 payouts, 7 documents" in capsys.readouterr().out
    )
    store.add(mo.charge("ch_E", "pi_E", 5000, mo.ts(21)))
    store.add(mo.txn("txn_ch_E", "charge", 5000, mo.ts(21), "ch_E"))
    assert main(["audit", "--from", "2026-11-01", "--to", "2026-11-30", "--no-spv"]) == 1
    out = capsys.readouterr().out
    assert "R-COLLECTED-NO-INVOICE   pi_E" in out
    assert "fix: stripe-efactura reconcile --since 2026-11-21" in out
    assert "total R-COLLECTED-NO-INVOICE: 50.00 RON, 50.00 in RON" in out
    assert main(["audit", "--period", "2026-11", "--no-spv", "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert [(f["code"], f["ref"], f["amount"], f["amount_ron"]) for f in data["findings"]] == [
        ("R-COLLECTED-NO-INVOICE", "pi_E", "50.00", "50.00")
    ]
    assert data["payouts"][0]["invoices"] == ["SEF000001", "SEF000002", "SEF000003"]
    assert main(["audit", "--period", "2026-11", "--no-spv", "--test"]) == 2
    assert "[E-AUDIT-SOURCE] the Stripe API key is a live key" in capsys.readouterr().err
    monkeypatch.setenv("EFACTURA_STRIPE_API_KEY", "sk_live_wrong")
    assert main(["audit", "--period", "2026-11", "--no-spv"]) == 2
    assert "E-STRIPE-AUTH" in capsys.readouterr().err
