"""The console's browser security: response headers, CSRF tokens, cookies, login throttling.

- Every console response carries a strict Content-Security-Policy (only our own scripts and
  styles, no inline script, ``frame-ancestors 'none'``), ``X-Frame-Options: DENY``,
  ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: same-origin`` and
  ``Cache-Control: no-store``.
- CSRF: every state-changing form carries a token that is an HMAC of the browser's session
  (or, before login, of a random pre-session cookie) under the console key; a POST without
  the matching token is refused with 403 before anything else happens.
- Cookies are ``HttpOnly`` and ``SameSite=Lax``, and ``Secure`` when the request came over
  HTTPS: directly, or through a proxy listed in ``EFACTURA_TRUSTED_PROXIES`` that says so in
  ``X-Forwarded-Proto`` (the header is ignored from anybody else).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from ipaddress import ip_address, ip_network
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def csp(anaf_oauth_base: str) -> str:
    """The Content-Security-Policy: our own files only, no inline script or style, no
    framing; forms may go to the console and to ANAF's OAuth origin (the "Authorise" button
    is a form whose answer redirects the browser there)."""
    parts = urlsplit(anaf_oauth_base)
    anaf = f" {parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"font-src 'self'; connect-src 'self'; form-action 'self'{anaf}; base-uri 'none'; "
        "frame-ancestors 'none'"
    )


HEADERS = [
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
    (b"cross-origin-opener-policy", b"same-origin"),
]

SESSION_COOKIE = "efc_session"
PRE_COOKIE = "efc_pre"
LANG_COOKIE = "efc_lang"


class SecurityHeaders:
    """ASGI middleware adding the CSP and :data:`HEADERS` to every HTTP response (not
    overriding a header the response set)."""

    def __init__(self, app: ASGIApp, policy: str) -> None:
        self.app = app
        self.headers = [(b"content-security-policy", policy.encode()), *HEADERS]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self.headers if k not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def derive_key(secret: bytes, purpose: str) -> bytes:
    return hashlib.sha256(f"console:{purpose}:".encode() + secret).digest()


def csrf_token(key: bytes, binding: str) -> str:
    """The CSRF token of a browser: HMAC of its session (or pre-session) id."""
    return hmac.new(key, b"csrf:" + binding.encode(), hashlib.sha256).hexdigest()


def csrf_ok(key: bytes, binding: str | None, token: str | None) -> bool:
    if not binding or not token:
        return False
    return hmac.compare_digest(csrf_token(key, binding), token)


def new_id() -> str:
    return secrets.token_urlsafe(32)


def _trusted(client: str | None, proxies: Iterable[str]) -> bool:
    if not client:
        return False
    try:
        addr = ip_address(client)
    except ValueError:
        return False
    for item in proxies:
        try:
            if addr in ip_network(item, strict=False):
                return True
        except ValueError:
            continue
    return False


def is_https(request: Request, trusted_proxies: Iterable[str]) -> bool:
    """The browser talks HTTPS: directly, or via a trusted proxy's ``X-Forwarded-Proto``."""
    if request.url.scheme == "https":
        return True
    client = request.client.host if request.client else None
    if not _trusted(client, trusted_proxies):
        return False
    proto = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return proto == "https"


def client_ip(request: Request, trusted_proxies: Iterable[str]) -> str:
    """The client address; ``X-Forwarded-For``'s last hop only from a trusted proxy."""
    client = request.client.host if request.client else ""
    if _trusted(client, trusted_proxies):
        forwarded = [p.strip() for p in request.headers.get("x-forwarded-for", "").split(",")]
        forwarded = [p for p in forwarded if p]
        if forwarded:
            return forwarded[-1]
    return client


def set_cookie(
    response: Response, name: str, value: str, *, secure: bool, max_age: int | None = None
) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path="/", httponly=True, samesite="lax", secure=secure
    )
