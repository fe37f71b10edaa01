"""Who calls: a bearer API token (``Authorization: Bearer sef_…``) or the console's session
cookie (``efactura_session``). With the cookie, a state-changing request must also carry the
session's CSRF token in ``X-CSRF-Token``. Failures are rate-limited per client address
(``app/ratelimit.py``) and never say which part was wrong."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ...app import api_tokens, sessions
from ...app.accounts import BAD_TOKEN, Permission, Principal
from ...app.context import AppContext
from ...app.refusals import Forbidden, TooManyAttempts, Unauthenticated

SESSION_COOKIE = "efactura_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
bearer = HTTPBearer(auto_error=False, description="An API token: `sef_…` (docs/api.md).")

NO_CREDENTIALS = Unauthenticated(
    "E-AUTH-REQUIRED",
    "Authentication required: send `Authorization: Bearer <API token>` or log in.",
    "Autentificare necesară: trimiteți `Authorization: Bearer <token API>` sau autentificați-vă.",
)
BAD_CSRF = Forbidden(
    "E-AUTH-CSRF",
    "A session request that changes something needs the session's X-CSRF-Token header.",
    "O cerere cu sesiune care modifică ceva are nevoie de antetul X-CSRF-Token al sesiunii.",
)


def context(request: Request) -> AppContext:
    ctx = request.app.state.ctx
    assert isinstance(ctx, AppContext)
    return ctx


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def principal(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
) -> Principal:
    """The authenticated caller, or 401."""
    ctx = context(request)
    ip = client_ip(request)
    if credentials is not None:
        if credentials.scheme.lower() != "bearer":
            raise BAD_TOKEN
        return api_tokens.authenticate_token(ctx, credentials.credentials, ip)
    if request.headers.get("authorization"):
        raise BAD_TOKEN
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise NO_CREDENTIALS
    who = sessions.resolve(ctx, cookie, ip=ip)
    if request.method not in SAFE_METHODS and not sessions.check_csrf(
        ctx, cookie, request.headers.get(CSRF_HEADER, "")
    ):
        raise BAD_CSRF
    return who


def is_authenticated(request: Request) -> bool:
    """Whether the request carries valid credentials (a 404 of the API answers 401 to a
    caller who has none, so that nothing of the API answers without authentication)."""
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    try:
        if scheme.lower() == "bearer" and secret:
            api_tokens.authenticate_token(context(request), secret.strip(), client_ip(request))
            return True
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie and not header:
            sessions.resolve(context(request), cookie, ip=client_ip(request))
            return True
    except (Unauthenticated, TooManyAttempts):
        return False
    return False


def need(permission: Permission) -> Callable[..., Principal]:
    """A dependency: the caller, who must have ``permission`` (403 otherwise)."""

    def dependency(who: Principal = Depends(principal)) -> Principal:
        who.require(permission)
        return who

    dependency.__name__ = f"need_{permission.value}"
    return dependency


READ = need(Permission.READ)
DOWNLOAD = need(Permission.DOWNLOAD)
OPERATE = need(Permission.OPERATE)
ADMIN = need(Permission.ADMIN)
