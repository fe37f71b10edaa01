"""Romanian public holidays, working days and the e-Factura upload deadline.

Pure, no clock. The rules are documented in ``docs/romania.md``.

Legal public holidays (Labour Code, Law 53/2003, art. 139 (1)), with the year each was added:
1-2 January; 6 January (Bobotează) and 7 January (Sfântul Ioan), from 2024; 24 January (Union
of the Principalities), from 2017; Orthodox Good Friday, from 2018; Orthodox Easter Sunday and
Monday; 1 May; 1 June (Children's Day), from 2017; Orthodox Pentecost (Rusalii) Sunday and
Monday; 15 August (Adormirea Maicii Domnului); 30 November (Sfântul Andrei); 1 December
(National Day); 25-26 December.

Upload deadline (OUG 120/2021 art. 10 as amended by OUG 89/2025): an invoice issued from
2026-01-01 must reach ANAF within 5 working days after its issue date; before 2026, within 5
calendar days, a term that ending on a non-working day moves to the next working day (Fiscal
Procedure Code art. 181 (4)).
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

__all__ = [
    "WORKING_DAYS_FROM",
    "is_working_day",
    "orthodox_easter",
    "romanian_holidays",
    "upload_deadline",
    "working_days_after",
]

WORKING_DAYS_FROM = date(2026, 1, 1)
"""Invoices issued on or after this day have 5 working days; earlier ones 5 calendar days."""

UPLOAD_DAYS = 5


def orthodox_easter(year: int) -> date:
    """Orthodox Easter Sunday (Gregorian date): Meeus' Julian algorithm plus the calendar gap.

    The Julian-Gregorian gap is 13 days for 1900-2099 and, in general,
    ``year // 100 - year // 400 - 2`` (Easter always falls after the end of February); earlier
    years give the proleptic Gregorian date.
    """
    a, b, c = year % 4, year % 7, year % 19
    d = (19 * c + 15) % 30
    e = (2 * a + 4 * b - d + 34) % 7
    month, day = divmod(d + e + 114, 31)
    julian = date(year, month, day + 1)
    return julian + timedelta(days=year // 100 - year // 400 - 2)


@lru_cache(maxsize=64)
def romanian_holidays(year: int) -> frozenset[date]:
    """The legal public holidays (non-working days) of ``year``, Labour Code art. 139."""
    easter = orthodox_easter(year)
    days = {
        date(year, 1, 1),
        date(year, 1, 2),
        easter,
        easter + timedelta(days=1),
        date(year, 5, 1),
        easter + timedelta(days=49),
        easter + timedelta(days=50),
        date(year, 8, 15),
        date(year, 11, 30),
        date(year, 12, 1),
        date(year, 12, 25),
        date(year, 12, 26),
    }
    if year >= 2017:
        days |= {date(year, 1, 24), date(year, 6, 1)}
    if year >= 2018:
        days.add(easter - timedelta(days=2))
    if year >= 2024:
        days |= {date(year, 1, 6), date(year, 1, 7)}
    return frozenset(days)


def is_working_day(d: date) -> bool:
    """Monday to Friday and not a Romanian public holiday."""
    return d.weekday() < 5 and d not in romanian_holidays(d.year)


def working_days_after(start: date, n: int) -> date:
    """The ``n``-th working day after ``start`` (``start`` itself does not count).

    ``n = 0`` gives ``start`` when it is a working day, else the next working day.
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    day = start
    if n == 0:
        while not is_working_day(day):
            day += timedelta(days=1)
        return day
    counted = 0
    while counted < n:
        day += timedelta(days=1)
        if is_working_day(day):
            counted += 1
    return day


def upload_deadline(issue_date: date) -> date:
    """The last day to upload an invoice issued on ``issue_date`` to RO e-Factura.

    From 2026-01-01: 5 working days after the issue date. Before: 5 calendar days after it,
    moved to the next working day when that day is a weekend or a holiday.
    """
    if issue_date >= WORKING_DAYS_FROM:
        return working_days_after(issue_date, UPLOAD_DAYS)
    return working_days_after(issue_date + timedelta(days=UPLOAD_DAYS), 0)
