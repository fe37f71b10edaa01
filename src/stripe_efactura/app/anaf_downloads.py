"""Every ``descarcare`` of the lifecycle (archive, findings, reconciliation) goes through
:func:`fetch`: a download that failed is remembered per download id and backed off
(:mod:`store.anaf_downloads`), so one unreadable or refused message is not fetched on every
pass and does not use up its daily download quota."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from ..anaf.archive import DownloadArchive, parse_archive
from ..anaf.errors import AnafApiError, AnafAuthError, AnafQuotaExceeded
from ..anaf.quotas import QuotaKind
from ..store import anaf_downloads, db
from . import anaf_port
from .context import AppContext

log = logging.getLogger("stripe_efactura.anaf")


class DownloadDeferred(Exception):
    """The download failed before and waits for its back-off (``until``); ``code`` is the
    last error. Not an ANAF call: nothing was sent."""

    def __init__(self, download_id: str, until: datetime, code: str) -> None:
        super().__init__(f"download {download_id} failed before ({code}); next try {until}")
        self.download_id = download_id
        self.until = until
        self.code = code


def _counts(exc: AnafApiError) -> bool:
    """Whether a failure is the message's own (remembered): not a token or a global limit."""
    if isinstance(exc, AnafAuthError):
        return False
    return not (isinstance(exc, AnafQuotaExceeded) and exc.scope != "daily")


def fetch(ctx: AppContext, download_id: str, index: str | None) -> tuple[bytes, DownloadArchive]:
    """Take a download slot, download and read the ZIP. Raises :class:`DownloadDeferred`
    while an earlier failure is backed off, ``anaf_quota.QuotaWait`` without a slot, and the
    :class:`AnafApiError` of a failed call (after remembering it)."""
    now = anaf_port.now(ctx)
    with db.read(ctx.engine) as conn:
        failed = anaf_downloads.get(conn, download_id)
    if failed is not None and now < failed.retry_after:
        raise DownloadDeferred(download_id, failed.retry_after, failed.last_error)
    anaf_port.take_quota(ctx, QuotaKind.DOWNLOAD, download_id)
    try:
        data = anaf_port.client(ctx).download(download_id)
        archive = parse_archive(data)
    except AnafApiError as exc:
        if _counts(exc):
            first = timedelta(seconds=anaf_port.tuning(ctx).retry_seconds)
            with db.write(ctx.engine) as conn:
                noted = anaf_downloads.record_failure(
                    conn, download_id, index, exc.code, now, first
                )
            log.warning(
                "download %s (index %s) failed %d time(s): %s; next try %s",
                download_id,
                index,
                noted.failures,
                exc.code,
                noted.retry_after.isoformat(),
            )
        raise
    if failed is not None:
        with db.write(ctx.engine) as conn:
            anaf_downloads.clear(conn, download_id)
    return data, archive
