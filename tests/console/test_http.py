"""The console's HTTP behaviour without a browser: first-run gate, log-in, cookies, CSRF,
security headers, roles, language, the invoice search box (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from stripe_efactura import app as use_cases
from stripe_efactura.app import accounts, ratelimit
from stripe_efactura.app.audit_log import Actor
from stripe_efactura.app.context import AppContext, build_context
from stripe_efactura.config import demo_settings
from stripe_efactura.store import db
from stripe_efactura.store import invoices as invoice_store
from stripe_efactura.store.tables import series
from stripe_efactura.web.app import create_app
from stripe_efactura.web.console import setup_link

ADMIN = ("admin@example.ro", "o parola destul de lunga")
VIEWER = ("viewer@example.ro", "alta parola destul de lunga")
PAGES = ["/", "/inbox", "/payments", "/invoices", "/anaf", "/settings", "/users", "/audit"]


@pytest.fixture
def ctx(tmp_path: Path, db_url: str) -> Iterator[AppContext]:
    made = build_context(demo_settings(tmp_path, database_url=db_url))
    use_cases.prepare(made)
    yield made
    made.close()


def client(ctx: AppContext, host: str = "203.0.113.7") -> TestClient:
    return TestClient(create_app(ctx), client=(host, 50000), follow_redirects=False)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', html)
    assert found is not None
    return found.group(1)


def with_users(ctx: AppContext) -> None:
    actor = Actor(name="test", via="cli")
    accounts.add_user(ctx, actor, ADMIN[0], ADMIN[1], "admin")
    accounts.add_user(ctx, actor, VIEWER[0], VIEWER[1], "viewer")


def log_in(c: TestClient, who: tuple[str, str], **headers: str) -> str:
    token = csrf_of(c.get("/login").text)
    answer = c.post(
        "/login",
        data={"csrf": token, "email": who[0], "password": who[1], "next": "/"},
        headers=headers,
    )
    assert answer.status_code == 303, answer.text
    return str(answer.headers["set-cookie"])


def test_first_run_reaches_only_the_setup_page(ctx: AppContext) -> None:
    c = client(ctx)
    for path in [*PAGES, "/login", "/payments/pi_1"]:
        answer = c.get(path)
        assert (answer.status_code, answer.headers["location"]) == (303, "/setup"), path
    page = c.get("/setup?token=wrong")
    assert page.status_code == 200
    assert "Legătura de configurare nu este validă" in page.text
    assert 'id="setup-form"' not in page.text
    link = setup_link(ctx, "http://testserver")
    assert link is not None and link.startswith("http://testserver/setup?token=")
    token = link.split("token=")[1]
    form = c.get(f"/setup?token={token}")
    data = {
        "csrf": csrf_of(form.text),
        "token": "0" * 32,
        "email": "a@example.ro",
        "password": "o parola lunga",
        "password2": "o parola lunga",
    }
    assert c.post("/setup", data=data).status_code == 403
    assert c.post("/setup", data={**data, "token": token, "csrf": ""}).status_code == 403
    assert not accounts.has_users(ctx)
    done = c.post("/setup", data={**data, "token": token})
    assert (done.status_code, done.headers["location"]) == (303, "/?done=setup.done")
    assert accounts.get_user(ctx, "a@example.ro").role == "admin"
    assert setup_link(ctx, "http://testserver") is None
    assert c.get("/").status_code == 200


def test_security_headers_on_every_console_answer(ctx: AppContext) -> None:
    with_users(ctx)
    c = client(ctx)
    for path in ["/login", "/static/console/console.css", "/no-such-page"]:
        answer = c.get(path)
        csp = answer.headers["content-security-policy"]
        assert "script-src 'self';" in csp and "'unsafe-inline'" not in csp, path
        assert "frame-ancestors 'none'" in csp
        assert "form-action 'self' https://logincert.anaf.ro;" in csp
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["x-content-type-options"] == "nosniff"
    assert c.get("/no-such-page").status_code == 404
    assert "<script>" not in c.get("/login").text  # no inline script anywhere


def test_wrong_password_says_nothing_more_and_is_rate_limited(ctx: AppContext) -> None:
    with_users(ctx)
    c = client(ctx)
    token = csrf_of(c.get("/login").text)
    texts = set()
    for email, password in [(ADMIN[0], "wrong password!"), ("nobody@example.ro", ADMIN[1])]:
        answer = c.post("/login", data={"csrf": token, "email": email, "password": password})
        assert answer.status_code == 401
        texts.add(re.search(r'id="login-error">([^<]*)<', answer.text).group(1))  # type: ignore[union-attr]
    assert texts == {"Email sau parolă greșită."}
    for _ in range(ratelimit.MAX_PER_ACCOUNT - 1):  # one failure of this account above
        c.post("/login", data={"csrf": token, "email": ADMIN[0], "password": "x" * 12})
    blocked = c.post("/login", data={"csrf": token, "email": ADMIN[0], "password": ADMIN[1]})
    assert blocked.status_code == 429
    assert "Prea multe încercări" in blocked.text


def test_session_cookie_flags_and_trusted_proxy(ctx: AppContext) -> None:
    with_users(ctx)
    plain = log_in(client(ctx), ADMIN)
    assert "HttpOnly" in plain and "SameSite=lax" in plain and "Secure" not in plain
    spoofed = log_in(client(ctx), ADMIN, **{"X-Forwarded-Proto": "https"})
    assert "Secure" not in spoofed  # 203.0.113.7 is not a trusted proxy
    proxied = log_in(client(ctx, "127.0.0.1"), ADMIN, **{"X-Forwarded-Proto": "https"})
    assert "Secure" in proxied and "HttpOnly" in proxied


def test_csrf_less_posts_are_refused_and_logout_ends_the_session(ctx: AppContext) -> None:
    with_users(ctx)
    c = client(ctx)
    log_in(c, ADMIN)
    home = c.get("/")
    assert home.status_code == 200
    for path in ["/logout", "/payments/pi_1/retry", "/anaf/authorise", "/users", "/lang"]:
        refused = c.post(path, data={"lang": "en"})
        assert refused.status_code == 403, path
        assert "Formularul a expirat" in refused.text
    assert c.get("/").status_code == 200  # still logged in
    session = c.cookies.get("efc_session")
    assert c.post("/logout", data={"csrf": csrf_of(home.text)}).headers["location"] == (
        "/login?bye=1"
    )
    c.cookies.set("efc_session", str(session))  # the old cookie is dead on the server too
    again = c.get("/payments")
    assert again.headers["location"] == "/login?next=%2Fpayments&expired=1"


def test_roles_limit_pages_and_actions(ctx: AppContext) -> None:
    with_users(ctx)
    c = client(ctx)
    log_in(c, VIEWER)
    home = c.get("/")
    assert 'href="/users"' not in home.text and 'href="/audit"' not in home.text
    assert c.get("/users").status_code == 403
    answer = c.post("/payments/pi_1/retry", data={"csrf": csrf_of(home.text)})
    assert answer.status_code == 403
    assert "Rolul dumneavoastră nu permite" in answer.text
    assert c.get("/invoices").status_code == 200


def test_login_never_redirects_to_another_site(ctx: AppContext) -> None:
    with_users(ctx)
    c = client(ctx)
    token = csrf_of(c.get("/login").text)
    for target, expected in [("//evil.example/x", "/"), ("https://evil.example", "/"),
                             ("/\\evil.example", "/"), ("/invoices", "/invoices")]:  # fmt: skip
        c.cookies.clear()
        c.cookies.set("efc_pre", "p" * 32)
        token = csrf_of(c.get("/login").text)
        answer = c.post(
            "/login",
            data={"csrf": token, "email": ADMIN[0], "password": ADMIN[1], "next": target},
        )
        assert answer.headers["location"] == expected, target


def test_language_switch_keeps_the_page(ctx: AppContext) -> None:
    with_users(ctx)
    c = client(ctx)
    log_in(c, ADMIN)
    page = c.get("/settings")
    assert '<html lang="ro">' in page.text and "<h1>Configurația efectivă</h1>" in page.text
    moved = c.post("/lang", data={"csrf": csrf_of(page.text), "lang": "en", "next": "/settings"})
    assert (moved.status_code, moved.headers["location"]) == (303, "/settings")
    english = c.get("/settings")
    assert '<html lang="en">' in english.text and "<h1>Effective configuration</h1>" in english.text


def test_settings_page_masks_secrets(tmp_path: Path, db_url: str) -> None:
    settings = demo_settings(
        tmp_path,
        database_url=db_url,
        stripe_webhook_secrets=("whsec_abcdefghijklmnop1234",),
        stripe_api_key="rk_live_abcdefghijklmnopqrstuvwxyz9876",
        smtp_password="hunter2hunter2",
    )
    made = build_context(settings)
    use_cases.prepare(made)
    with_users(made)
    c = client(made)
    log_in(c, ADMIN)
    page = c.get("/settings").text
    assert "whsec_…1234" in page and "rk_…9876" in page
    for secret in ("abcdefghijklmnop", "hunter2", "abcdefghijklmnopqrstuvwxyz"):
        assert secret not in page
    made.close()


BUYERS = {
    "pi_one": {"name": "Exemplu Soft SRL", "legal_id": "18547290", "vat_id": "RO18547290"},
    "pi_two": {"name": "Ion Popescu", "email": "ion.popescu@example.ro"},
}


def test_invoice_search_box(ctx: AppContext) -> None:
    with db.write(ctx.engine) as conn:
        conn.execute(
            sa.insert(series).values(code="SF", prefix="SF-2026-", padding=6, next_number=3)
        )
        for seq, (key, buyer) in enumerate(BUYERS.items(), start=1):
            invoice_store.insert_invoice(
                conn,
                series_code="SF",
                seq=seq,
                number=f"SF-2026-{seq:06d}",
                kind="invoice",
                payment_key=key,
                issue_date=date(2026, 3, 2),
                currency="RON",
                total="121.00",
                livemode=False,
                snapshot=json.dumps({"buyer": buyer}),
                xml=b"<Invoice/>",
            )
    with_users(ctx)
    c = client(ctx)
    log_in(c, ADMIN)

    def listed(query: str) -> list[str]:
        answer = c.get(f"/invoices?q={query}")
        assert answer.status_code == 200
        return re.findall(r'<a href="/invoices/([^"]+)">', answer.text)

    assert listed("") == ["SF-2026-000002", "SF-2026-000001"]
    assert listed("ro18547290") == ["SF-2026-000001"]
    assert listed("Popescu") == ["SF-2026-000002"]
    assert listed("000002") == ["SF-2026-000002"]
    assert listed("pi_one") == ["SF-2026-000001"]
    assert listed("nobody") == []
