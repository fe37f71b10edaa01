"""ANAF OAuth tokens of the company: encrypted at rest, refreshed by one process at a time.

The token pair of the company's CUI lives in ``anaf_tokens`` as an AES-GCM blob
(:func:`anaf.crypto.encrypt_tokens`, associated data ``anaf_tokens:<cui>``), with the expiry
times in clear for ``anaf status`` and the expiry notices.

Refresh (``needs_refresh``: 7 days, or a tenth of its lifetime if shorter, before the access
token expires, or after ANAF answered 401; a token whose expiry is unknown, an answer without
``exp`` claim or ``expires_in``, only after a 401: it is said as :data:`EXPIRY_UNKNOWN`)
ROTATES the refresh token, so it runs inside a write transaction that holds the token row
(``BEGIN IMMEDIATE`` on SQLite, ``SELECT … FOR UPDATE`` on PostgreSQL). The row is read again
under that lock and the refresh happens only if the stored tokens still need it: a second
process waiting on the lock finds the fresh pair and uses it. Both new tokens are written in
that same transaction. A crash between ANAF's answer and the commit loses the new pair and a
person must authorise again; the window is one HTTP round trip every ~83 days.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NotRequired, TypedDict

from sqlalchemy.engine import Connection

from ..anaf import crypto
from ..anaf.oauth import (
    OAuthClient,
    OAuthError,
    TokenSet,
    jwt_expiry,
    needs_refresh,
    refresh_expired,
    refresh_margin,
)
from ..errors import AnafError, ConfigError, Problem
from ..store import anaf_tokens as token_store
from ..store import db
from ..store import notices as notice_store
from . import notices as notice_service
from .context import AppContext

log = logging.getLogger("stripe_efactura.anaf_tokens")
audit = logging.getLogger("stripe_efactura.audit")

#: OAuth calls hold the token row lock: stay below SQLite's 30 s busy timeout.
OAUTH_TIMEOUT = 20.0
#: Days before the refresh token expires when the merchant is told to authorise again.
EXPIRY_WARNINGS = (30, 7, 1)
#: How an unknown access-token expiry is said (``anaf status``, ``system status``, console).
EXPIRY_UNKNOWN = "expiry unknown / expirare necunoscută"


class NotAuthorised(AnafError):
    """No usable ANAF token: a person with the qualified certificate must authorise."""

    code = "E-ANAF-NOT-AUTHORISED"


class TokenStatusJson(TypedDict):
    """``anaf status --json`` and the API's ``authorisation``: every key of
    :meth:`TokenStatus.to_dict`, or only ``authorised`` and ``error`` when the status cannot
    be read (no usable CUI; ``readiness.anaf_overview``)."""

    cui: NotRequired[str]
    authorised: bool
    access_expires_at: NotRequired[str | None]
    access_expiry_known: NotRequired[bool]
    refresh_expires_at: NotRequired[str | None]
    needs_refresh: NotRequired[bool]
    reauthorize_in_days: NotRequired[int | None]
    updated_at: NotRequired[str | None]
    error: NotRequired[str]


@dataclass(frozen=True)
class TokenStatus:
    cui: str
    authorised: bool
    access_expires_at: datetime | None
    refresh_expires_at: datetime | None
    needs_refresh: bool
    reauthorize_in_days: int | None
    updated_at: datetime | None

    @property
    def access_expiry_known(self) -> bool:
        """False when authorised with a token whose expiry ANAF did not give."""
        return not self.authorised or self.access_expires_at is not None

    def to_dict(self) -> TokenStatusJson:
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "cui": self.cui,
            "authorised": self.authorised,
            "access_expires_at": iso(self.access_expires_at),
            "access_expiry_known": self.access_expiry_known,
            "refresh_expires_at": iso(self.refresh_expires_at),
            "needs_refresh": self.needs_refresh,
            "reauthorize_in_days": self.reauthorize_in_days,
            "updated_at": iso(self.updated_at),
        }


def company_cui(ctx: AppContext) -> str:
    # a seller identified by CNP has its SPV rights (and uploads) under the CNP
    cui = ctx.settings.company.fiscal_code.upper().removeprefix("RO").strip()
    if not cui.isdigit():
        raise ConfigError("[company] cui must be the numeric CUI (efactura.toml)")
    return cui


def _context(cui: str) -> bytes:
    return f"anaf_tokens:{cui}".encode()


def encryption_key(ctx: AppContext) -> bytes:
    """EFACTURA_SECRET_KEY, or ``<data dir>/secret.key`` (created 0600)."""
    if ctx.caches.secret_key is None:
        ctx.caches.secret_key = crypto.load_or_create_key(
            ctx.settings.data_dir, ctx.settings.secret_key
        )
    return ctx.caches.secret_key


def _key_exists(ctx: AppContext) -> bool:
    """Whether the encryption key exists already (never creates it)."""
    if ctx.settings.secret_key or ctx.caches.secret_key is not None:
        return True
    return (Path(ctx.settings.data_dir) / crypto.KEY_FILE_NAME).exists()


def oauth_client(ctx: AppContext) -> OAuthClient:
    s = ctx.settings
    if not s.anaf_client_id or not s.anaf_client_secret:
        raise ConfigError(
            "EFACTURA_ANAF_CLIENT_ID and EFACTURA_ANAF_CLIENT_SECRET are required "
            "(register the application in ANAF's portal)"
        )
    return OAuthClient(
        s.anaf_client_id,
        s.anaf_client_secret,
        oauth_base=s.anaf_oauth_base,
        transport=ctx.anaf_transport,
        timeout=OAUTH_TIMEOUT,
    )


def _now(ctx: AppContext) -> datetime:
    now = ctx.clock()
    return now if now.tzinfo else now.replace(tzinfo=UTC)


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _row(conn: Connection, cui: str, *, lock: bool = False) -> token_store.TokenRecord | None:
    return token_store.get(conn, cui, lock=lock)


def _decrypt(ctx: AppContext, row: token_store.TokenRecord) -> TokenSet:
    blob = row.ciphertext.decode("ascii")
    return crypto.decrypt_tokens(blob, encryption_key(ctx), context=_context(row.cui))


def store_tokens(conn: Connection, ctx: AppContext, tokens: TokenSet) -> None:
    """Write both tokens (one row per CUI) in the caller's transaction."""
    cui = company_cui(ctx)
    blob = crypto.encrypt_tokens(tokens, encryption_key(ctx), context=_context(cui)).encode()
    token_store.put(
        conn,
        cui,
        blob,
        access_expires_at=db.utc_naive(tokens.access_exp) if tokens.access_exp else None,
        refresh_expires_at=db.utc_naive(tokens.refresh_exp) if tokens.refresh_exp else None,
    )
    ctx.caches.anaf_tokens = tokens


def save_tokens(ctx: AppContext, tokens: TokenSet, *, source: str) -> None:
    with db.write(ctx.engine) as conn:
        store_tokens(conn, ctx, tokens)
    audit.info("ANAF tokens stored (%s); access %s", source, expiry_text(tokens.access_exp))


def load_tokens(ctx: AppContext) -> TokenSet | None:
    with db.read(ctx.engine) as conn:
        row = _row(conn, company_cui(ctx))
    return None if row is None else _decrypt(ctx, row)


def access_token(ctx: AppContext) -> str:
    """The access token to send now; refreshes it (once, across processes) when due."""
    tokens = ctx.caches.anaf_tokens or load_tokens(ctx)
    if tokens is None:
        raise NotAuthorised("ANAF is not authorised yet: run `stripe-efactura anaf login`")
    if needs_refresh(tokens, _now(ctx)):
        tokens = refresh(ctx)
    ctx.caches.anaf_tokens = tokens
    return tokens.access


def refresh(ctx: AppContext, *, rejected: str | None = None) -> TokenSet:
    """Refresh under the row lock. ``rejected``: the access token ANAF just refused (401);
    the refresh then happens only if that token is still the stored one."""
    cui = company_cui(ctx)
    try:
        with db.write(ctx.engine) as conn:
            row = _row(conn, cui, lock=True)
            if row is None:
                raise NotAuthorised("ANAF is not authorised yet: run `stripe-efactura anaf login`")
            tokens = _decrypt(ctx, row)
            now = _now(ctx)
            if rejected is not None and tokens.access != rejected:
                ctx.caches.anaf_tokens = tokens
                return tokens  # another process refreshed already
            if rejected is None and not needs_refresh(tokens, now):
                ctx.caches.anaf_tokens = tokens
                return tokens  # double check: refreshed while we waited for the lock
            if refresh_expired(tokens, now):
                raise NotAuthorised(
                    "The ANAF refresh token expired: authorise again with "
                    "`stripe-efactura anaf login`"
                )
            with oauth_client(ctx) as oauth:
                fresh = oauth.refresh(tokens.refresh, now=now)
            store_tokens(conn, ctx, fresh)
    except OAuthError as exc:
        if exc.reauthorize:
            _record_reauth_needed(ctx, cui, exc)
            raise NotAuthorised(f"ANAF refused the refresh token: {exc.message}") from exc
        raise
    audit.info("ANAF tokens refreshed; access %s", expiry_text(fresh.access_exp))
    return fresh


def _record_reauth_needed(ctx: AppContext, cui: str, exc: Exception) -> None:
    day = _now(ctx).date().isoformat()
    with db.write(ctx.engine) as conn:
        notice_once(
            conn,
            "auth_expiry",
            f"{cui}:refused:{day}",
            "Autorizarea ANAF trebuie refăcută / ANAF authorisation must be renewed",
            [
                Problem(
                    code="E-ANAF-REAUTH",
                    field="anaf",
                    message_ro=f"ANAF a refuzat reînnoirea tokenului: {exc}",
                    message_en=f"ANAF refused to renew the token: {exc}",
                    hint="Run `stripe-efactura anaf login` on a computer with the qualified "
                    "certificate.",
                    hint_ro="Rulați `stripe-efactura anaf login` pe un calculator cu "
                    "certificatul calificat.",
                )
            ],
        )


def exchange_code(ctx: AppContext, code: str, redirect_uri: str) -> TokenSet:
    """The authorisation code (valid 60 s) -> tokens, stored at once."""
    with oauth_client(ctx) as oauth:
        tokens = oauth.exchange_code(code, redirect_uri, now=_now(ctx))
    save_tokens(ctx, tokens, source="authorization_code")
    return tokens


def import_tokens(
    ctx: AppContext, access: str, refresh_token: str, *, expires_in: int | None = None
) -> TokenSet:
    """Tokens obtained elsewhere (``anaf token import``); expiry read from the JWTs, else from
    the token answer's ``expires_in``; unknown without either (then refreshed after ANAF
    answers 401)."""
    access_exp = jwt_expiry(access.strip())
    if access_exp is None and expires_in is not None and not isinstance(expires_in, bool):
        access_exp = _now(ctx) + timedelta(seconds=expires_in)
    tokens = TokenSet(access.strip(), refresh_token.strip(), access_exp, jwt_expiry(refresh_token))
    save_tokens(ctx, tokens, source="import")
    return tokens


def expiry_text(when: datetime | None) -> str:
    """``expires <ISO time>``, or :data:`EXPIRY_UNKNOWN`."""
    return f"expires {when.isoformat()}" if when is not None else EXPIRY_UNKNOWN


def token_status(ctx: AppContext) -> TokenStatus:
    cui = company_cui(ctx)
    with db.read(ctx.engine) as conn:
        row = _row(conn, cui)
    if row is None:
        return TokenStatus(cui, False, None, None, False, None, None)
    now = _now(ctx)
    access_exp = _aware(row.access_expires_at)
    refresh_exp = _aware(row.refresh_expires_at)
    days = None if refresh_exp is None else (refresh_exp - now).days
    stored = _aware(row.updated_at)  # the tokens were stored when they were issued
    # an unknown expiry is refreshed after ANAF answers 401, never ahead of time
    due = access_exp is not None and now + refresh_margin(access_exp, stored) >= access_exp
    return TokenStatus(cui, True, access_exp, refresh_exp, due, days, _aware(row.updated_at))


# ---- expiry notices ----------------------------------------------------------------------


def notice_once(conn: Connection, kind: str, ref: str, title: str, problems: list[Problem]) -> bool:
    """Record a merchant notice unless one with this kind and ref exists (True: recorded)."""
    if notice_store.exists(conn, kind, ref):
        return False
    notice_service.record(conn, kind, ref, title, problems)
    return True


def check_expiry(ctx: AppContext) -> list[str]:
    """Record ``auth_expiry`` notices 30, 7 and 1 days before the refresh token expires
    (each once per token). Returns the refs recorded."""
    status = token_status(ctx)
    if not status.authorised or status.refresh_expires_at is None:
        return []
    left = status.refresh_expires_at - _now(ctx)
    due = [d for d in EXPIRY_WARNINGS if left <= timedelta(days=d)]
    if not due:
        return []
    threshold = min(due)
    when = status.refresh_expires_at.date().isoformat()
    ref = f"{status.cui}:{when}:{threshold}d"
    days = max(0, left.days)
    problem = Problem(
        code="W-ANAF-REAUTH-SOON",
        field="anaf",
        message_ro=f"Autorizarea ANAF expiră pe {when} (în {days} zile).",
        message_en=f"The ANAF authorisation expires on {when} (in {days} days).",
        hint="Run `stripe-efactura anaf login` with the qualified certificate before then.",
        hint_ro="Rulați `stripe-efactura anaf login` cu certificatul calificat înainte de "
        "această dată.",
        fatal=False,
    )
    with db.write(ctx.engine) as conn:
        recorded = notice_once(
            conn,
            "auth_expiry",
            ref,
            f"Autorizarea ANAF expiră în {days} zile / ANAF authorisation expires in {days} days",
            [problem],
        )
    return [ref] if recorded else []
