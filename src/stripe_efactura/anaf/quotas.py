"""Pure accounting for ANAF's published call limits (``limiteApeluriAPI.txt``, ``ANAF.md`` §1.4).

Nothing here stores anything: the caller keeps the timestamps of past calls (per kind and key,
e.g. per upload index for ``stareMesaj``) and asks :meth:`QuotaPolicy.next_allowed` when the next
call may go out. Daily limits count per calendar day in Romania ("in cursul zilei"); the
per-minute global limit is checked as a sliding 60-second window, which is stricter than any
fixed minute ANAF may use.

ANAF's numbers (all methods 1000/minute; ``stareMesaj`` 100/message/day; ``descarcare``
10/message/day; ``listaMesajeFactura`` 1500/CUI/day; ``listaMesajePaginatieFactura``
100 000/CUI/day; RASP uploads 1000/CUI/day; invoice uploads unlimited) are in
:data:`ANAF_LIMITS`. :meth:`QuotaPolicy.default` keeps a margin below them so that a person using
the same CUI in another program (or a manual check) does not push us over.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from enum import StrEnum

from stripe_efactura.tz import BUCHAREST as RO_TZ


class QuotaKind(StrEnum):
    GLOBAL = "global"  # key: "" (all calls of one application)
    STATUS = "stareMesaj"  # key: upload index
    DOWNLOAD = "descarcare"  # key: download id
    LIST = "listaMesajeFactura"  # key: CUI
    LIST_PAGED = "listaMesajePaginatieFactura"  # key: CUI
    UPLOAD_RASP = "upload_rasp"  # key: CUI


class Window(StrEnum):
    MINUTE = "minute"  # sliding 60 seconds
    DAY = "day"  # calendar day, Europe/Bucharest


@dataclass(frozen=True)
class Limit:
    max_calls: int
    window: Window


ANAF_LIMITS: Mapping[QuotaKind, Limit] = {
    QuotaKind.GLOBAL: Limit(1000, Window.MINUTE),
    QuotaKind.STATUS: Limit(100, Window.DAY),
    QuotaKind.DOWNLOAD: Limit(10, Window.DAY),
    QuotaKind.LIST: Limit(1500, Window.DAY),
    QuotaKind.LIST_PAGED: Limit(100_000, Window.DAY),
    QuotaKind.UPLOAD_RASP: Limit(1000, Window.DAY),
}

DEFAULT_LIMITS: Mapping[QuotaKind, Limit] = {
    QuotaKind.GLOBAL: Limit(900, Window.MINUTE),
    QuotaKind.STATUS: Limit(80, Window.DAY),
    QuotaKind.DOWNLOAD: Limit(6, Window.DAY),
    QuotaKind.LIST: Limit(1200, Window.DAY),
    QuotaKind.LIST_PAGED: Limit(90_000, Window.DAY),
    QuotaKind.UPLOAD_RASP: Limit(900, Window.DAY),
}


def ro_day_start(moment: datetime) -> datetime:
    """Midnight (Romania) of the day containing ``moment`` (aware), as an aware datetime."""
    local = moment.astimezone(RO_TZ)
    return datetime.combine(local.date(), time(0), tzinfo=RO_TZ)


def next_ro_midnight(moment: datetime) -> datetime:
    local = moment.astimezone(RO_TZ)
    return datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=RO_TZ)


#: Global slots of each minute that only the paged message list may take (the default
#: policy): one list call answers up to 500 invoices, so a burst whose uploads fill the
#: window must not starve the status sweep into per-invoice ``stareMesaj`` polls.
DEFAULT_LIST_RESERVE = 20


@dataclass(frozen=True)
class QuotaPolicy:
    """Limits to respect; ``limits`` defaults to :data:`DEFAULT_LIMITS` (below ANAF's)."""

    limits: Mapping[QuotaKind, Limit] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    list_reserve: int = 0
    """Global slots per window kept for :attr:`QuotaKind.LIST_PAGED` calls: every other call
    stops ``list_reserve`` short of the global limit. None here (a policy built from its
    limits alone, :meth:`anaf_published`); :meth:`default`, the service's, keeps
    :data:`DEFAULT_LIST_RESERVE`."""

    @classmethod
    def default(cls) -> QuotaPolicy:
        return cls(dict(DEFAULT_LIMITS), DEFAULT_LIST_RESERVE)

    def global_limit(self, kind: QuotaKind) -> int:
        """The global window's limit for a call of ``kind``."""
        full = self.limit(QuotaKind.GLOBAL).max_calls
        return full if kind is QuotaKind.LIST_PAGED else max(0, full - self.list_reserve)

    @classmethod
    def anaf_published(cls) -> QuotaPolicy:
        """Exactly ANAF's numbers, no margin."""
        return cls(dict(ANAF_LIMITS))

    def limit(self, kind: QuotaKind) -> Limit:
        return self.limits[kind]

    def calls_in_window(self, kind: QuotaKind, history: Iterable[datetime], now: datetime) -> int:
        """How many of ``history`` count against the window that contains ``now``."""
        return len(self._in_window(kind, history, now))

    def remaining(self, kind: QuotaKind, history: Iterable[datetime], now: datetime) -> int:
        return max(0, self.limit(kind).max_calls - self.calls_in_window(kind, history, now))

    def allowed(self, kind: QuotaKind, history: Iterable[datetime], now: datetime) -> bool:
        return self.remaining(kind, history, now) > 0

    def next_allowed(
        self, kind: QuotaKind, key: str, history: Iterable[datetime], now: datetime
    ) -> datetime:
        """``now`` when a call for (``kind``, ``key``) may go out, else the earliest moment it
        may. ``history`` holds the times of earlier calls for that same kind and key (``key``
        is informational: the caller already filtered by it)."""
        del key
        limit = self.limit(kind)
        calls = self._in_window(kind, history, now)
        if len(calls) < limit.max_calls:
            return now
        if limit.window is Window.DAY:
            return next_ro_midnight(now).astimezone(now.tzinfo)
        # Sliding minute: wait until enough of the oldest calls leave the window.
        excess = len(calls) - limit.max_calls
        return calls[excess] + timedelta(seconds=60)

    def _in_window(
        self, kind: QuotaKind, history: Iterable[datetime], now: datetime
    ) -> list[datetime]:
        limit = self.limit(kind)
        if limit.window is Window.DAY:
            start = ro_day_start(now)
            end = next_ro_midnight(now)
        else:
            start = now - timedelta(seconds=60)
            end = now + timedelta(microseconds=1)
        if limit.window is Window.MINUTE:
            return sorted(t for t in history if start < t < end)
        return sorted(t for t in history if start <= t < end)


def retry_at(scope: str, now: datetime) -> datetime:
    """When to try again after a quota answer: ``"global"`` (HTTP 429/204) -> in one minute;
    ``"daily"`` ("S-au facut deja N ... in cursul zilei") -> next midnight in Romania."""
    if scope == "daily":
        return next_ro_midnight(now).astimezone(now.tzinfo)
    return now + timedelta(seconds=60)


# Delays (seconds) between stareMesaj polls of one upload, starting from the upload. ANAF
# usually answers within seconds to minutes; the tail polls hourly. 46 polls in the first day.
_POLL_SCHEDULE: tuple[int, ...] = (
    (5, 10, 15, 30, 30, 60, 60, 120, 120, 300, 300, 600, 600, 900, 900) + (1800,) * 6 + (3600,) * 25
)
TAIL_POLL_DELAY = 3600


def poll_delays() -> tuple[int, ...]:
    """The delays (seconds) before each ``stareMesaj`` poll of one upload: the n-th poll goes
    out ``sum(poll_delays()[:n+1])`` seconds after the upload; after the schedule, every
    :data:`TAIL_POLL_DELAY` seconds. Any 24 hours (hence any calendar day) holds at most 46
    polls, far below ANAF's 100 per message per day."""
    return _POLL_SCHEDULE


def poll_delay(attempt: int) -> int:
    """Delay before poll number ``attempt`` (0-based)."""
    if attempt < 0:
        raise ValueError("attempt must be >= 0")
    return _POLL_SCHEDULE[attempt] if attempt < len(_POLL_SCHEDULE) else TAIL_POLL_DELAY
