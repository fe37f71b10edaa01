"""ANAF call quotas shared by all processes (table ``anaf_quota``).

Every ANAF call first takes a slot here in a short write transaction: a sliding 60-second
global window (10-second buckets; the current one and the six before it must hold fewer calls
than the policy's global limit), and, per message and Romanian calendar day, the
``stareMesaj`` and ``descarcare`` limits. A call without a slot is not made:
:class:`QuotaWait` says when the next slot opens and whose quota it is, and for the global
window how many slots each of the next boundaries opens, so that many waiters can be spread
over them (:func:`turn`) instead of all waking at the first.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..anaf.quotas import QuotaKind, QuotaPolicy, next_ro_midnight
from . import db
from .tables import anaf_quota

GLOBAL_BUCKET_SECONDS = 10
GLOBAL_BUCKETS = 7  # the current bucket and the six before it cover any 60 s ending now
_PG_QUOTA_LOCK = 0x4546_4143  # advisory lock id serialising quota takes on PostgreSQL


class QuotaWait(Exception):
    """No quota slot now; the next one opens at ``until``. ``key`` names the message (upload
    index or download id) of a per-message quota, "" for the global window.

    ``opens`` (global window only): for each of the next :data:`GLOBAL_BUCKETS` bucket
    boundaries, its time and how many calls the window has room for then if no other call is
    made before (cumulative; ``until`` is the first with room, the last has the whole limit)."""

    def __init__(
        self,
        kind: str,
        until: datetime,
        key: str = "",
        opens: tuple[tuple[datetime, int], ...] = (),
    ) -> None:
        super().__init__(f"{kind} quota exhausted until {until.isoformat()}")
        self.kind = kind
        self.until = until
        self.key = key
        self.opens = opens

    @property
    def per_message(self) -> bool:
        return self.kind in (QuotaKind.STATUS, QuotaKind.DOWNLOAD)


def _counts(conn: Connection, names: list[str]) -> dict[str, int]:
    rows = conn.execute(_COUNTS, {"q_names": names}).all()
    return {str(r[0]): int(r[1]) for r in rows}


_COUNTS = sa.select(anaf_quota.c.bucket, anaf_quota.c.count).where(
    anaf_quota.c.bucket.in_(sa.bindparam("q_names", expanding=True))
)
"""The prepared read of :func:`_counts` (``store/db.py``, "prepared statements")."""


def _bump(conn: Connection, name: str, window_start: datetime, exists: bool) -> None:
    if exists:
        conn.execute(_BUMP, {"u_bucket": name})
    else:
        values = {"bucket": name, "window_start": db.utc_naive(window_start), "count": 1}
        conn.execute(_NEW_BUCKET, db.bound(values))


_BUMP = (
    anaf_quota.update()
    .where(anaf_quota.c.bucket == sa.bindparam("u_bucket"))
    .values(count=anaf_quota.c.count + 1)
)
_NEW_BUCKET = anaf_quota.insert().values(db.params(anaf_quota, ("bucket", "window_start", "count")))
"""The prepared writes of :func:`_bump` (``store/db.py``, "prepared statements")."""


def _bumped(conn: Connection, names: list[str], limit: int) -> bool:
    """Count a call in the current bucket (the last of ``names``) while the window ``names``
    holds fewer than ``limit`` calls, with one statement; False (nothing changed) when the
    window is full or the bucket has no row yet. After the quota lock on PostgreSQL, so the
    statement's snapshot holds every call counted before."""
    values = {"u_bucket": names[-1], "q_names": names, "q_limit": limit}
    return conn.execute(_BUMP_IF_ROOM, values).first() is not None


_IN_WINDOW = anaf_quota.alias("in_window")
_BUMP_IF_ROOM = (
    anaf_quota.update()
    .where(
        anaf_quota.c.bucket == sa.bindparam("u_bucket"),
        sa.select(sa.func.coalesce(sa.func.sum(_IN_WINDOW.c.count), 0))
        .where(_IN_WINDOW.c.bucket.in_(sa.bindparam("q_names", expanding=True)))
        .scalar_subquery()
        < sa.bindparam("q_limit", type_=sa.Integer),
    )
    .values(count=anaf_quota.c.count + 1)
    .returning(anaf_quota.c.count)
)
"""The prepared statement of :func:`_bumped` (``store/db.py``, "prepared statements")."""


def _window(now: datetime) -> tuple[int, range]:
    """The bucket ``now`` falls in, and the buckets of the global window ending with it."""
    current = int(now.timestamp()) // GLOBAL_BUCKET_SECONDS
    return current, range(current - GLOBAL_BUCKETS + 1, current + 1)


def _daily_bucket(kind: QuotaKind, key: str, now: datetime) -> str:
    day = now.astimezone(next_ro_midnight(now).tzinfo).date().isoformat()
    return f"{kind.value}:{key}:{day}"


def _global_wait(per_bucket: dict[int, int], current: int, limit: int) -> QuotaWait:
    """The wait for the global window: each of the next boundaries with the room the window
    has then (the buckets that left it), ``until`` the first with room."""
    opens = []
    for step in range(1, GLOBAL_BUCKETS + 1):
        kept = sum(c for b, c in per_bucket.items() if b > current + step - GLOBAL_BUCKETS)
        at = datetime.fromtimestamp((current + step) * GLOBAL_BUCKET_SECONDS, tz=UTC)
        opens.append((at, max(0, limit - kept)))
    until = next((at for at, room in opens if room > 0), opens[-1][0])
    return QuotaWait("global", until, opens=tuple(opens))


def turn(wait: QuotaWait, ahead: int) -> datetime:
    """When a caller of the global window that waits behind ``ahead`` others (due from
    ``wait.until`` on, each calling at the first boundary with room) finds room: the first
    boundary of ``wait.opens`` with room for more than ``ahead``; past a whole window, the
    calls made at a boundary leave the window :data:`GLOBAL_BUCKETS` boundaries later, so the
    room repeats with the limit added every :data:`GLOBAL_BUCKETS` boundaries. ``wait.until``
    for a per-message wait (or without ``opens``)."""
    if not wait.opens:
        return wait.until
    cycle = max(1, wait.opens[-1][1])  # the room once every current bucket has left
    rounds, rest = divmod(max(0, ahead), cycle)
    at = next((at for at, room in wait.opens if room > rest), wait.opens[-1][0])
    return at + timedelta(seconds=rounds * GLOBAL_BUCKETS * GLOBAL_BUCKET_SECONDS)


def take(conn: Connection, policy: QuotaPolicy, now: datetime, kind: QuotaKind, key: str) -> None:
    """Take one call slot of ``kind`` (and of the global window) in the caller's transaction;
    :class:`QuotaWait` when there is none."""
    wait = slot(conn, policy, now, kind, key)
    if wait is not None:
        raise wait


def slot(
    conn: Connection, policy: QuotaPolicy, now: datetime, kind: QuotaKind, key: str
) -> QuotaWait | None:
    """:func:`take`, returning the wait instead of raising it. Without a slot nothing was
    written, so the caller can end its transaction with a commit: on PostgreSQL a rollback
    makes psycopg drop every prepared statement of the connection (``DEALLOCATE ALL``), and
    in a burst most upload intents found the window full (``bench/README.md``, session 26)."""
    if not db.is_sqlite(conn):
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_QUOTA_LOCK})
    current, window = _window(now)
    names = [f"global:{b}" for b in window]
    if kind is QuotaKind.GLOBAL and _bumped(conn, names, policy.global_limit(kind)):
        return None  # the common case: the window had room and its current bucket a row
    daily = None if kind is QuotaKind.GLOBAL else _daily_bucket(kind, key, now)
    if daily is not None:
        names.append(daily)
    counts = _counts(conn, names)
    if daily is not None and counts.get(daily, 0) >= policy.limit(kind).max_calls:
        return QuotaWait(kind.value, next_ro_midnight(now).astimezone(UTC), key)
    limit = policy.global_limit(kind)
    per_bucket = {b: counts.get(f"global:{b}", 0) for b in window}
    if sum(per_bucket.values()) >= limit:
        return _global_wait(per_bucket, current, limit)
    if daily is not None:
        _bump(conn, daily, now, daily in counts)
    bucket_start = datetime.fromtimestamp(current * GLOBAL_BUCKET_SECONDS, tz=UTC)
    _bump(conn, f"global:{current}", bucket_start, f"global:{current}" in counts)
    return None


def give_back(conn: Connection, now: datetime) -> None:
    """Give back the global slot that :func:`slot` took at ``now`` in the caller's transaction
    (the caller decided not to call after all)."""
    conn.execute(_GIVE_BACK, {"u_bucket": f"global:{_window(now)[0]}"})


_GIVE_BACK = (
    anaf_quota.update()
    .where(anaf_quota.c.bucket == sa.bindparam("u_bucket"), anaf_quota.c.count > 0)
    .values(count=anaf_quota.c.count - 1)
)


def window_calls(conn: Connection, now: datetime) -> int:
    """The calls counted in the global window ending at ``now`` (every process's)."""
    return sum(_counts(conn, [f"global:{b}" for b in _window(now)[1]]).values())


def prune(conn: Connection, cutoff: datetime) -> int:
    """Delete quota buckets whose window started before ``cutoff``."""
    result = conn.execute(
        anaf_quota.delete().where(anaf_quota.c.window_start < db.utc_naive(cutoff))
    )
    return int(result.rowcount or 0)


def hold_lease(conn: Connection, name: str, now: datetime, seconds: float) -> bool:
    """Take the named lease until ``now + seconds`` unless another holder's is still running
    (a row ``lease:<name>`` whose ``window_start`` is the lease's end; the row is locked for
    the caller's transaction). One holder at a time across processes, SQLite and PostgreSQL."""
    if not db.is_sqlite(conn):
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_QUOTA_LOCK})
    bucket = f"lease:{name}"
    held = _lease_end(conn, name)
    until = db.utc_naive(now + timedelta(seconds=seconds))
    if held is not None and db.utc_naive(now) < held:
        return False
    if held is None:
        conn.execute(anaf_quota.insert().values(bucket=bucket, window_start=until, count=1))
    else:
        conn.execute(
            anaf_quota.update()
            .where(anaf_quota.c.bucket == bucket)
            .values(window_start=until, count=anaf_quota.c.count + 1)
        )
    return True


def lease_held(conn: Connection, name: str, now: datetime) -> bool:
    """Whether the named lease runs at ``now`` (a holder took it and has not dropped it)."""
    held = _lease_end(conn, name)
    return held is not None and db.utc_naive(now) < held


def _lease_end(conn: Connection, name: str) -> datetime | None:
    """When the named lease ends (naive UTC); None: nobody holds it or held it last."""
    end: datetime | None = conn.execute(
        sa.select(anaf_quota.c.window_start).where(anaf_quota.c.bucket == f"lease:{name}")
    ).scalar()
    return end


def drop_lease(conn: Connection, name: str) -> None:
    """End the named lease (the next :func:`hold_lease` takes it at once)."""
    conn.execute(anaf_quota.delete().where(anaf_quota.c.bucket == f"lease:{name}"))
