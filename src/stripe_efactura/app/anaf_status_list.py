"""ANAF's answers for a burst of uploads from one sweep of the message list, not one
``stareMesaj`` per invoice.

In a burst (:func:`join_burst`: at least :attr:`Tuning.list_status_min_waiting` uploads wait for
their answer; a lone sale keeps the per-invoice path below and is ``ok`` and archived within
seconds) an invoice's job chain, after its upload, waits :attr:`Tuning.list_status_seconds`
(instead of polling at 5 s) and asks for a sweep: one ``anaf_status_sweep`` job, whatever the
number of invoices, reads ``listaMesajePaginatieFactura`` (500 messages per call, 90 000 calls
per CUI a day in our quota) from just before the oldest upload it covers, and records every
answer:

- ``ok`` only from a ``FACTURA TRIMISA`` message whose ``id_solicitare`` is the invoice's
  upload index and whose ``cif`` is our CUI; its ``id`` is the download id. The signed archive
  is then downloaded off-peak (:func:`anaf_archive.archive_time`), and the invoice's chain job
  is moved to that time.
- ``nok`` only from an ``ERORI FACTURA`` message matching the same way; the chain job runs at
  once and downloads the error file (findings), as after a ``stareMesaj`` ``nok``.
- Anything else is left alone: another CUI, another index, other kinds, two different
  messages for one index. ANAF lists a message only once it has processed the upload, so an
  invoice not listed is simply still waiting.

The per-invoice path stays: an invoice not answered by the list within
:attr:`Tuning.list_status_seconds` of its upload (the list failed, is out of quota, is missing,
or lags) is polled with ``stareMesaj`` as before, on the usual schedule. The sweep repeats
every :attr:`Tuning.list_sweep_seconds` while invoices it covers wait. One process sweeps at
a time (a lease row, :func:`anaf_quota.hold_lease`); the answers are recorded per invoice under
its row lock, only while it still waits with the same index, so a sweep racing a poll or a
second sweep records nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy.engine import Connection

from ..anaf.errors import AnafApiError
from ..anaf.oauth import OAuthError
from ..anaf.quotas import QuotaKind
from ..anaf.responses import MessageEntry
from ..jobs import queue
from ..store import anaf_invoices, anaf_quota, anaf_work, db
from ..store import invoices as invoice_store
from ..store.anaf_work import AnafState, AnafWork, Lifecycle
from . import anaf_archive, anaf_port, anaf_tokens
from .anaf_port import Step
from .context import AppContext

log = logging.getLogger("stripe_efactura.anaf")

SWEEP_TASK = "anaf_status_sweep"
OK_KIND = "FACTURA TRIMISA"
NOK_KIND = "ERORI FACTURA"
#: The list window starts this long before the oldest upload covered (``data_creare`` has
#: minutes only; clocks differ).
MARGIN = timedelta(minutes=2)
#: Waiting invoices uploaded this long ago at most are answered by a sweep (the window read).
COVER = timedelta(hours=1)
LEASE = "status_sweep"
SWEEP_UNDERWAY = "waits for the message list sweep under way"
LEASE_SECONDS = 300.0
CHUNK = 200


def enabled(ctx: AppContext) -> bool:
    tune = anaf_port.tuning(ctx)
    return tune.list_status and tune.poll_scale > 0


def join_burst(conn: Connection, ctx: AppContext) -> bool:
    """Whether a fresh upload waits for the sweep, and then :func:`request_sweep`, in the
    caller's write transaction: the list path is on and at least
    :attr:`Tuning.list_status_min_waiting` uploads (this one included) wait for an answer,
    or the global window already counts that many ANAF calls (a burst whose earlier uploads
    the list has just answered: after a pause for the window, the first uploads of the next
    bucket would otherwise poll and download one by one). One read answers both questions
    (the waiting uploads, a sweep queued) in the common case."""
    if not enabled(ctx):
        return False
    wanted = anaf_port.tuning(ctx).list_status_min_waiting
    waiting, queued = anaf_invoices.awaiting_and_queued(conn, wanted, SWEEP_TASK)
    if not waiting and anaf_quota.window_calls(conn, anaf_port.now(ctx)) < wanted:
        return False
    request_sweep(conn, ctx, queued=queued)
    return True


def request_sweep(
    conn: Connection, ctx: AppContext, delay: float | None = None, *, queued: bool | None = None
) -> None:
    """Make sure a sweep is queued (in the caller's transaction): one for all invoices.
    ``queued``: whether one is, when the caller has just read it. Two transactions may both
    find none (PostgreSQL); the lease keeps their sweeps apart."""
    if queued is None:
        queued = anaf_invoices.job_queued(conn, SWEEP_TASK)
    if queued:
        return
    wait = anaf_port.tuning(ctx).list_sweep_seconds if delay is None else delay
    queue.enqueue(conn, SWEEP_TASK, {}, delay=wait)


def wait_for_sweep(ctx: AppContext, inv: Lifecycle) -> Step | None:
    """For an invoice about to poll ``stareMesaj`` (uploaded or in processing): wait
    :attr:`Tuning.list_sweep_seconds` instead when a sweep reads the list right now (its lease
    is held or its job runs) and covers the upload; None: poll. At the end of a backlog the
    sweep and the chains' overdue polls fall due together: while one worker sweeps, the others
    would otherwise poll, one call each, the invoices the sweep is about to answer (its answer
    moves the waiting step on). A sweep that does not answer the invoice leaves it to poll."""
    if not enabled(ctx):
        return None
    since = inv.work.intent_at
    now = anaf_port.now(ctx)
    if since is None or since < now - COVER:
        return None
    with db.read(ctx.engine) as conn:
        underway = anaf_quota.lease_held(conn, LEASE, now) or anaf_invoices.job_running(
            conn, SWEEP_TASK, db.db_now(conn)
        )
    if not underway:
        return None
    return Step(inv.state, anaf_port.tuning(ctx).list_sweep_seconds, SWEEP_UNDERWAY)


def sweep_job(ctx: AppContext) -> float | None:
    """The ``anaf_status_sweep`` job: one sweep, then the next one while invoices wait."""
    delay = sweep(ctx)
    if delay is not None:
        with db.write(ctx.engine) as conn:
            request_sweep(conn, ctx, delay)
    return delay


def sweep(ctx: AppContext) -> float | None:
    """One sweep under the lease; seconds until the next one (None: nobody waits)."""
    now = anaf_port.now(ctx)
    with db.write(ctx.engine) as conn:
        if not anaf_quota.hold_lease(conn, LEASE, now, LEASE_SECONDS):
            return anaf_port.tuning(ctx).list_sweep_seconds  # another process sweeps
    try:
        return _sweep(ctx, now)
    finally:
        with db.write(ctx.engine) as conn:
            anaf_quota.drop_lease(conn, LEASE)


@dataclass(frozen=True)
class _Waiting:
    id: int
    index: str
    since: datetime


def _covered(ctx: AppContext, now: datetime) -> tuple[list[_Waiting], datetime]:
    """Invoices waiting for their answer, uploaded within :data:`COVER` (a sweep that ran
    late behind a busy queue still answers them), and the upload time from which an
    unanswered invoice keeps the sweeps going (older ones poll on their own)."""
    tune = anaf_port.tuning(ctx)
    young = now - timedelta(seconds=tune.list_status_seconds + tune.list_sweep_seconds)
    with db.read(ctx.engine) as conn:
        rows = anaf_invoices.awaiting_status(conn)
    out = []
    for row in rows:
        since = AnafWork.from_json(row.anaf_messages).intent_at
        if since is not None and since >= now - COVER:
            out.append(_Waiting(int(row.id), str(row.upload_index), since))
    return out, young


def _sweep(ctx: AppContext, now: datetime) -> float | None:
    tune = anaf_port.tuning(ctx)
    waiting, young = _covered(ctx, now)
    if not waiting:
        return None
    start = max(min(w.since for w in waiting) - MARGIN, now - timedelta(days=59))
    end = now - timedelta(seconds=tune.list_status_lag_seconds)
    if end <= start:
        return tune.list_sweep_seconds
    try:
        cui = anaf_tokens.company_cui(ctx)
        entries = list(_read(ctx, cui, start, end))
    except anaf_quota.QuotaWait as wait:
        return max(1.0, anaf_port.seconds_until(ctx, wait.until))
    except (AnafApiError, OAuthError, anaf_tokens.NotAuthorised) as exc:
        log.warning("message list sweep failed (invoices fall back to stareMesaj): %s", exc)
        return tune.retry_seconds
    answers = answers_for(entries, cui)
    found = [(w, answers[w.index]) for w in waiting if w.index in answers]
    for i in range(0, len(found), CHUNK):
        _record(ctx, found[i : i + CHUNK])
    left = [w for w in waiting if w.index not in answers and w.since >= young]
    return tune.list_sweep_seconds if left else None


def _read(ctx: AppContext, cui: str, start: datetime, end: datetime) -> Iterable[MessageEntry]:
    """Every message of the window, page by page (a quota slot per page)."""
    page = 1
    while True:
        anaf_port.take_quota(ctx, QuotaKind.LIST_PAGED, cui)
        result = anaf_port.client(ctx).list_messages(
            cui, int(start.timestamp() * 1000), int(end.timestamp() * 1000), page
        )
        yield from result.messages
        if not result.has_next:
            return
        page += 1


def _digits(cif: str) -> str:
    return cif.strip().upper().removeprefix("RO")


def answers_for(entries: Iterable[MessageEntry], cui: str) -> dict[str, MessageEntry]:
    """``{upload index: its answer}`` from listed messages: ``FACTURA TRIMISA`` or ``ERORI
    FACTURA`` of our CUI with an index and a download id; an index with two different
    answers is left out (the invoice's own ``stareMesaj`` decides)."""
    out: dict[str, MessageEntry] = {}
    clash: set[str] = set()
    for entry in entries:
        if entry.kind not in (OK_KIND, NOK_KIND) or _digits(entry.cif) != _digits(cui):
            continue
        if not entry.upload_index or not entry.download_id:
            continue
        seen = out.get(entry.upload_index)
        if seen is not None and (seen.kind, seen.download_id) != (entry.kind, entry.download_id):
            clash.add(entry.upload_index)
        out[entry.upload_index] = entry
    return {k: v for k, v in out.items() if k not in clash}


@dataclass(frozen=True)
class _Answer:
    """What a listed answer writes for one invoice: its new state and work record, the
    timeline line, and when its chain's job runs next (seconds from now)."""

    invoice_id: int
    state: AnafState
    work: AnafWork | None
    download_id: str
    event: str
    detail: dict[str, object]
    wait: float


def _answer(
    ctx: AppContext, inv: Lifecycle, waiting: _Waiting, entry: MessageEntry
) -> _Answer | None:
    """The :class:`_Answer` of ``entry`` for the invoice (read under its row lock); None when
    the invoice no longer waits with that upload index (a poll or another sweep answered)."""
    if inv.state not in (AnafState.UPLOADED, AnafState.IN_PROCESSING):
        return None
    if inv.row.upload_index != waiting.index:
        return None
    detail: dict[str, object] = {"download_id": entry.download_id, "via": "message_list"}
    download_id = str(entry.download_id)
    if entry.kind != OK_KIND:
        return _Answer(inv.id, AnafState.NOK, None, download_id, "anaf_nok", detail, 0.0)
    after = anaf_archive.archive_time(ctx, inv.id)
    if after is not None:
        detail["archive_after"] = after.isoformat()
    wait = 0.0 if after is None else anaf_port.seconds_until(ctx, after)
    work = replace(inv.work, archive_after=after)
    return _Answer(inv.id, AnafState.OK, work, download_id, "anaf_ok", detail, wait)


def _record(ctx: AppContext, found: list[tuple[_Waiting, MessageEntry]]) -> None:
    """Record the answers of one chunk in one write transaction, each invoice under its row
    lock: the rows read, updated, logged and their chains moved with a statement each
    (``executemany`` for the updates), not five per invoice."""
    with db.write(ctx.engine) as conn:
        rows = invoice_store.heads(conn, [w.id for w, _entry in found], for_update=True)
        answers = [
            answer
            for waiting, entry in found
            if (row := rows.get(waiting.id)) is not None
            and (answer := _answer(ctx, anaf_work.lifecycle(row), waiting, entry)) is not None
        ]
        invoice_store.update_many(
            conn,
            [
                (a.invoice_id, anaf_work.changes(a.work, a.state, download_id=a.download_id))
                for a in answers
            ],
        )
        invoice_store.log_many(conn, [(a.invoice_id, a.event, a.detail) for a in answers])
        now = db.db_now(conn)
        anaf_invoices.move_chains(
            conn, {a.invoice_id: now + timedelta(seconds=max(0.0, a.wait)) for a in answers}
        )
    log.info("message list: %d answer(s) recorded", len(answers))
