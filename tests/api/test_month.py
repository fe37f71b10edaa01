"""The accountant's month through the API: the audit run (with its progress, findings and
payout reconciliation), the sales journal and the period archive, on the month of
``tests/reconciliation/month.py`` (fake Stripe over HTTP, fake ANAF in-process)."""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from reconciliation import month as mo
from stripe_efactura.app import audit_log, period_export
from stripe_efactura.intake.fake_stripe import FakeStripeStore, create_fake_stripe, run_in_thread
from stripe_efactura.web.app import create_app

from .conftest import add_users


@pytest.fixture
def fake_stripe() -> Iterator[tuple[FakeStripeStore, str]]:
    store = FakeStripeStore(api_key="sk_test_recon")
    with run_in_thread(create_fake_stripe(store)) as base:
        yield store, base


@pytest.fixture
def month(
    tmp_path: Path, db_url: str, fake_stripe: tuple[FakeStripeStore, str]
) -> Iterator[tuple[mo.Month, TestClient, dict[str, str]]]:
    store, base = fake_stripe
    m = mo.open_month(tmp_path, db_url, base, store)
    mo.stripe_activity(m)
    mo.books(m)
    m.add_charge("ch_E", "pi_E", 5000, mo.ts(21))  # collected, never invoiced
    m.issue(mo.invoice("SEF000008", date(2026, 11, 21), "99.00", "pi_X"))  # no money
    mo.settle(m)
    mo.spv_extras(m)
    tokens = add_users(m.ctx)
    with TestClient(create_app(m.ctx)) as client:
        yield m, client, tokens
    m.ctx.close()


def _h(tokens: dict[str, str], who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[who]}"}


def _wait(client: TestClient, url: str, headers: dict[str, str]) -> dict[str, Any]:
    for _ in range(600):
        run: dict[str, Any] = client.get(url, headers=headers).json()
        if run["state"] != "running":
            return run
        time.sleep(0.1)
    raise AssertionError(f"the audit run did not end: {run}")


def test_an_audit_run_reports_findings_fixes_links_and_payouts(month: Any) -> None:
    m, client, tokens = month
    started = client.post(
        "/api/v1/audits", json={"period": "2026-11"}, headers=_h(tokens, "accountant")
    )
    assert started.status_code == 202, started.text
    run_id = started.json()["id"]
    assert started.headers["location"] == f"/api/v1/audits/{run_id}"
    assert started.json()["period"] == "2026-11" and started.json()["from"] == "2026-11-01"
    run = _wait(client, started.headers["location"], _h(tokens, "viewer"))
    assert run["state"] == "done" and run["error"] is None
    assert {p["stage"] for p in run["progress"]} >= {"stripe:balance", "stripe:payouts"}
    report = run["report"]
    assert report["clean"] is False
    assert [
        (f["code"], f["ref"], f["currency"], f["amount"], f["amount_ron"], f["link"])
        for f in report["findings"]
    ] == [
        ("R-COLLECTED-NO-INVOICE", "pi_E", "RON", "50.00", "50.00", "/payments#reconcile-form"),
        ("R-INVOICE-NO-MONEY", "SEF000008", "RON", "99.00", "99.00", "/invoices/SEF000008"),
    ]
    assert report["findings"][0]["fix"].startswith("stripe-efactura reconcile --since 2026-11-21")
    assert report["totals"] == {
        "R-COLLECTED-NO-INVOICE": {"RON": "50.00", "in RON": "50.00"},
        "R-INVOICE-NO-MONEY": {"RON": "99.00", "in RON": "99.00"},
    }
    (payout,) = report["payouts"]
    assert payout["payout"] == "po_1" and payout["balanced"] is True
    assert payout["invoices"] == ["SEF000001", "SEF000002", "SEF000003"]
    assert payout["stornos"] == ["SEF000005"]
    assert payout["sums"]["fees"] == "-36.25" and payout["amount"] == "1557.95"
    (entry,) = audit_log.entries(m.ctx, action="period.audit")
    assert (entry.actor, entry.target_type, entry.target_id) == (
        "accountant@example.ro",
        "period",
        "2026-11",
    )
    assert entry.after == {"run": run_id, "livemode": True, "spv": True}


def test_audit_roles_inputs_and_unknown_runs(month: Any) -> None:
    _m, client, tokens = month
    body = {"from": "2026-11-03", "to": "2026-11-09", "spv": False}
    refused = client.post("/api/v1/audits", json=body, headers=_h(tokens, "viewer"))
    assert refused.status_code == 403 and refused.json()["code"] == "E-FORBIDDEN"
    both = client.post(
        "/api/v1/audits", json={**body, "period": "2026-11"}, headers=_h(tokens, "accountant")
    )
    assert both.status_code == 422 and both.json()["code"] == "E-PERIOD"
    bad = client.post("/api/v1/audits", json={"period": "11-2026"}, headers=_h(tokens, "admin"))
    assert bad.status_code == 422 and bad.json()["code"] == "E-API-INPUT"
    ok = client.post("/api/v1/audits", json=body, headers=_h(tokens, "admin"))
    assert ok.status_code == 202 and ok.json()["period"] == "2026-11-03_2026-11-09"
    run = _wait(client, ok.headers["location"], _h(tokens, "admin"))
    # pi_E (21 Nov) and SEF000008 are outside the week
    assert run["state"] == "done" and run["report"]["findings"] == []
    assert run["report"]["notes"] == [] and run["report"]["anaf_requests"] == 0
    missing = client.get("/api/v1/audits/nope", headers=_h(tokens, "viewer"))
    assert missing.status_code == 404 and missing.json()["code"] == "E-AUDIT-RUN-NOT-FOUND"


def test_an_audit_that_cannot_read_stripe_fails_with_its_code(
    month: Any, fake_stripe: tuple[FakeStripeStore, str]
) -> None:
    _m, client, tokens = month
    store, _ = fake_stripe
    store.fail_next(500, path_prefix="/v1/balance_transactions", times=50)
    started = client.post(
        "/api/v1/audits", json={"period": "2026-11"}, headers=_h(tokens, "accountant")
    )
    run = _wait(client, started.headers["location"], _h(tokens, "accountant"))
    assert run["state"] == "failed" and run["report"] is None
    assert run["error"]["code"] == "E-STRIPE-UNAVAILABLE"


def test_the_journal_as_json_csv_and_xlsx(month: Any) -> None:
    _m, client, tokens = month
    q = "?period=2026-11"
    assert client.get("/api/v1/journal" + q, headers=_h(tokens, "viewer")).status_code == 403
    data = client.get("/api/v1/journal" + q, headers=_h(tokens, "read:accountant")).json()
    assert (data["period"], data["documents"]) == ("2026-11", 8)
    # 121 + 1231.20 (242 EUR at 5.0876) + 363 + 242 - 121 - 242 + 60.50 + 99 (SEF000008)
    assert data["total_ron"] == "1753.70"
    total_col = data["columns"].index("Total document (RON)")
    assert data["rows"][-1][0] == "TOTAL" and data["rows"][-1][total_col] == "1753.70"
    assert [r[1] for r in data["rows"][:-1]] == [f"SEF00000{i}" for i in range(1, 9)]
    csv = client.get("/api/v1/journal/csv" + q, headers=_h(tokens, "accountant"))
    assert csv.status_code == 200 and csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert 'filename="jurnal-vanzari-2026-11.csv"' in csv.headers["content-disposition"]
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert len(lines) == 1 + 8 + 1
    assert lines[0].split(",")[:3] == ["Nr. crt.", "Număr document", "Data"]
    assert lines[-1].split(",")[0] == "TOTAL" and lines[-1].split(",")[total_col] == "1753.70"
    xlsx = client.get("/api/v1/journal/xlsx" + q, headers=_h(tokens, "accountant"))
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    test_mode = client.get("/api/v1/journal?period=2026-11&test=true", headers=_h(tokens, "admin"))
    assert test_mode.json()["documents"] == 0


def test_the_period_archive_downloads_verifies_and_is_audited(month: Any, tmp_path: Path) -> None:
    m, client, tokens = month
    m.issue(mo.invoice("SEF000009", date(2026, 11, 29), "12.10", "pi_Z"))  # not sent yet
    answer = client.get("/api/v1/period-archive?period=2026-11", headers=_h(tokens, "accountant"))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/zip"
    assert 'filename="arhiva-2026-11.zip"' in answer.headers["content-disposition"]
    assert answer.headers["x-missing-documents"] == "SEF000009"  # never sent: no signed ZIP
    saved = tmp_path / "got.zip"
    saved.write_bytes(answer.content)
    checked = period_export.verify(saved)
    assert checked.ok, checked.problems
    names = zipfile.ZipFile(io.BytesIO(answer.content)).namelist()
    assert "facturi/SEF000001/SEF000001-anaf.zip" in names and "manifest.json" in names
    assert list((tmp_path / "exports").iterdir()) == []  # the temporary file is gone
    (entry,) = audit_log.entries(m.ctx, action="period.export")
    assert entry.target_id == "2026-11" and isinstance(entry.after, dict)
    assert entry.after["documents"] == 9
