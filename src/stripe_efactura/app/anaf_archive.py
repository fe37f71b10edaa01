"""The signed archive of an invoice ANAF validated: the ZIP (``<index>.xml`` as uploaded +
``semnatura_<index>.xml``) is downloaded once, kept in ``invoice_files`` and written to
``<data dir>/archive/<year>/<number>.zip``.

When: at once after a ``stareMesaj`` ``ok``. After an ``ok`` read from the message list (the
burst path, :mod:`app.anaf_status_list`) the download is deferred off the burst
(:func:`archive_time`): to :attr:`Tuning.archive_hour` (Romanian time, 02:00 by default), spread
:attr:`Tuning.archive_spacing_seconds` apart by invoice id over
:attr:`Tuning.archive_window_seconds`, so the night's downloads go out at a steady pace, far
inside the global per-minute quota and one call per message a day. That is at most about
a day after ``ok``, never later than :data:`ARCHIVE_LATEST` after it, while ANAF keeps the
message 60 days. Meanwhile the invoice is ``ok`` with ``archive_after`` in its work record
(``invoices show``: "signed archive pending").
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy.engine import Connection

from ..anaf.archive import DownloadArchive
from ..anaf.errors import AnafApiError, AnafAuthError, AnafDownloadExpired, AnafProtocolError
from ..files import PRIVATE, write_atomic
from ..store import anaf_work, db
from ..store import invoices as invoice_store
from ..store.anaf_work import AnafState, Lifecycle
from ..tz import BUCHAREST
from . import anaf_downloads, anaf_port
from .anaf_port import Step
from .context import AppContext

log = logging.getLogger("stripe_efactura.anaf")
#: A deferred archive is downloaded no later than this after ``ok`` (ANAF keeps 60 days).
ARCHIVE_LATEST = timedelta(days=7)


def archive_time(ctx: AppContext, invoice_id: int) -> datetime | None:
    """When the signed archive of an invoice found ``ok`` now is downloaded: its slot in the
    next off-peak window (None: at once, :attr:`Tuning.archive_hour` is None)."""
    tune = anaf_port.tuning(ctx)
    if tune.archive_hour is None:
        return None
    now = anaf_port.now(ctx)
    spacing = max(0.001, tune.archive_spacing_seconds)
    slots = max(1, int(tune.archive_window_seconds // spacing))
    offset = timedelta(seconds=(invoice_id % slots) * spacing)
    local = now.astimezone(BUCHAREST).date()
    for day in (local, local + timedelta(days=1)):
        start = datetime.combine(day, time(tune.archive_hour), tzinfo=BUCHAREST)
        if start + offset >= now:
            return min(start + offset, now + ARCHIVE_LATEST).astimezone(UTC)
    return now  # not reached: tomorrow's slot is always ahead


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
    """``ok`` and not archived yet: download the signed ZIP and keep it (not before its
    deferred time, :func:`archive_time`)."""
    after = inv.work.archive_after
    if after is not None and anaf_port.now(ctx) < after:
        wait = max(1.0, anaf_port.seconds_until(ctx, after))
        return Step(AnafState.OK, wait, f"signed archive pending until {after.isoformat()}")
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
        if fresh is None or fresh.row.has_signed_zip:
            return Step(AnafState.OK, None, "already archived")
        store_archive(ctx, conn, fresh, data, archive)
    log.info("invoice %s validated by ANAF and archived", inv.number)
    return Step(AnafState.OK, None)
