"""The full timeline of a payment, the same for the REST API, the console and the command
line: its Stripe webhooks and API reads, the registry (ANAF, VIES) lookups and their answers,
the problems it was stopped by (the notices), and for each of its invoices the validation
(fatal and warning rule ids), the number, the PDF, the e-mail, each ANAF step and the signed
archive (``invoice_log``), plus what people did to it (the audit log).

Every entry is ``{"at": ISO time, "event": "<source>:<what>", "detail": {...} | None}``,
oldest first.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from ..jsontypes import JsonObject, JsonValue
from ..store import db
from ..store import invoices as invoice_store
from ..store import listings as rows_store
from ..store import notices as notice_store
from ..store import queries as q
from . import audit_log, lookups
from .context import AppContext

Json = JsonObject
AUDITED = 200


def _entry(at: datetime | None, event: str, detail: JsonValue) -> Json:
    return {"at": at.isoformat() if at is not None else None, "event": event, "detail": detail}


def validation_entry(number: str, at: datetime, summary: str | None) -> Json:
    """The gate every invoice passed before its number: fatal and warning rule ids."""
    found = json.loads(summary) if summary else {}
    detail: JsonObject = {
        "number": number,
        "fatal": list(found.get("fatal", [])),
        "warnings": list(found.get("warnings", [])),
    }
    return _entry(at, "validation:passed", detail)


def _notice_entry(n: notice_store.NoticeRecord) -> Json:
    payload = json.loads(n.payload)
    codes = [p.get("code") for p in payload.get("problems", []) if isinstance(p, dict)]
    return _entry(
        n.created_at, f"notice:{n.kind}", {"title": payload.get("title"), "problems": codes}
    )


def payment_timeline(ctx: AppContext, key: str, event_ids: Sequence[str]) -> list[Json]:
    """Everything that happened to payment ``key`` (its Stripe events are ``event_ids``)."""
    with db.read(ctx.engine) as conn:
        events = q.payment_events(conn, list(event_ids))
        issued = rows_store.invoices_of_payment(conn, key)
        rows = {int(i.id): invoice_store.get(conn, int(i.id)) for i in issued}
        logs = {i: invoice_store.timeline(conn, i) for i in rows}
        notes = notice_store.for_refs(conn, [key, *(str(i.number) for i in issued)])
    out = [
        _entry(e.received_at, f"stripe:{e.type}", {"outcome": e.outcome, "source": e.source})
        for e in events
    ]
    out += lookups.timeline_entries(ctx, key)
    out += [_notice_entry(n) for n in notes]
    for invoice_id, row in rows.items():
        if row is None:
            continue
        out.append(validation_entry(str(row.number), row.created_at, row.validation))
        for e in logs[invoice_id]:
            detail = json.loads(e.detail) if e.detail else None
            out.append(_entry(e.at, f"{row.number}:{e.event}", detail))
    for a in audit_log.entries(ctx, target_type="payment", target_id=key, limit=AUDITED):
        out.append(_entry(a.at, f"audit:{a.action}", a.after))
    return sorted(out, key=lambda t: str(t["at"]))
