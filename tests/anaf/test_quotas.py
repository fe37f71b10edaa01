"""Quota accounting: windows, next allowed time, poll schedule inside 100 polls/message/day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from stripe_efactura.anaf.quotas import (
    ANAF_LIMITS,
    DEFAULT_LIMITS,
    Limit,
    QuotaKind,
    QuotaPolicy,
    Window,
    next_ro_midnight,
    poll_delay,
    poll_delays,
    retry_at,
)

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # 12:00 in Bucharest (UTC+2)


def test_published_limits() -> None:
    assert {k: (v.max_calls, v.window) for k, v in ANAF_LIMITS.items()} == {
        QuotaKind.GLOBAL: (1000, Window.MINUTE),
        QuotaKind.STATUS: (100, Window.DAY),
        QuotaKind.DOWNLOAD: (10, Window.DAY),
        QuotaKind.LIST: (1500, Window.DAY),
        QuotaKind.LIST_PAGED: (100_000, Window.DAY),
        QuotaKind.UPLOAD_RASP: (1000, Window.DAY),
    }
    for kind, limit in DEFAULT_LIMITS.items():
        assert limit.max_calls < ANAF_LIMITS[kind].max_calls


def test_daily_limit_resets_at_romanian_midnight() -> None:
    policy = QuotaPolicy.anaf_published()
    history = [NOW - timedelta(minutes=i) for i in range(10)]
    assert policy.remaining(QuotaKind.DOWNLOAD, history, NOW) == 0
    assert policy.next_allowed(QuotaKind.DOWNLOAD, "3001", history, NOW) == datetime(
        2026, 3, 2, 22, 0, tzinfo=UTC
    )
    # Calls before midnight in Bucharest (21:59 UTC) do not count the next day.
    after = datetime(2026, 3, 2, 22, 0, tzinfo=UTC)
    assert policy.next_allowed(QuotaKind.DOWNLOAD, "3001", history, after) == after
    assert policy.calls_in_window(QuotaKind.DOWNLOAD, history, after) == 0


def test_daily_window_is_the_bucharest_day_not_utc() -> None:
    policy = QuotaPolicy({QuotaKind.STATUS: Limit(2, Window.DAY)})
    late_utc = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)  # 01:30 on 3 March in Bucharest
    history = [datetime(2026, 3, 2, 21, 0, tzinfo=UTC), datetime(2026, 3, 2, 22, 30, tzinfo=UTC)]
    assert policy.calls_in_window(QuotaKind.STATUS, history, late_utc) == 1
    assert policy.allowed(QuotaKind.STATUS, history, late_utc) is True


def test_sliding_minute() -> None:
    policy = QuotaPolicy({QuotaKind.GLOBAL: Limit(3, Window.MINUTE)})
    history = [NOW - timedelta(seconds=s) for s in (50, 30, 10)]
    assert policy.next_allowed(QuotaKind.GLOBAL, "", history, NOW) == NOW + timedelta(seconds=10)
    later = NOW + timedelta(seconds=10)
    assert policy.next_allowed(QuotaKind.GLOBAL, "", history, later) == later
    assert policy.remaining(QuotaKind.GLOBAL, history[:2], NOW) == 1


def test_retry_at() -> None:
    assert retry_at("global", NOW) == NOW + timedelta(seconds=60)
    assert retry_at("daily", NOW) == datetime(2026, 3, 2, 22, 0, tzinfo=UTC)
    summer = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)  # EEST, UTC+3
    assert next_ro_midnight(summer) == datetime(2026, 7, 1, 21, 0, tzinfo=UTC)


def test_poll_schedule() -> None:
    delays = poll_delays()
    assert len(delays) == 46
    assert delays[:5] == (5, 10, 15, 30, 30)
    assert poll_delay(0) == 5
    assert poll_delay(45) == 3600
    assert poll_delay(1000) == 3600
    assert sum(delays[:15]) == 4050  # 15 polls in the first 67.5 minutes


@given(st.integers(min_value=0, max_value=200_000))
def test_any_24_hours_holds_fewer_than_100_polls(start_offset: int) -> None:
    """Window [start, start+24h) over the poll times (the tail continues hourly)."""
    times = []
    t = 0
    for attempt in range(200):
        t += poll_delay(attempt)
        times.append(t)
    in_window = [x for x in times if start_offset <= x < start_offset + 86_400]
    assert len(in_window) <= 46
