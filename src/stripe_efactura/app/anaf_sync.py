"""The ANAF e-Factura lifecycle of each issued invoice: upload exactly once, follow, archive.

States (``invoices.anaf_state``)::

    pending_upload ──intent──> uploading ──index──> uploaded ──> in_processing ──> ok ──> (archived)
         ^                        │                                   │        └──> nok (findings)
         │                        └─lost answer / crash──> unknown    └──> rejected_at_upload
         └──── deliberate re-upload (reconcile found nothing) ─────────┘
    not_uploaded: test-mode invoice, or a series with auto_upload off

- **Durable intent.** Before the upload request the invoice goes to ``uploading`` with a fresh
  attempt id, in the same write transaction that takes the quota slot. The answer is recorded
  in a second transaction that checks the attempt id (compare-and-set). A worker that dies in
  between leaves ``uploading``; whoever finds it there after :attr:`Tuning.inflight_seconds`
  moves it to ``unknown``. So does :class:`UploadOutcomeUnknown` (timeout, dropped answer, 5xx,
  technical error on upload).
- **Reconciling ``unknown``.** The SPV message list (``listaMesajePaginatieFactura``, filter
  ``T``: invoices ANAF validated) from just before the intent up to now is read; every listed
  message not yet linked to one of our invoices is downloaded once and matched by seller CUI,
  BT-1 and BT-2 (:func:`responses.invoice_key`). A match is adopted with its index, download id
  and signed ZIP (the ZIP read for matching *is* the archive). When nothing matches after
  :attr:`Tuning.reconcile_grace_seconds`, the invoice is uploaded again deliberately. That is
  safe: a lost upload that ANAF rejected (``nok``) counts as never transmitted; one still being
  processed after the grace period, or one ANAF validated but not yet listed, makes ANAF reject
  the new upload with ``Factura a mai fost transmisa anterior cu index=<i>``, and that message
  gives us ``<i>``, which is adopted (and polled, downloaded, archived). ANAF therefore never
  holds two validated filings of one invoice.
- **Quotas** (:func:`take_quota`): every ANAF call first takes a slot in ``anaf_quota`` in a
  short write transaction shared by all processes: a sliding 60-second global window (10-second
  buckets, the current one and the six before it must hold fewer than the policy's 900), and
  per message and Romanian calendar day for ``stareMesaj`` (80) and ``descarcare`` (6). A call
  that has no slot is not made; the step says when to come back.
- **Polling** follows :func:`quotas.poll_delay` (at most 46 polls in any 24 hours).
- **ok**: the ZIP (``<index>.xml`` as uploaded + ``semnatura_<index>.xml``) is downloaded once,
  stored in ``invoices.signed_zip`` and written to ``<data dir>/archive/<year>/<number>.zip``.
- **nok**: the error file is parsed; the findings are explained (``ubl.explain``) on the
  payment (``needs_attention``) and in an ``anaf_rejected`` notice, unless the only news is the
  duplicate message (then the original index is adopted).

Everything here is driven by :func:`advance` (one step for one invoice, returning when to come
back), which the ``anaf_step`` job calls; tests drive it directly with a fake clock.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..anaf.client import AnafClient
from ..anaf.quotas import QuotaKind, QuotaPolicy, next_ro_midnight, poll_delay, retry_at
from ..anaf.responses import (
    AnafApiError,
    AnafAuthError,
    AnafDownloadExpired,
    AnafNetworkError,
    AnafNoRights,
    AnafNotFound,
    AnafQuotaExceeded,
    AnafRejected,
    AnafTimeout,
    AnafWafRejected,
    DownloadArchive,
    MessageState,
    UploadOutcomeUnknown,
    invoice_key,
    parse_archive,
)
from ..errors import Problem
from ..invoicing.model import BuyerKind
from ..invoicing.serialize import invoice_from_json
from ..store import db, repo
from ..store import invoices as invoice_store
from ..store.tables import anaf_quota, invoices
from ..ubl import explain
from . import anaf_tokens, notices
from .context import AppContext

log = logging.getLogger("stripe_efactura.anaf_sync")

PENDING = "pending_upload"
UPLOADING = "uploading"
UPLOADED = "uploaded"
IN_PROCESSING = "in_processing"
OK = "ok"
NOK = "nok"
REJECTED = "rejected_at_upload"
UNKNOWN = "unknown"
NOT_UPLOADED = "not_uploaded"

#: States in which the lifecycle still has work to do (``ok`` until archived, ``nok`` until
#: its findings are read).
ACTIVE = (PENDING, UPLOADING, UNKNOWN, UPLOADED, IN_PROCESSING, OK, NOK)
#: States ``invoices retry`` accepts: ANAF never validated the invoice.
RETRYABLE = (NOK, REJECTED, NOT_UPLOADED)

GLOBAL_BUCKET_SECONDS = 10
GLOBAL_BUCKETS = 7  # the current bucket and the six before it cover any 60 s ending now
_PG_QUOTA_LOCK = 0x4546_4143  # advisory lock id serialising quota takes on PostgreSQL


@dataclass(frozen=True)
class Tuning:
    """Knobs of the lifecycle; tests put their own in ``ctx.extras["anaf_tuning"]``."""

    policy: QuotaPolicy = field(default_factory=QuotaPolicy.default)
    inflight_seconds: float = 120.0
    """An ``uploading`` intent younger than this may still be waiting for its answer."""
    reconcile_grace_seconds: float = 900.0
    """How long a lost upload may take to show in the message list before re-uploading."""
    reconcile_every_seconds: float = 120.0
    list_lag_seconds: float = 30.0
    """The list window ends this long before now (ANAF refuses an end in its future)."""
    timeout: float = 30.0
    upload_timeout: float = 60.0
    retry_seconds: float = 60.0
    """Wait after a transient failure (5xx, timeout, technical error)."""
    poll_scale: float = 1.0
    """Multiplies :func:`quotas.poll_delay`; the demo uses 0 (poll at once). Polls stay
    capped by the per-message daily quota whatever the scale."""


@dataclass(frozen=True)
class Step:
    """What one :func:`advance` did: the state afterwards and when to come back
    (``delay`` seconds; None: nothing left to do)."""

    state: str
    delay: float | None
    note: str = ""


class QuotaWait(Exception):
    """No quota slot now; the next one opens at ``until``."""

    def __init__(self, kind: str, until: datetime) -> None:
        super().__init__(f"{kind} quota exhausted until {until.isoformat()}")
        self.kind = kind
        self.until = until


def tuning(ctx: AppContext) -> Tuning:
    value = ctx.extras.get("anaf_tuning")
    return value if isinstance(value, Tuning) else Tuning()


def _now(ctx: AppContext) -> datetime:
    now = ctx.clock()
    return now if now.tzinfo else now.replace(tzinfo=UTC)


def _seconds_until(ctx: AppContext, moment: datetime) -> float:
    return max(0.0, (moment - _now(ctx)).total_seconds())


def client(ctx: AppContext) -> AnafClient:
    """The ANAF client of this context (built once; tokens come from :mod:`anaf_tokens`)."""
    existing = ctx.extras.get("anaf_client")
    if isinstance(existing, AnafClient):
        return existing
    s = ctx.settings
    env: Literal["test", "prod"] = "prod" if s.anaf_env == "prod" else "test"
    tune = tuning(ctx)
    made = AnafClient(
        s.anaf_api_base,
        env,
        lambda: anaf_tokens.access_token(ctx),
        transport=ctx.anaf_transport,
        timeout=tune.timeout,
        upload_timeout=tune.upload_timeout,
        public_base=s.anaf_public_base,
    )
    ctx.extras["anaf_client"] = made
    return made


# --------------------------------------------------------------------------------------------
# Quotas shared by all processes
# --------------------------------------------------------------------------------------------


def _counts(conn: Connection, names: list[str]) -> dict[str, int]:
    rows = conn.execute(
        sa.select(anaf_quota.c.bucket, anaf_quota.c.count).where(anaf_quota.c.bucket.in_(names))
    ).all()
    return {str(r[0]): int(r[1]) for r in rows}


def _bump(conn: Connection, name: str, window_start: datetime, exists: bool) -> None:
    if exists:
        conn.execute(
            anaf_quota.update()
            .where(anaf_quota.c.bucket == name)
            .values(count=anaf_quota.c.count + 1)
        )
    else:
        conn.execute(
            anaf_quota.insert().values(
                bucket=name, window_start=db.utc_naive(window_start), count=1
            )
        )


def _take(conn: Connection, policy: QuotaPolicy, now: datetime, kind: QuotaKind, key: str) -> None:
    """Take one call slot of ``kind`` (and of the global window) in the caller's transaction;
    :class:`QuotaWait` when there is none."""
    if not db.is_sqlite(conn):
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_QUOTA_LOCK})
    current = int(now.timestamp()) // GLOBAL_BUCKET_SECONDS
    window = range(current - GLOBAL_BUCKETS + 1, current + 1)
    names = [f"global:{b}" for b in window]
    daily = None
    if kind is not QuotaKind.GLOBAL:
        day = now.astimezone(next_ro_midnight(now).tzinfo).date().isoformat()
        daily = f"{kind.value}:{key}:{day}"
        names.append(daily)
    counts = _counts(conn, names)
    if daily is not None and counts.get(daily, 0) >= policy.limit(kind).max_calls:
        raise QuotaWait(kind.value, next_ro_midnight(now).astimezone(UTC))
    limit = policy.limit(QuotaKind.GLOBAL).max_calls
    per_bucket = {b: counts.get(f"global:{b}", 0) for b in window}
    if sum(per_bucket.values()) >= limit:
        # the first bucket boundary at which the window holds fewer than ``limit`` calls
        for ahead in range(1, GLOBAL_BUCKETS + 1):
            kept = sum(c for b, c in per_bucket.items() if b > current + ahead - GLOBAL_BUCKETS)
            if kept < limit:
                break
        until = datetime.fromtimestamp((current + ahead) * GLOBAL_BUCKET_SECONDS, tz=UTC)
        raise QuotaWait("global", until)
    if daily is not None:
        _bump(conn, daily, now, daily in counts)
    bucket_start = datetime.fromtimestamp(current * GLOBAL_BUCKET_SECONDS, tz=UTC)
    _bump(conn, f"global:{current}", bucket_start, f"global:{current}" in counts)


def take_quota(ctx: AppContext, kind: QuotaKind, key: str = "") -> None:
    """Take a call slot in its own short transaction (raises :class:`QuotaWait`)."""
    with db.write(ctx.engine) as conn:
        _take(conn, tuning(ctx).policy, _now(ctx), kind, key)


def prune_quota(ctx: AppContext, *, keep: timedelta = timedelta(days=2)) -> int:
    """Delete quota buckets older than ``keep``."""
    cutoff = db.utc_naive(_now(ctx) - keep)
    with db.write(ctx.engine) as conn:
        result = conn.execute(anaf_quota.delete().where(anaf_quota.c.window_start < cutoff))
    return int(result.rowcount or 0)


# --------------------------------------------------------------------------------------------
# Invoice rows
# --------------------------------------------------------------------------------------------


def _work(row: Any) -> dict[str, Any]:
    if not row.anaf_messages:
        return {}
    try:
        value = json.loads(row.anaf_messages)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _set(
    conn: Connection,
    invoice_id: int,
    work: dict[str, Any] | None = None,
    **values: Any,
) -> None:
    if work is not None:
        values["anaf_messages"] = json.dumps(work, ensure_ascii=False, sort_keys=True)
    invoice_store.update_invoice(conn, invoice_id, **values)


def _get(conn: Connection, invoice_id: int) -> Any:
    return invoice_store.get(conn, invoice_id, for_update=True)


def upload_mode(row: Any) -> dict[str, bool]:
    """``b2c`` for individual buyers (CNP or 0000000000000); ``extern`` for buyers outside
    Romania without a Romanian id. Read from the invoice snapshot."""
    buyer = invoice_from_json(row.snapshot).buyer
    vat = (buyer.vat_id or "").upper()
    legal = (buyer.legal_id or "").strip()
    individual = buyer.kind is BuyerKind.INDIVIDUAL
    romanian_id = vat.startswith("RO") or (
        bool(legal) and legal.isdigit() and legal != "0000000000000"
    )
    foreign = buyer.address.country.upper() != "RO"
    return {"b2c": individual, "extern": foreign and not romanian_id}


def _problem_from_error(exc: AnafApiError) -> Problem:
    if isinstance(exc, AnafWafRejected):
        return Problem(
            code="E-ANAF-WAF",
            field="invoice",
            message_ro="Firewall-ul ANAF a respins fișierul (pagina „Request Rejected”, "
            f"ID suport {exc.support_id}).",
            message_en="ANAF's firewall rejected the file (the 'Request Rejected' page, "
            f"support ID {exc.support_id}).",
            hint="Texts such as ';CP ' in an address or an xsi:schemaLocation trigger it: "
            "correct the data, then run `stripe-efactura invoices retry NUMBER`.",
            hint_ro="Texte precum „;CP ” într-o adresă sau xsi:schemaLocation îl declanșează: "
            "corectați datele, apoi rulați `stripe-efactura invoices retry NUMĂR`.",
        )
    text = " ".join(exc.messages) or exc.message
    return Problem(
        code=exc.code,
        field="invoice",
        message_ro=f"ANAF a refuzat încărcarea: {text}",
        message_en=f"ANAF refused the upload: {text}",
        hint="Correct the data, then run `stripe-efactura invoices retry NUMBER`.",
        hint_ro="Corectați datele, apoi rulați `stripe-efactura invoices retry NUMĂR`.",
    )


def _attention(
    conn: Connection, row: Any, kind: str, problems: tuple[Problem, ...], title: str
) -> None:
    repo.set_payment_status(conn, row.payment_key, "needs_attention", problems)
    notices.record(conn, kind, row.number, title, problems, invoice=row.number)


# --------------------------------------------------------------------------------------------
# The step
# --------------------------------------------------------------------------------------------


def advance(ctx: AppContext, invoice_id: int) -> Step:
    """Do the next thing for one invoice; idempotent and safe to run from many processes."""
    with db.read(ctx.engine) as conn:
        row = invoice_store.get(conn, invoice_id)
    if row is None:
        return Step("missing", None, "no such invoice")
    state = str(row.anaf_state)
    work = _work(row)
    try:
        if state == PENDING:
            return _upload(ctx, invoice_id)
        if state == UPLOADING:
            return _interrupted(ctx, row, work)
        if state == UNKNOWN:
            return _reconcile(ctx, row, work)
        if state in (UPLOADED, IN_PROCESSING):
            return _poll(ctx, row, work)
        if state == OK and row.signed_zip is None and not work.get("archive_error"):
            return _archive(ctx, row, work)
        if state == NOK and "findings" not in work:
            return _read_errors(ctx, row, work)
    except QuotaWait as wait:
        return Step(state, max(1.0, _seconds_until(ctx, wait.until)), str(wait))
    except anaf_tokens.NotAuthorised as exc:
        log.warning("invoice %s waits for ANAF authorisation: %s", row.number, exc)
        return Step(state, 3600.0, exc.code)
    return Step(state, None)


def _wait_after(ctx: AppContext, exc: AnafApiError, state: str) -> Step:
    """The step after a retryable failure of a call that changed nothing at ANAF."""
    if isinstance(exc, AnafQuotaExceeded):
        return Step(state, max(1.0, _seconds_until(ctx, retry_at(exc.scope, _now(ctx)))), exc.code)
    if isinstance(exc, AnafAuthError) and not isinstance(exc, AnafNoRights):
        token = ctx.extras.get("anaf_tokens_cache")
        anaf_tokens.refresh(ctx, rejected=getattr(token, "access", None))
        return Step(state, 1.0, exc.code)
    if isinstance(exc, AnafNoRights):
        _no_rights_notice(ctx, exc)
        return Step(state, 3600.0, exc.code)
    return Step(state, tuning(ctx).retry_seconds, exc.code)


def _no_rights_notice(ctx: AppContext, exc: AnafNoRights) -> None:
    """ANAF says the authorised certificate has no SPV rights for the CUI: tell the merchant
    (once a day); invoices wait and try again hourly."""
    cui = anaf_tokens.company_cui(ctx)
    text = " ".join(exc.messages) or exc.message
    problem = Problem(
        code=exc.code,
        field="anaf",
        message_ro=f"ANAF: {text}. Certificatul autorizat nu are drepturi SPV pentru CUI {cui}.",
        message_en=f"ANAF: {text}. The authorised certificate has no SPV rights for CUI {cui}.",
        hint="Give the certificate holder SPV rights for the company (form 150/151 at ANAF) "
        "or authorise again with a certificate that has them (`stripe-efactura anaf login`).",
        hint_ro="Acordați titularului certificatului drepturi SPV pentru firmă sau autorizați "
        "din nou cu un certificat care le are (`stripe-efactura anaf login`).",
    )
    with db.write(ctx.engine) as conn:
        anaf_tokens.notice_once(
            conn,
            "auth_expiry",
            f"{cui}:no-rights:{_today(ctx).isoformat()}",
            f"ANAF: fără drepturi SPV pentru CUI {cui} / no SPV rights for CUI {cui}",
            [problem],
        )


# ---- upload ------------------------------------------------------------------------------------


def _upload(ctx: AppContext, invoice_id: int) -> Step:
    s = ctx.settings
    anaf_tokens.access_token(ctx)  # no intent without a usable token
    attempt = uuid.uuid4().hex
    now = _now(ctx)
    with db.write(ctx.engine) as conn:
        row = _get(conn, invoice_id)
        if row is None or row.anaf_state != PENDING:
            return Step(str(row.anaf_state) if row else "missing", 0.0, "moved on")
        work = _work(row)
        if not row.livemode and s.anaf_env == "prod":
            work["reason"] = "I-TEST-MODE: a test-mode invoice is never sent to ANAF production"
            _set(conn, invoice_id, work, anaf_state=NOT_UPLOADED)
            invoice_store.log(conn, invoice_id, "anaf_not_uploaded", {"reason": work["reason"]})
            return Step(NOT_UPLOADED, None, work["reason"])
        _take(conn, tuning(ctx).policy, now, QuotaKind.GLOBAL, "")
        mode = upload_mode(row)
        work.setdefault("first_intent_at", now.isoformat())
        work.update(
            attempt=attempt,
            intent_at=now.isoformat(),
            uploads=int(work.get("uploads", 0)) + 1,
            polls=0,
        )
        _set(conn, invoice_id, work, anaf_state=UPLOADING)
        invoice_store.log(
            conn,
            invoice_id,
            "anaf_upload_intent",
            {"attempt": attempt, "env": s.anaf_env, **mode},
        )
        xml = bytes(row.xml)
        standard = "CN" if re.search(rb"<(\w+:)?CreditNote[\s>]", xml[:2000]) else "UBL"
    try:
        result = client(ctx).upload(
            xml,
            anaf_tokens.company_cui(ctx),
            standard=standard,  # type: ignore[arg-type]
            b2c=mode["b2c"],
            extern=mode["extern"],
        )
    except UploadOutcomeUnknown as exc:
        return _to_unknown(ctx, invoice_id, attempt, exc.cause_code, exc.message)
    except (AnafNetworkError, AnafTimeout, AnafQuotaExceeded, AnafAuthError) as exc:
        # nothing reached ANAF (connect failure, quota, token refused): the intent is void
        _back_to_pending(ctx, invoice_id, attempt, exc)
        return _wait_after(ctx, exc, PENDING)
    except (AnafWafRejected, AnafRejected) as exc:
        return _rejected_at_upload(ctx, invoice_id, attempt, _problem_from_error(exc))
    with db.write(ctx.engine) as conn:
        row = _get(conn, invoice_id)
        work = _work(row)
        if row.anaf_state != UPLOADING or work.get("attempt") != attempt:
            log.error("invoice %s: upload answer for a stale attempt", row.number)
            return Step(str(row.anaf_state), 0.0, "stale attempt")
        work.update(upload_date=result.date_response, polls=0)
        _set(conn, invoice_id, work, anaf_state=UPLOADED, upload_index=result.index)
        invoice_store.log(
            conn, invoice_id, "anaf_uploaded", {"index": result.index, "attempt": attempt}
        )
    log.info("invoice %s uploaded: index %s", row.number, result.index)
    return Step(UPLOADED, _poll_wait(ctx, 0))


def _poll_wait(ctx: AppContext, polls: int) -> float:
    return float(poll_delay(polls)) * max(0.0, tuning(ctx).poll_scale)


def _to_unknown(ctx: AppContext, invoice_id: int, attempt: str, cause: str, text: str) -> Step:
    with db.write(ctx.engine) as conn:
        row = _get(conn, invoice_id)
        work = _work(row)
        if row.anaf_state != UPLOADING or work.get("attempt") != attempt:
            return Step(str(row.anaf_state), 0.0, "stale attempt")
        work["unknown_since"] = _now(ctx).isoformat()
        _set(conn, invoice_id, work, anaf_state=UNKNOWN)
        invoice_store.log(
            conn,
            invoice_id,
            "anaf_upload_unknown",
            {"attempt": attempt, "cause": cause, "text": text},
        )
    log.warning("invoice %s: upload outcome unknown (%s)", row.number, cause)
    return Step(UNKNOWN, tuning(ctx).list_lag_seconds, cause)


def _back_to_pending(ctx: AppContext, invoice_id: int, attempt: str, exc: AnafApiError) -> None:
    with db.write(ctx.engine) as conn:
        row = _get(conn, invoice_id)
        work = _work(row)
        if row.anaf_state != UPLOADING or work.get("attempt") != attempt:
            return
        work.pop("attempt", None)
        work["uploads"] = max(0, int(work.get("uploads", 1)) - 1)
        _set(conn, invoice_id, work, anaf_state=PENDING)
        invoice_store.log(conn, invoice_id, "anaf_upload_not_sent", {"error": exc.code})


def _rejected_at_upload(ctx: AppContext, invoice_id: int, attempt: str, problem: Problem) -> Step:
    with db.write(ctx.engine) as conn:
        row = _get(conn, invoice_id)
        work = _work(row)
        if row.anaf_state != UPLOADING or work.get("attempt") != attempt:
            return Step(str(row.anaf_state), 0.0, "stale attempt")
        work["findings"] = [problem.to_dict()]
        _set(conn, invoice_id, work, anaf_state=REJECTED)
        invoice_store.log(conn, invoice_id, "anaf_rejected_at_upload", {"code": problem.code})
        _attention(
            conn,
            row,
            "anaf_rejected",
            (problem,),
            f"ANAF a respins factura {row.number} / ANAF rejected invoice {row.number}",
        )
    return Step(REJECTED, None, problem.code)


# ---- lost answers --------------------------------------------------------------------------------


def _interrupted(ctx: AppContext, row: Any, work: dict[str, Any]) -> Step:
    """``uploading`` found by a job: still in flight, or the worker died after sending."""
    intent = datetime.fromisoformat(str(work.get("intent_at")))
    ready = intent + timedelta(seconds=tuning(ctx).inflight_seconds)
    if _now(ctx) < ready:
        return Step(UPLOADING, max(1.0, _seconds_until(ctx, ready)), "upload may be in flight")
    return _to_unknown(
        ctx,
        int(row.id),
        str(work.get("attempt")),
        "E-WORKER-INTERRUPTED",
        "the worker stopped between sending the upload and recording its answer",
    )


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _reconcile(ctx: AppContext, row: Any, work: dict[str, Any]) -> Step:
    tune = tuning(ctx)
    now = _now(ctx)
    intent = datetime.fromisoformat(str(work.get("intent_at")))
    # from the first attempt: an earlier lost upload may be listed late (ANAF lists 60 days)
    first = datetime.fromisoformat(str(work.get("first_intent_at", work.get("intent_at"))))
    start = max(first - timedelta(minutes=5), now - timedelta(days=59))
    end = now - timedelta(seconds=tune.list_lag_seconds)
    if end > start:
        adopted = match_listed(ctx, start, end)
        if int(row.id) in adopted:
            return Step(OK, 0.0, f"found in the message list: {adopted[int(row.id)]}")
    give_up = intent + timedelta(seconds=tune.reconcile_grace_seconds)
    if now < give_up:
        wait = min(tune.reconcile_every_seconds, max(1.0, _seconds_until(ctx, give_up)))
        return Step(UNKNOWN, max(wait, tune.list_lag_seconds if end <= start else 1.0))
    with db.write(ctx.engine) as conn:
        fresh = _get(conn, int(row.id))
        if fresh.anaf_state != UNKNOWN:
            return Step(str(fresh.anaf_state), 0.0, "moved on")
        work = _work(fresh)
        work["reupload_after_unknown"] = work.get("attempt")
        _set(conn, int(row.id), work, anaf_state=PENDING)
        invoice_store.log(
            conn,
            int(row.id),
            "anaf_reupload",
            {
                "reason": "not in the SPV message list after the grace period; a duplicate "
                "upload would be rejected by ANAF with the original index"
            },
        )
    return _upload(ctx, int(row.id))


def match_listed(ctx: AppContext, start: datetime, end: datetime) -> dict[int, str]:
    """Read ANAF's list of validated invoices between ``start`` and ``end``; adopt every
    listed filing that belongs to one of our ``unknown`` invoices. Returns
    ``{invoice_id: upload_index}`` adopted now."""
    cui = anaf_tokens.company_cui(ctx)
    anaf = client(ctx)
    with db.read(ctx.engine) as conn:
        known = {
            str(v)
            for v in conn.execute(
                sa.select(invoices.c.upload_index).where(invoices.c.upload_index.is_not(None))
            ).scalars()
        }
    # listed filings already read (index -> (invoice key, download id)): read each ZIP once
    # per process; a filing seen before its invoice became ``unknown`` is matched again here
    seen: dict[str, tuple[Any, str]] = ctx.extras.setdefault("anaf_listed_keys", {})
    adopted: dict[int, str] = {}
    page = 1
    while True:
        take_quota(ctx, QuotaKind.LIST_PAGED, cui)
        try:
            result = anaf.list_messages(cui, _ms(start), _ms(end), page, "T")
        except AnafApiError as exc:
            log.warning("message list failed: %s", exc)
            return adopted
        for entry in result.messages:
            index = entry.upload_index
            if not index or index in known or not entry.download_id:
                continue
            if index in seen:
                key = seen[index][0]
                if key is None or _unknown_invoice(ctx, key) is None:
                    continue
            take_quota(ctx, QuotaKind.DOWNLOAD, entry.download_id)
            try:
                data = anaf.download(entry.download_id)
                archive = parse_archive(data)
            except AnafApiError as exc:
                log.warning("download of listed message %s failed: %s", index, exc)
                continue
            key = None if archive.is_error else invoice_key(archive.document)
            seen[index] = (key, entry.download_id)
            if key is None or key.seller_cif != cui or key.number is None:
                continue
            found = _adopt(ctx, key.number, key.issue_date, index, entry.download_id, data, archive)
            if found is not None:
                adopted[found] = index
        if not result.has_next:
            return adopted
        page += 1


def _unknown_invoice(ctx: AppContext, key: Any) -> int | None:
    with db.read(ctx.engine) as conn:
        row = invoice_store.by_number(conn, str(key.number))
    if row is None or row.anaf_state != UNKNOWN or str(row.issue_date) != key.issue_date:
        return None
    return int(row.id)


def _adopt(
    ctx: AppContext,
    number: str,
    issue_date: str | None,
    index: str,
    download_id: str,
    data: bytes,
    archive: DownloadArchive,
) -> int | None:
    with db.write(ctx.engine) as conn:
        row = invoice_store.by_number(conn, number)
        if row is None or row.anaf_state != UNKNOWN or str(row.issue_date) != issue_date:
            return None
        work = _work(row)
        work["reconciled"] = {"via": "message_list", "index": index}
        _set(
            conn,
            int(row.id),
            work,
            anaf_state=OK,
            upload_index=index,
            download_id=download_id,
        )
        invoice_store.log(
            conn, int(row.id), "anaf_reconciled", {"index": index, "via": "message_list"}
        )
        invoice_store.log(conn, int(row.id), "anaf_ok", {"download_id": download_id})
        _store_archive(ctx, conn, row, data, archive)
    log.info("invoice %s reconciled from the message list: index %s", number, index)
    return int(row.id)


# ---- status, archive, errors ----------------------------------------------------------------


def _poll(ctx: AppContext, row: Any, work: dict[str, Any]) -> Step:
    index = str(row.upload_index)
    state = str(row.anaf_state)
    take_quota(ctx, QuotaKind.STATUS, index)
    try:
        status = client(ctx).status(index)
    except AnafNotFound as exc:
        log.error("invoice %s: ANAF does not know index %s: %s", row.number, index, exc)
        return Step(state, 3600.0, exc.code)
    except AnafApiError as exc:
        if not exc.retryable and not isinstance(exc, AnafAuthError):
            raise
        return _wait_after(ctx, exc, state)
    invoice_id = int(row.id)
    with db.write(ctx.engine) as conn:
        fresh = _get(conn, invoice_id)
        if fresh.anaf_state != state or fresh.upload_index != row.upload_index:
            return Step(str(fresh.anaf_state), 0.0, "moved on")
        work = _work(fresh)
        if status.state is MessageState.IN_PROGRESS:
            polls = int(work.get("polls", 0)) + 1
            work["polls"] = polls
            _set(conn, invoice_id, work, anaf_state=IN_PROCESSING)
            if state == UPLOADED:
                invoice_store.log(conn, invoice_id, "anaf_in_processing", {"index": index})
            return Step(IN_PROCESSING, _poll_wait(ctx, polls))
        if status.state is MessageState.OK:
            _set(conn, invoice_id, work, anaf_state=OK, download_id=status.download_id)
            invoice_store.log(conn, invoice_id, "anaf_ok", {"download_id": status.download_id})
            next_state = OK
        elif status.state is MessageState.NOK:
            _set(conn, invoice_id, work, anaf_state=NOK, download_id=status.download_id)
            invoice_store.log(conn, invoice_id, "anaf_nok", {"download_id": status.download_id})
            next_state = NOK
        else:
            problem = Problem(
                code="E-ANAF-XML-NOT-TAKEN",
                field="invoice",
                message_ro="ANAF: XML cu erori nepreluat de sistem.",
                message_en="ANAF did not take the XML (XML cu erori nepreluat de sistem).",
                hint="Check the invoice against the CIUS-RO rules (`stripe-efactura validate`), "
                "then run `stripe-efactura invoices retry NUMBER`.",
                hint_ro="Verificați factura cu regulile CIUS-RO (`stripe-efactura validate`), "
                "apoi rulați `stripe-efactura invoices retry NUMĂR`.",
            )
            work["findings"] = [problem.to_dict()]
            _set(conn, invoice_id, work, anaf_state=REJECTED)
            invoice_store.log(conn, invoice_id, "anaf_rejected_at_upload", {"index": index})
            _attention(
                conn,
                fresh,
                "anaf_rejected",
                (problem,),
                f"ANAF a respins factura {fresh.number} / ANAF rejected invoice {fresh.number}",
            )
            return Step(REJECTED, None, problem.code)
    log.info("invoice %s: ANAF answered %s", row.number, next_state)
    return advance(ctx, invoice_id)


def archive_path(ctx: AppContext, number: str, issue_date: date) -> Path:
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", number)
    return Path(ctx.settings.data_dir) / "archive" / f"{issue_date.year:04d}" / f"{safe}.zip"


def _write_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _store_archive(
    ctx: AppContext, conn: Connection, row: Any, data: bytes, archive: DownloadArchive
) -> None:
    path = archive_path(ctx, str(row.number), row.issue_date)
    _write_file(path, data)
    invoice_store.update_invoice(conn, int(row.id), signed_zip=data)
    invoice_store.log(
        conn,
        int(row.id),
        "anaf_archived",
        {
            "path": str(path),
            "sha256": hashlib.sha256(data).hexdigest(),
            "files": [archive.document_name, archive.signature_name],
        },
    )


def _archive(ctx: AppContext, row: Any, work: dict[str, Any]) -> Step:
    download_id = str(row.download_id)
    take_quota(ctx, QuotaKind.DOWNLOAD, download_id)
    invoice_id = int(row.id)
    try:
        data = client(ctx).download(download_id)
        archive = parse_archive(data)
    except AnafDownloadExpired as exc:
        with db.write(ctx.engine) as conn:
            fresh = _get(conn, invoice_id)
            work = _work(fresh)
            work["archive_error"] = exc.code
            _set(conn, invoice_id, work)
            invoice_store.log(conn, invoice_id, "anaf_archive_expired", {"error": exc.message})
        return Step(OK, None, exc.code)
    except AnafApiError as exc:
        if not exc.retryable and not isinstance(exc, AnafAuthError):
            raise
        return _wait_after(ctx, exc, OK)
    with db.write(ctx.engine) as conn:
        fresh = _get(conn, invoice_id)
        if fresh.signed_zip is not None:
            return Step(OK, None, "already archived")
        _store_archive(ctx, conn, fresh, data, archive)
    log.info("invoice %s validated by ANAF and archived", row.number)
    return Step(OK, None)


def _read_errors(ctx: AppContext, row: Any, work: dict[str, Any]) -> Step:
    download_id = str(row.download_id)
    take_quota(ctx, QuotaKind.DOWNLOAD, download_id)
    invoice_id = int(row.id)
    try:
        archive = parse_archive(client(ctx).download(download_id))
    except AnafApiError as exc:
        if not exc.retryable and not isinstance(exc, AnafAuthError):
            raise
        return _wait_after(ctx, exc, NOK)
    errors = archive.error_file
    with db.write(ctx.engine) as conn:
        fresh = _get(conn, invoice_id)
        if fresh.anaf_state != NOK or fresh.download_id != row.download_id:
            return Step(str(fresh.anaf_state), 0.0, "moved on")
        work = _work(fresh)
        duplicate = errors.duplicate if errors is not None else None
        if duplicate is not None:
            work.update(
                duplicate_of=duplicate.index,
                rejected_duplicate=fresh.upload_index,
                polls=0,
            )
            _set(
                conn,
                invoice_id,
                work,
                anaf_state=UPLOADED,
                upload_index=duplicate.index,
                download_id=None,
            )
            invoice_store.log(
                conn,
                invoice_id,
                "anaf_reconciled",
                {
                    "index": duplicate.index,
                    "via": "duplicate_message",
                    "rejected_upload": fresh.upload_index,
                },
            )
            log.info("invoice %s was filed before under index %s", fresh.number, duplicate.index)
            return Step(UPLOADED, 0.0, f"duplicate of {duplicate.index}")
        findings = errors.findings if errors is not None else ()
        problems = tuple(
            explain.explain(f.rule or "ANAF", f.message_ro, f.message_en or f.message_ro)
            for f in findings
        )
        work["findings"] = [p.to_dict() for p in problems]
        _set(conn, invoice_id, work)
        invoice_store.log(conn, invoice_id, "anaf_findings", {"rules": [f.rule for f in findings]})
        _attention(
            conn,
            fresh,
            "anaf_rejected",
            problems,
            f"ANAF a respins factura {fresh.number} / ANAF rejected invoice {fresh.number}",
        )
    return Step(NOK, None, ",".join(f.rule or "?" for f in findings))


# --------------------------------------------------------------------------------------------
# Jobs: one chain of ``anaf_step`` jobs per invoice, plus a sweep
# --------------------------------------------------------------------------------------------

STEP_TASK = "anaf_step"
SWEEP_AFTER = timedelta(minutes=30)


def run_step_job(ctx: AppContext, args: dict[str, Any]) -> Step:
    """Jobs ``submit_anaf`` and ``anaf_step``: one :func:`advance`, then the next job of the
    chain (deduplicated by chain and step number, so a job that runs twice after a crash does
    not fork the chain)."""
    invoice_id = int(args["invoice_id"])
    gen = str(args.get("gen", "0"))
    number = int(args.get("step", 0)) + 1
    step = advance(ctx, invoice_id)
    if step.delay is not None:
        schedule(ctx, invoice_id, step.delay, gen=gen, step=number)
    return step


def schedule(
    ctx: AppContext, invoice_id: int, delay: float = 0.0, *, gen: str | None = None, step: int = 0
) -> None:
    """Enqueue the next ``anaf_step`` of an invoice (a new chain when ``gen`` is None)."""
    chain = gen if gen is not None else uuid.uuid4().hex[:12]
    with db.write(ctx.engine) as conn:
        enqueue_step(conn, invoice_id, delay, gen=chain, step=step)


def enqueue_step(
    conn: Connection, invoice_id: int, delay: float, *, gen: str, step: int = 0
) -> None:
    from ..jobs import queue

    queue.enqueue(
        conn,
        STEP_TASK,
        {"invoice_id": invoice_id, "gen": gen, "step": step},
        delay=delay,
        dedupe_key=f"anaf:{invoice_id}:{gen}:{step}",
        max_attempts=20,
    )


def _chained_ids(conn: Connection) -> set[int]:
    from ..store.tables import jobs

    rows = conn.execute(
        sa.select(jobs.c.args).where(
            jobs.c.task.in_((STEP_TASK, "submit_anaf")), jobs.c.status.in_(("queued", "running"))
        )
    ).scalars()
    out: set[int] = set()
    for raw in rows:
        try:
            out.add(int(json.loads(raw)["invoice_id"]))
        except (ValueError, KeyError, TypeError):
            continue
    return out


def has_work(state: str, work: dict[str, Any], unarchived: bool) -> bool:
    """Whether :func:`advance` still has something to do for an invoice in ``state``."""
    if state in (PENDING, UPLOADING, UNKNOWN, UPLOADED, IN_PROCESSING):
        return True
    if state == OK:
        return unarchived and not work.get("archive_error")
    if state == NOK:
        return "findings" not in work
    return False


def sweep(ctx: AppContext) -> list[int]:
    """Periodic ``anaf_sweep``: restart the chain of every invoice with ANAF work left and no
    live job (e.g. after its jobs died), and prune old quota buckets."""
    prune_quota(ctx)
    with db.write(ctx.engine) as conn:
        now = db.db_now(conn)  # updated_at is written with the database clock
        live = _chained_ids(conn)
        rows = conn.execute(
            sa.select(
                invoices.c.id,
                invoices.c.anaf_state,
                invoices.c.anaf_messages,
                invoices.c.signed_zip.is_(None).label("unarchived"),
            )
            .where(invoices.c.anaf_state.in_(ACTIVE))
            .where(invoices.c.updated_at < now - SWEEP_AFTER)
        ).all()
        started = []
        for row in rows:
            if row.id in live or not has_work(row.anaf_state, _work(row), row.unarchived):
                continue
            enqueue_step(conn, int(row.id), 0.0, gen=f"sweep-{uuid.uuid4().hex[:8]}")
            started.append(int(row.id))
    return started


# --------------------------------------------------------------------------------------------
# Deadlines
# --------------------------------------------------------------------------------------------


def _today(ctx: AppContext) -> date:
    return _now(ctx).astimezone(next_ro_midnight(_now(ctx)).tzinfo).date()


def deadline_status(row: Any, today: date) -> str | None:
    """``overdue`` (past the deadline, not validated), ``due`` (within one working day),
    or None. Test-mode invoices have no deadline."""
    from ..invoicing.deadlines import working_days_after

    if row.deadline is None or not row.livemode or row.anaf_state == OK:
        return None
    if today > row.deadline:
        return "overdue"
    if working_days_after(today, 1) >= row.deadline:
        return "due"
    return None


def check_deadlines(ctx: AppContext) -> list[str]:
    """Periodic ``anaf_deadlines``: a ``deadline`` notice (once each) for every live invoice
    not validated yet within one working day of its deadline, and again once overdue; then
    the ANAF authorisation expiry notices. Returns the refs recorded."""
    today = _today(ctx)
    recorded: list[str] = []
    with db.write(ctx.engine) as conn:
        rows = conn.execute(
            sa.select(invoices).where(
                invoices.c.anaf_state != OK,
                invoices.c.livemode.is_(True),
                invoices.c.deadline.is_not(None),
            )
        ).all()
        for row in rows:
            status = deadline_status(row, today)
            if status is None:
                continue
            ref = f"{row.number}:{status}"
            if anaf_tokens.notice_once(
                conn,
                "deadline",
                ref,
                _deadline_title(row, status),
                [_deadline_problem(row, status)],
            ):
                recorded.append(ref)
    recorded += anaf_tokens.check_expiry(ctx)
    return recorded


def _deadline_title(row: Any, status: str) -> str:
    if status == "overdue":
        return (
            f"Factura {row.number} a depășit termenul ANAF ({row.deadline}) / "
            f"Invoice {row.number} is past its ANAF deadline ({row.deadline})"
        )
    return (
        f"Factura {row.number} trebuie transmisă la ANAF până la {row.deadline} / "
        f"Invoice {row.number} must reach ANAF by {row.deadline}"
    )


def _deadline_problem(row: Any, status: str) -> Problem:
    late = status == "overdue"
    return Problem(
        code="W-ANAF-OVERDUE" if late else "W-ANAF-DEADLINE",
        field="invoice",
        message_ro=(
            f"Factura {row.number} (emisă {row.issue_date}, stare ANAF {row.anaf_state}) "
            + (
                f"a depășit termenul de transmitere {row.deadline}."
                if late
                else f"trebuie transmisă până la {row.deadline}."
            )
        ),
        message_en=(
            f"Invoice {row.number} (issued {row.issue_date}, ANAF state {row.anaf_state}) "
            + (
                f"missed the upload deadline {row.deadline}."
                if late
                else f"must be uploaded by {row.deadline}."
            )
        ),
        hint="See `stripe-efactura invoices show NUMBER`; fix what ANAF reported and run "
        "`stripe-efactura invoices retry NUMBER`.",
        hint_ro="Vedeți `stripe-efactura invoices show NUMĂR`; corectați ce a raportat ANAF și "
        "rulați `stripe-efactura invoices retry NUMĂR`.",
        fatal=False,
    )


# --------------------------------------------------------------------------------------------
# Listing, detail, retry
# --------------------------------------------------------------------------------------------


def _summary(row: Any, today: date) -> dict[str, Any]:
    work = _work(row)
    return {
        "number": row.number,
        "kind": row.kind,
        "series": row.series_code,
        "issue_date": row.issue_date.isoformat(),
        "total": row.total,
        "currency": row.currency,
        "livemode": bool(row.livemode),
        "payment_key": row.payment_key,
        "anaf_state": row.anaf_state,
        "upload_index": row.upload_index,
        "download_id": row.download_id,
        "archived": (
            bool(row.archived) if "archived" in row._mapping else row.signed_zip is not None
        ),
        "deadline": row.deadline.isoformat() if row.deadline else None,
        "deadline_status": deadline_status(row, today),
        "email_state": row.email_state,
        "findings": [f.get("code") for f in work.get("findings", [])],
        "reason": work.get("reason"),
    }


def invoices_listing(ctx: AppContext, *, overdue: bool = False) -> list[dict[str, Any]]:
    """``invoices list --json``; ``overdue``: only invoices due within one working day or late."""
    today = _today(ctx)
    columns = [c for c in invoices.c if c.name not in ("xml", "pdf", "signed_zip", "snapshot")]
    with db.read(ctx.engine) as conn:
        rows = conn.execute(
            sa.select(*columns, invoices.c.signed_zip.is_not(None).label("archived")).order_by(
                invoices.c.series_code, invoices.c.seq
            )
        ).all()
    out = [_summary(r, today) for r in rows]
    if overdue:
        out = [r for r in out if r["deadline_status"] is not None]
    return out


class InvoiceNotFound(AnafApiError):
    code = "E-INVOICE-NOT-FOUND"


class RetryRefused(AnafApiError):
    code = "E-INVOICE-RETRY-REFUSED"


def invoice_detail(ctx: AppContext, number: str) -> dict[str, Any]:
    """``invoices show NUMBER``: the summary, ANAF findings and the timeline."""
    with db.read(ctx.engine) as conn:
        row = invoice_store.by_number(conn, number)
        if row is None:
            raise InvoiceNotFound(f"no invoice numbered {number}")
        events = invoice_store.timeline(conn, int(row.id))
    out = _summary(row, _today(ctx))
    work = _work(row)
    out["findings"] = work.get("findings", [])
    out["anaf"] = {k: v for k, v in work.items() if k != "findings"}
    out["archive_path"] = (
        str(archive_path(ctx, str(row.number), row.issue_date)) if row.signed_zip else None
    )
    out["timeline"] = [
        {
            "at": e.at.isoformat(),
            "event": e.event,
            "detail": json.loads(e.detail) if e.detail else None,
        }
        for e in events
    ]
    return out


def rebuild_xml(ctx: AppContext, row: Any) -> tuple[bytes, str, str]:
    """The invoice rebuilt from its payment's current data (overrides included) with the SAME
    number and issue date: (xml, snapshot, validation summary). Raises InvoiceProblems."""
    from dataclasses import replace

    from ..errors import InvoiceProblems
    from ..intake.draft import draft_of
    from ..invoicing import build
    from ..invoicing.serialize import invoice_to_json
    from . import fx as fx_service
    from . import issuing

    with db.read(ctx.engine) as conn:
        pay = repo.get_payment(conn, row.payment_key)
    if pay is None:
        raise RetryRefused(f"payment {row.payment_key} of invoice {row.number} is not stored")
    sale = repo.sale_from_json(pay.sale)
    fx = None
    if sale.currency.upper() != "RON":
        fx = fx_service.rate_for(ctx, sale.currency, row.issue_date)
    overrides = build.BuyerOverrides.from_json(pay.overrides) if pay.overrides else None
    result = build.build_invoice(
        draft_of(sale), ctx.settings.invoicing, number=row.number, fx=fx, overrides=overrides
    )
    if result.problems or result.invoice is None:
        raise InvoiceProblems(result.problems)
    invoice = replace(result.invoice, number=row.number, issue_date=row.issue_date)
    xml = issuing.render_xml(ctx, invoice)
    problems, summary = issuing.validate_xml(ctx, xml)
    if problems:
        raise InvoiceProblems(problems)
    return xml, invoice_to_json(invoice), summary


def retry_invoice(
    ctx: AppContext,
    number: str,
    *,
    force: bool = False,
    corrected: tuple[bytes, str, str] | None = None,
) -> dict[str, Any]:
    """``invoices retry NUMBER``: send again an invoice ANAF did not validate (``nok``,
    ``rejected_at_upload``) or that was never sent (``not_uploaded``), rebuilt from the
    corrected payment data with the same number and date. The correction is recorded in the
    timeline. ``corrected`` replaces the rebuild (xml, snapshot, validation). An invoice ANAF
    validated is never re-sent (issue a storno); one in flight is left alone."""
    with db.read(ctx.engine) as conn:
        row = invoice_store.by_number(conn, number)
    if row is None:
        raise InvoiceNotFound(f"no invoice numbered {number}")
    state = str(row.anaf_state)
    if state == OK:
        raise RetryRefused(
            f"invoice {number} was validated by ANAF (index {row.upload_index}); it is never "
            "sent again: correct it with a storno and a new invoice"
        )
    if state not in RETRYABLE:
        raise RetryRefused(f"invoice {number} is {state}: its ANAF lifecycle is still running")
    if not row.livemode and ctx.settings.anaf_env == "prod":
        raise RetryRefused(
            f"invoice {number} is a test-mode invoice: never sent to ANAF production"
        )
    if corrected is None:
        corrected = (
            rebuild_xml(ctx, row)
            if row.kind == "invoice"
            else (bytes(row.xml), row.snapshot, row.validation or "")
        )
    xml, snapshot, summary = corrected
    changed = xml != bytes(row.xml)
    if not changed and not force and state != NOT_UPLOADED:
        raise RetryRefused(
            f"invoice {number} rebuilt from the current data is identical to the one ANAF "
            "refused: correct the payment data first (or use --force to send it unchanged)"
        )
    gen = f"retry-{uuid.uuid4().hex[:8]}"
    with db.write(ctx.engine) as conn:
        fresh = _get(conn, int(row.id))
        if fresh.anaf_state != state:
            raise RetryRefused(f"invoice {number} changed state meanwhile ({fresh.anaf_state})")
        work = _work(fresh)
        history = list(work.get("history", []))
        history.append(
            {
                "state": state,
                "upload_index": fresh.upload_index,
                "findings": [f.get("code") for f in work.get("findings", [])],
            }
        )
        detail = {
            "previous_state": state,
            "previous_index": fresh.upload_index,
            "xml_changed": changed,
            "old_sha256": hashlib.sha256(bytes(fresh.xml)).hexdigest(),
            "new_sha256": hashlib.sha256(xml).hexdigest(),
        }
        values: dict[str, Any] = {}
        if changed:
            values.update(xml=xml, snapshot=snapshot, validation=summary)
        _set(
            conn,
            int(row.id),
            {"history": history, "uploads": work.get("uploads", 0)},
            anaf_state=PENDING,
            upload_index=None,
            download_id=None,
            **values,
        )
        invoice_store.log(conn, int(row.id), "corrected" if changed else "resent", detail)
        repo.set_payment_status(conn, fresh.payment_key, "invoiced")
        enqueue_step(conn, int(row.id), 0.0, gen=gen)
    return {"number": number, "anaf_state": PENDING, **detail}
