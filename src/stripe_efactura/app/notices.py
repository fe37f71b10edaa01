"""Merchant notices: recorded in the caller's transaction, emailed in aggregated digests."""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy.engine import Connection

from ..errors import Problem
from ..jobs import queue
from ..store import notices as notice_store


def record(
    conn: Connection,
    kind: str,
    ref: str,
    title: str,
    problems: Sequence[Problem] = (),
    **extra: object,
) -> None:
    """Add a notice (``payment_problem``, ``anaf_rejected``, ``deadline``, ``auth_expiry``)
    and make sure a digest goes out within the aggregation window."""
    payload = json.dumps(
        {"title": title, "problems": [p.to_dict() for p in problems], **extra},
        ensure_ascii=False,
        default=str,
    )
    now = notice_store.insert(conn, kind, ref, payload)
    queue.enqueue(
        conn,
        "send_merchant_digest",
        {},
        delay=60,
        dedupe_key=f"digest:{now.strftime('%Y%m%d%H')}:{now.minute // 5}",
    )


def record_once(
    conn: Connection,
    kind: str,
    ref: str,
    title: str,
    problems: Sequence[Problem] = (),
    **extra: object,
) -> bool:
    """:func:`record` unless a notice of this kind and ref exists; True when recorded."""
    if notice_store.exists(conn, kind, ref):
        return False
    record(conn, kind, ref, title, problems, **extra)
    return True
