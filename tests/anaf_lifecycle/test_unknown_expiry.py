"""An ANAF token answer without any expiry (no ``exp`` claim, no ``expires_in``) is accepted
(issue 14): the expiry is said plainly as unknown in ``anaf status``, ``system status``,
``/readyz``'s data, the API and the console, and the token is refreshed when ANAF refuses it
(HTTP 401), never ahead of time (docs/anaf.md)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from stripe_efactura import cli
from stripe_efactura.anaf.oauth import needs_refresh, token_set_from_response
from stripe_efactura.app import anaf_tokens, readiness

from .conftest import START, Env


def test_a_token_answer_without_expiry_is_accepted_and_said_unknown(
    make_env: Callable[..., Env],
) -> None:
    env = make_env(tell_expiry=False)
    answer = env.state.mint_tokens()
    assert "expires_in" not in answer
    tokens = token_set_from_response(answer, START)
    assert (tokens.access_exp, tokens.refresh_exp, tokens.access_iat) == (None, None, START)
    assert needs_refresh(tokens, START + timedelta(days=400)) is False  # only after a 401

    status = anaf_tokens.token_status(env.ctx)  # the env stored such tokens
    assert status.to_dict() == {
        "cui": "18547290",
        "authorised": True,
        "access_expires_at": None,
        "access_expiry_known": False,
        "refresh_expires_at": None,
        "needs_refresh": False,
        "reauthorize_in_days": None,
        "updated_at": status.to_dict()["updated_at"],
    }
    check = next(c for c in readiness.readiness(env.ctx) if c.name == "anaf_authorisation")
    assert check.to_dict() == {
        "name": "anaf_authorisation",
        "code": "",
        "status": "ok",
        "reason_en": "ANAF is authorised; access token expiry unknown (refreshed when ANAF "
        "refuses it).",
        "reason_ro": "ANAF este autorizat; token de acces cu expirare necunoscută (se "
        "reînnoiește când ANAF îl refuză).",
        "fix": "",
    }
    assert readiness.anaf_overview(env.ctx)["authorisation"]["access_expiry_known"] is False


def test_it_is_refreshed_when_anaf_refuses_it(make_env: Callable[..., Env]) -> None:
    env = make_env(tell_expiry=False)
    first = anaf_tokens.access_token(env.ctx)
    env.clock.advance(timedelta(days=120))  # past the fake's 90 days: ANAF answers 401 now
    assert anaf_tokens.access_token(env.ctx) == first  # not refreshed ahead of time
    invoice_id, _number = env.issue()
    env.drive([invoice_id])
    assert env.row(invoice_id).anaf_state == "ok"
    fresh = anaf_tokens.load_tokens(env.ctx)
    assert fresh is not None and fresh.access != first and fresh.access_exp is None
    assert env.state.refresh_tokens[fresh.refresh].used is False  # the one live pair


def test_anaf_status_and_system_status_say_it(
    cli_env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    env = cli_env
    env.state.tell_expiry = False
    tokens = token_set_from_response(env.state.mint_tokens(), env.clock.now())
    anaf_tokens.save_tokens(env.ctx, tokens, source="test")
    capsys.readouterr()
    assert cli.main(["anaf", "status"]) == 0
    assert capsys.readouterr().out.splitlines()[1:3] == [
        (
            "  access token          expiry unknown / expirare necunoscută (refreshed when ANAF "
            "refuses it with HTTP 401)"
        ),
        (
            "  refresh token expires unknown (ANAF did not give an expiry; you are told when ANAF "
            "refuses it)"
        ),
    ]
    cli.main(["system", "status"])
    line = next(x for x in capsys.readouterr().out.splitlines() if "anaf_authorisation" in x)
    assert line.split(None, 2)[2] == (
        "ANAF is authorised; access token expiry unknown (refreshed when ANAF refuses it)."
    )
