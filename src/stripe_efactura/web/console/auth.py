"""The console's link to the accounts use cases: first run, sessions, who acts.

The set-up token of the first run is derived from the service's secret key, so every web
process of one installation accepts the link ``serve`` printed, and it stops working the
moment the first account exists.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from ...anaf import crypto
from ...app import accounts, sessions
from ...app.audit_log import Actor
from ...app.context import AppContext
from ...app.refusals import Refusal


@dataclass(frozen=True)
class SignedIn:
    id: int
    email: str
    name: str
    role: str
    session: str
    """The session secret (the cookie's value): the CSRF binding of this browser."""
    ip: str | None = None

    def actor(self) -> Actor:
        return Actor(name=self.email, via="console", user_id=self.id, ip=self.ip)


def console_secret(ctx: AppContext) -> bytes:
    """EFACTURA_SECRET_KEY, or ``<data dir>/secret.key`` (the key ANAF tokens use)."""
    return crypto.load_or_create_key(ctx.settings.data_dir, ctx.settings.secret_key)


def setup_token(ctx: AppContext) -> str:
    """The token of the first-run link (``/setup?token=…``)."""
    key = hashlib.sha256(b"console:setup:" + console_secret(ctx)).digest()
    return hmac.new(key, b"first-admin", hashlib.sha256).hexdigest()[:32]


def setup_token_ok(ctx: AppContext, token: str | None) -> bool:
    return bool(token) and hmac.compare_digest(setup_token(ctx), str(token))


def setup_needed(ctx: AppContext) -> bool:
    """True until the first account exists."""
    return not accounts.has_users(ctx)


def session_user(ctx: AppContext, secret: str, ip: str | None) -> SignedIn | None:
    """The user of a live session (None: unknown, ended, expired or disabled)."""
    try:
        found = sessions.resolve(ctx, secret, ip=ip)
    except Refusal:
        return None
    user = found.user
    return SignedIn(user.id, user.email, user.name, user.role, secret, ip)
