"""Reconciling an invoice whose upload outcome is ``unknown`` (lost answer, crash).

The SPV message list (``listaMesajePaginatieFactura``, filter ``T``: invoices ANAF validated)
from just before the first intent up to now is read; every listed message not yet linked to one
of our invoices is downloaded once and matched by seller CUI, BT-1 and BT-2
(:func:`responses.invoice_key`). A match is adopted with its index, download id and signed ZIP
(the ZIP read for matching *is* the archive). When nothing matches after
:attr:`Tuning.reconcile_grace_seconds`, the invoice is uploaded again deliberately. That is safe:
a lost upload that ANAF rejected (``nok``) counts as never transmitted; one still being
processed after the grace period, or one ANAF validated but not yet listed, makes ANAF reject
the new upload with ``Factura a mai fost transmisa anterior cu index=<i>``, and that message
gives us ``<i>``, which is adopted (and polled, downloaded, archived). ANAF therefore never
holds two validated filings of one invoice.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta

from ..anaf.archive import DownloadArchive, InvoiceKey, invoice_key
from ..anaf.errors import AnafApiError
from ..anaf.quotas import QuotaKind
from ..anaf.responses import MessageEntry
from ..store import anaf_invoices, anaf_quota, anaf_work, db
from ..store import invoices as invoice_store
from ..store.anaf_work import AnafState, Lifecycle, Reconciled
from . import anaf_archive, anaf_deadlines, anaf_downloads, anaf_port, anaf_tokens
from .anaf_port import Step
from .context import AppContext

log = logging.getLogger("stripe_efactura.anaf")


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def reconcile(ctx: AppContext, inv: Lifecycle) -> Step | None:
    """One reconciliation pass for an ``unknown`` invoice. None: nothing was found within the
    grace period and the invoice is back in ``pending_upload``, to be uploaded now."""
    tune = anaf_port.tuning(ctx)
    now = anaf_port.now(ctx)
    intent = inv.work.intent_at
    assert intent is not None
    since = inv.work.unknown_since
    if since is not None and anaf_deadlines.unknown_too_long(ctx, since):
        with db.write(ctx.engine) as conn:
            anaf_deadlines.unknown_notice(conn, ctx, inv.number, since)
    # from the first attempt: an earlier lost upload may be listed late (ANAF lists 60 days)
    first = inv.work.first_intent_at or intent
    start = max(first - timedelta(minutes=5), now - timedelta(days=59))
    end = now - timedelta(seconds=tune.list_lag_seconds)
    give_up = intent + timedelta(seconds=tune.reconcile_grace_seconds)
    if end > start:
        try:
            adopted = match_listed(ctx, start, end)
        except anaf_quota.QuotaWait as no_slot:
            # the list cannot be read now; the re-upload after the grace period does not
            # need it (ANAF answers a duplicate upload with the original index)
            if now < give_up:
                until = min(no_slot.until, give_up)
                return Step(AnafState.UNKNOWN, max(1.0, anaf_port.seconds_until(ctx, until)))
            return _give_up(ctx, inv.id)
        if inv.id in adopted:
            return Step(AnafState.OK, 0.0, f"found in the message list: {adopted[inv.id]}")
    if now < give_up:
        wait = min(tune.reconcile_every_seconds, max(1.0, anaf_port.seconds_until(ctx, give_up)))
        return Step(AnafState.UNKNOWN, max(wait, tune.list_lag_seconds if end <= start else 1.0))
    return _give_up(ctx, inv.id)


def _give_up(ctx: AppContext, invoice_id: int) -> Step | None:
    with db.write(ctx.engine) as conn:
        fresh = anaf_work.load(conn, invoice_id, lock=True)
        if fresh is None or fresh.state is not AnafState.UNKNOWN:
            return Step(fresh.state if fresh else None, 0.0, "moved on")
        work = replace(fresh.work, reupload_after_unknown=fresh.work.attempt)
        anaf_work.save(conn, invoice_id, work, AnafState.PENDING)
        invoice_store.log(
            conn,
            invoice_id,
            "anaf_reupload",
            {
                "reason": "not in the SPV message list after the grace period; a duplicate "
                "upload would be rejected by ANAF with the original index"
            },
        )
    return None


def match_listed(ctx: AppContext, start: datetime, end: datetime) -> dict[int, str]:
    """Read ANAF's list of validated invoices between ``start`` and ``end``; adopt every
    listed filing that belongs to one of our ``unknown`` invoices. Returns
    ``{invoice_id: upload_index}`` adopted now."""
    cui = anaf_tokens.company_cui(ctx)
    anaf = anaf_port.client(ctx)
    with db.read(ctx.engine) as conn:
        known = anaf_invoices.known_upload_indexes(conn)
    adopted: dict[int, str] = {}
    page = 1
    while True:
        anaf_port.take_quota(ctx, QuotaKind.LIST_PAGED, cui)
        try:
            result = anaf.list_messages(cui, _ms(start), _ms(end), page, "T")
        except AnafApiError as exc:
            log.warning("message list failed: %s", exc)
            return adopted
        for entry in result.messages:
            if entry.upload_index and entry.upload_index not in known and entry.download_id:
                found = _match_entry(ctx, cui, entry)
                if found is not None:
                    adopted[found] = entry.upload_index
        if not result.has_next:
            return adopted
        page += 1


def _match_entry(ctx: AppContext, cui: str, entry: MessageEntry) -> int | None:
    """Download a listed filing (once per process) and adopt it if it is one of ours."""
    index, download_id = str(entry.upload_index), str(entry.download_id)
    # listed filings already read: a filing seen before its invoice became ``unknown`` is
    # matched again here, one never ours is skipped
    seen = ctx.caches.anaf_listed.get(index)
    if seen is not None and (seen[0] is None or _unknown_invoice(ctx, seen[0]) is None):
        return None
    try:
        data, archive = anaf_downloads.fetch(ctx, download_id, index)
    except anaf_downloads.DownloadDeferred:
        return None  # failed before: backed off, the other listed messages go on
    except anaf_quota.QuotaWait as wait:
        if not wait.per_message:
            raise
        log.info("listed message %s skipped: %s", index, wait)
        return None  # this message's quota: never a wait for the invoice being reconciled
    except AnafApiError as exc:
        log.warning("download of listed message %s failed: %s", index, exc)
        return None
    key = None if archive.is_error else invoice_key(archive.document)
    ctx.caches.anaf_listed[index] = (key, download_id)
    if key is None or key.seller_cif != cui or key.number is None:
        return None
    return _adopt(ctx, key, index, download_id, data, archive)


def _unknown_invoice(ctx: AppContext, key: InvoiceKey) -> int | None:
    with db.read(ctx.engine) as conn:
        row = invoice_store.by_number(conn, str(key.number))
    if row is None or row.anaf_state != AnafState.UNKNOWN or str(row.issue_date) != key.issue_date:
        return None
    return int(row.id)


def _adopt(
    ctx: AppContext,
    key: InvoiceKey,
    index: str,
    download_id: str,
    data: bytes,
    archive: DownloadArchive,
) -> int | None:
    with db.write(ctx.engine) as conn:
        row = invoice_store.by_number(conn, str(key.number))
        if row is None:
            return None
        inv = anaf_work.lifecycle(row)
        if inv.state is not AnafState.UNKNOWN or str(row.issue_date) != key.issue_date:
            return None
        work = replace(inv.work, reconciled=Reconciled("message_list", index), unknown_since=None)
        anaf_work.save(
            conn, inv.id, work, AnafState.OK, upload_index=index, download_id=download_id
        )
        invoice_store.log(conn, inv.id, "anaf_reconciled", {"index": index, "via": "message_list"})
        invoice_store.log(conn, inv.id, "anaf_ok", {"download_id": download_id})
        anaf_archive.store_archive(ctx, conn, inv, data, archive)
    log.info("invoice %s reconciled from the message list: index %s", inv.number, index)
    return inv.id
