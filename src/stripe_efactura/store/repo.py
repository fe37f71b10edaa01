"""Repositories: the SQL the use-cases need, one small function each.

Every function takes a ``Connection`` inside the caller's transaction; none commits.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypedDict

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..errors import Problem
from ..intake.draft import SEARCH_MAX, search_text
from ..intake.envelope import EventMeta
from ..intake.sale import Sale
from . import db
from .tables import payments, stripe_events
from .textsearch import payments_match

OWNER_RANK = {
    "charge": 0,
    "payment_intent": 1,
    "checkout_session": 2,
    "invoice": 3,
    "refund": 0,
    "credit_note": 1,
}
"""How much an owner says about its payment; a refund row is upgraded to the Stripe credit
note that made the refund (its returned items) while no storno was issued."""


# -- stripe_events ---------------------------------------------------------------------


@dataclass(frozen=True)
class EventRecord:
    """One row of ``stripe_events`` (the raw event as received, and what became of it)."""

    id: str
    type: str
    api_version: str | None
    livemode: bool
    account: str | None
    source: str
    payload: str
    received_at: datetime
    outcome: str
    reason: str | None
    payment_key: str | None
    processed_at: datetime | None


@dataclass(frozen=True)
class PaymentRecord:
    """One row of ``payments``: a sale (or refund / lost dispute) by its payment key."""

    payment_key: str
    kind: str
    owner_type: str
    owner_id: str
    status: str
    livemode: bool
    currency: str
    amount: int
    paid_at: datetime
    degraded: bool
    sale: str
    event_ids: str
    problems: str
    overrides: str | None
    refers_to: str | None
    created_at: datetime
    updated_at: datetime


def insert_events(
    conn: Connection,
    items: Sequence[tuple[EventMeta, bytes]],
    *,
    source: str,
    now: datetime | None = None,
) -> set[str]:
    """Store many raw events in one statement; returns the ids that were new. ``now`` is the
    database clock when the caller has already read it."""
    if not items:
        return set()
    now = now or db.db_now(conn)
    rows: list[_NewEvent] = [
        {
            "id": meta.id,
            "type": meta.type,
            "api_version": meta.api_version,
            "livemode": meta.livemode,
            "account": meta.account,
            "source": source,
            "payload": raw.decode("utf-8"),
            "received_at": now,
            "outcome": "pending",
        }
        for meta, raw in items
    ]
    if db.is_sqlite(conn):
        return _insert_events_sqlite(conn, rows)
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    stmt = pg_insert(stripe_events).on_conflict_do_nothing().returning(stripe_events.c.id)
    return {str(r[0]) for r in conn.execute(stmt, rows)}


_SQLITE_INSERT_EVENT = (
    "INSERT OR IGNORE INTO stripe_events (id, type, api_version, livemode, account, source,"
    " payload, received_at, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


class _NewEvent(TypedDict):
    """One ``stripe_events`` row to insert."""

    id: str
    type: str
    api_version: str | None
    livemode: bool
    account: str | None
    source: str
    payload: str
    received_at: datetime
    outcome: str


def _insert_events_sqlite(conn: Connection, rows: list[_NewEvent]) -> set[str]:
    """The webhook hot path on SQLite: one IN lookup + one executemany, inside the caller's
    ``BEGIN IMMEDIATE`` transaction (so nobody else can insert in between)."""
    ids = list(dict.fromkeys(r["id"] for r in rows))
    marks = ",".join("?" * len(ids))
    found = conn.exec_driver_sql(f"SELECT id FROM stripe_events WHERE id IN ({marks})", tuple(ids))
    existing = {str(r[0]) for r in found}
    stamp = db.sqlite_stamp(rows[0]["received_at"])
    conn.exec_driver_sql(
        _SQLITE_INSERT_EVENT,
        [
            (
                r["id"],
                r["type"],
                r["api_version"],
                1 if r["livemode"] else 0,
                r["account"],
                r["source"],
                r["payload"],
                stamp,
                "pending",
            )
            for r in rows
        ],
    )
    return set(ids) - existing


def get_event(conn: Connection, event_id: str) -> EventRecord | None:
    row = conn.execute(_GET_EVENT, {"q_id": event_id}).first()
    return None if row is None else db.record(EventRecord, row)


_GET_EVENT = sa.select(stripe_events).where(stripe_events.c.id == sa.bindparam("q_id"))
"""The prepared read of :func:`get_event` (``store/db.py``, "prepared statements")."""


def event_failed(conn: Connection, event_id: str) -> bool:
    """Whether ``event_id`` is stored with the outcome ``failed``."""
    query = sa.select(stripe_events.c.id).where(
        stripe_events.c.id == event_id, stripe_events.c.outcome == "failed"
    )
    return conn.execute(query).first() is not None


def mark_event(
    conn: Connection,
    event_id: str,
    outcome: str,
    *,
    reason: str | None = None,
    payment_key: str | None = None,
) -> None:
    values = {
        "outcome": outcome,
        "reason": reason,
        "payment_key": payment_key,
        "processed_at": db.db_now(conn),
    }
    conn.execute(_MARK_EVENT, {"u_id": event_id, **db.bound(values)})


_MARK_EVENT = (
    stripe_events.update()
    .where(stripe_events.c.id == sa.bindparam("u_id"))
    .values(db.params(stripe_events, ("outcome", "reason", "payment_key", "processed_at")))
)
"""The prepared :func:`mark_event` (``store/db.py``, "prepared statements")."""


# -- payments --------------------------------------------------------------------------


def sale_to_json(sale: Sale) -> str:
    return json.dumps(
        {
            "payment_key": sale.payment_key,
            "owner_type": sale.owner_type,
            "owner_id": sale.owner_id,
            "currency": sale.currency,
            "amount": sale.amount,
            "paid_at": sale.paid_at.isoformat(),
            "livemode": sale.livemode,
            "objects": dict(sale.objects),
            "degraded": sale.degraded,
            "api_version": sale.api_version,
        },
        sort_keys=True,
    )


def sale_from_json(text: str) -> Sale:
    d = json.loads(text)
    paid_at = datetime.fromisoformat(d["paid_at"])
    if paid_at.tzinfo is None:
        paid_at = paid_at.replace(tzinfo=UTC)
    return Sale(
        payment_key=d["payment_key"],
        owner_type=d["owner_type"],
        owner_id=d["owner_id"],
        currency=d["currency"],
        amount=int(d["amount"]),
        paid_at=paid_at,
        livemode=bool(d["livemode"]),
        objects=d["objects"],
        degraded=bool(d.get("degraded", False)),
        api_version=d.get("api_version"),
    )


def record_sale(
    conn: Connection,
    sale: Sale,
    event_id: str,
    *,
    kind: str = "payment",
    refers_to: str | None = None,
) -> str:
    """Record the sale for its payment key, exactly once.

    ``kind`` is ``payment``, or ``refund`` / ``dispute`` for a reversal whose ``refers_to``
    is the payment key of the original payment.

    Returns ``"created"`` when this call created the payment. A later event for the same
    payment adds its id to ``event_ids`` (``"seen"``); if it brings a richer owner (or full
    data after a degraded sale) and no invoice was issued yet, the sale is replaced by the
    richer one (``"upgraded"``) — never a second sale.
    """
    now = db.db_now(conn)
    new_row = _new_payment(sale, event_id, kind=kind, refers_to=refers_to, now=now)
    insert = db.insert_ignore_prepared(conn, payments, tuple(new_row), "payment_key")
    if conn.execute(insert, db.bound(new_row)).scalar() is not None:
        return "created"
    return _merge_sale(conn, sale, event_id, now)


_OVERRIDE_SEARCHED = ("name", "email", "cui", "cnp")


def payment_search(sale: Sale, overrides_json: str | None = None) -> str:
    """The ``payments.search`` text of a sale: what a listing's text search looks in
    (``intake.draft.search_text``), with the buyer's overridden name, e-mail and ids first."""
    extra: list[str] = []
    if overrides_json:
        typed = json.loads(overrides_json)
        extra = [str(typed[k]).lower() for k in _OVERRIDE_SEARCHED if typed.get(k)]
    return " ".join([*extra, search_text(sale)])[:SEARCH_MAX]


def _new_payment(
    sale: Sale, event_id: str, *, kind: str, refers_to: str | None, now: datetime
) -> dict[str, object]:
    return {
        "payment_key": sale.payment_key,
        "kind": kind,
        "refers_to": refers_to,
        "owner_type": sale.owner_type,
        "owner_id": sale.owner_id,
        "status": "pending",
        "livemode": sale.livemode,
        "currency": sale.currency,
        "amount": sale.amount,
        "paid_at": db.utc_naive(sale.paid_at),
        "degraded": sale.degraded,
        "sale": sale_to_json(sale),
        "search": payment_search(sale),
        "event_ids": json.dumps([event_id]),
        "problems": "[]",
        "created_at": now,
        "updated_at": now,
    }


def _merge_sale(conn: Connection, sale: Sale, event_id: str, now: datetime) -> str:
    """A later event of a recorded payment: add its id; upgrade to a richer owner (or full
    data after a degraded sale) while no invoice was issued. ``upgraded`` or ``seen``."""
    q = sa.select(payments).where(payments.c.payment_key == sale.payment_key)
    if not db.is_sqlite(conn):
        q = q.with_for_update()
    row = conn.execute(q).one()
    seen = list(json.loads(row.event_ids))
    values: dict[str, object] = {}
    if event_id not in seen:
        seen.append(event_id)
        values["event_ids"] = json.dumps(seen)
    richer = OWNER_RANK.get(sale.owner_type, -1) > OWNER_RANK.get(row.owner_type, -1)
    fuller = bool(row.degraded) and not sale.degraded
    upgraded = (richer or fuller) and row.status in ("pending", "needs_attention")
    if upgraded:
        values.update(
            owner_type=sale.owner_type,
            owner_id=sale.owner_id,
            currency=sale.currency,
            amount=sale.amount,
            paid_at=db.utc_naive(sale.paid_at),
            degraded=sale.degraded,
            sale=sale_to_json(sale),
            search=payment_search(sale, row.overrides),
        )
    if values:
        values["updated_at"] = now
        conn.execute(
            payments.update().where(payments.c.payment_key == sale.payment_key).values(**values)
        )
    return "upgraded" if upgraded else "seen"


@dataclass(frozen=True)
class RecordedOwner:
    """What decides whether a later event can change a recorded payment (:func:`recorded_owner`)."""

    payment_key: str
    kind: str
    owner_type: str
    degraded: bool
    event_ids: str | None = None
    """The ids of its events as read (JSON text), for ``event_ids.add_event_id``'s guard."""

    def settles(self, payment_key: str, owner_type: str) -> bool:
        """Whether a full (not degraded) sale of ``payment_key`` from an ``owner_type`` owner
        would leave this payment as it is: :func:`record_sale` would answer ``seen`` (the
        owner is not richer, the recorded sale not degraded), whatever the status."""
        return (
            payment_key == self.payment_key
            and self.kind == "payment"
            and not self.degraded
            and OWNER_RANK.get(owner_type, -1) <= OWNER_RANK.get(self.owner_type, -1)
        )


def recorded_owner(conn: Connection, payment_key: str) -> RecordedOwner | None:
    """The owner of a recorded payment (None: not recorded)."""
    row = conn.execute(_RECORDED_OWNER, {"q_key": payment_key}).first()
    return None if row is None else db.record(RecordedOwner, row)


_RECORDED_OWNER = sa.select(
    payments.c.payment_key,
    payments.c.kind,
    payments.c.owner_type,
    payments.c.degraded,
    payments.c.event_ids,
).where(payments.c.payment_key == sa.bindparam("q_key"))
"""The prepared read of :func:`recorded_owner` (``store/db.py``, "prepared statements")."""


def get_payment(
    conn: Connection, payment_key: str, *, for_update: bool = False
) -> PaymentRecord | None:
    q = sa.select(payments).where(payments.c.payment_key == payment_key)
    if for_update and not db.is_sqlite(conn):
        q = q.with_for_update()
    row = conn.execute(q).first()
    return None if row is None else db.record(PaymentRecord, row)


def reset_payment(
    conn: Connection, payment_key: str, *, sale: str | None = None, overrides: str | None = None
) -> None:
    """Back to ``pending`` without problems (``payments retry``); a new ``sale`` (JSON) and
    buyer ``overrides`` (JSON) replace the stored ones when given."""
    values: dict[str, object] = {
        "status": "pending",
        "problems": "[]",
        "updated_at": db.db_now(conn),
    }
    if sale is not None:
        values["sale"] = sale
        values["degraded"] = bool(json.loads(sale).get("degraded", False))
    if overrides is not None:
        values["overrides"] = overrides
    if sale is not None or overrides is not None:
        row = get_payment(conn, payment_key)
        if row is not None:
            stored = sale_from_json(sale if sale is not None else row.sale)
            values["search"] = payment_search(
                stored, overrides if overrides is not None else row.overrides
            )
    conn.execute(payments.update().where(payments.c.payment_key == payment_key).values(**values))


def set_payment_status(
    conn: Connection, payment_key: str, status: str, problems: Sequence[Problem] = ()
) -> None:
    values = {
        "status": status,
        "problems": json.dumps([p.to_dict() for p in problems], ensure_ascii=False),
        "updated_at": db.db_now(conn),
    }
    conn.execute(_SET_PAYMENT_STATUS, {"u_key": payment_key, **db.bound(values)})


_SET_PAYMENT_STATUS = (
    payments.update()
    .where(payments.c.payment_key == sa.bindparam("u_key"))
    .values(db.params(payments, ("status", "problems", "updated_at")))
)
"""The prepared :func:`set_payment_status` (``store/db.py``, "prepared statements")."""


def list_payments(
    conn: Connection,
    *,
    status: str | None = None,
    text: str | None = None,
    page_size: int = 1000,
) -> list[PaymentRecord]:
    """Every payment (of ``status``; whose search text contains ``text``, as the API's ``q``),
    newest first, read ``page_size`` rows at a time (keyset on ``created_at``,
    ``payment_key``): none is left out however many there are."""
    out: list[PaymentRecord] = []
    after: tuple[datetime, str] | None = None
    while True:
        q = (
            sa.select(payments)
            .order_by(payments.c.created_at.desc(), payments.c.payment_key.desc())
            .limit(page_size)
        )
        if status:
            q = q.where(payments.c.status == status)
        if text:
            q = q.where(payments_match(conn, text))
        if after is not None:
            q = q.where(sa.tuple_(payments.c.created_at, payments.c.payment_key) < after)
        rows = conn.execute(q).all()
        out += [db.record(PaymentRecord, r) for r in rows]
        if len(rows) < page_size:
            return out
        after = (rows[-1].created_at, str(rows[-1].payment_key))


def ignored_events(conn: Connection, *, page_size: int = 1000) -> list[EventRecord]:
    """Every ignored or failed event, newest first, read ``page_size`` rows at a time (keyset
    on ``received_at``, ``id``): none is left out however many there are."""
    out: list[EventRecord] = []
    after: tuple[datetime, str] | None = None
    while True:
        q = (
            sa.select(stripe_events)
            .where(stripe_events.c.outcome.in_(["ignored", "failed"]))
            .order_by(stripe_events.c.received_at.desc(), stripe_events.c.id.desc())
            .limit(page_size)
        )
        if after is not None:
            q = q.where(sa.tuple_(stripe_events.c.received_at, stripe_events.c.id) < after)
        rows = conn.execute(q).all()
        out += [db.record(EventRecord, r) for r in rows]
        if len(rows) < page_size:
            return out
        after = (rows[-1].received_at, str(rows[-1].id))
