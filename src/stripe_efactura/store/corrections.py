"""The SQL of buyer overrides and re-issues (``app/overrides.py``, ``app/corrections.py``)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import db
from .repo import PaymentRecord, get_payment, payment_search, sale_from_json
from .tables import invoices, payments


def set_overrides(conn: Connection, payment_key: str, overrides_json: str | None) -> None:
    row = get_payment(conn, payment_key)
    values: dict[str, object] = {"overrides": overrides_json, "updated_at": db.db_now(conn)}
    if row is not None:
        values["search"] = payment_search(sale_from_json(row.sale), overrides_json)
    conn.execute(sa.update(payments).where(payments.c.payment_key == payment_key).values(**values))


def clone_payment(
    conn: Connection,
    original: PaymentRecord,
    new_key: str,
    *,
    kind: str,
    overrides_json: str | None,
) -> None:
    """A payments row for a re-issue: the original's sale under a new key, ``refers_to`` the
    original payment, with the new buyer's overrides."""
    now = db.db_now(conn)
    conn.execute(
        sa.insert(payments).values(
            payment_key=new_key,
            kind=kind,
            owner_type=original.owner_type,
            owner_id=original.owner_id,
            status="pending",
            livemode=original.livemode,
            currency=original.currency,
            amount=original.amount,
            paid_at=original.paid_at,
            degraded=original.degraded,
            sale=original.sale,
            search=payment_search(sale_from_json(original.sale), overrides_json),
            event_ids=original.event_ids,
            problems="[]",
            overrides=overrides_json,
            refers_to=original.payment_key,
            created_at=now,
            updated_at=now,
        )
    )


def count_keys_like(conn: Connection, prefix: str) -> int:
    """How many invoices have a payment key starting with ``prefix``."""
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    query = (
        sa.select(sa.func.count())
        .select_from(invoices)
        .where(invoices.c.payment_key.like(escaped + "%", escape="\\"))
    )
    return int(conn.execute(query).scalar_one())
