"""Accounting periods: a calendar month (``2026-11``) or a range of days, in Romanian time.

An invoice belongs to the period of its issue date (a Romanian calendar date); a payment,
refund or dispute to the period of its Romanian calendar day.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from ..errors import UserInputError
from ..tz import BUCHAREST

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class PeriodError(UserInputError):
    """A period on the command line that is not ``YYYY-MM`` or a valid ``--from/--to``."""

    code = "E-PERIOD"


@dataclass(frozen=True)
class Period:
    """Issue dates ``start`` (inclusive) to ``end`` (exclusive)."""

    start: date
    end: date

    @property
    def label(self) -> str:
        """``2026-11`` for a whole month, else ``2026-11-03_2026-11-09`` (last day inclusive)."""
        last = self.end - timedelta(days=1)
        if self.start.day == 1 and self.end == _next_month(self.start):
            return f"{self.start:%Y-%m}"
        return f"{self.start.isoformat()}_{last.isoformat()}"

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    def utc_bounds(self) -> tuple[datetime, datetime]:
        """The period as aware UTC datetimes: Romanian midnight of ``start`` and of ``end``."""
        return (
            datetime.combine(self.start, time(0), tzinfo=BUCHAREST).astimezone(UTC),
            datetime.combine(self.end, time(0), tzinfo=BUCHAREST).astimezone(UTC),
        )

    def contains(self, day: date) -> bool:
        return self.start <= day < self.end


def _next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def month(text: str) -> Period:
    """``YYYY-MM`` -> that calendar month."""
    found = _MONTH.match(text.strip())
    if not found or not 1 <= int(found.group(2)) <= 12:
        raise PeriodError(
            f"period {text!r} is not YYYY-MM",
            message_ro=f"perioada {text!r} nu are forma AAAA-LL",
        )
    start = date(int(found.group(1)), int(found.group(2)), 1)
    return Period(start, _next_month(start))


def between(first: date, last: date) -> Period:
    """The days ``first`` to ``last``, both included."""
    if last < first:
        raise PeriodError(
            f"--to {last} is before --from {first}",
            message_ro=f"--to {last} este înainte de --from {first}",
        )
    return Period(first, last + timedelta(days=1))


def resolve(period: str | None, first: str | None, last: str | None) -> Period:
    """The period of a command: ``--period YYYY-MM`` or ``--from YYYY-MM-DD --to YYYY-MM-DD``."""
    if period and (first or last):
        raise PeriodError(
            "give --period or --from/--to, not both",
            message_ro="dați --period sau --from/--to, nu amândouă",
        )
    if period:
        return month(period)
    if not (first and last):
        raise PeriodError(
            "give --period YYYY-MM or --from and --to",
            message_ro="dați --period AAAA-LL sau --from și --to",
        )
    try:
        return between(date.fromisoformat(first), date.fromisoformat(last))
    except ValueError as exc:
        raise PeriodError(
            f"--from/--to must be YYYY-MM-DD ({exc})",
            message_ro="--from/--to trebuie să aibă forma AAAA-LL-ZZ",
        ) from exc


def ro_day(moment: datetime) -> date:
    """The Romanian calendar day of an instant (naive values are UTC)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(BUCHAREST).date()


def current_and_previous(today: date) -> tuple[Period, Period]:
    """The month containing ``today`` and the one before it."""
    this = month(f"{today:%Y-%m}")
    prev_start = date(today.year - (today.month == 1), (today.month - 2) % 12 + 1, 1)
    return this, Period(prev_start, this.start)
