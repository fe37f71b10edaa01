"""The console's pages over HTTP, without a browser: the waiting reasons in the page's
language, the lost-dispute decision (a confirmed, CSRF-protected form, accountant or admin,
audited), the favicon (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from factories.waits import (
    ANAF_AUTH,
    ARTIFACTS,
    BNR,
    live_invoice_before_anaf,
    lost_dispute,
    make_ctx,
    pending_payment,
)
from stripe_efactura.app import audit_log, browse
from stripe_efactura.app.context import AppContext

from .test_http import ADMIN, VIEWER, client, csrf_of, log_in, with_users

STORNO_ASK = "Dispută pierdută: stornare?"


def english(c: TestClient, page: str) -> None:
    c.post("/lang", data={"csrf": csrf_of(page), "lang": "en", "next": "/"})


def signed_in(ctx: AppContext, who: tuple[str, str] = ADMIN) -> TestClient:
    with_users(ctx)
    c = client(ctx)
    log_in(c, who)
    return c


def test_payments_say_why_they_wait_in_the_page_language(tmp_path: Path, db_url: str) -> None:
    ctx = make_ctx(tmp_path, db_url, tmp_path / "no-validation")
    pending_payment(ctx, "pi_waits", "RON")
    c = signed_in(ctx)
    listing = c.get("/payments").text
    detail = c.get("/payments/pi_waits").text
    ro = f'<span class="waiting" data-code="W-WAIT-VALIDATION">{ARTIFACTS["message_ro"]}</span>'
    assert ro in listing and ro in detail
    assert '<span class="mono">W-WAIT-VALIDATION</span>' in detail
    english(c, detail)
    en = f'<span class="waiting" data-code="W-WAIT-VALIDATION">{ARTIFACTS["message_en"]}</span>'
    assert en in c.get("/payments").text and en in c.get("/payments/pi_waits").text
    ctx.close()


def test_eur_payment_and_invoice_waits_on_lists_and_pages(
    tmp_path: Path, db_url: str, installed_validation: Path
) -> None:
    ctx = make_ctx(tmp_path, db_url, installed_validation)
    pending_payment(ctx, "pi_eur", "EUR")
    number = live_invoice_before_anaf(ctx)
    c = signed_in(ctx)
    bnr = f'<span class="waiting" data-code="W-WAIT-BNR">{BNR["message_ro"]}</span>'
    assert bnr in c.get("/payments?status=pending").text
    assert bnr in c.get("/payments/pi_eur").text
    anaf = f'<span class="waiting" data-code="W-WAIT-ANAF-AUTH">{ANAF_AUTH["message_ro"]}</span>'
    assert anaf in c.get("/invoices").text
    page = c.get(f"/invoices/{number}").text
    assert anaf in page
    english(c, page)
    anaf_en = f'<span class="waiting" data-code="W-WAIT-ANAF-AUTH">{ANAF_AUTH["message_en"]}</span>'
    assert anaf_en in c.get(f"/invoices/{number}").text
    assert anaf_en in c.get("/payments/pi_flowA").text  # its invoice, on the payment's page
    ctx.close()


def test_a_lost_dispute_is_decided_after_a_confirmation(
    tmp_path: Path, db_url: str, installed_validation: Path
) -> None:
    ctx = lost_dispute(tmp_path, db_url, installed_validation)
    viewer = signed_in(ctx, VIEWER)
    assert STORNO_ASK not in viewer.get("/payments/dp_lost").text  # the form: accountants
    refused = viewer.post("/payments/dp_lost/dispute", data={"csrf": csrf_of(viewer.get("/").text)})
    assert refused.status_code == 403
    c = client(ctx)
    log_in(c, ADMIN)
    inbox = c.get("/inbox").text
    assert STORNO_ASK in inbox and 'action="/payments/dp_lost/dispute"' in inbox
    page = c.get("/payments/dp_lost").text
    assert STORNO_ASK in page and "P-DISPUTE-DECISION" in page
    form = {"csrf": csrf_of(page), "decision": "storno"}
    assert c.post("/payments/dp_lost/dispute", data={**form, "csrf": ""}).status_code == 403
    unconfirmed = c.post("/payments/dp_lost/dispute", data=form)
    assert unconfirmed.status_code == 422
    assert "Alegeți stornarea sau nu și bifați confirmarea." in unconfirmed.text
    assert browse.payment_detail(ctx, "dp_lost")["status"] == "needs_attention"
    done = c.post("/payments/dp_lost/dispute", data={**form, "confirm": "yes"})
    assert done.headers["location"] == "/payments/dp_lost?done=dispute.storno.done"
    shown = c.get(done.headers["location"]).text
    assert "Stornarea disputei se emite acum." in shown
    [entry] = audit_log.entries(ctx, action="payment.dispute_decision")
    assert (entry.actor, entry.via, entry.target_id, entry.after) == (
        ADMIN[0],
        "console",
        "dp_lost",
        {"decision": "storno"},
    )
    assert STORNO_ASK not in shown  # decided: the form is gone
    ctx.close()


def test_the_favicon_is_ours(tmp_path: Path, db_url: str) -> None:
    ctx = make_ctx(tmp_path, db_url, tmp_path / "no-validation")
    c = client(ctx)
    icon = c.get("/favicon.ico")
    assert (icon.status_code, icon.headers["content-type"]) == (200, "image/svg+xml")
    assert icon.content == c.get("/static/console/favicon.svg").content
    assert icon.content.startswith(b'<svg xmlns="http://www.w3.org/2000/svg"')
    assert "frame-ancestors 'none'" in icon.headers["content-security-policy"]
    page = c.get("/setup").text  # no account yet: the first-run page
    assert '<link rel="icon" href="/static/console/favicon.svg" type="image/svg+xml">' in page
    ctx.close()
