"""A recorded payment's ``event_ids``: the Stripe events it was recorded from, in order.

:func:`repo.record_sale` writes them with the sale; a later event that changes nothing else
(it answers ``seen``) joins them here.
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import db
from .tables import payments


def add_event_id(
    conn: Connection, payment_key: str, event_id: str, *, read: str | None = None
) -> None:
    """A later event of a recorded payment that changes nothing else (what
    :func:`repo.record_sale` does when it answers ``seen``): its id joins ``event_ids``.
    ``read``: the ``event_ids`` the caller read before its transaction; while the row still
    holds them, one guarded ``UPDATE`` adds the id without reading the row again (under lock
    on PostgreSQL)."""
    if read is not None and _set_event_ids(conn, payment_key, event_id, read, guarded=True):
        return
    q = _EVENT_IDS if db.is_sqlite(conn) else _EVENT_IDS_FOR_UPDATE
    _set_event_ids(
        conn, payment_key, event_id, conn.execute(q, {"q_key": payment_key}).scalar_one()
    )


def _set_event_ids(
    conn: Connection, payment_key: str, event_id: str, read: object, *, guarded: bool = False
) -> bool:
    """Add ``event_id`` to the ``read`` ids (a no-op when there); ``guarded``: only while
    the row holds ``read``. Returns whether the ids hold the event now."""
    seen = list(json.loads(str(read)))
    if event_id in seen:
        return True
    values = {"event_ids": json.dumps([*seen, event_id]), "updated_at": db.db_now(conn)}
    params = {"u_key": payment_key, **db.bound(values)}
    if not guarded:
        conn.execute(_SET_EVENT_IDS, params)
        return True
    return conn.execute(_SET_EVENT_IDS_GUARDED, {**params, "e_ids": read}).rowcount == 1


_EVENT_IDS = sa.select(payments.c.event_ids).where(payments.c.payment_key == sa.bindparam("q_key"))
_EVENT_IDS_FOR_UPDATE = _EVENT_IDS.with_for_update()
_SET_EVENT_IDS = (
    payments.update()
    .where(payments.c.payment_key == sa.bindparam("u_key"))
    .values(db.params(payments, ("event_ids", "updated_at")))
)
_SET_EVENT_IDS_GUARDED = _SET_EVENT_IDS.where(
    payments.c.event_ids == sa.bindparam("e_ids", type_=payments.c.event_ids.type)
)
"""The prepared statements of :func:`add_event_id` (``store/db.py``, "prepared statements")."""
