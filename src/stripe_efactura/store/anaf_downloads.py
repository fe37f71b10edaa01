"""Failed downloads (``descarcare``) remembered per download id (table ``anaf_downloads``).

A download ANAF refuses, or whose ZIP cannot be read, is not fetched again before its
``retry_after``: one unreadable message must not use up its daily download quota (ANAF allows
10 a day per message) on every reconciliation pass. A successful download deletes the row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import db
from .tables import anaf_downloads

#: The back-off grows fourfold per failure from the first wait, up to one day.
BACKOFF_FACTOR = 4
MAX_BACKOFF = timedelta(days=1)


@dataclass(frozen=True)
class FailedDownload:
    download_id: str
    upload_index: str | None
    failures: int
    last_error: str
    retry_after: datetime


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def get(conn: Connection, download_id: str) -> FailedDownload | None:
    row = conn.execute(
        sa.select(anaf_downloads).where(anaf_downloads.c.download_id == download_id)
    ).first()
    if row is None:
        return None
    return FailedDownload(
        str(row.download_id),
        None if row.upload_index is None else str(row.upload_index),
        int(row.failures),
        str(row.last_error),
        _aware(row.retry_after),
    )


def backoff(failures: int, first: timedelta) -> timedelta:
    """The wait after the ``failures``-th failure in a row: ``first``, then four times as long
    each time, at most a day."""
    wait: timedelta = first * int(BACKOFF_FACTOR ** max(0, failures - 1))
    return min(wait, MAX_BACKOFF)


def record_failure(
    conn: Connection,
    download_id: str,
    upload_index: str | None,
    code: str,
    now: datetime,
    first: timedelta,
) -> FailedDownload:
    """Count one more failure of ``download_id`` and set when it may be tried again."""
    known = get(conn, download_id)
    failures = 1 if known is None else known.failures + 1
    retry_after = now + backoff(failures, first)
    index = upload_index or (known.upload_index if known is not None else None)
    values = {
        "upload_index": index,
        "failures": failures,
        "last_error": code[:64],
        "retry_after": db.utc_naive(retry_after),
        "updated_at": db.utc_naive(now),
    }
    if known is None:
        conn.execute(anaf_downloads.insert().values(download_id=download_id, **values))
    else:
        conn.execute(
            anaf_downloads.update()
            .where(anaf_downloads.c.download_id == download_id)
            .values(**values)
        )
    return FailedDownload(download_id, index, failures, code[:64], retry_after)


def clear(conn: Connection, download_id: str) -> None:
    """The download succeeded: forget its failures."""
    conn.execute(anaf_downloads.delete().where(anaf_downloads.c.download_id == download_id))


def failing(conn: Connection) -> list[FailedDownload]:
    """Every download that failed and has not succeeded since (``anaf status``, tests)."""
    rows = conn.execute(sa.select(anaf_downloads.c.download_id)).all()
    found = [get(conn, str(r[0])) for r in rows]
    return sorted((f for f in found if f is not None), key=lambda f: f.download_id)
