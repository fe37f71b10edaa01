"""Readiness (issue 14): ``/readyz`` answers 503 with the components that are not ready (codes,
reasons, fixes; never a secret nor a driver's text) and 200 when ready; ``system status``
shows the same use case on the command line; ``serve`` starts with a summary."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from stripe_efactura import app as use_cases
from stripe_efactura import cli
from stripe_efactura.anaf.oauth import TokenSet
from stripe_efactura.app import anaf_tokens, supervision
from stripe_efactura.app.context import AppContext, build_context
from stripe_efactura.commands.system import summary_lines
from stripe_efactura.config import TEMPLATE_TOML, demo_settings
from stripe_efactura.web.app import create_app

API_KEY = "sk_test_51SecretKeyNeverShown0000"
WEBHOOK_SECRET = "whsec_NeverShownEither0000"

TEMPLATE = {
    "name": "company_profile",
    "code": "E-PROFILE-TEMPLATE",
    "status": "error",
    "reason_en": "efactura.toml is the starter template: live payments wait, unnumbered "
    "(test-mode payments are invoiced in the TEST series).",
    "reason_ro": "efactura.toml este fișierul de pornire: plățile live așteaptă, nenumerotate "
    "(plățile de test se facturează în seria TEST).",
    "fix": "Fill in [company] and delete the `template = true` line (or `stripe-efactura init "
    "--cui YOUR_CUI`), then restart the service after completing the company block.",
}
ARTIFACTS = {
    "name": "validation_artifacts",
    "code": "E-VALIDATION-ARTIFACTS",
    "status": "error",
    "reason_en": "The UBL XSD / CIUS-RO schematron are missing: no invoice can be numbered.",
    "reason_ro": "Lipsesc fișierele oficiale de validare: nicio factură nu poate fi numerotată.",
    "fix": "stripe-efactura validation fetch (offline: --from DIR)",
}
NO_SECRET = {
    "name": "webhook_secret",
    "code": "E-SIG-NO-SECRET",
    "status": "error",
    "reason_en": "No Stripe webhook secret: every webhook is refused.",
    "reason_ro": "Nu există secretul webhook Stripe: toate webhook-urile sunt refuzate.",
    "fix": "Set EFACTURA_STRIPE_WEBHOOK_SECRET (whsec_…) from the Stripe dashboard.",
}
NOT_AUTHORISED = {
    "name": "anaf_authorisation",
    "code": "E-ANAF-NOT-AUTHORISED",
    "status": "error",
    "reason_en": "ANAF is not authorised: nothing is sent.",
    "reason_ro": "ANAF nu este autorizat: nu se trimite nimic.",
    "fix": "Authorise with the qualified certificate (`stripe-efactura anaf login`).",
}
NO_API_KEY = {
    "name": "stripe_api_key",
    "code": "W-STRIPE-DEGRADED",
    "status": "warning",
    "reason_en": "No Stripe API key: degraded mode, invoices are built from webhooks alone.",
    "reason_ro": "Fără cheie API Stripe: mod degradat, facturile se fac doar din webhook-uri.",
    "fix": "Set EFACTURA_STRIPE_API_KEY (a restricted key with read access).",
}
OUTBOX = {
    "name": "smtp",
    "code": "W-SMTP-OUTBOX",
    "status": "warning",
    "reason_en": "No SMTP server: e-mails are written to the outbox folder.",
    "reason_ro": "Fără server SMTP: e-mailurile sunt scrise în dosarul outbox.",
    "fix": "Set EFACTURA_SMTP_HOST (and _PORT, _USER, _PASSWORD, EFACTURA_MAIL_FROM).",
}
QUIET = {
    "name": "webhook_secret",
    "code": "W-WEBHOOK-QUIET",
    "status": "warning",
    "reason_en": "No webhook received for 7 days.",
    "reason_ro": "Niciun webhook primit în ultimele 7 zile.",
    "fix": "Check the endpoint URL and events in Stripe; `stripe-efactura reconcile`.",
}


def make_ctx(tmp_path: Path, db_url: str, **changes: Any) -> AppContext:
    settings = demo_settings(
        tmp_path, database_url=db_url, validation_dir=tmp_path / "none", **changes
    )
    ctx = build_context(settings)
    use_cases.prepare(ctx)
    use_cases.make_worker(ctx).drain()  # a worker has run: the worker is not what is checked
    return ctx


def without_worker(items: list[dict[str, str]]) -> list[dict[str, str]]:
    """The worker's own check (heartbeat, supervision) is tested with the worker."""
    return [c for c in items if c["name"] != "worker"]


def test_readyz_lists_what_is_not_ready_with_codes_and_no_secrets(
    tmp_path: Path, db_url: str
) -> None:
    ctx = make_ctx(tmp_path, db_url, template=True, stripe_api_key=None)
    with TestClient(create_app(ctx)) as client:
        answer = client.get("/readyz")
        health = client.get("/healthz")
    assert answer.status_code == 503
    body = answer.json()
    assert body["ready"] is False
    assert without_worker(body["not_ready"]) == [TEMPLATE, ARTIFACTS, NO_SECRET, NOT_AUTHORISED]
    assert body["degraded"] == [NO_API_KEY, OUTBOX]
    assert [n for n in body["ok"] if n != "worker"] == ["database"]
    assert (health.status_code, health.json()) == (200, {"status": "ok"})  # liveness only


def test_readyz_is_200_when_ready_and_never_shows_a_secret(
    tmp_path: Path, db_url: str, validation_dir: Path
) -> None:
    ctx = make_ctx(
        tmp_path,
        db_url,
        stripe_api_key=API_KEY,
        stripe_webhook_secrets=(WEBHOOK_SECRET,),
        smtp_host="127.0.0.1",
        smtp_password="smtp-password-never-shown",
    )
    ctx.settings = ctx.settings.with_(validation_dir=validation_dir)
    now = ctx.clock()
    anaf_tokens.save_tokens(
        ctx,
        TokenSet("access", "refresh", now + timedelta(days=80), now + timedelta(days=360)),
        source="test",
    )
    stop = threading.Event()
    worker = threading.Thread(target=use_cases.make_worker(ctx).run, args=(stop,))
    worker.start()
    try:
        for _ in range(200):  # the worker's first heartbeat
            if supervision.worker_status(ctx).running:
                break
            time.sleep(0.05)
        with TestClient(create_app(ctx)) as client:
            answer = client.get("/readyz")
    finally:
        stop.set()
        worker.join(10)
    assert answer.status_code == 200
    body = answer.json()
    assert body["not_ready"] == []
    assert body["degraded"] == [QUIET]  # no webhook yet: works, but worth a look
    assert body["ok"] == [
        "database",
        "company_profile",
        "worker",
        "validation_artifacts",
        "stripe_api_key",
        "anaf_authorisation",
        "smtp",
    ]
    for secret in (API_KEY, WEBHOOK_SECRET, "smtp-password-never-shown", "access", "refresh"):
        assert secret not in answer.text


def test_readyz_without_a_database_says_e_storage_without_the_driver_text(
    tmp_path: Path,
) -> None:
    ctx = make_ctx(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}")
    (tmp_path / "db.sqlite").unlink()
    (tmp_path / "db.sqlite").mkdir()  # the database file is now a folder
    ctx.engine.dispose()
    with TestClient(create_app(ctx)) as client:
        answer = client.get("/readyz")
    assert answer.status_code == 503
    body = answer.json()
    assert [(c["name"], c["code"]) for c in body["not_ready"]] == [("database", "E-STORAGE")]
    assert "sqlite" not in answer.text.lower() and "unable" not in answer.text.lower()


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    (tmp_path / "efactura.toml").write_text(TEMPLATE_TOML, encoding="utf-8")
    monkeypatch.setenv("EFACTURA_CONFIG", str(tmp_path / "efactura.toml"))
    monkeypatch.setenv("EFACTURA_DATA_DIR", str(tmp_path / "data"))
    for name in (
        "EFACTURA_DATABASE_URL",
        "EFACTURA_STRIPE_API_KEY",
        "EFACTURA_STRIPE_WEBHOOK_SECRET",
        "EFACTURA_SMTP_HOST",
        "EFACTURA_VALIDATION_DIR",
    ):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_system_status_shows_the_same_readiness(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["db", "upgrade"]) == 0
    capsys.readouterr()
    assert cli.main(["system", "status", "--json"]) == 1
    body = json.loads(capsys.readouterr().out)
    assert without_worker(body["not_ready"]) == [TEMPLATE, ARTIFACTS, NO_SECRET, NOT_AUTHORISED]
    assert body["degraded"] == [NO_API_KEY, OUTBOX]

    assert cli.main(["system", "status"]) == 1
    lines = [ln for ln in capsys.readouterr().out.splitlines() if " worker " not in ln]
    assert lines[0] == "  COMPONENT              STATE      REASON"
    assert lines[1] == "  database               ok         The database answers."
    assert lines[2] == (
        "  company_profile        NOT READY  [E-PROFILE-TEMPLATE] "
        + TEMPLATE["reason_en"]
        + " -> "
        + TEMPLATE["fix"]
    )
    assert [ln.split()[0:2] for ln in lines[3:-1]] == [
        ["validation_artifacts", "NOT"],
        ["webhook_secret", "NOT"],
        ["stripe_api_key", "DEGRADED"],
        ["anaf_authorisation", "NOT"],
        ["smtp", "DEGRADED"],
    ]
    assert lines[-1] == "NOT READY"


def test_the_start_up_summary(tmp_path: Path, db_url: str) -> None:
    ctx = make_ctx(tmp_path, db_url, template=True, stripe_api_key=None)
    lines = summary_lines(ctx, "http://127.0.0.1:8000", with_worker=True)
    shown_db = ctx.engine.url.render_as_string(hide_password=True)
    assert lines[:6] == [
        (
            f"stripe-efactura {use_cases.__name__ and __import__('stripe_efactura').__version__} "
            "listening on http://127.0.0.1:8000"
        ),
        f"  database: {shown_db}",
        f"  data dir: {tmp_path}",
        "  settings: efactura.toml",
        "  company: Firma Mea SRL (CUI 18547290)",
        (
            "  live payments: WAIT unnumbered (efactura.toml is the starter template); test-mode "
            "payments: series TEST; ANAF: test"
        ),
    ]
    assert [ln.split()[0] for ln in lines[6:]] == [
        "database",
        "company_profile",
        "validation_artifacts",
        "webhook_secret",
        "stripe_api_key",
        "anaf_authorisation",
        "smtp",
    ]  # the worker of `serve` starts after the summary: not listed
    assert "***" not in shown_db
