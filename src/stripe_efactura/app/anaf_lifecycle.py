"""The ANAF e-Factura lifecycle of each issued invoice: upload exactly once, follow, archive.

States (:class:`store.anaf_work.AnafState`, ``invoices.anaf_state``)::

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
- **Reconciling ``unknown``**: :mod:`app.anaf_reconcile`.
- **Quotas** (:mod:`store.anaf_quota`): every ANAF call first takes a slot shared by all
  processes; a call that has no slot is not made and the step says when to come back.
- **Polling** follows :func:`quotas.poll_delay` (at most 46 polls in any 24 hours). On the job
  path the answer of a fresh upload is first awaited from one shared sweep of the message list
  (:mod:`app.anaf_status_list`); these polls are the fallback.
- **ok**: the signed ZIP is archived (:mod:`app.anaf_archive`; off-peak after an ``ok`` read
  from the message list).
- **nok**: the error file is parsed; the findings are explained (``ubl.explain``) on the
  payment (``needs_attention``) and in an ``anaf_rejected`` notice, unless the only news is the
  duplicate message (then the original index is adopted).

Everything here is driven by :func:`advance` (one step for one invoice, returning when to come
back), which the ``anaf_step`` job calls (:mod:`app.anaf_jobs`); tests drive it directly with a
fake clock.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

from ..anaf.errors import (
    AnafApiError,
    AnafAuthError,
    AnafNetworkError,
    AnafNotFound,
    AnafQuotaExceeded,
    AnafRejected,
    AnafTimeout,
    AnafWafRejected,
    UploadOutcomeUnknown,
)
from ..anaf.oauth import OAuthError
from ..anaf.quotas import QuotaKind, poll_delay
from ..anaf.responses import MessageState, StatusResult
from ..errors import EfacturaError, Problem
from ..store import anaf_quota, anaf_work, db
from ..store import invoices as invoice_store
from ..store.anaf_work import AnafState, Lifecycle
from . import (
    anaf_archive,
    anaf_findings,
    anaf_intent,
    anaf_port,
    anaf_reconcile,
    anaf_status_list,
    anaf_tokens,
)
from .anaf_port import Step, Then
from .context import AppContext

log = logging.getLogger("stripe_efactura.anaf")
S = AnafState
#: Firewall pages at upload tried again before the invoice is ``rejected_at_upload``.
WAF_RETRIES = 3
#: Each retry after a firewall page waits this many times longer than the one before.
WAF_BACKOFF = 4


def advance(ctx: AppContext, invoice_id: int, *, then: Then | None = None) -> Step:
    """Do the next thing for one invoice; idempotent and safe to run from many processes.

    ``then`` runs inside the step's last write transaction where the step ends in one that
    it can share (a successful upload: the answer, the chain's next job and the job's
    completion in one commit); the returned step says so (``followed``)."""
    with db.read(ctx.engine) as conn:
        inv = anaf_work.load_for_step(conn, invoice_id)
    if inv is None:
        return Step(None, None, "no such invoice")
    try:
        return _dispatch(ctx, inv, then)
    except anaf_quota.QuotaWait as wait:
        delay = max(1.0, anaf_port.seconds_until(ctx, wait.until))
        return Step(inv.state, delay, str(wait), quota=None if wait.per_message else wait)
    except anaf_tokens.NotAuthorised as exc:
        log.warning("invoice %s waits for ANAF authorisation: %s", inv.number, exc)
        return Step(inv.state, 3600.0, exc.code)
    except OAuthError as exc:
        log.warning("invoice %s waits for the ANAF token endpoint: %s", inv.number, exc)
        return Step(inv.state, anaf_port.tuning(ctx).retry_seconds, exc.code)


def _dispatch(ctx: AppContext, inv: Lifecycle, then: Then | None = None) -> Step:
    state, work = inv.state, inv.work
    if state is S.PENDING:
        return _upload(ctx, inv.id, then, seen=inv)
    if state is S.UPLOADING:
        return _interrupted(ctx, inv)
    if state is S.UNKNOWN:
        step = anaf_reconcile.reconcile(ctx, inv)
        return _upload(ctx, inv.id, then) if step is None else step
    if state in (S.UPLOADED, S.IN_PROCESSING):
        return anaf_status_list.wait_for_sweep(ctx, inv) or _poll(ctx, inv)
    if state is S.OK and not inv.row.has_signed_zip and not work.archive_error:
        return anaf_archive.archive_step(ctx, inv)
    if state is S.NOK and work.findings is None:
        return anaf_findings.read_findings(ctx, inv)
    return Step(state, None)


def _problem_from_error(exc: AnafApiError, pages: int = 1) -> Problem:
    if isinstance(exc, AnafWafRejected):
        return Problem(
            code="E-ANAF-WAF",
            field="invoice",
            message_ro=f"Firewall-ul ANAF a răspuns de {pages} ori cu pagina „Request Rejected” "
            f"(ID suport {exc.support_id}); ANAF nu a primit factura.",
            message_en=f"ANAF's firewall answered its 'Request Rejected' page {pages} times "
            f"(support ID {exc.support_id}); ANAF did not receive the invoice.",
            hint="This is often temporary: run `stripe-efactura invoices retry NUMBER` later "
            "(no --force needed). If it persists, texts such as ';CP ' in an address or an "
            "xsi:schemaLocation trigger it: correct the data, then retry.",
            hint_ro="Adesea este temporar: rulați mai târziu `stripe-efactura invoices retry "
            "NUMĂR` (fără --force). Dacă persistă, texte precum „;CP ” într-o adresă sau "
            "xsi:schemaLocation îl declanșează: corectați datele, apoi reîncercați.",
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


# ---- upload ------------------------------------------------------------------------------------


def _upload(
    ctx: AppContext, invoice_id: int, then: Then | None = None, seen: Lifecycle | None = None
) -> Step:
    waiting = _token_or_wait(ctx, invoice_id)  # no intent without a usable token
    if waiting is not None:
        return waiting
    intent = anaf_intent.record_intent(ctx, invoice_id, seen)
    if isinstance(intent, Step):
        return intent
    attempt = intent.attempt
    try:
        result = anaf_port.client(ctx).upload(
            intent.xml,
            anaf_tokens.company_cui(ctx),
            standard=intent.standard,  # type: ignore[arg-type]
            b2c=intent.mode["b2c"],
            extern=intent.mode["extern"],
        )
    except UploadOutcomeUnknown as exc:
        return _to_unknown(ctx, invoice_id, attempt, exc.cause_code, exc.message)
    except (OAuthError, anaf_tokens.NotAuthorised) as exc:
        # the token was asked for before the request was built: nothing was sent
        reason = _token_reason(exc)
        _back_to_pending(ctx, invoice_id, attempt, exc.code, reason=reason)
        return Step(S.PENDING, _token_wait(ctx, exc), exc.code)
    except (AnafNetworkError, AnafTimeout, AnafQuotaExceeded, AnafAuthError) as exc:
        # nothing reached ANAF (connect failure, quota, token refused): the intent is void
        _back_to_pending(ctx, invoice_id, attempt, exc.code)
        return anaf_port.wait_after(ctx, exc, S.PENDING)
    except AnafWafRejected as exc:
        return _firewall_page(ctx, invoice_id, attempt, exc)
    except AnafRejected as exc:
        return _rejected_at_upload(ctx, invoice_id, attempt, _problem_from_error(exc))
    with db.write(ctx.engine) as conn:
        stale = anaf_intent.record_upload(
            conn, invoice_id, intent, result.index, result.date_response
        )
        if stale is not None:
            log.error("invoice %s: upload answer for a stale attempt", intent.number)
            return stale
        step = Step(S.UPLOADED, poll_wait(ctx, 0))
        if then is not None:
            then(conn, step)
            step = replace(step, followed=True)
    log.info("invoice %s uploaded: index %s", intent.number, result.index)
    return step


def _token_reason(exc: EfacturaError) -> str:
    return f"{exc.code}: no usable ANAF token ({exc.message}); nothing was sent to ANAF"


def _token_wait(ctx: AppContext, exc: EfacturaError) -> float:
    if isinstance(exc, anaf_tokens.NotAuthorised):
        return 3600.0  # a person must authorise: no point asking the token endpoint sooner
    return anaf_port.tuning(ctx).retry_seconds


def _token_or_wait(ctx: AppContext, invoice_id: int) -> Step | None:
    """Get (refresh) the access token before any intent is recorded. When the token endpoint
    fails the invoice stays ``pending_upload`` with the reason; None: a token is there."""
    try:
        anaf_tokens.access_token(ctx)
    except (OAuthError, anaf_tokens.NotAuthorised) as exc:
        reason = _token_reason(exc)
        with db.write(ctx.engine) as conn:
            inv = anaf_work.load(conn, invoice_id, lock=True)
            if inv is not None and inv.state is S.PENDING and inv.work.reason != reason:
                anaf_work.save(conn, invoice_id, replace(inv.work, reason=reason))
                invoice_store.log(conn, invoice_id, "anaf_upload_waits", {"error": exc.code})
        log.warning("invoice %s waits for an ANAF token: %s", invoice_id, exc)
        return Step(S.PENDING, _token_wait(ctx, exc), exc.code)
    return None


def poll_wait(ctx: AppContext, polls: int) -> float:
    return float(poll_delay(polls)) * max(0.0, anaf_port.tuning(ctx).poll_scale)


def _to_unknown(ctx: AppContext, invoice_id: int, attempt: str, cause: str, text: str) -> Step:
    with db.write(ctx.engine) as conn:
        inv = anaf_intent.current_attempt(conn, invoice_id, attempt)
        if isinstance(inv, Step):
            return inv
        # the first time the outcome became unknown (kept across deliberate re-uploads)
        work = replace(inv.work, unknown_since=inv.work.unknown_since or anaf_port.now(ctx))
        anaf_work.save(conn, invoice_id, work, S.UNKNOWN)
        invoice_store.log(
            conn,
            invoice_id,
            "anaf_upload_unknown",
            {"attempt": attempt, "cause": cause, "text": text},
        )
    log.warning("invoice %s: upload outcome unknown (%s)", inv.number, cause)
    return Step(S.UNKNOWN, anaf_port.tuning(ctx).list_lag_seconds, cause)


def _back_to_pending(
    ctx: AppContext,
    invoice_id: int,
    attempt: str,
    code: str,
    *,
    reason: str | None = None,
    waf_pages: int | None = None,
    **detail: object,
) -> bool:
    """The upload of ``attempt`` reached nobody: back to ``pending_upload`` (the intent is
    void). False when the attempt is stale."""
    with db.write(ctx.engine) as conn:
        inv = anaf_intent.current_attempt(conn, invoice_id, attempt)
        if isinstance(inv, Step):
            return False
        work = replace(
            inv.work,
            attempt=None,
            uploads=max(0, inv.work.uploads - 1),
            reason=reason,
            waf_pages=inv.work.waf_pages if waf_pages is None else waf_pages,
        )
        anaf_work.save(conn, invoice_id, work, S.PENDING)
        invoice_store.log(conn, invoice_id, "anaf_upload_not_sent", {"error": code, **detail})
    return True


def _firewall_page(ctx: AppContext, invoice_id: int, attempt: str, exc: AnafWafRejected) -> Step:
    """ANAF's firewall answered its "Request Rejected" page: nothing was taken. Often a
    passing block, so the upload is tried again :data:`WAF_RETRIES` times (waiting longer each
    time) before the invoice is ``rejected_at_upload``, which ``invoices retry`` then sends
    again without ``--force``."""
    with db.read(ctx.engine) as conn:
        inv = anaf_work.load(conn, invoice_id)
    pages = (inv.work.waf_pages if inv is not None else 0) + 1
    if pages > WAF_RETRIES:
        return _rejected_at_upload(ctx, invoice_id, attempt, _problem_from_error(exc, pages))
    wait = anaf_port.tuning(ctx).retry_seconds * WAF_BACKOFF ** (pages - 1)
    reason = (
        f"E-ANAF-WAF: ANAF's firewall answered 'Request Rejected' (support ID "
        f"{exc.support_id}); nothing was taken; upload {pages + 1} in {wait:.0f} s"
    )
    _back_to_pending(
        ctx, invoice_id, attempt, exc.code, reason=reason, waf_pages=pages, support=exc.support_id
    )
    return Step(S.PENDING, wait, exc.code)


def _rejected_at_upload(ctx: AppContext, invoice_id: int, attempt: str, problem: Problem) -> Step:
    with db.write(ctx.engine) as conn:
        inv = anaf_intent.current_attempt(conn, invoice_id, attempt)
        if isinstance(inv, Step):
            return inv
        work = replace(inv.work, findings=(problem,), unknown_since=None, reason=None)
        anaf_work.save(conn, invoice_id, work, S.REJECTED)
        invoice_store.log(conn, invoice_id, "anaf_rejected_at_upload", {"code": problem.code})
        anaf_port.rejected(conn, inv.row, (problem,))
    return Step(S.REJECTED, None, problem.code)


def _interrupted(ctx: AppContext, inv: Lifecycle) -> Step:
    """``uploading`` found by a job: still in flight, or the worker died after sending."""
    assert inv.work.intent_at is not None
    ready = inv.work.intent_at + timedelta(seconds=anaf_port.tuning(ctx).inflight_seconds)
    if anaf_port.now(ctx) < ready:
        wait = max(1.0, anaf_port.seconds_until(ctx, ready))
        return Step(S.UPLOADING, wait, "upload may be in flight")
    return _to_unknown(
        ctx,
        inv.id,
        str(inv.work.attempt),
        "E-WORKER-INTERRUPTED",
        "the worker stopped between sending the upload and recording its answer",
    )


# ---- status ------------------------------------------------------------------------------------

XML_NOT_TAKEN = Problem(
    code="E-ANAF-XML-NOT-TAKEN",
    field="invoice",
    message_ro="ANAF: XML cu erori nepreluat de sistem.",
    message_en="ANAF did not take the XML (XML cu erori nepreluat de sistem).",
    hint="Check the invoice against the CIUS-RO rules (`stripe-efactura validate`), "
    "then run `stripe-efactura invoices retry NUMBER`.",
    hint_ro="Verificați factura cu regulile CIUS-RO (`stripe-efactura validate`), "
    "apoi rulați `stripe-efactura invoices retry NUMĂR`.",
)


def _poll(ctx: AppContext, inv: Lifecycle) -> Step:
    index = str(inv.row.upload_index)
    anaf_port.take_quota(ctx, QuotaKind.STATUS, index)
    try:
        status = anaf_port.client(ctx).status(index)
    except AnafNotFound as exc:
        log.error("invoice %s: ANAF does not know index %s: %s", inv.number, index, exc)
        return Step(inv.state, 3600.0, exc.code)
    except AnafApiError as exc:
        if not exc.retryable and not isinstance(exc, AnafAuthError):
            raise
        return anaf_port.wait_after(ctx, exc, inv.state)
    step = _record_status(ctx, inv, status)
    if step is not None:
        return step
    return advance(ctx, inv.id)


def _record_status(ctx: AppContext, inv: Lifecycle, status: StatusResult) -> Step | None:
    """Write ANAF's status answer; None when the invoice reached a final answer (ok/nok) and
    the next step (archive, findings) follows at once."""
    index = str(inv.row.upload_index)
    with db.write(ctx.engine) as conn:
        fresh = anaf_work.load(conn, inv.id, lock=True)
        if fresh is None or fresh.state is not inv.state or fresh.row.upload_index != index:
            return Step(fresh.state if fresh else None, 0.0, "moved on")
        if status.state is MessageState.IN_PROGRESS:
            work = replace(fresh.work, polls=fresh.work.polls + 1)
            anaf_work.save(conn, inv.id, work, S.IN_PROCESSING)
            if inv.state is S.UPLOADED:
                invoice_store.log(conn, inv.id, "anaf_in_processing", {"index": index})
            return Step(S.IN_PROCESSING, poll_wait(ctx, work.polls))
        if status.state in (MessageState.OK, MessageState.NOK):
            final = S.OK if status.state is MessageState.OK else S.NOK
            anaf_work.save(conn, inv.id, fresh.work, final, download_id=status.download_id)
            invoice_store.log(
                conn, inv.id, f"anaf_{final.value}", {"download_id": status.download_id}
            )
            log.info("invoice %s: ANAF answered %s", inv.number, final.value)
            return None
        work = replace(fresh.work, findings=(XML_NOT_TAKEN,))
        anaf_work.save(conn, inv.id, work, S.REJECTED)
        invoice_store.log(conn, inv.id, "anaf_rejected_at_upload", {"index": index})
        anaf_port.rejected(conn, fresh.row, (XML_NOT_TAKEN,))
    return Step(S.REJECTED, None, XML_NOT_TAKEN.code)
