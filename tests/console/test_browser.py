"""The console in a real Chromium (Debian's package, driven by Playwright) on the demo data.

Each test logs in on its own browser context, so the tests do not depend on each other's
order; the screenshots of docs/console/ are taken here.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from factories.console import ADMIN, screenshot
from stripe_efactura.app import anaf_tokens, audit_log, browse
from stripe_efactura.app.browse import InvoiceFilter
from stripe_efactura.app.browse_views import PaymentDetail
from stripe_efactura.demo.console import BROKEN_KEY, ConsoleDemo
from stripe_efactura.web.console import setup_link


def login(page: Any, base: str, email: str = ADMIN[0], password: str = ADMIN[1]) -> None:
    page.goto(f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("#login-form button[type=submit]")
    page.wait_for_load_state()


def new_page(browser: Any, **options: Any) -> Any:
    context = browser.new_context(locale="ro-RO", **options)
    return context.new_page()


def test_first_run_asks_for_the_first_admin(
    browser: Any, empty_console: tuple[str, Any], shots: Path
) -> None:
    base, ctx = empty_console
    page = new_page(browser)
    for path in ("/", "/payments", "/login", "/settings"):
        page.goto(base + path)
        assert page.url == f"{base}/setup"
    assert page.inner_text("[role=alert]").startswith("Legătura de configurare nu este validă")
    link = setup_link(ctx, base)
    assert link is not None
    page.goto(link)
    screenshot(page, shots, "setup")
    page.fill("#name", "Ana Admin")
    page.fill("#email", "ana@example.ro")
    page.fill("#password", "o parola lunga 123")
    page.fill("#password2", "alta parola lunga 123")
    page.click("#setup-form button[type=submit]")
    assert page.inner_text("#setup-error") == "Parolele nu coincid."
    page.fill("#password", "o parola lunga 123")
    page.fill("#password2", "o parola lunga 123")
    page.click("#setup-form button[type=submit]")
    assert page.url == f"{base}/?done=setup.done"
    assert page.inner_text("h1") == "Situația de azi"
    assert "ana@example.ro (administrator)" in page.inner_text("footer")
    assert setup_link(ctx, base) is None
    page.context.close()
    stranger = new_page(browser)
    stranger.goto(link)  # the link is dead once the admin exists
    assert stranger.url == f"{base}/login"
    stranger.context.close()


def test_login_wrong_password_and_logout(
    browser: Any, demo_console: ConsoleDemo, shots: Path
) -> None:
    base = demo_console.url
    page = new_page(browser)
    page.goto(f"{base}/payments")
    assert page.url == f"{base}/login?next=%2Fpayments"
    screenshot(page, shots, "login")
    login(page, base, ADMIN[0], "not the password")
    wrong_password = page.inner_text("#login-error")
    login(page, base, "nobody@example.ro", "not the password")
    unknown_user = page.inner_text("#login-error")
    assert wrong_password == unknown_user == "Email sau parolă greșită."
    page.goto(f"{base}/login?next=/payments")
    page.fill("#email", ADMIN[0])
    page.fill("#password", ADMIN[1])
    page.click("#login-form button[type=submit]")
    assert page.url == f"{base}/payments"
    cookie = next(c for c in page.context.cookies() if c["name"] == "efc_session")
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Lax"
    page.click("#logout")
    assert page.url == f"{base}/login?bye=1"
    assert page.inner_text("[role=status]") == "V-ați deconectat."
    page.goto(f"{base}/")
    assert page.url == f"{base}/login?next=%2F"
    page.context.close()


def test_a_post_without_csrf_token_is_refused(browser: Any, demo_console: ConsoleDemo) -> None:
    base = demo_console.url
    page = new_page(browser)
    login(page, base)
    before = browse.payment_detail(demo_console.ctx, BROKEN_KEY)
    for form in ({}, {"csrf": "forged"}):
        answer = page.request.post(
            f"{base}/payments/{BROKEN_KEY}/override", form=form | {"city": "X"}
        )
        assert answer.status == 403
        assert "Formularul a expirat" in answer.text()
    after = browse.payment_detail(demo_console.ctx, BROKEN_KEY)
    assert before is not None and after is not None
    assert (after["status"], after["overrides"]) == (before["status"], before["overrides"])
    page.context.close()


def _wait_status(console: ConsoleDemo, key: str, status: str, timeout: float = 40) -> PaymentDetail:
    deadline = time.monotonic() + timeout
    while True:
        found = browse.payment_detail(console.ctx, key)
        assert found is not None
        if (found["status"] == status and found["invoices"]) or time.monotonic() > deadline:
            return found
        time.sleep(0.3)


def test_override_form_fixes_a_payment_then_its_pdf_downloads(
    browser: Any, demo_console: ConsoleDemo, shots: Path
) -> None:
    base = demo_console.url
    page = new_page(browser)
    login(page, base)
    page.goto(f"{base}/inbox")
    screenshot(page, shots, "inbox")
    section = page.locator("section", has_text=BROKEN_KEY)
    text = section.inner_text()
    assert "P-BUYER-ADDRESS-MISSING" in text and "P-BUYER-CITY-MISSING" in text
    stripe = section.get_by_role("link", name="Vezi în Stripe")
    assert stripe.get_attribute("href") == f"https://dashboard.stripe.com/payments/{BROKEN_KEY}"
    section.get_by_role("link", name="Date cumpărător (înlocuiesc datele din Stripe)").click()
    assert page.url == f"{base}/payments/{BROKEN_KEY}#fix"
    screenshot(page, shots, "payment-needs-attention")
    issued = len(browse.list_invoices(demo_console.ctx, InvoiceFilter(), limit=200).items)
    page.get_by_label("Adresă").fill("Str. Lungă nr. 3")
    page.get_by_label("Localitate").fill("Brașov")
    page.get_by_label("Județ (cod, ex. CJ, B)").fill("BV")
    page.get_by_label("Cod poștal").fill("500001")
    page.click("#override-form button[type=submit]")
    assert page.inner_text("[role=status]") == "Datele au fost salvate; factura se emite acum."
    entry = audit_log.entries(demo_console.ctx, action="payment.override")[0]
    assert (entry.actor, entry.via, entry.target_id, entry.ip) == (
        ADMIN[0],
        "console",
        BROKEN_KEY,
        "127.0.0.1",
    )
    assert entry.after == {
        "city": "Brașov",
        "line1": "Str. Lungă nr. 3",
        "postal_code": "500001",
        "state": "BV",
    }
    found = _wait_status(demo_console, BROKEN_KEY, "invoiced")
    assert found["status"] == "invoiced"
    number = found["invoices"][0]["number"]
    assert number == f"SEF{issued + 1:06d}"  # the next number of the series, no gap
    page.reload()
    assert "facturată" in page.inner_text("dl.facts")
    page.get_by_role("link", name=number).click()
    assert page.url == f"{base}/invoices/{number}"
    with page.expect_download() as info:
        page.click("#download-pdf")
    download = info.value
    assert download.suggested_filename == f"{number}.pdf"
    assert Path(download.path()).read_bytes().startswith(b"%PDF-")
    page.context.close()


def test_anaf_authorise_button_runs_the_oauth_flow(
    browser: Any, demo_console: ConsoleDemo, shots: Path
) -> None:
    base = demo_console.url
    page = new_page(browser)
    login(page, base)
    page.goto(f"{base}/anaf")
    screenshot(page, shots, "anaf")
    before = anaf_tokens.token_status(demo_console.ctx).updated_at
    with page.expect_response(lambda r: r.url.startswith(f"{base}/anaf/callback")) as info:
        page.click("#anaf-authorise button")
    callback = info.value
    assert callback.status == 200
    assert callback.request.redirected_from is not None
    assert callback.request.redirected_from.url.startswith(
        f"{demo_console.anaf_url}/anaf-oauth2/v1/authorize"
    )
    assert "Autorizare ANAF reușită" in page.inner_text("body")
    page.goto(f"{base}/anaf")
    assert page.inner_text("#anaf-state") == "Autorizat"
    after = anaf_tokens.token_status(demo_console.ctx).updated_at
    assert before is not None and after is not None and after > before  # new tokens stored
    page.context.close()


def test_romanian_english_switch(browser: Any, demo_console: ConsoleDemo) -> None:
    base = demo_console.url
    page = new_page(browser)
    login(page, base)
    page.goto(f"{base}/invoices")
    assert page.get_attribute("html", "lang") == "ro"
    assert page.inner_text("h1") == "Facturi"
    page.click("#lang-switch")
    assert page.url == f"{base}/invoices"
    assert page.get_attribute("html", "lang") == "en"
    assert page.inner_text("h1") == "Invoices"
    assert page.inner_text("#lang-switch") == "Română"
    page.goto(f"{base}/")
    assert page.inner_text("h1") == "Today at a glance"
    page.click("#lang-switch")
    assert page.inner_text("h1") == "Situația de azi"
    page.context.close()


def test_home_fits_a_375px_phone_without_horizontal_scrolling(
    browser: Any, demo_console: ConsoleDemo, shots: Path
) -> None:
    base = demo_console.url
    page = new_page(browser, viewport={"width": 375, "height": 812}, is_mobile=True)
    login(page, base)
    page.goto(f"{base}/")
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.body.scrollWidth, window.innerWidth]"
    )
    assert widths == [375, 375, 375]
    assert page.is_visible("#nav-toggle")
    assert not page.is_visible("#nav-main")
    screenshot(page, shots, "home-phone")
    page.click("#nav-toggle")
    assert page.get_attribute("#nav-toggle", "aria-expanded") == "true"
    page.get_by_role("link", name="Facturi").click()
    page.wait_for_load_state("load")  # the stylesheet applied
    assert page.url == f"{base}/invoices"
    wide = page.evaluate(
        "() => [...document.querySelectorAll('body *')]"
        ".filter(e => e.getBoundingClientRect().right > 375.5)"
        ".map(e => e.tagName + '#' + e.id + '.' + e.className + ' ' + e.textContent.slice(0, 40))"
    )
    assert (page.evaluate("() => document.documentElement.scrollWidth"), wide) == (375, [])
    page.context.close()


def test_every_page_renders_on_the_demo_data(
    browser: Any, demo_console: ConsoleDemo, shots: Path
) -> None:
    base = demo_console.url
    page = new_page(browser, viewport={"width": 1100, "height": 800})
    refused: list[str] = []  # Chromium reports every CSP violation on the console
    page.on("console", lambda msg: refused.append(msg.text) if msg.type == "error" else None)
    login(page, base)
    pages = {
        "home": ("/", "Situația de azi"),
        "payments": ("/payments", "Plăți"),
        "invoices": ("/invoices", "Facturi"),
        "invoice": ("/invoices/SEF000004", "Factura SEF000004"),
        "payment": ("/payments/pi_3DemoWooEUR", "Plata pi_3DemoWooEUR"),
        "settings": ("/settings", "Configurația efectivă"),
        "users": ("/users", "Utilizatori și tokenuri API"),
        "audit": ("/audit", "Jurnal de audit"),
    }
    for name, (path, title) in pages.items():
        answer = page.goto(base + path)
        assert answer is not None and answer.status == 200, path
        assert page.inner_text("h1") == title
        screenshot(page, shots, name)
    page.goto(f"{base}/invoices?q=SEF000002")
    assert page.locator("tbody tr").count() == 1
    assert refused == []
    page.context.close()


def test_reconciliation_shows_its_progress(
    browser: Any, demo_console: ConsoleDemo, shots: Path
) -> None:
    base = demo_console.url
    page = new_page(browser)
    login(page, base)
    page.goto(f"{base}/payments")
    page.click("#reconcile summary")
    page.fill("#rc-days", "1")
    page.click("#reconcile-form button[type=submit]")
    assert page.url.startswith(f"{base}/operations/")
    page.wait_for_selector("#op-state:has-text('Gata.')", timeout=30_000)
    screenshot(page, shots, "reconcile")
    # the 15 sample events and the one of the payment without an address: all known already
    assert (page.inner_text("#op-seen"), page.inner_text("#op-new")) == ("16", "0")
    page.context.close()


def test_storno_needs_a_confirmation_then_goes_to_anaf(
    browser: Any, demo_console: ConsoleDemo, shots: Path
) -> None:
    base = demo_console.url
    page = new_page(browser)
    login(page, base)
    page.goto(f"{base}/invoices/SEF000002")
    page.click("#storno-start")
    assert page.url == f"{base}/invoices/SEF000002/storno"
    assert "nu poate fi anulată" in page.inner_text("[role=note]")
    screenshot(page, shots, "storno")
    page.get_by_role("link", name="Renunță").click()  # cancel: nothing happens
    assert page.url == f"{base}/invoices/SEF000002"
    detail = browse.invoice_detail(demo_console.ctx, "SEF000002")
    assert detail is not None and detail["stornos"] == []
    page.click("#storno-start")
    page.fill("#storno-reason", "Retur integral")
    page.click("#storno-confirm")
    detail = browse.invoice_detail(demo_console.ctx, "SEF000002")
    assert detail is not None and len(detail["stornos"]) == 1
    storno = browse.invoice_detail(demo_console.ctx, detail["stornos"][0])
    assert page.url == f"{base}/invoices/{storno['number']}?done=storno.done"
    assert page.inner_text("[role=status]") == "Factura storno a fost pusă la emitere."
    assert "Stornează factura SEF000002" in page.inner_text("dl.facts")
    assert storno["total"] == "-" + str(detail["total"]).lstrip("-")
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:  # the worker uploads it to the fake ANAF
        found = browse.invoice_detail(demo_console.ctx, storno["number"])
        if found is not None and found["anaf_state"] == "ok":
            break
        time.sleep(0.5)
    assert found is not None and found["anaf_state"] == "ok"
    page.context.close()
