"""ANAF tokens: encrypted at rest, one refresh across processes, expiry notices, authorisation."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import sqlalchemy as sa

from stripe_efactura.anaf.fake import FakeAnafState, FakeClock, FaultKind, create_fake_anaf
from stripe_efactura.anaf.oauth import token_set_from_response
from stripe_efactura.app import anaf_login, anaf_tokens
from stripe_efactura.store import db
from stripe_efactura.store.tables import anaf_tokens as tokens_table
from stripe_efactura.store.tables import notices


def test_two_processes_with_an_expired_access_token_refresh_once(
    env, loopback, proc_script, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    state = FakeAnafState(clock=FakeClock())
    state.access_lifetime = timedelta(days=-1)  # the stored access token expired yesterday
    expired = token_set_from_response(state.mint_tokens(), state.clock.now())
    state.access_lifetime = timedelta(days=90)
    anaf_tokens.save_tokens(env.ctx, expired, source="test")
    # a slow token endpoint widens the window in which both processes want to refresh
    state.inject(FaultKind.SLOW, "token", times=2, delay=0.5)
    with loopback(create_fake_anaf(state)) as server:
        config = {
            "database_url": env.ctx.settings.database_url,
            "data_dir": str(env.ctx.settings.data_dir),
            "anaf_base": server.base,
            "secret_key": env.ctx.settings.secret_key,
            "start_at": time.time() + 2.0,
        }
        path = tmp_path / "proc.json"
        path.write_text(json.dumps(config))
        procs = [
            subprocess.Popen(
                [sys.executable, str(proc_script), "token", str(path)],
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        outputs = [p.communicate(timeout=60)[0].strip() for p in procs]
        assert [p.returncode for p in procs] == [0, 0]
        used = [t for t, grant in state.refresh_tokens.items() if grant.used]
        assert used == [expired.refresh]  # exactly one refresh, of the stored refresh token
        env.ctx.caches.anaf_tokens = None
        stored = anaf_tokens.load_tokens(env.ctx)
        assert stored is not None
        assert outputs == [stored.access, stored.access]
        assert stored.access != expired.access
        assert stored.access_exp is not None and expired.access_exp is not None
        assert stored.access_exp > expired.access_exp + timedelta(days=90)
        # nothing lost: the stored refresh token is the live one (ANAF accepts it)
        with db.read(env.ctx.engine) as conn:
            assert conn.execute(sa.select(tokens_table.c.version)).scalar_one() == 3
        env.ctx.settings = env.ctx.settings.with_(anaf_oauth_base=server.base)
        env.ctx.anaf_transport = None
        again = anaf_tokens.refresh(env.ctx, rejected=stored.access)
        assert again.access != stored.access
        assert sorted(t for t, g in state.refresh_tokens.items() if g.used) == sorted(
            [expired.refresh, stored.refresh]
        )


def test_tokens_are_encrypted_at_rest_and_bound_to_the_cui(env) -> None:  # type: ignore[no-untyped-def]
    stored = anaf_tokens.load_tokens(env.ctx)
    assert stored is not None
    with db.read(env.ctx.engine) as conn:
        row = conn.execute(sa.select(tokens_table)).one()
    blob = bytes(row.ciphertext)
    assert blob.startswith(b"v1.")
    assert stored.access.encode() not in blob and stored.refresh.encode() not in blob
    assert row.cui == "18547290"


def test_secret_key_file_is_created_0600_without_efactura_secret_key(make_env) -> None:  # type: ignore[no-untyped-def]
    env = make_env()
    env.ctx.settings = env.ctx.settings.with_(secret_key=None)
    env.ctx.caches.anaf_tokens = None
    env.ctx.caches.secret_key = None
    tokens = token_set_from_response(env.state.mint_tokens(), env.clock.now())
    anaf_tokens.save_tokens(env.ctx, tokens, source="test")
    key_file = env.ctx.settings.data_dir / "secret.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    env.ctx.caches.anaf_tokens = None
    env.ctx.caches.secret_key = None
    assert anaf_tokens.load_tokens(env.ctx) == tokens


def test_token_status_and_expiry_notices_fire_once_at_30_7_1_days(env) -> None:  # type: ignore[no-untyped-def]
    status = anaf_tokens.token_status(env.ctx)
    assert (status.authorised, status.needs_refresh, status.reauthorize_in_days) == (
        True,
        False,
        365,
    )
    expiry = status.refresh_expires_at
    assert expiry is not None
    recorded: list[list[str]] = []
    for days_before in (40, 31, 30, 29, 8, 7, 3, 1, 0):
        env.clock.advance(expiry - timedelta(days=days_before) - env.clock.now())
        recorded.append(anaf_tokens.check_expiry(env.ctx))
    when = expiry.date().isoformat()
    assert recorded == [
        [],
        [],
        [f"18547290:{when}:30d"],
        [],
        [],
        [f"18547290:{when}:7d"],
        [],
        [f"18547290:{when}:1d"],
        [],
    ]
    with db.read(env.ctx.engine) as conn:
        kinds = conn.execute(sa.select(notices.c.kind)).scalars().all()
    assert kinds == ["auth_expiry"] * 3


def test_import_reads_expiry_from_the_jwts(env) -> None:  # type: ignore[no-untyped-def]
    raw = env.state.mint_tokens()
    tokens = anaf_tokens.import_tokens(env.ctx, raw["access_token"], raw["refresh_token"])
    assert tokens.access_exp == env.clock.now().replace(microsecond=0) + timedelta(days=90)
    env.ctx.caches.anaf_tokens = None
    env.ctx.caches.secret_key = None
    assert anaf_tokens.load_tokens(env.ctx) == tokens
    # no exp claim: accepted with an unknown expiry, or the token answer's expires_in (issue 14)
    unknown = anaf_tokens.import_tokens(env.ctx, "opaque", "opaque")
    assert (unknown.access_exp, unknown.refresh_exp) == (None, None)
    told = anaf_tokens.import_tokens(env.ctx, "opaque2", "opaque2", expires_in=3600)
    assert told.access_exp == env.clock.now() + timedelta(hours=1)


def test_login_round_trip_through_the_callback_route(env) -> None:  # type: ignore[no-untyped-def]
    from starlette.testclient import TestClient

    from stripe_efactura.web.app import create_app

    redirect = "https://efactura.example.ro/anaf/callback"
    env.ctx.settings = env.ctx.settings.with_(anaf_redirect_uri=redirect)
    url = anaf_login.authorize_url(env.ctx, redirect)
    query = parse_qs(urlsplit(url).query)
    assert query["token_content_type"] == ["jwt"]
    assert query["redirect_uri"] == [redirect]
    # the certificate holder's browser: ANAF redirects back with a code
    with httpx.Client(transport=env.ctx.anaf_transport) as browser:
        answer = browser.get(url)
    assert answer.status_code == 302
    back = urlsplit(answer.headers["location"])
    with TestClient(create_app(env.ctx)) as web:
        bad = web.get("/anaf/callback", params={"code": "x", "state": "1.2.3"})
        assert bad.status_code == 400
        good = web.get(f"/anaf/callback?{back.query}")
        assert good.status_code == 200, good.text
        assert "ANAF" in good.text
        replay = web.get(f"/anaf/callback?{back.query}")
        assert replay.status_code == 400  # a code works once
        denied = web.get("/anaf/callback", params={"error": "access_denied"})
        assert denied.status_code == 400
    with db.read(env.ctx.engine) as conn:
        assert conn.execute(sa.select(tokens_table.c.version)).scalar_one() == 2
