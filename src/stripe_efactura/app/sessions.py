"""Browser sessions for the console: created at log-in, ended at log-out or expiry.

The cookie carries a random secret; the database keeps only its SHA-256 digest. A session
ends after ``IDLE`` without a request or ``LIFETIME`` after log-in, whichever comes first,
when its user is disabled, and when the user's password changes. The CSRF token of a session
is an HMAC of the session secret under the project's secret key (``EFACTURA_SECRET_KEY`` or
``<data dir>/secret.key``): stateless, so every web machine agrees.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..store import accounts as store
from ..store import db
from . import accounts
from .accounts import BAD_TOKEN, Principal
from .context import AppContext

IDLE = timedelta(hours=2)
LIFETIME = timedelta(hours=12)
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class NewSession:
    id: int
    secret: str
    """The cookie value; shown once, stored only as a digest."""
    expires_at: datetime
    user: accounts.User


def login(
    ctx: AppContext,
    email: str,
    password: str,
    *,
    ip: str | None = None,
    user_agent: str | None = None,
) -> NewSession:
    """Check the password (rate-limited) and open a session."""
    user = accounts.authenticate_password(ctx, email, password, ip)
    return open_session(ctx, user, ip=ip, user_agent=user_agent)


def open_session(
    ctx: AppContext, user: accounts.User, *, ip: str | None = None, user_agent: str | None = None
) -> NewSession:
    secret = secrets.token_urlsafe(32)
    now = db.utc_naive(ctx.clock())
    expires = now + LIFETIME
    with db.write(ctx.engine) as conn:
        session_id = store.insert_session(
            conn,
            user_id=user.id,
            session_hash=accounts.digest(secret),
            now=now,
            expires_at=expires,
            ip=ip,
            user_agent=user_agent,
        )
    return NewSession(id=session_id, secret=secret, expires_at=expires, user=user)


def resolve(ctx: AppContext, secret: str, *, ip: str | None = None) -> Principal:
    """The caller behind a session cookie; 401 (rate-limited) when it is unknown, ended,
    expired (idle or lifetime) or its user is disabled."""
    limits = accounts.limiter(ctx)
    limits.check(ip)
    now = db.utc_naive(ctx.clock())
    found = None
    if 0 < len(secret) < 200:
        with db.read(ctx.engine) as conn:
            found = store.session_and_user(conn, accounts.digest(secret))
    if found is None or not _alive(found[0], found[1], now):
        limits.failed(ip)
        raise BAD_TOKEN
    session, user = found
    if now - session.last_seen_at >= TOUCH_EVERY:
        with db.write(ctx.engine) as conn:
            store.touch_session(conn, session.id, now)
    return Principal(
        user=accounts.get_user(ctx, user.id), via="console", session_id=session.id, ip=ip
    )


def _alive(session: store.SessionRow, user: store.UserRow, now: datetime) -> bool:
    return (
        session.ended_at is None
        and user.disabled_at is None
        and now < session.expires_at
        and now - session.last_seen_at < IDLE
    )


def logout(ctx: AppContext, secret: str) -> None:
    """End the session (unknown secrets are ignored: logging out twice is fine)."""
    with db.write(ctx.engine) as conn:
        found = store.session_and_user(conn, accounts.digest(secret))
        if found is not None:
            store.end_session(conn, found[0].id, db.utc_naive(ctx.clock()))


def csrf_token(ctx: AppContext, secret: str) -> str:
    """The CSRF token bound to a session (HMAC-SHA256 under the settings' secret key)."""
    key = hashlib.sha256(b"efactura-csrf\0" + _secret_key(ctx)).digest()
    return hmac.new(key, secret.encode("utf-8"), hashlib.sha256).hexdigest()


def check_csrf(ctx: AppContext, secret: str, token: str) -> bool:
    return hmac.compare_digest(csrf_token(ctx, secret), token)


def _secret_key(ctx: AppContext) -> bytes:
    """The project's 32-byte key (``EFACTURA_SECRET_KEY`` or ``<data dir>/secret.key``)."""
    if ctx.caches.secret_key is None:
        from ..anaf.crypto import load_or_create_key

        ctx.caches.secret_key = load_or_create_key(ctx.settings.data_dir, ctx.settings.secret_key)
    return ctx.caches.secret_key
