"""Accounts: users and roles, passwords (argon2id), API tokens and who may do what.

Roles (``docs/api.md``, "Accounts and authentication"):

- ``admin``: everything, including users and other users' tokens;
- ``accountant``: read, downloads, retries, stornos, buyer overrides, resends;
- ``viewer``: read.

An API token belongs to a user and acts with that user's role, narrowed by its scope: a
``read`` token can read and download (as far as the role allows), a ``write`` token can do
what the role can. A token is shown once when created; the database keeps only its SHA-256
digest (a token is 256 random bits, so a fast digest is as safe as a slow one and costs
nothing per request). Passwords are argon2id hashes (argon2-cffi, RFC 9106 defaults).
A disabled user can neither log in nor use a token or a session.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.engine import Connection

from ..store import accounts as store
from ..store import db
from . import audit_log
from .audit_log import Actor
from .context import AppContext
from .ratelimit import AttemptLimiter
from .refusals import Conflict, Forbidden, Invalid, NotFound, Unauthenticated


class Permission(StrEnum):
    READ = "read"
    DOWNLOAD = "download"
    OPERATE = "operate"
    """Retries, resends, stornos, buyer overrides, re-issues, ANAF authorisation."""
    ADMIN = "admin"
    """Users and everyone's tokens."""


ROLES: dict[str, frozenset[Permission]] = {
    "admin": frozenset(Permission),
    "accountant": frozenset({Permission.READ, Permission.DOWNLOAD, Permission.OPERATE}),
    "viewer": frozenset({Permission.READ}),
}
SCOPES: dict[str, frozenset[Permission]] = {
    "read": frozenset({Permission.READ, Permission.DOWNLOAD}),
    "write": frozenset(Permission),
}
MIN_PASSWORD = 10
MAX_PASSWORD = 1024
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_HASHER = PasswordHasher()
#: Verified when the e-mail is unknown: the same work as a real check. A constant made with
#: ``_HASHER``'s parameters (a test keeps them equal) instead of hashing at import, which cost
#: every process (each CLI command, each worker) 0.6 s of CPU.
_DUMMY_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$ddJIhnqvRDMWfm3fjPa2og"
    "$9OYB9/vcnzH7UL2lv2Kp2AXkitxQzUqlEeeKfdTF0Wg"
)

BAD_LOGIN = Unauthenticated(
    "E-AUTH-FAILED",
    "Wrong e-mail or password.",
    "E-mail sau parolă greșită.",
)
BAD_TOKEN = Unauthenticated(
    "E-AUTH-TOKEN",
    "Missing, unknown, revoked or disabled API token or session.",
    "Token API sau sesiune lipsă, necunoscută, revocată sau dezactivată.",
)


@dataclass(frozen=True)
class User:
    id: int
    email: str
    name: str
    role: str
    created_at: datetime
    disabled_at: datetime | None = None
    last_login_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.disabled_at is None

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "email": self.email,
            "name": self.name,
            "role": self.role,
            "active": self.active,
            "created_at": self.created_at.isoformat(),
            "disabled_at": self.disabled_at.isoformat() if self.disabled_at else None,
            "last_login_at": self.last_login_at.isoformat() if self.last_login_at else None,
        }


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: the user, and the token or session that proves it."""

    user: User
    via: str
    """``api`` (token), ``console`` (session) or ``cli``."""
    scope: str | None = None
    token_id: int | None = None
    session_id: int | None = None
    ip: str | None = None

    @property
    def permissions(self) -> frozenset[Permission]:
        allowed = ROLES[self.user.role]
        return allowed & SCOPES[self.scope] if self.scope else allowed

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    def require(self, permission: Permission) -> None:
        if not self.can(permission):
            raise Forbidden(
                "E-FORBIDDEN",
                f"Your role ({self.user.role}) or token scope does not allow '{permission}'.",
                f"Rolul dvs. ({self.user.role}) sau domeniul tokenului nu permite '{permission}'.",
            )

    def actor(self) -> Actor:
        return Actor(
            name=self.user.email,
            via=self.via,
            user_id=self.user.id,
            token_id=self.token_id,
            ip=self.ip,
        )


def _user(row: store.UserRow) -> User:
    return User(
        id=row.id,
        email=row.email,
        name=row.name,
        role=row.role,
        created_at=row.created_at,
        disabled_at=row.disabled_at,
        last_login_at=row.last_login_at,
    )


def limiter(ctx: AppContext) -> AttemptLimiter:
    """The process's limiter of failed log-ins and token checks (one per context)."""
    if ctx.caches.attempt_limiter is None:
        ctx.caches.attempt_limiter = AttemptLimiter(ctx.clock)
    return ctx.caches.attempt_limiter


def digest(secret: str) -> str:
    """SHA-256 hex of a token or session secret: the only form the database sees."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _now(ctx: AppContext) -> datetime:
    return db.utc_naive(ctx.clock())


# -- checks -----------------------------------------------------------------------------


def normalize_email(email: str) -> str:
    value = email.strip().lower()
    if not _EMAIL.match(value) or len(value) > 255:
        raise Invalid(
            "E-USER-EMAIL",
            f"'{email}' is not an e-mail address.",
            f"'{email}' nu este o adresă de e-mail.",
            field="email",
        )
    return value


def check_role(role: str) -> str:
    if role not in ROLES:
        raise Invalid(
            "E-USER-ROLE",
            f"Unknown role '{role}' (admin, accountant or viewer).",
            f"Rol necunoscut '{role}' (admin, accountant sau viewer).",
            field="role",
        )
    return role


def check_password(password: str, email: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD or password.strip().lower() == email:
        raise Invalid(
            "E-USER-PASSWORD",
            f"The password must have {MIN_PASSWORD} to {MAX_PASSWORD} characters and differ "
            "from the e-mail address.",
            f"Parola trebuie să aibă între {MIN_PASSWORD} și {MAX_PASSWORD} caractere și să "
            "difere de adresa de e-mail.",
            field="password",
        )


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


# -- users ------------------------------------------------------------------------------


def has_users(ctx: AppContext) -> bool:
    """False on first run (the console then asks for the first admin)."""
    with db.read(ctx.engine) as conn:
        return store.count_users(conn) > 0


def add_user(
    ctx: AppContext, actor: Actor, email: str, password: str, role: str, name: str = ""
) -> User:
    email = normalize_email(email)
    check_role(role)
    check_password(password, email)
    hashed = hash_password(password)
    with db.write(ctx.engine) as conn:
        if store.user_by_email(conn, email) is not None:
            raise Conflict(
                "E-USER-EXISTS",
                f"A user {email} already exists.",
                f"Utilizatorul {email} există deja.",
                field="email",
            )
        user_id = store.insert_user(
            conn, email=email, name=name.strip(), role=role, password_hash=hashed, now=_now(ctx)
        )
        user = _user(_found(store.user_by_id(conn, user_id), email))
        audit_log.record(conn, actor, "user.add", "user", email, after=_public(user))
    return user


def _public(user: User) -> dict[str, object]:
    return {"email": user.email, "name": user.name, "role": user.role, "active": user.active}


def _found(row: store.UserRow | None, ref: str | int) -> store.UserRow:
    if row is None:
        raise NotFound(
            "E-USER-UNKNOWN", f"No user {ref}.", f"Utilizatorul {ref} nu există.", field="user"
        )
    return row


def get_user(ctx: AppContext, ref: str | int) -> User:
    """A user by id or e-mail address."""
    with db.read(ctx.engine) as conn:
        return _user(_lookup(conn, ref))


def _lookup(conn: Connection, ref: str | int) -> store.UserRow:
    if isinstance(ref, int):
        return _found(store.user_by_id(conn, ref), ref)
    return _found(store.user_by_email(conn, ref.strip().lower()), ref)


def list_users(ctx: AppContext) -> list[User]:
    with db.read(ctx.engine) as conn:
        return [_user(r) for r in store.list_users(conn)]


def _keep_an_admin(conn: Connection, row: store.UserRow) -> None:
    if row.role == "admin" and row.disabled_at is None and store.count_active_admins(conn) <= 1:
        raise Conflict(
            "E-USER-LAST-ADMIN",
            "This is the last active admin; add another admin first.",
            "Acesta este ultimul administrator activ; adăugați întâi alt administrator.",
            field="user",
        )


def update_user(
    ctx: AppContext,
    actor: Actor,
    ref: str | int,
    *,
    role: str | None = None,
    active: bool | None = None,
    name: str | None = None,
) -> User:
    """Change a user's role, name or state. Disabling ends their sessions; their tokens stop
    working (and are revoked). The last active admin can be neither demoted nor disabled."""
    with db.write(ctx.engine) as conn:
        row = _lookup(conn, ref)
        before = _public(_user(row))
        values: dict[str, object] = {}
        now = _now(ctx)
        if role is not None and role != row.role:
            check_role(role)
            _keep_an_admin(conn, row)
            values["role"] = role
        if active is False and row.disabled_at is None:
            _keep_an_admin(conn, row)
            values["disabled_at"] = now
            store.end_user_sessions(conn, row.id, now)
            store.revoke_user_tokens(conn, row.id, now)
        elif active is True and row.disabled_at is not None:
            values["disabled_at"] = None
        if name is not None:
            values["name"] = name.strip()
        if values:
            store.update_user(conn, row.id, **values)
        user = _user(_found(store.user_by_id(conn, row.id), ref))
        if values:
            audit_log.record(
                conn, actor, "user.update", "user", user.email, before=before, after=_public(user)
            )
    return user


def disable_user(ctx: AppContext, actor: Actor, ref: str | int) -> User:
    return update_user(ctx, actor, ref, active=False)


def set_password(ctx: AppContext, actor: Actor, ref: str | int, password: str) -> User:
    """A new password; every session of the user ends (tokens stay valid)."""
    with db.read(ctx.engine) as conn:
        row = _lookup(conn, ref)
    check_password(password, row.email)
    hashed = hash_password(password)
    with db.write(ctx.engine) as conn:
        now = _now(ctx)
        store.update_user(conn, row.id, password_hash=hashed, password_changed_at=now)
        store.end_user_sessions(conn, row.id, now)
        audit_log.record(
            conn, actor, "user.password", "user", row.email, after={"password": "changed"}
        )
    return _user(row)


def authenticate_password(ctx: AppContext, email: str, password: str, ip: str | None) -> User:
    """The user with this e-mail and password, if active. Failures are rate-limited per
    address and per account and answer the same whatever was wrong."""
    account = email.strip().lower()
    limits = limiter(ctx)
    limits.check(ip, account)
    with db.read(ctx.engine) as conn:
        row = store.user_by_email(conn, account)
        hashed = store.password_hash_of(conn, row.id) if row else _DUMMY_HASH
    try:
        ok = _HASHER.verify(hashed, password[:MAX_PASSWORD]) and row is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    if not ok or row is None or row.disabled_at is not None:
        limits.failed(ip, account)
        raise BAD_LOGIN
    limits.succeeded(account)
    with db.write(ctx.engine) as conn:
        values: dict[str, object] = {"last_login_at": _now(ctx)}
        if _HASHER.check_needs_rehash(hashed):
            values["password_hash"] = hash_password(password)
        store.update_user(conn, row.id, **values)
    return _user(row)
