"""The audit log: who did what, when, from where, with the state before and after.

Every mutating use case reached by a person (CLI, REST API, console) records one entry,
inside the transaction of the change when it has one. The log is append-only: the store has
no update or delete for it and the database refuses them (triggers of migration 0003).
Secrets never enter it (passwords and tokens are recorded as "changed" / their prefix).

(``app/audit.py`` is a different thing: the monthly audit of the invoices.)
"""

from __future__ import annotations

import getpass
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Connection

from ..jsontypes import JsonObject, JsonValue
from ..store import accounts as store
from ..store import db
from .context import AppContext

VIAS = ("cli", "api", "console", "system")


@dataclass(frozen=True)
class Actor:
    """Who acts: a user (through a session or an API token), or the operator at the CLI."""

    name: str
    via: str
    user_id: int | None = None
    token_id: int | None = None
    ip: str | None = None

    @classmethod
    def cli(cls) -> Actor:
        """The person at the command line, named by the operating system account."""
        try:
            who = getpass.getuser()
        except (KeyError, OSError):
            who = "unknown"
        return cls(name=f"cli:{who}", via="cli")


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    actor_user_id: int | None
    via: str
    token_id: int | None
    action: str
    target_type: str
    target_id: str
    before: JsonValue
    after: JsonValue
    """``before``/``after``: the JSON stored with the entry (an object of the action's own
    shape, or None; narrow it with ``isinstance`` before indexing into it)."""
    ip: str | None

    def to_dict(self) -> JsonObject:
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "actor_user_id": self.actor_user_id,
            "via": self.via,
            "token_id": self.token_id,
            "action": self.action,
            "target_type": self.target_type,
            "target_id": self.target_id,
            "before": self.before,
            "after": self.after,
            "ip": self.ip,
        }


def _dump(value: object) -> str | None:
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def record(
    conn: Connection,
    actor: Actor,
    action: str,
    target_type: str,
    target_id: str | int,
    *,
    before: object = None,
    after: object = None,
) -> int:
    """Append one entry inside the caller's transaction; returns its id."""
    return store.insert_audit(
        conn,
        {
            "at": db.db_now(conn),
            "actor_user_id": actor.user_id,
            "actor": actor.name,
            "via": actor.via,
            "token_id": actor.token_id,
            "action": action,
            "target_type": target_type,
            "target_id": str(target_id),
            "before": _dump(before),
            "after": _dump(after),
            "ip": actor.ip,
        },
    )


def record_now(
    ctx: AppContext,
    actor: Actor,
    action: str,
    target_type: str,
    target_id: str | int,
    *,
    before: object = None,
    after: object = None,
) -> int:
    """:func:`record` in its own transaction (after a use case that commits by itself)."""
    with db.write(ctx.engine) as conn:
        return record(conn, actor, action, target_type, target_id, before=before, after=after)


def entries(
    ctx: AppContext,
    *,
    before_id: int | None = None,
    limit: int = 50,
    action: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    actor: str | None = None,
) -> list[AuditEntry]:
    """Newest first, ``limit`` at most; ``before_id`` continues after a previous page."""
    with db.read(ctx.engine) as conn:
        rows = store.list_audit(
            conn,
            before_id=before_id,
            limit=limit,
            action=action,
            target_type=target_type,
            target_id=target_id,
            actor=actor,
        )
    return [
        AuditEntry(
            id=r.id,
            at=r.at,
            actor=r.actor,
            actor_user_id=r.actor_user_id,
            via=r.via,
            token_id=r.token_id,
            action=r.action,
            target_type=r.target_type,
            target_id=r.target_id,
            before=json.loads(r.before) if r.before else None,
            after=json.loads(r.after) if r.after else None,
            ip=r.ip,
        )
        for r in rows
    ]
