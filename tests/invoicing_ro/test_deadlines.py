"""Romanian public holidays, working days and the e-Factura upload deadline."""

from __future__ import annotations

from datetime import date

import pytest

from stripe_efactura.invoicing.deadlines import (
    is_working_day,
    orthodox_easter,
    romanian_holidays,
    upload_deadline,
    working_days_after,
)


@pytest.mark.parametrize(
    ("year", "easter"),
    [
        (2018, date(2018, 4, 8)),
        (2019, date(2019, 4, 28)),
        (2020, date(2020, 4, 19)),
        (2021, date(2021, 5, 2)),
        (2022, date(2022, 4, 24)),
        (2023, date(2023, 4, 16)),
        (2024, date(2024, 5, 5)),
        (2025, date(2025, 4, 20)),
        (2026, date(2026, 4, 12)),
        (2027, date(2027, 5, 2)),
        (2028, date(2028, 4, 16)),
        (2029, date(2029, 4, 8)),
        (2030, date(2030, 4, 28)),
    ],
)
def test_orthodox_easter(year: int, easter: date) -> None:
    assert orthodox_easter(year) == easter


def _d(year: int, *month_days: tuple[int, int]) -> frozenset[date]:
    return frozenset(date(year, m, d) for m, d in month_days)


@pytest.mark.parametrize(
    ("year", "expected"),
    [
        (
            2024,
            _d(
                2024,
                *[(1, 1), (1, 2), (1, 6), (1, 7), (1, 24)],
                *[(5, 1), (5, 3), (5, 5), (5, 6)],
                *[(6, 1), (6, 23), (6, 24)],
                *[(8, 15), (11, 30), (12, 1), (12, 25), (12, 26)],
            ),
        ),
        (
            2025,
            _d(
                2025,
                *[(1, 1), (1, 2), (1, 6), (1, 7), (1, 24)],
                *[(4, 18), (4, 20), (4, 21), (5, 1)],
                *[(6, 1), (6, 8), (6, 9)],
                *[(8, 15), (11, 30), (12, 1), (12, 25), (12, 26)],
            ),
        ),
        (
            # Pentecost Monday falls on Children's Day: 16 distinct days.
            2026,
            _d(
                2026,
                *[(1, 1), (1, 2), (1, 6), (1, 7), (1, 24)],
                *[(4, 10), (4, 12), (4, 13), (5, 1)],
                *[(5, 31), (6, 1)],
                *[(8, 15), (11, 30), (12, 1), (12, 25), (12, 26)],
            ),
        ),
        (
            2027,
            _d(
                2027,
                *[(1, 1), (1, 2), (1, 6), (1, 7), (1, 24)],
                *[(4, 30), (5, 1), (5, 2), (5, 3)],
                *[(6, 1), (6, 20), (6, 21)],
                *[(8, 15), (11, 30), (12, 1), (12, 25), (12, 26)],
            ),
        ),
        (
            # Before 6-7 January became holidays.
            2023,
            _d(
                2023,
                *[(1, 1), (1, 2), (1, 24)],
                *[(4, 14), (4, 16), (4, 17), (5, 1)],
                *[(6, 1), (6, 4), (6, 5)],
                *[(8, 15), (11, 30), (12, 1), (12, 25), (12, 26)],
            ),
        ),
        (
            # Before 24 January, 1 June and Good Friday were added.
            2016,
            _d(
                2016,
                *[(1, 1), (1, 2), (5, 1), (5, 2)],
                *[(6, 19), (6, 20)],
                *[(8, 15), (11, 30), (12, 1), (12, 25), (12, 26)],
            ),
        ),
    ],
)
def test_romanian_holidays(year: int, expected: frozenset[date]) -> None:
    assert romanian_holidays(year) == expected


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 12, 24), True),
        (date(2026, 12, 25), False),
        (date(2026, 12, 26), False),  # Saturday and holiday
        (date(2026, 11, 21), False),  # Saturday
        (date(2026, 11, 22), False),  # Sunday
        (date(2026, 11, 23), True),
        (date(2026, 6, 1), False),
        (date(2026, 4, 10), False),  # Good Friday
        (date(2026, 4, 13), False),  # Easter Monday
        (date(2025, 1, 6), False),
        (date(2025, 1, 7), False),
        (date(2023, 1, 6), True),  # Friday, not yet a holiday
        (date(2026, 1, 23), True),
        (date(2026, 12, 31), True),
    ],
)
def test_is_working_day(day: date, expected: bool) -> None:
    assert is_working_day(day) is expected


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (date(2026, 11, 20), 0, date(2026, 11, 20)),
        (date(2026, 11, 21), 0, date(2026, 11, 23)),
        (date(2026, 12, 25), 0, date(2026, 12, 28)),
        (date(2026, 11, 20), 1, date(2026, 11, 23)),
        (date(2026, 11, 23), 1, date(2026, 11, 24)),
        (date(2026, 12, 24), 1, date(2026, 12, 28)),
        (date(2026, 12, 31), 1, date(2027, 1, 4)),
        (date(2026, 12, 31), 3, date(2027, 1, 8)),
        (date(2026, 11, 23), 10, date(2026, 12, 9)),
    ],
)
def test_working_days_after(start: date, n: int, expected: date) -> None:
    assert working_days_after(start, n) == expected


def test_working_days_after_negative() -> None:
    with pytest.raises(ValueError, match="n must be >= 0"):
        working_days_after(date(2026, 1, 1), -1)


@pytest.mark.parametrize(
    ("issued", "deadline"),
    [
        # From 2026: 5 working days after the issue date.
        (date(2026, 12, 22), date(2026, 12, 30)),  # 23, 24, (25-27), 28, 29, 30
        (date(2026, 12, 18), date(2026, 12, 28)),  # 21, 22, 23, 24, (25-27), 28
        (date(2026, 12, 29), date(2027, 1, 8)),  # 30, 31, (1-3), 4, 5, (6, 7), 8
        (date(2026, 4, 8), date(2026, 4, 17)),  # 9, (10-13 Easter), 14, 15, 16, 17
        (date(2026, 11, 26), date(2026, 12, 7)),  # 27, (28-1 Dec), 2, 3, 4, 7
        (date(2026, 1, 1), date(2026, 1, 13)),  # (2-4), 5, (6, 7), 8, 9, 12, 13
        (date(2026, 11, 21), date(2026, 11, 27)),  # issued on a Saturday
        (date(2026, 5, 27), date(2026, 6, 4)),  # 28, 29, (30-1 Jun Pentecost), 2, 3, 4
        (date(2026, 8, 12), date(2026, 8, 19)),  # 13, 14, (15-16), 17, 18, 19
        (date(2026, 11, 23), date(2026, 12, 2)),  # 24-27, (28 Nov-1 Dec), 2
        # Before 2026: 5 calendar days, moved to the next working day.
        (date(2025, 12, 22), date(2025, 12, 29)),  # 27 is a Saturday
        (date(2025, 12, 27), date(2026, 1, 5)),  # 1 January 2026
        (date(2025, 12, 31), date(2026, 1, 5)),
        (date(2025, 6, 2), date(2025, 6, 10)),  # 7 Sat, 8-9 Pentecost
        (date(2025, 6, 10), date(2025, 6, 16)),  # 15 is a Sunday
        (date(2025, 3, 3), date(2025, 3, 10)),
        (date(2025, 3, 5), date(2025, 3, 10)),
        (date(2025, 3, 6), date(2025, 3, 11)),
    ],
)
def test_upload_deadline(issued: date, deadline: date) -> None:
    assert upload_deadline(issued) == deadline
