"""The console's Month page in Chromium: pick November 2026 of the audit tests' month (fake
Stripe over HTTP, fake ANAF in-process), run the audit and follow its progress, read the
findings with the link that fixes each and the payout, download the journal and the archive."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from factories.console import screenshot
from reconciliation import month as mo
from stripe_efactura.app import accounts, audit_log, period_export
from stripe_efactura.app.audit_log import Actor
from stripe_efactura.demo.console import AsgiServer
from stripe_efactura.intake.fake_stripe import FakeStripeStore, create_fake_stripe, run_in_thread
from stripe_efactura.web.app import create_app

from .test_browser import login, new_page

ACCOUNTANT = ("contabil@example.ro", "o parola de contabil lunga")
VIEWER = ("viewer@example.ro", "o parola de vizitator lunga")


@pytest.fixture
def month_console(tmp_path: Path, db_url: str) -> Iterator[tuple[str, mo.Month]]:
    store = FakeStripeStore(api_key="sk_test_recon")
    with run_in_thread(create_fake_stripe(store)) as base:
        m = mo.open_month(tmp_path, db_url, base, store)
        mo.stripe_activity(m)
        mo.books(m)
        m.add_charge("ch_E", "pi_E", 5000, mo.ts(21))  # collected, never invoiced
        m.issue(mo.invoice("SEF000008", date(2026, 11, 21), "99.00", "pi_X"))  # no money
        mo.settle(m)
        mo.spv_extras(m)
        cli = Actor(name="test", via="cli")
        accounts.add_user(m.ctx, cli, ACCOUNTANT[0], ACCOUNTANT[1], "accountant")
        accounts.add_user(m.ctx, cli, VIEWER[0], VIEWER[1], "viewer")
        server = AsgiServer(create_app(m.ctx)).start()
        try:
            yield server.url, m
        finally:
            server.stop()
            m.ctx.close()


def test_the_month_page_runs_the_audit_and_downloads_the_books(
    browser: Any, month_console: tuple[str, mo.Month], shots: Path, tmp_path: Path
) -> None:
    base, m = month_console
    page = new_page(browser, viewport={"width": 1100, "height": 800})
    login(page, base, *ACCOUNTANT)
    refused: list[str] = []  # CSP violations (after the log-in: a fresh browser asks for
    # /favicon.ico, which the console does not serve)
    page.on("console", lambda msg: refused.append(msg.text) if msg.type == "error" else None)
    page.get_by_role("link", name="Luna").click()
    assert page.url == f"{base}/month"
    assert page.input_value("#m-period") == "2026-11"  # the previous month by default
    page.fill("#m-period", "2026-10")
    page.click("#period-form button[type=submit]")
    assert page.inner_text("h2") == "Perioada 2026-10"
    page.fill("#m-period", "2026-11")
    page.click("#period-form button[type=submit]")
    assert page.inner_text("h2") == "Perioada 2026-11"
    screenshot(page, shots, "month")

    page.click("#audit-start")
    assert page.url.startswith(f"{base}/month/audits/")
    page.wait_for_selector("#run-state:has-text('2 constatări')", timeout=60_000)
    assert "stripe:balance" in page.inner_text("#progress")
    rows = page.locator("#findings tbody tr")
    assert [rows.nth(i).locator("td").nth(0).inner_text() for i in range(rows.count())] == [
        "R-COLLECTED-NO-INVOICE",
        "R-INVOICE-NO-MONEY",
    ]
    assert rows.nth(0).locator("a.fix-link").get_attribute("href") == "/payments#reconcile-form"
    assert "stripe-efactura reconcile --since 2026-11-21" in rows.nth(0).inner_text()
    assert page.inner_text("#payouts tbody tr td:first-child") == "po_1"
    screenshot(page, shots, "month-audit")
    run_url = page.url
    rows.nth(1).locator("a.fix-link").click()
    assert page.url == f"{base}/invoices/SEF000008"
    assert page.inner_text("h1") == "Factura SEF000008"

    page.goto(run_url)
    with page.expect_download() as csv_info:
        page.get_by_role("link", name="Jurnal de vânzări (CSV)").click()
    assert csv_info.value.suggested_filename == "jurnal-vanzari-2026-11.csv"
    lines = Path(csv_info.value.path()).read_text(encoding="utf-8-sig").splitlines()
    assert len(lines) == 1 + 8 + 1 and lines[-1].startswith("TOTAL,")
    with page.expect_download() as zip_info:
        page.get_by_role("link", name="Arhiva perioadei (ZIP)").click()
    saved = tmp_path / "arhiva.zip"
    zip_info.value.save_as(saved)
    assert zip_info.value.suggested_filename == "arhiva-2026-11.zip"
    assert period_export.verify(saved).ok
    assert "manifest.json" in zipfile.ZipFile(saved).namelist()
    actions = [e.action for e in audit_log.entries(m.ctx) if e.target_type == "period"]
    assert actions == ["period.export", "period.audit"]  # newest first
    assert refused == []
    page.context.close()


def test_a_viewer_neither_sees_nor_opens_the_month(
    browser: Any, month_console: tuple[str, mo.Month]
) -> None:
    base, _m = month_console
    page = new_page(browser)
    login(page, base, *VIEWER)
    assert page.get_by_role("link", name="Luna").count() == 0
    answer = page.goto(f"{base}/month/archive.zip?period=2026-11")
    assert answer is not None and answer.status == 403
    page.context.close()
