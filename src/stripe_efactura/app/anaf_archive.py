"""The signed archive of an invoice ANAF validated: the ZIP (``<index>.xml`` as uploaded +
``semnatura_<index>.xml``) is downloaded once, kept in ``invoices.signed_zip`` and written to
``<data dir>/archive/<year>/<number>.zip``."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import replace
from datetime import date
from pathlib import Path

from sqlalchemy.engine import Connection

from ..anaf.archive import DownloadArchive
from ..anaf.errors import AnafApiError, AnafAuthError, AnafDownloadExpired, AnafProtocolError
from ..files import PRIVATE, write_atomic
from ..store import anaf_work, db
from ..store import invoices as invoice_store
from ..store.anaf_work import AnafState, Lifecycle
from . import anaf_downloads, anaf_port
from .anaf_port import Step
from .context import AppContext

log = logging.getLogger("stripe_efactura.anaf")


def archive_path(ctx: AppContext, number: str, issue_date: date) -> Path:
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", number)
    return Path(ctx.settings.data_dir) / "archive" / f"{issue_date.year:04d}" / f"{safe}.zip"


def store_archive(
    ctx: AppContext, conn: Connection, inv: Lifecycle, data: bytes, archive: DownloadArchive
) -> None:
    """Write the ZIP file and keep it on the invoice row (caller's transaction)."""
    path = archive_path(ctx, inv.number, inv.row.issue_date)
    write_atomic(path, data, mode=PRIVATE)
    invoice_store.update_invoice(conn, inv.id, signed_zip=data)
    invoice_store.log(
        conn,
        inv.id,
        "anaf_archived",
        {
            "path": str(path),
            "sha256": hashlib.sha256(data).hexdigest(),
            "files": [archive.document_name, archive.signature_name],
        },
    )


def _rejected(ctx: AppContext, inv: Lifecycle, download_id: str, exc: AnafProtocolError) -> None:
    """The download could not be read as ANAF's archive: said on the invoice's timeline
    (``anaf_archive_rejected`` with the reason) and in the log; it is tried again after the
    download's back-off (``app/anaf_downloads.py``)."""
    with db.write(ctx.engine) as conn:
        invoice_store.log(
            conn,
            inv.id,
            "anaf_archive_rejected",
            {"download_id": download_id, "code": exc.code, "error": exc.message},
        )
    log.warning("invoice %s: the ANAF archive %s was refused: %s", inv.number, download_id, exc)


def archive_step(ctx: AppContext, inv: Lifecycle) -> Step:
    """``ok`` and not archived yet: download the signed ZIP and keep it."""
    download_id = str(inv.row.download_id)
    try:
        data, archive = anaf_downloads.fetch(ctx, download_id, inv.row.upload_index)
    except anaf_downloads.DownloadDeferred as deferred:
        return Step(AnafState.OK, max(1.0, anaf_port.seconds_until(ctx, deferred.until)))
    except AnafDownloadExpired as exc:
        with db.write(ctx.engine) as conn:
            fresh = anaf_work.load(conn, inv.id, lock=True)
            assert fresh is not None
            anaf_work.save(conn, inv.id, replace(fresh.work, archive_error=exc.code))
            invoice_store.log(conn, inv.id, "anaf_archive_expired", {"error": exc.message})
        return Step(AnafState.OK, None, exc.code)
    except AnafApiError as exc:
        if not exc.retryable and not isinstance(exc, AnafAuthError):
            raise
        if isinstance(exc, AnafProtocolError):
            _rejected(ctx, inv, download_id, exc)
        return anaf_port.wait_after(ctx, exc, AnafState.OK)
    with db.write(ctx.engine) as conn:
        fresh = anaf_work.load(conn, inv.id, lock=True)
        if fresh is None or fresh.row.signed_zip is not None:
            return Step(AnafState.OK, None, "already archived")
        store_archive(ctx, conn, fresh, data, archive)
    log.info("invoice %s validated by ANAF and archived", inv.number)
    return Step(AnafState.OK, None)
