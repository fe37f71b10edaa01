"""Quota simulation on the fake clock: many invoices in processing for a whole day never push any
ANAF limit (1000 calls/minute, 100 stareMesaj and 10 descarcare per message per day)."""

from __future__ import annotations

import bisect
import heapq
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from stripe_efactura.anaf.fake import FakeAnafTransport, create_fake_anaf
from stripe_efactura.anaf.quotas import (
    DEFAULT_LIST_RESERVE,
    RO_TZ,
    Limit,
    QuotaKind,
    QuotaPolicy,
    Window,
)
from stripe_efactura.app import anaf_tuning
from stripe_efactura.store import db, invoice_files
from stripe_efactura.store.tables import invoices


class CallLog:
    """ASGI middleware recording every ANAF API call at the fake's clock: (time, endpoint, id)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.calls: list[tuple[datetime, str, str]] = []
        self.answers: Counter[int] = Counter()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and "/FCTEL/rest/" in scope["path"]:
            query = dict(
                part.split("=", 1) for part in scope["query_string"].decode().split("&") if part
            )
            key = query.get("id_incarcare") or query.get("id") or query.get("cif", "")
            endpoint = scope["path"].rsplit("/", 1)[1]
            self.calls.append((self.app.state.fake.clock.now(), endpoint, key))

            async def spy(message: Any) -> None:
                if message["type"] == "http.response.start":
                    self.answers[int(message["status"])] += 1
                await send(message)

            await self.app(scope, receive, spy)
            return
        await self.app(scope, receive, send)

    def max_per_sliding_minute(self) -> int:
        times = sorted(t for t, _e, _k in self.calls)
        best = 0
        for i, t in enumerate(times):
            j = bisect.bisect_left(times, t + timedelta(seconds=60))
            best = max(best, j - i)
        return best

    def max_per_message_day(self, endpoint: str) -> int:
        days = Counter((k, t.astimezone(RO_TZ).date()) for t, e, k in self.calls if e == endpoint)
        return max(days.values())


def _wire(env) -> CallLog:  # type: ignore[no-untyped-def]
    calls = CallLog(create_fake_anaf(env.state))
    env.ctx.anaf_transport = FakeAnafTransport(calls)  # type: ignore[arg-type]
    env.ctx.anaf_client = None
    return calls


def _fast_sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    # durability is not what these tests measure: spare the disk 20 000 fsyncs
    monkeypatch.setattr(db, "_SQLITE_SYNC", "OFF")


INVOICES = 1000
STUCK_EVERY = 20  # one invoice in 20 stays "in prelucrare" for a whole day


def _duration(number: str) -> timedelta:
    """ANAF's processing time of each invoice in this simulation (by its sequence number)."""
    seq = int(number.removeprefix("SEF"))
    if seq % STUCK_EVERY == 0:
        return timedelta(hours=24, minutes=seq % 60)
    return timedelta(minutes=1 + seq % 7)


class Processing:
    """Finishes each message at its upload time + :func:`_duration` (the fake's own knobs are
    global; this gives every message its own processing time)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seen = 0
        self.due: list[tuple[datetime, str]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        state = self.app.state.fake
        messages = list(state.messages.values())
        for msg in messages[self.seen :]:
            heapq.heappush(self.due, (msg.uploaded_at + _duration(msg.invoice_number), msg.index))
        self.seen = len(messages)
        now = state.clock.now()
        while self.due and self.due[0][0] <= now:
            when, index = heapq.heappop(self.due)
            state.messages[index].finished_at = when
        await self.app(scope, receive, send)

    @property
    def state(self) -> Any:
        return self.app.state


@pytest.mark.slow
def test_1000_invoices_in_processing_over_a_day_stay_within_every_anaf_limit(
    make_env, monkeypatch, db_url
) -> None:  # type: ignore[no-untyped-def]
    if not db_url.startswith("sqlite"):
        pytest.skip("30 s of simulation; the shared limiter runs on PostgreSQL in the test below")
    _fast_sqlite(monkeypatch)
    env = make_env(processing_polls=10**9, processing_delay=None)
    calls = CallLog(Processing(create_fake_anaf(env.state)))
    env.ctx.anaf_transport = FakeAnafTransport(calls)  # type: ignore[arg-type]
    env.ctx.anaf_client = None
    ids = [env.issue()[0] for _ in range(INVOICES)]  # a burst: 1000 invoices at 10:00
    start = env.clock.now()
    env.drive(ids, max_steps=100_000)
    with db.read(env.ctx.engine) as conn:
        done = conn.execute(
            sa.select(sa.func.count())
            .select_from(invoices)
            .where(invoices.c.anaf_state == "ok", invoice_files.has("signed_zip"))
        ).scalar_one()
    assert done == INVOICES
    assert env.clock.now() - start > timedelta(hours=24)  # the stuck ones took a day
    assert sorted(m.invoice_number for m in env.state.uploads()) == sorted(
        env.row(i).number for i in ids
    )  # one upload each
    endpoints = Counter(e for _t, e, _k in calls.calls)
    assert (endpoints["upload"], endpoints["descarcare"]) == (INVOICES, INVOICES)
    assert calls.answers == Counter({200: len(calls.calls)})  # never a 429 or a quota error
    assert calls.max_per_sliding_minute() <= 900  # our margin under ANAF's 1000/minute
    first_minute = sum(1 for t, _e, _k in calls.calls if t < start + timedelta(seconds=60))
    # the burst's uploads were capped by the shared window, short of the message list's slots
    assert first_minute == 900 - DEFAULT_LIST_RESERVE == 880
    assert calls.max_per_message_day("descarcare") == 1
    # the stuck invoices were polled all day long, inside the per-message daily limit
    assert calls.max_per_message_day("stareMesaj") <= 46  # any calendar day; ANAF allows 100
    polls = Counter(k for _t, e, k in calls.calls if e == "stareMesaj")
    stuck = [m.index for m in env.state.uploads() if int(m.invoice_number[3:]) % STUCK_EVERY == 0]
    # 46 at most in any 24 h; these were polled 41 or 42 times before ANAF finished them
    assert sorted(Counter(polls[i] for i in stuck).items()) == [(41, 16), (42, 34)]
    assert max(n for (kind, _k, _d), n in env.state.counters.items() if kind == "stareMesaj") <= 100


def test_per_message_daily_limits_wait_for_midnight_in_bucharest(make_env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _fast_sqlite(monkeypatch)
    policy = QuotaPolicy(
        {
            **QuotaPolicy.default().limits,
            QuotaKind.STATUS: Limit(3, Window.DAY),
            QuotaKind.GLOBAL: Limit(5, Window.MINUTE),
        }
    )
    env = make_env(
        tune=anaf_tuning.Tuning(policy=policy),
        processing_polls=10**9,
        processing_delay=timedelta(hours=30),
    )
    calls = _wire(env)
    ids = [env.issue()[0] for _ in range(8)]
    env.drive(ids)
    assert all(env.row(i).anaf_state == "ok" for i in ids)
    assert calls.max_per_message_day("stareMesaj") == 3
    assert calls.max_per_sliding_minute() == 5
    polls_by_day = Counter(
        t.astimezone(RO_TZ).date().isoformat() for t, e, _k in calls.calls if e == "stareMesaj"
    )
    # Monday 10:00: 3 polls each; Tuesday: 3 each; Wednesday (after 30 h): the final one
    assert polls_by_day == Counter({"2026-03-02": 24, "2026-03-03": 24, "2026-03-04": 8})
    first_tuesday = min(
        t for t, e, _k in calls.calls if e == "stareMesaj" and t.astimezone(RO_TZ).day == 3
    )
    assert first_tuesday.astimezone(RO_TZ).strftime("%H:%M") == "00:00"
