"""OAuth: authorize URL, code exchange, refresh with rotation, JWT expiry (against the fake)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from stripe_efactura.anaf.client import AnafClient
from stripe_efactura.anaf.fake import (
    FakeAnafState,
    FakeAnafTransport,
    FakeOAuthClient,
    FaultKind,
)
from stripe_efactura.anaf.oauth import (
    OAuthClient,
    OAuthError,
    TokenSet,
    authorize_url,
    decode_jwt_payload,
    jwt_expiry,
    needs_refresh,
    reauthorization_due,
    refresh_expired,
    refresh_margin,
    token_set_from_response,
)

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
OAUTH = "http://logincert.fake"
REDIRECT = "https://localhost:8443/anaf/callback"


@pytest.fixture
def oauth(state: FakeAnafState, transport: FakeAnafTransport) -> Iterator[OAuthClient]:
    state.clients["app"] = FakeOAuthClient("app", "s3cret", (REDIRECT,))
    with OAuthClient("app", "s3cret", oauth_base=OAUTH, transport=transport) as client:
        yield client


def authorize(transport: FakeAnafTransport, url: str) -> httpx.Response:
    with httpx.Client(transport=transport) as http:
        return http.get(url)


def get_code(transport: FakeAnafTransport, oauth: OAuthClient, state_param: str = "xyz") -> str:
    response = authorize(transport, oauth.authorize_url(REDIRECT, state=state_param))
    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    query = parse_qs(location.query)
    assert query["state"] == [state_param]
    return query["code"][0]


def test_authorize_url() -> None:
    assert authorize_url("my id", REDIRECT, state="s1") == (
        "https://logincert.anaf.ro/anaf-oauth2/v1/authorize?response_type=code&client_id=my+id"
        "&redirect_uri=https%3A%2F%2Flocalhost%3A8443%2Fanaf%2Fcallback"
        "&token_content_type=jwt&state=s1"
    )
    assert "state" not in authorize_url("a", REDIRECT)


def test_exchange_code_then_call_api(
    oauth: OAuthClient, transport: FakeAnafTransport, state: FakeAnafState
) -> None:
    tokens = oauth.exchange_code(get_code(transport, oauth), REDIRECT)
    assert tokens.access_exp == START + timedelta(days=90)
    assert tokens.refresh_exp == START + timedelta(days=365)
    payload = decode_jwt_payload(tokens.access)
    assert (payload["iss"], payload["exp"], payload["clientappid"]) == (
        "https://logincert.anaf.ro",
        int((START + timedelta(days=90)).timestamp()),
        "app",
    )
    with AnafClient("http://api.fake", "test", lambda: tokens.access, transport=transport) as api:
        assert api.list_recent("12345678", 1).messages == ()


def test_code_single_use_and_60_seconds(
    oauth: OAuthClient, transport: FakeAnafTransport, state: FakeAnafState
) -> None:
    code = get_code(transport, oauth)
    oauth.exchange_code(code, REDIRECT)
    with pytest.raises(OAuthError) as reused:
        oauth.exchange_code(code, REDIRECT)
    assert (reused.value.error, reused.value.reauthorize, reused.value.code) == (
        "invalid_grant",
        True,
        "E-ANAF-REAUTH",
    )
    late = get_code(transport, oauth)
    state.clock.advance(seconds=61)
    with pytest.raises(OAuthError) as expired:
        oauth.exchange_code(late, REDIRECT)
    assert str(expired.value) == (
        "[E-ANAF-REAUTH] ANAF refused the token request: invalid_grant: Authorization code expired"
    )


def test_refresh_rotates_refresh_token(
    oauth: OAuthClient, transport: FakeAnafTransport, state: FakeAnafState
) -> None:
    first = oauth.exchange_code(get_code(transport, oauth), REDIRECT)
    state.clock.advance(days=85)
    second = oauth.refresh(first.refresh)
    assert second.refresh != first.refresh
    assert second.access != first.access
    assert second.access_exp == START + timedelta(days=85 + 90)
    with pytest.raises(OAuthError) as old:
        oauth.refresh(first.refresh)
    assert (old.value.error, old.value.reauthorize, old.value.http_status) == (
        "invalid_grant",
        True,
        400,
    )
    third = oauth.refresh(second.refresh)
    assert third.refresh_exp == START + timedelta(days=85 + 365)


def test_expired_refresh_token(
    oauth: OAuthClient, transport: FakeAnafTransport, state: FakeAnafState
) -> None:
    tokens = oauth.exchange_code(get_code(transport, oauth), REDIRECT)
    state.clock.advance(days=365, seconds=1)
    with pytest.raises(OAuthError) as info:
        oauth.refresh(tokens.refresh)
    assert info.value.reauthorize is True
    assert info.value.message == (
        "ANAF refused the token request: invalid_grant: Refresh Token status is expired"
    )


def test_client_credentials_in_body(state: FakeAnafState, transport: FakeAnafTransport) -> None:
    state.clients["app"] = FakeOAuthClient("app", "s3cret", (REDIRECT,))
    with OAuthClient(
        "app", "s3cret", oauth_base=OAUTH, transport=transport, auth_style="body"
    ) as body_client:
        tokens = body_client.exchange_code(get_code(transport, body_client), REDIRECT)
    assert tokens.access_exp == START + timedelta(days=90)


def test_wrong_secret(state: FakeAnafState, transport: FakeAnafTransport) -> None:
    state.clients["app"] = FakeOAuthClient("app", "s3cret", (REDIRECT,))
    bad = OAuthClient("app", "nope", oauth_base=OAUTH, transport=transport)
    with pytest.raises(OAuthError) as info:
        bad.refresh("anything")
    assert (info.value.error, info.value.http_status, info.value.reauthorize) == (
        "invalid_client",
        401,
        False,
    )


def test_authorize_denied_and_bad_redirect(
    oauth: OAuthClient, transport: FakeAnafTransport, state: FakeAnafState
) -> None:
    assert authorize(transport, oauth.authorize_url("https://evil.example/cb")).status_code == 400
    state.deny_authorization = True
    response = authorize(transport, oauth.authorize_url(REDIRECT, state="s"))
    assert response.headers["location"] == f"{REDIRECT}?error=access_denied&state=s"


def test_token_endpoint_5xx_is_retryable(
    oauth: OAuthClient, transport: FakeAnafTransport, state: FakeAnafState
) -> None:
    state.inject(FaultKind.SERVER_ERROR, "token", status=503)
    with pytest.raises(OAuthError) as info:
        oauth.refresh("x")
    assert (info.value.retryable, info.value.reauthorize, info.value.http_status) == (
        True,
        False,
        503,
    )


def test_opaque_tokens_fall_back_to_expires_in(state: FakeAnafState) -> None:
    """Without token_content_type=jwt ANAF issues opaque tokens: expiry from expires_in."""
    data = {"access_token": "opaque", "refresh_token": "opaque2", "expires_in": 7776000}
    tokens = token_set_from_response(data, START)
    assert tokens == TokenSet("opaque", "opaque2", START + timedelta(days=90), None, START)


def _jwt(payload: dict[str, object]) -> str:
    def enc(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{enc({'alg': 'RS512'})}.{enc(payload)}.c2ln"


def test_jwt_expiry() -> None:
    assert jwt_expiry(_jwt({"exp": 1780000000})) == datetime(2026, 5, 28, 20, 26, 40, tzinfo=UTC)
    assert jwt_expiry(_jwt({"sub": "x"})) is None
    assert jwt_expiry(_jwt({"exp": "soon"})) is None
    assert jwt_expiry("opaque-token") is None
    assert jwt_expiry("a.!!!.c") is None
    with pytest.raises(ValueError, match="three dot-separated parts"):
        decode_jwt_payload("a.b")


def test_refresh_scheduling() -> None:
    tokens = TokenSet("a", "r", START + timedelta(days=90), START + timedelta(days=365))
    assert needs_refresh(tokens, START) is False
    assert needs_refresh(tokens, START + timedelta(days=83)) is True  # 7-day margin
    assert needs_refresh(tokens, START + timedelta(days=82, hours=23)) is False
    assert needs_refresh(tokens, START + timedelta(days=89), margin=timedelta(0)) is False
    assert reauthorization_due(tokens, START + timedelta(days=334)) is False
    assert reauthorization_due(tokens, START + timedelta(days=335)) is True
    assert refresh_expired(tokens, START + timedelta(days=365)) is True
    assert refresh_expired(tokens, START + timedelta(days=364)) is False


def test_token_set_round_trip() -> None:
    tokens = TokenSet("a", "r", START, None)
    assert TokenSet.from_dict(tokens.to_dict()) == tokens
    assert tokens.to_dict() == {
        "access": "a",
        "refresh": "r",
        "access_exp": "2026-03-02T10:00:00+00:00",
        "refresh_exp": None,
    }


def test_needs_refresh_on_a_raw_jwt() -> None:
    token = _jwt({"exp": int((START + timedelta(days=90)).timestamp())})
    assert needs_refresh(token, START) is False
    assert needs_refresh(token, START + timedelta(days=83)) is True
    # an unknown expiry is refreshed after ANAF answers 401, not before every call (issue 14)
    assert needs_refresh("opaque", START) is False


def test_refresh_margin_is_relative_to_a_short_tokens_lifetime() -> None:
    """A one-hour access token is refreshed 6 minutes before it expires (a tenth of its
    lifetime), not before every call as a fixed 7-day margin would; a 90-day token keeps 7
    days (issue 14: the margin is relative to the token's lifetime)."""
    hour = _jwt(
        {"iat": int(START.timestamp()), "exp": int((START + timedelta(hours=1)).timestamp())}
    )
    assert needs_refresh(hour, START) is False
    assert needs_refresh(hour, START + timedelta(minutes=53, seconds=59)) is False
    assert needs_refresh(hour, START + timedelta(minutes=54)) is True
    # the issue time of an opaque token answered with expires_in is the answer's time
    tokens = token_set_from_response(
        {"access_token": "opaque", "refresh_token": "r", "expires_in": 3600}, START
    )
    assert tokens.access_iat == START
    assert needs_refresh(tokens, START + timedelta(minutes=53)) is False
    assert needs_refresh(tokens, START + timedelta(minutes=54)) is True
    assert TokenSet.from_dict(tokens.to_dict()) == tokens
    assert refresh_margin(START + timedelta(days=90), START) == timedelta(days=7)
    assert refresh_margin(START + timedelta(hours=1), START) == timedelta(minutes=6)
    assert refresh_margin(START + timedelta(hours=1), None) == timedelta(days=7)
