"""ANAF OAuth2 (``logincert.anaf.ro``): authorize URL, code exchange, refresh, JWT expiry.

The flow (``ANAF.md`` §2): the certificate holder opens :func:`authorize_url` in a browser;
ANAF redirects to the registered ``https`` callback with ``?code=...`` which must be exchanged
within 60 seconds (:meth:`OAuthClient.exchange_code`). The access JWT lives 90 days, the
refresh JWT 365 days; :meth:`OAuthClient.refresh` is headless and ROTATES the refresh token, so
the caller must persist both new tokens atomically (the old refresh token stops working).

Expiry is read from the JWT ``exp`` claim (payload only; the signature is not verified: the
token is ANAF's business, we only need to know when to refresh), else from ``expires_in``.
A token answer with neither is accepted: its expiry is **unknown** (``access_exp`` None), it is
not refreshed ahead of time but when ANAF refuses it (HTTP 401, ``app/anaf_port.py``).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx

from stripe_efactura.errors import AnafError

AUTHORIZE_PATH = "/anaf-oauth2/v1/authorize"
TOKEN_PATH = "/anaf-oauth2/v1/token"
REVOKE_PATH = "/anaf-oauth2/v1/revoke"
DEFAULT_OAUTH_BASE = "https://logincert.anaf.ro"

#: Refresh the access token this long before it expires.
DEFAULT_REFRESH_MARGIN = timedelta(days=7)
#: Warn the merchant this long before the refresh token expires (re-auth needs the USB token).
DEFAULT_REAUTH_WARNING = timedelta(days=30)


class OAuthError(AnafError):
    """The token endpoint refused or could not be reached.

    ``reauthorize`` is True when retrying cannot help (``invalid_grant``, an expired or rotated
    refresh token, an expired code): a person must authorise again in a browser.
    ``retryable`` is True for network failures and 5xx.
    """

    code = "E-ANAF-OAUTH"

    def __init__(
        self,
        message: str,
        *,
        reauthorize: bool = False,
        retryable: bool = False,
        http_status: int | None = None,
        error: str | None = None,
    ) -> None:
        super().__init__(message, code="E-ANAF-REAUTH" if reauthorize else None)
        self.reauthorize = reauthorize
        self.retryable = retryable
        self.http_status = http_status
        self.error = error


@dataclass(frozen=True)
class TokenSet:
    """The tokens of one authorisation. Expiry datetimes are aware (UTC). ``access_iat``:
    when the access token was issued, if known (its ``iat`` claim, else the time of the token
    answer): the refresh margin is relative to the token's lifetime."""

    access: str
    refresh: str
    access_exp: datetime | None
    """None: unknown (refreshed when ANAF answers 401, never ahead of time)."""
    refresh_exp: datetime | None
    access_iat: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "access": self.access,
            "refresh": self.refresh,
            "access_exp": self.access_exp.isoformat() if self.access_exp else None,
            "refresh_exp": self.refresh_exp.isoformat() if self.refresh_exp else None,
        }
        if self.access_iat is not None:
            out["access_iat"] = self.access_iat.isoformat()
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TokenSet:
        refresh_exp = data.get("refresh_exp")
        iat = data.get("access_iat")
        access_exp = data.get("access_exp")
        return cls(
            access=str(data["access"]),
            refresh=str(data["refresh"]),
            access_exp=datetime.fromisoformat(str(access_exp)) if access_exp else None,
            refresh_exp=datetime.fromisoformat(str(refresh_exp)) if refresh_exp else None,
            access_iat=datetime.fromisoformat(str(iat)) if iat else None,
        )


def authorize_url(
    client_id: str,
    redirect_uri: str,
    *,
    state: str | None = None,
    oauth_base: str = DEFAULT_OAUTH_BASE,
) -> str:
    """The browser URL that starts the authorisation (``token_content_type=jwt``)."""
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "token_content_type": "jwt",
    }
    if state is not None:
        params["state"] = state
    return f"{oauth_base.rstrip('/')}{AUTHORIZE_PATH}?{urlencode(params)}"


def decode_jwt_payload(token: str) -> dict[str, Any]:
    """The JSON payload of a JWT, without verifying its signature.

    Raises :class:`ValueError` when the token is not a JWT (e.g. an opaque token issued without
    ``token_content_type=jwt``).
    """
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("not a JWT: expected three dot-separated parts")
    segment = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        payload = json.loads(base64.urlsafe_b64decode(segment.encode("ascii")))
    except (ValueError, UnicodeEncodeError) as exc:
        raise ValueError("not a JWT: the payload is not base64url JSON") from exc
    if not isinstance(payload, dict):
        raise ValueError("not a JWT: the payload is not a JSON object")
    return payload


def _jwt_time(token: str, claim: str) -> datetime | None:
    try:
        value = decode_jwt_payload(token).get(claim)
    except ValueError:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return datetime.fromtimestamp(int(value), tz=UTC)


def jwt_expiry(token: str) -> datetime | None:
    """The ``exp`` claim as an aware UTC datetime; None when absent or not a JWT."""
    return _jwt_time(token, "exp")


def refresh_margin(exp: datetime, issued: datetime | None) -> timedelta:
    """How long before ``exp`` an access token is refreshed: 7 days, or a tenth of its
    lifetime when that is shorter (a one-hour token is refreshed 6 minutes before it expires,
    not before every call). Without a known issue time: 7 days."""
    if issued is None or issued >= exp:
        return DEFAULT_REFRESH_MARGIN
    return min(DEFAULT_REFRESH_MARGIN, (exp - issued) / 10)


def needs_refresh(
    tokens: TokenSet | str, now: datetime, *, margin: timedelta | None = None
) -> bool:
    """True when the access token expires within ``margin`` of ``now`` (or already has);
    ``margin`` defaults to :func:`refresh_margin` of the token.

    ``tokens`` is a :class:`TokenSet` or an access JWT. A token whose expiry is unknown is not
    refreshed ahead of time (that would rotate the refresh token before every call): it is
    refreshed when ANAF answers 401.
    """
    if isinstance(tokens, str):
        exp = jwt_expiry(tokens)
        issued = _jwt_time(tokens, "iat")
    else:
        exp = tokens.access_exp
        issued = tokens.access_iat or _jwt_time(tokens.access, "iat")
    if exp is None:
        return False
    return now + (refresh_margin(exp, issued) if margin is None else margin) >= exp


def refresh_expired(tokens: TokenSet, now: datetime) -> bool:
    """True when the refresh token is past its ``exp``: only a browser re-authorisation helps."""
    return tokens.refresh_exp is not None and now >= tokens.refresh_exp


def reauthorization_due(
    tokens: TokenSet, now: datetime, *, warning: timedelta = DEFAULT_REAUTH_WARNING
) -> bool:
    """True when the refresh token expires within ``warning`` (alert the merchant)."""
    return tokens.refresh_exp is not None and now + warning >= tokens.refresh_exp


def token_set_from_response(data: dict[str, Any], now: datetime) -> TokenSet:
    """Build a :class:`TokenSet` from the token endpoint JSON; ``exp`` claims win over
    ``expires_in`` (which only describes the access token); with neither the access token's
    expiry is unknown (None)."""
    access = data.get("access_token")
    refresh = data.get("refresh_token")
    if not isinstance(access, str) or not isinstance(refresh, str) or not access or not refresh:
        raise OAuthError("ANAF token answer without access_token/refresh_token")
    access_exp = jwt_expiry(access)
    expires_in = data.get("expires_in")
    if access_exp is None and isinstance(expires_in, int) and not isinstance(expires_in, bool):
        access_exp = now + timedelta(seconds=expires_in)
    issued = _jwt_time(access, "iat") or now
    return TokenSet(access, refresh, access_exp, jwt_expiry(refresh), issued)


class OAuthClient:
    """Token endpoint calls. ``auth_style`` is ``"basic"`` (HTTP Basic client credentials, as
    ANAF documents) or ``"body"`` (``client_id``/``client_secret`` form fields, as Odoo does)."""

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        oauth_base: str = DEFAULT_OAUTH_BASE,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        auth_style: str = "basic",
    ) -> None:
        if auth_style not in ("basic", "body"):
            raise ValueError("auth_style must be 'basic' or 'body'")
        self.client_id = client_id
        self._secret = client_secret
        self.oauth_base = oauth_base.rstrip("/")
        self.auth_style = auth_style
        self._http = httpx.Client(transport=transport, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> OAuthClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def authorize_url(self, redirect_uri: str, *, state: str | None = None) -> str:
        return authorize_url(self.client_id, redirect_uri, state=state, oauth_base=self.oauth_base)

    def exchange_code(
        self, code: str, redirect_uri: str, *, now: datetime | None = None
    ) -> TokenSet:
        """Exchange the authorisation ``code`` (valid 60 seconds) for tokens."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "token_content_type": "jwt",
        }
        return self._token_request(form, now)

    def refresh(self, refresh_token: str, *, now: datetime | None = None) -> TokenSet:
        """New access AND refresh tokens; the old refresh token is invalid afterwards."""
        form = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "token_content_type": "jwt",
        }
        return self._token_request(form, now)

    def _token_request(self, form: dict[str, str], now: datetime | None) -> TokenSet:
        headers = {"Accept": "application/json"}
        if self.auth_style == "basic":
            pair = f"{self.client_id}:{self._secret}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        else:
            form = {**form, "client_id": self.client_id, "client_secret": self._secret}
        try:
            response = self._http.post(f"{self.oauth_base}{TOKEN_PATH}", data=form, headers=headers)
        except httpx.HTTPError as exc:
            raise OAuthError(f"ANAF token endpoint unreachable: {exc}", retryable=True) from exc
        return _token_answer(response.status_code, response.content, now or datetime.now(UTC))


def _token_answer(status: int, body: bytes, now: datetime) -> TokenSet:
    try:
        data = json.loads(body) if body.strip() else {}
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    if status == 200 and data:
        return token_set_from_response(data, now)
    if status >= 500:
        raise OAuthError(
            f"ANAF token endpoint error HTTP {status}", retryable=True, http_status=status
        )
    error = str(data.get("error", "")) or None
    description = str(data.get("error_description") or data.get("message") or "")
    text = f"{error or ''} {description}".lower()
    reauthorize = error in ("invalid_grant", "unauthorized_client") or "expired" in text
    detail = ": ".join(p for p in (error, description) if p) or f"HTTP {status}"
    raise OAuthError(
        f"ANAF refused the token request: {detail}",
        reauthorize=reauthorize,
        http_status=status,
        error=error,
    )
