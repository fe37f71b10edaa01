"""Merchant notices: what needs the merchant's attention, until a digest email took it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import db
from .tables import notices


@dataclass(frozen=True)
class NoticeRecord:
    id: int
    kind: str
    ref: str
    payload: str
    """JSON: title, problems and the kind's details."""
    created_at: datetime
    sent_at: datetime | None


def insert(conn: Connection, kind: str, ref: str, payload: str) -> datetime:
    """Store a notice; returns the database time it was recorded at."""
    now = db.db_now(conn)
    conn.execute(notices.insert().values(kind=kind, ref=ref, payload=payload, created_at=now))
    return now


def exists(conn: Connection, kind: str, ref: str) -> bool:
    """Whether a notice of this kind and ref was ever recorded."""
    found = conn.execute(
        sa.select(notices.c.id).where(notices.c.kind == kind, notices.c.ref == ref).limit(1)
    ).first()
    return found is not None


def unsent(conn: Connection, *, limit: int) -> list[NoticeRecord]:
    """The oldest ``limit`` notices no digest has taken yet."""
    rows = conn.execute(
        sa.select(notices).where(notices.c.sent_at.is_(None)).order_by(notices.c.id).limit(limit)
    )
    return [
        NoticeRecord(int(r.id), str(r.kind), str(r.ref), str(r.payload), r.created_at, r.sent_at)
        for r in rows
    ]


def last_sent_at(conn: Connection) -> datetime | None:
    """When the previous digest went out (None: never)."""
    value = conn.execute(sa.select(sa.func.max(notices.c.sent_at))).scalar()
    return value if isinstance(value, datetime) else None


def mark_sent(conn: Connection, ids: Sequence[int], at: datetime) -> None:
    conn.execute(
        notices.update()
        .where(notices.c.id.in_(ids), notices.c.sent_at.is_(None))
        .values(sent_at=at)
    )


def for_refs(conn: Connection, refs: Sequence[str]) -> list[NoticeRecord]:
    """The notices about these payment keys or invoice numbers, oldest first."""
    if not refs:
        return []
    rows = conn.execute(
        sa.select(notices).where(notices.c.ref.in_(list(refs))).order_by(notices.c.id)
    ).all()
    return [NoticeRecord(r.id, r.kind, r.ref, r.payload, r.created_at, r.sent_at) for r in rows]
