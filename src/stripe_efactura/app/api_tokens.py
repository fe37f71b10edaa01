"""API tokens: created for a user, shown once, kept as a SHA-256 digest, narrowed by a scope
(``docs/api.md``, "Accounts and authentication"); every change is in the audit log."""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass

from ..store import accounts as store
from ..store import db
from . import audit_log
from .accounts import BAD_TOKEN, SCOPES, Principal, _lookup, _now, _user, digest, limiter
from .audit_log import Actor
from .context import AppContext
from .refusals import Conflict, Invalid, NotFound

TOKEN_MARK = "sef_"
TOUCH_EVERY_SECONDS = 60
"""A token's last-used time is written at most once a minute (no write per request)."""


@dataclass(frozen=True)
class Token(store.TokenRow):
    """A token as the API shows it (never its secret or digest)."""

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "user_id": self.user_id,
            "name": self.name,
            "prefix": self.prefix,
            "scope": self.scope,
            "created_at": self.created_at.isoformat(),
            "last_used_at": self.last_used_at.isoformat() if self.last_used_at else None,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }


def _token(row: store.TokenRow) -> Token:
    return Token(**asdict(row))


def create_token(
    ctx: AppContext, actor: Actor, user_ref: str | int, name: str, scope: str
) -> tuple[Token, str]:
    """A new token for the user; returns it and its secret, which is never shown again."""
    if scope not in SCOPES:
        raise Invalid(
            "E-TOKEN-SCOPE",
            f"Unknown token scope '{scope}' (read or write).",
            f"Domeniu de token necunoscut '{scope}' (read sau write).",
            field="scope",
        )
    label = name.strip()[:255] or "token"
    secret = TOKEN_MARK + secrets.token_urlsafe(32)
    with db.write(ctx.engine) as conn:
        user = _lookup(conn, user_ref)
        if user.disabled_at is not None:
            raise Conflict(
                "E-USER-DISABLED",
                f"User {user.email} is disabled.",
                f"Utilizatorul {user.email} este dezactivat.",
            )
        token_id = store.insert_token(
            conn,
            user_id=user.id,
            name=label,
            prefix=secret[:12],
            token_hash=digest(secret),
            scope=scope,
            now=_now(ctx),
        )
        token = _token(_token_found(store.token_by_id(conn, token_id), token_id))
        audit_log.record(
            conn,
            actor,
            "token.create",
            "token",
            token_id,
            after={"user": user.email, "name": label, "scope": scope, "prefix": token.prefix},
        )
    return token, secret


def _token_found(row: store.TokenRow | None, token_id: int) -> store.TokenRow:
    if row is None:
        raise NotFound(
            "E-TOKEN-UNKNOWN",
            f"No API token {token_id}.",
            f"Tokenul API {token_id} nu există.",
            field="token",
        )
    return row


def list_tokens(ctx: AppContext, user_ref: str | int | None = None) -> list[Token]:
    with db.read(ctx.engine) as conn:
        user_id = _lookup(conn, user_ref).id if user_ref is not None else None
        return [_token(r) for r in store.list_tokens(conn, user_id)]


def get_token(ctx: AppContext, token_id: int) -> Token:
    with db.read(ctx.engine) as conn:
        return _token(_token_found(store.token_by_id(conn, token_id), token_id))


def revoke_token(ctx: AppContext, actor: Actor, token_id: int) -> Token:
    with db.write(ctx.engine) as conn:
        row = _token_found(store.token_by_id(conn, token_id), token_id)
        if store.revoke_token(conn, token_id, _now(ctx)):
            audit_log.record(
                conn,
                actor,
                "token.revoke",
                "token",
                token_id,
                before={"revoked": False},
                after={"revoked": True},
            )
        return _token(_token_found(store.token_by_id(conn, row.id), token_id))


def authenticate_token(ctx: AppContext, secret: str, ip: str | None) -> Principal:
    """The caller behind a bearer token. Unknown, revoked or disabled: 401 (rate-limited)."""
    limits = limiter(ctx)
    limits.check(ip)
    found = None
    if secret.startswith(TOKEN_MARK) and len(secret) < 200:
        with db.read(ctx.engine) as conn:
            found = store.token_and_user(conn, digest(secret))
    if found is None or found[0].revoked_at is not None or found[1].disabled_at is not None:
        limits.failed(ip)
        raise BAD_TOKEN
    token, user = found
    now = _now(ctx)
    last = token.last_used_at
    if last is None or (now - last).total_seconds() >= TOUCH_EVERY_SECONDS:
        with db.write(ctx.engine) as conn:
            store.touch_token(conn, token.id, now)
    return Principal(user=_user(user), via="api", scope=token.scope, token_id=token.id, ip=ip)
