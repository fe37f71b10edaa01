"""Merchant notices: recorded in the caller's transaction, emailed in aggregated digests; the
needs-attention inbox (open / resolved) and its acknowledgement, the same for the REST API,
the console and ``stripe-efactura notices``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Literal, TypedDict

from sqlalchemy.engine import Connection

from ..errors import Problem
from ..jobs import queue
from ..store import db
from ..store import notices as notice_store
from ..store import queries as q
from . import audit_log
from .audit_log import Actor
from .browse_views import ProblemJson
from .context import AppContext
from .refusals import NotFound

MAX_PAGE = 200


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


# -- the inbox ----------------------------------------------------------------------------


class NoticeView(TypedDict):
    """A notice of the inbox; ``open`` until acknowledged or fixed."""

    id: int
    kind: str
    ref: str
    title: str
    problems: list[ProblemJson]
    created_at: str
    state: Literal["open", "resolved"]
    acknowledged_at: str | None
    acknowledged_by: str | None


def notice_view(r: q.InboxNotice) -> NoticeView:
    payload = json.loads(r.payload)
    resolved = r.acknowledged_at is not None or bool(r.fixed)
    return {
        "id": int(r.id),
        "kind": r.kind,
        "ref": r.ref,
        "title": payload.get("title", ""),
        "problems": payload.get("problems", []),
        "created_at": r.created_at.isoformat(),
        "state": "resolved" if resolved else "open",
        "acknowledged_at": r.acknowledged_at.isoformat() if r.acknowledged_at else None,
        "acknowledged_by": r.acknowledged_by,
    }


def inbox(
    ctx: AppContext, *, state: str | None = None, cursor: int | None = None, limit: int = 50
) -> tuple[list[NoticeView], int | None]:
    """Notices newest first, ``open`` (neither acknowledged nor fixed) or ``resolved``, and
    the cursor of the next page."""
    limit = max(1, min(MAX_PAGE, limit))
    with db.read(ctx.engine) as conn:
        rows = q.notices_page(conn, state=state, after=cursor, limit=limit + 1)
    items = [notice_view(r) for r in rows[:limit]]
    return items, (int(rows[limit - 1].id) if len(rows) > limit else None)


def acknowledge(ctx: AppContext, actor: Actor, notice_id: int) -> NoticeView:
    """Mark a notice as seen (audited once; acknowledging again changes nothing)."""
    with db.write(ctx.engine) as conn:
        row = q.notice(conn, notice_id)
        if row is None:
            raise NotFound(
                "E-NOTICE-NOT-FOUND",
                f"No notice {notice_id}.",
                f"Notificarea {notice_id} nu există.",
                field="notice",
            )
        now = db.db_now(conn)
        if q.acknowledge_notice(conn, notice_id, by=actor.name, now=now):
            audit_log.record(
                conn,
                actor,
                "notice.acknowledge",
                "notice",
                notice_id,
                before={"state": "open"},
                after={"state": "acknowledged"},
            )
        row = q.notice(conn, notice_id)
        assert row is not None  # read above in this transaction; notices are never deleted
    return notice_view(row)
