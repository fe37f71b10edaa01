"""An invoice ANAF answered ``nok``: read the error file once. ANAF's findings are explained
(``ubl.explain``) on the payment and in an ``anaf_rejected`` notice, unless the only news is
the duplicate message (``Factura a mai fost transmisa anterior cu index=<i>``): then the
original filing is adopted and followed."""

from __future__ import annotations

import logging
from dataclasses import replace

from sqlalchemy.engine import Connection

from ..anaf.archive import DuplicateInfo, ErrorFile
from ..anaf.errors import AnafApiError, AnafAuthError
from ..store import anaf_work, db
from ..store import invoices as invoice_store
from ..store.anaf_work import AnafState, Lifecycle
from ..ubl import explain
from . import anaf_downloads, anaf_port
from .anaf_port import Step
from .context import AppContext

log = logging.getLogger("stripe_efactura.anaf")


def read_findings(ctx: AppContext, inv: Lifecycle) -> Step:
    download_id = str(inv.row.download_id)
    try:
        _, archive = anaf_downloads.fetch(ctx, download_id, inv.row.upload_index)
    except anaf_downloads.DownloadDeferred as deferred:
        return Step(AnafState.NOK, max(1.0, anaf_port.seconds_until(ctx, deferred.until)))
    except AnafApiError as exc:
        if not exc.retryable and not isinstance(exc, AnafAuthError):
            raise
        return anaf_port.wait_after(ctx, exc, AnafState.NOK)
    errors = archive.error_file
    with db.write(ctx.engine) as conn:
        fresh = anaf_work.load(conn, inv.id, lock=True)
        if (
            fresh is None
            or fresh.state is not AnafState.NOK
            or fresh.row.download_id != download_id
        ):
            return Step(fresh.state if fresh else None, 0.0, "moved on")
        duplicate = errors.duplicate if errors is not None else None
        if duplicate is not None:
            return _adopt_original(conn, fresh, duplicate)
        return _record_findings(conn, fresh, errors)


def _adopt_original(conn: Connection, inv: Lifecycle, duplicate: DuplicateInfo) -> Step:
    """ANAF holds an earlier filing of this invoice: follow that one instead."""
    rejected = inv.row.upload_index
    work = replace(inv.work, duplicate_of=duplicate.index, rejected_duplicate=rejected, polls=0)
    anaf_work.save(
        conn, inv.id, work, AnafState.UPLOADED, upload_index=duplicate.index, download_id=None
    )
    invoice_store.log(
        conn,
        inv.id,
        "anaf_reconciled",
        {"index": duplicate.index, "via": "duplicate_message", "rejected_upload": rejected},
    )
    log.info("invoice %s was filed before under index %s", inv.number, duplicate.index)
    return Step(AnafState.UPLOADED, 0.0, f"duplicate of {duplicate.index}")


def _record_findings(conn: Connection, inv: Lifecycle, errors: ErrorFile | None) -> Step:
    findings = errors.findings if errors is not None else ()
    problems = tuple(
        explain.explain(f.rule or "ANAF", f.message_ro, f.message_en or f.message_ro)
        for f in findings
    )
    anaf_work.save(conn, inv.id, replace(inv.work, findings=problems))
    invoice_store.log(conn, inv.id, "anaf_findings", {"rules": [f.rule for f in findings]})
    anaf_port.rejected(conn, inv.row, problems)
    return Step(AnafState.NOK, None, ",".join(f.rule or "?" for f in findings))
