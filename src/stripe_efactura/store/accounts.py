"""Users, API tokens, sessions and the audit log: the SQL of ``app/accounts.py`` and
``app/audit_log.py``.

Every function takes a ``Connection`` inside the caller's transaction; none commits. Secrets
never reach this module in clear: tokens and session ids arrive as SHA-256 hex digests,
passwords as argon2id hashes. The audit log has only an insert and a select (the database
refuses UPDATE and DELETE on it, see migration 0003).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .db import SqlRow, record
from .tables import api_tokens, audit_log, user_sessions, users


@dataclass(frozen=True)
class UserRow:
    id: int
    email: str
    name: str
    role: str
    created_at: datetime
    disabled_at: datetime | None
    last_login_at: datetime | None
    password_changed_at: datetime | None


@dataclass(frozen=True)
class TokenRow:
    id: int
    user_id: int
    name: str
    prefix: str
    scope: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class SessionRow:
    id: int
    user_id: int
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    ended_at: datetime | None
    ip: str | None


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: datetime
    actor_user_id: int | None
    actor: str
    via: str
    token_id: int | None
    action: str
    target_type: str
    target_id: str
    before: str | None
    after: str | None
    ip: str | None


_USER_COLS = [
    users.c.id,
    users.c.email,
    users.c.name,
    users.c.role,
    users.c.created_at,
    users.c.disabled_at,
    users.c.last_login_at,
    users.c.password_changed_at,
]
_TOKEN_COLS = [
    api_tokens.c.id,
    api_tokens.c.user_id,
    api_tokens.c.name,
    api_tokens.c.prefix,
    api_tokens.c.scope,
    api_tokens.c.created_at,
    api_tokens.c.last_used_at,
    api_tokens.c.revoked_at,
]
_SESSION_COLS = [
    user_sessions.c.id,
    user_sessions.c.user_id,
    user_sessions.c.created_at,
    user_sessions.c.last_seen_at,
    user_sessions.c.expires_at,
    user_sessions.c.ended_at,
    user_sessions.c.ip,
]


def _user(row: SqlRow) -> UserRow:
    return record(UserRow, row, _USER_COLS)


def _token(row: SqlRow) -> TokenRow:
    return record(TokenRow, row, _TOKEN_COLS)


# -- users ------------------------------------------------------------------------------


def insert_user(
    conn: Connection, *, email: str, name: str, role: str, password_hash: str, now: datetime
) -> int:
    result = conn.execute(
        sa.insert(users)
        .values(
            email=email,
            name=name,
            role=role,
            password_hash=password_hash,
            created_at=now,
            password_changed_at=now,
        )
        .returning(users.c.id)
    )
    return int(result.scalar_one())


def count_users(conn: Connection) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(users)).scalar_one())


def user_by_id(conn: Connection, user_id: int) -> UserRow | None:
    row = conn.execute(sa.select(*_USER_COLS).where(users.c.id == user_id)).first()
    return _user(row) if row else None


def user_by_email(conn: Connection, email: str) -> UserRow | None:
    row = conn.execute(sa.select(*_USER_COLS).where(users.c.email == email)).first()
    return _user(row) if row else None


def password_hash_of(conn: Connection, user_id: int) -> str:
    value = conn.execute(sa.select(users.c.password_hash).where(users.c.id == user_id)).scalar_one()
    return str(value)


def list_users(conn: Connection) -> list[UserRow]:
    rows = conn.execute(sa.select(*_USER_COLS).order_by(users.c.id)).all()
    return [_user(r) for r in rows]


def update_user(conn: Connection, user_id: int, **values: object) -> None:
    conn.execute(sa.update(users).where(users.c.id == user_id).values(**values))


def count_active_admins(conn: Connection) -> int:
    query = (
        sa.select(sa.func.count())
        .select_from(users)
        .where(users.c.role == "admin", users.c.disabled_at.is_(None))
    )
    return int(conn.execute(query).scalar_one())


# -- API tokens -------------------------------------------------------------------------


def insert_token(
    conn: Connection,
    *,
    user_id: int,
    name: str,
    prefix: str,
    token_hash: str,
    scope: str,
    now: datetime,
) -> int:
    result = conn.execute(
        sa.insert(api_tokens)
        .values(
            user_id=user_id,
            name=name,
            prefix=prefix,
            token_hash=token_hash,
            scope=scope,
            created_at=now,
        )
        .returning(api_tokens.c.id)
    )
    return int(result.scalar_one())


def token_and_user(conn: Connection, token_hash: str) -> tuple[TokenRow, UserRow] | None:
    """The token with this digest and its user (whatever their state)."""
    query = (
        sa.select(*_TOKEN_COLS, *_USER_COLS)
        .join(users, users.c.id == api_tokens.c.user_id)
        .where(api_tokens.c.token_hash == token_hash)
    )
    row = conn.execute(query).first()
    if row is None:
        return None
    return _token(row), _user(row)


def token_by_id(conn: Connection, token_id: int) -> TokenRow | None:
    row = conn.execute(sa.select(*_TOKEN_COLS).where(api_tokens.c.id == token_id)).first()
    return _token(row) if row else None


def touch_token(conn: Connection, token_id: int, now: datetime) -> None:
    conn.execute(sa.update(api_tokens).where(api_tokens.c.id == token_id).values(last_used_at=now))


def list_tokens(conn: Connection, user_id: int | None = None) -> list[TokenRow]:
    query = sa.select(*_TOKEN_COLS).order_by(api_tokens.c.id)
    if user_id is not None:
        query = query.where(api_tokens.c.user_id == user_id)
    return [_token(r) for r in conn.execute(query).all()]


def revoke_token(conn: Connection, token_id: int, now: datetime) -> bool:
    """True when the token was active and is now revoked."""
    result = conn.execute(
        sa.update(api_tokens)
        .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return bool(result.rowcount)


def revoke_user_tokens(conn: Connection, user_id: int, now: datetime) -> int:
    result = conn.execute(
        sa.update(api_tokens)
        .where(api_tokens.c.user_id == user_id, api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(result.rowcount)


# -- sessions ---------------------------------------------------------------------------


def insert_session(
    conn: Connection,
    *,
    user_id: int,
    session_hash: str,
    now: datetime,
    expires_at: datetime,
    ip: str | None,
    user_agent: str | None,
) -> int:
    result = conn.execute(
        sa.insert(user_sessions)
        .values(
            user_id=user_id,
            session_hash=session_hash,
            created_at=now,
            last_seen_at=now,
            expires_at=expires_at,
            ip=ip,
            user_agent=(user_agent or "")[:255] or None,
        )
        .returning(user_sessions.c.id)
    )
    return int(result.scalar_one())


def session_and_user(conn: Connection, session_hash: str) -> tuple[SessionRow, UserRow] | None:
    query = (
        sa.select(*_SESSION_COLS, *_USER_COLS)
        .join(users, users.c.id == user_sessions.c.user_id)
        .where(user_sessions.c.session_hash == session_hash)
    )
    row = conn.execute(query).first()
    if row is None:
        return None
    return record(SessionRow, row, _SESSION_COLS), _user(row)


def touch_session(conn: Connection, session_id: int, now: datetime) -> None:
    conn.execute(
        sa.update(user_sessions).where(user_sessions.c.id == session_id).values(last_seen_at=now)
    )


def end_session(conn: Connection, session_id: int, now: datetime) -> None:
    conn.execute(
        sa.update(user_sessions)
        .where(user_sessions.c.id == session_id, user_sessions.c.ended_at.is_(None))
        .values(ended_at=now)
    )


def end_user_sessions(conn: Connection, user_id: int, now: datetime) -> int:
    result = conn.execute(
        sa.update(user_sessions)
        .where(user_sessions.c.user_id == user_id, user_sessions.c.ended_at.is_(None))
        .values(ended_at=now)
    )
    return int(result.rowcount)


# -- audit log --------------------------------------------------------------------------


def insert_audit(conn: Connection, values: dict[str, object]) -> int:
    result = conn.execute(sa.insert(audit_log).values(**values).returning(audit_log.c.id))
    return int(result.scalar_one())


def list_audit(
    conn: Connection,
    *,
    before_id: int | None = None,
    limit: int = 50,
    action: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    actor: str | None = None,
) -> Sequence[AuditRow]:
    """Newest first; ``before_id`` is the cursor (the last id of the previous page)."""
    query = sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(audit_log.c.id < before_id)
    if action:
        query = query.where(audit_log.c.action == action)
    if target_type:
        query = query.where(audit_log.c.target_type == target_type)
    if target_id:
        query = query.where(audit_log.c.target_id == target_id)
    if actor:
        query = query.where(audit_log.c.actor == actor)
    return [AuditRow(*r) for r in conn.execute(query).all()]
