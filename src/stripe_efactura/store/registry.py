"""Registry lookups in the database: cached answers (with their expiry), the lookups waiting
for the next batch call, the per-service call throttle shared by every process, and the
payment timeline (``payment_log``) where lookups and their answers are recorded.

Times are naive UTC (the storage convention); the caller passes ``now``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..jsontypes import JsonMapping, JsonObject, JsonValue
from . import db
from .tables import payment_log, registry_answers, registry_throttle, registry_wanted


@dataclass(frozen=True)
class CachedAnswer:
    service: str
    key: str
    day: date
    outcome: str
    answer: JsonObject
    fetched_at: datetime


def get_answer(
    conn: Connection, service: str, key: str, day: date, now: datetime
) -> CachedAnswer | None:
    """The cached answer about ``key`` for ``day`` that has not expired at ``now``."""
    row = conn.execute(
        sa.select(registry_answers).where(
            registry_answers.c.service == service,
            registry_answers.c.key == key,
            registry_answers.c.day == day,
            registry_answers.c.expires_at > now,
        )
    ).first()
    if row is None:
        return None
    return CachedAnswer(
        row.service, row.key, row.day, row.outcome, json.loads(row.answer), row.fetched_at
    )


def put_answers(
    conn: Connection,
    service: str,
    day: date,
    answers: Iterable[tuple[str, str, JsonMapping]],
    *,
    now: datetime,
    expires_at: datetime,
) -> int:
    """Store ``(key, outcome, answer)`` rows for ``day`` (replacing older ones) and drop those
    keys from the wanted list. Returns how many were stored."""
    n = 0
    for key, outcome, answer in answers:
        where = (
            (registry_answers.c.service == service)
            & (registry_answers.c.key == key)
            & (registry_answers.c.day == day)
        )
        conn.execute(registry_answers.delete().where(where))
        conn.execute(
            registry_answers.insert().values(
                service=service,
                key=key,
                day=day,
                outcome=outcome,
                answer=json.dumps(answer, ensure_ascii=False, sort_keys=True),
                fetched_at=now,
                expires_at=expires_at,
            )
        )
        conn.execute(
            registry_wanted.delete().where(
                (registry_wanted.c.service == service)
                & (registry_wanted.c.key == key)
                & (registry_wanted.c.day == day)
            )
        )
        n += 1
    return n


def purge_expired(conn: Connection, now: datetime, keep: timedelta = timedelta(days=30)) -> int:
    """Delete answers that expired more than ``keep`` ago."""
    result = conn.execute(
        registry_answers.delete().where(registry_answers.c.expires_at < now - keep)
    )
    return int(result.rowcount or 0)


def want(conn: Connection, service: str, key: str, day: date, now: datetime) -> None:
    """Put ``key`` on the list of the next batch call (no-op when it is already there)."""
    conn.execute(
        db.insert_ignore(
            conn,
            registry_wanted,
            {"service": service, "key": key, "day": day, "requested_at": now},
        )
    )


def wanted(conn: Connection, service: str, limit: int) -> list[tuple[str, date]]:
    """The oldest ``limit`` wanted ``(key, day)`` pairs of ``service``."""
    rows = conn.execute(
        sa.select(registry_wanted.c.key, registry_wanted.c.day)
        .where(registry_wanted.c.service == service)
        .order_by(registry_wanted.c.requested_at, registry_wanted.c.key)
        .limit(limit)
    ).all()
    return [(r.key, r.day) for r in rows]


def count_wanted(conn: Connection, service: str) -> int:
    return int(
        conn.execute(
            sa.select(sa.func.count()).where(registry_wanted.c.service == service)
        ).scalar_one()
    )


def take_slot(conn: Connection, service: str, now: datetime, interval: float) -> float:
    """Reserve the next call of ``service``: 0.0 when the call may go now (the next one may go
    ``interval`` seconds later), else the seconds to wait. Atomic on SQLite and PostgreSQL (a
    conditional UPDATE), so processes sharing the database share the limit."""
    conn.execute(
        db.insert_ignore(
            conn, registry_throttle, {"service": service, "next_at": now - timedelta(days=1)}
        )
    )
    result = conn.execute(
        registry_throttle.update()
        .where(registry_throttle.c.service == service, registry_throttle.c.next_at <= now)
        .values(next_at=now + timedelta(seconds=interval))
    )
    if result.rowcount == 1:
        return 0.0
    next_at = conn.execute(
        sa.select(registry_throttle.c.next_at).where(registry_throttle.c.service == service)
    ).scalar_one()
    return max(0.001, float((next_at - now).total_seconds()))


# --- the payment timeline --------------------------------------------------------------------


def log_payment(
    conn: Connection, payment_key: str, event: str, detail: object, *, now: datetime
) -> None:
    conn.execute(
        payment_log.insert().values(
            payment_key=payment_key,
            at=now,
            event=event,
            detail=json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str),
        )
    )


@dataclass(frozen=True)
class PaymentEvent:
    at: datetime
    event: str
    detail: JsonValue


def payment_timeline(
    conn: Connection, payment_key: str, events: Sequence[str] | None = None
) -> list[PaymentEvent]:
    query = sa.select(payment_log).where(payment_log.c.payment_key == payment_key)
    if events:
        query = query.where(payment_log.c.event.in_(list(events)))
    rows = conn.execute(query.order_by(payment_log.c.id)).all()
    return [PaymentEvent(r.at, r.event, json.loads(r.detail) if r.detail else None) for r in rows]
