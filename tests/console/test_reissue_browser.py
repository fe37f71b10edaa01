"""Re-issue to a company from the console, in a real Chromium (Debian's package): a
confirmation page, a refused company id shown with its rule and nothing issued, then a full
storno and a new invoice through ``app/corrections.py``, audited as the console user."""

from __future__ import annotations

import time
from typing import Any

from factories.console import ADMIN, screenshot
from stripe_efactura.app import audit_log, browse
from stripe_efactura.app.browse import InvoiceFilter
from stripe_efactura.app.context import AppContext
from stripe_efactura.demo.console import ConsoleDemo

from .test_browser import login, new_page

COMPANY = {
    "#ri-name": "Dante International SA",
    "#ri-line1": "Șos. Virtuții 148",
    "#ri-city": "SECTOR6",
    "#ri-state": "B",
    "#ri-postal_code": "060787",
    "#ri-reason": "Clientul cere factura pe firmă",
}


def accepted_b2c_invoice(ctx: AppContext) -> str:
    """A demo invoice to a private person that ANAF accepted and nothing reversed (the
    worker may still be uploading: wait for one)."""
    deadline = time.monotonic() + 60
    while True:
        page = browse.list_invoices(ctx, InvoiceFilter(kind="invoice", anaf_state="ok"))
        for item in reversed(page.items):
            detail = browse.invoice_detail(ctx, item["number"])
            private = not detail["buyer"]["legal_id"] or detail["buyer"]["kind"] == "individual"
            if item["number"] != "SEF000002" and not detail["stornos"] and private:
                return str(item["number"])
        assert time.monotonic() < deadline, "no accepted B2C invoice in the demo"
        time.sleep(0.5)


def test_reissue_to_a_company_after_a_confirmation(
    browser: Any, demo_console: ConsoleDemo, shots: Any
) -> None:
    ctx, base = demo_console.ctx, demo_console.url
    number = accepted_b2c_invoice(ctx)
    before = browse.list_invoices(ctx, InvoiceFilter(), limit=200).items
    page = new_page(browser)
    login(page, base)
    page.goto(f"{base}/invoices/{number}")
    page.click("#reissue-start")
    assert page.url == f"{base}/invoices/{number}/reissue"
    assert "nu poate fi anulată" in page.inner_text("[role=note]")
    for selector, value in COMPANY.items():
        page.fill(selector, value)
    page.fill("#ri-cui", "RO14399841")  # a wrong check digit
    screenshot(page, shots, "reissue")
    page.click("#reissue-confirm")
    alert = page.inner_text("[role=alert]")
    assert alert.startswith("E-OVERRIDE-INVALID Datele cumpărătorului încalcă regulile")
    assert "P-CUI-INVALID" in alert
    assert page.input_value("#ri-name") == "Dante International SA"  # kept for the fix
    assert browse.list_invoices(ctx, InvoiceFilter(), limit=200).items == before
    page.fill("#ri-cui", "RO14399840")
    page.click("#reissue-confirm")
    detail = browse.invoice_detail(ctx, number)
    [storno] = detail["stornos"]
    new = page.url.removeprefix(f"{base}/invoices/").removesuffix("?done=reissue.done")
    assert page.inner_text("[role=status]") == (
        "Factura storno și factura nouă au fost puse la emitere."
    )
    fresh = browse.invoice_detail(ctx, new)
    assert (fresh["buyer"]["name"], fresh["buyer"]["legal_id"]) == (
        "Dante International SA",
        "14399840",
    )
    assert fresh["total"] == detail["total"]
    assert browse.invoice_detail(ctx, storno)["refers_to"] == number
    entry = audit_log.entries(ctx, action="invoice.reissue")[0]
    assert (entry.actor, entry.via, entry.target_id) == (ADMIN[0], "console", number)
    assert isinstance(entry.after, dict)
    assert entry.after["storno"] == storno
    assert entry.after["invoice"] == new
    page.context.close()
