"""Registry lookups with the database cache, the shared throttle and the payment timeline,
on a fake clock."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from stripe_efactura import app as use_cases
from stripe_efactura.app import lookups
from stripe_efactura.app.context import AppContext, build_context
from stripe_efactura.config import demo_settings
from stripe_efactura.invoicing import ro
from stripe_efactura.registry.fake import FakeClock, FakeCompany, FakeRegistry
from stripe_efactura.registry.http import RegistryUnavailable

DAY = date(2026, 12, 1)
EPOCH = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def make_ctx(tmp_path: Path, db_url: str, clock: FakeClock, fake: FakeRegistry) -> AppContext:
    settings = demo_settings(
        tmp_path,
        database_url=db_url,
        anaf_public_base="https://fake-registry.invalid",
        vies_url="https://fake-vies.invalid/rest-api",
    )
    ctx = build_context(settings)
    use_cases.prepare(ctx)
    ctx.clock = lambda: EPOCH + timedelta(seconds=clock() - 1000.0)
    ctx.sleep = clock.sleep
    ctx.registry_transport = fake
    return ctx


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake(clock: FakeClock) -> FakeRegistry:
    return FakeRegistry(clock=clock, sleep=clock.sleep)


@pytest.fixture
def ctx(tmp_path: Path, db_url: str, clock: FakeClock, fake: FakeRegistry) -> Iterator[AppContext]:
    c = make_ctx(tmp_path, db_url, clock, fake)
    yield c
    c.close()


def test_cache_hit_makes_no_call(ctx: AppContext, fake: FakeRegistry, clock: FakeClock) -> None:
    first = lookups.taxpayer(ctx, "41833563", DAY, payment_key="pi_1")
    assert first is not None and first.name == "ATELIER DIGITAL NORD SRL"
    assert len(fake.anaf_calls) == 1
    clock.sleep(3600)
    again = lookups.taxpayer(ctx, "41833563", DAY, payment_key="pi_2")
    assert again == first
    assert len(fake.anaf_calls) == 1  # answered from the cache
    assert [e["detail"]["cached"] for e in lookups.timeline(ctx, "pi_2")] == [True]
    assert lookups.timeline(ctx, "pi_1")[0]["detail"] | {} == {
        "service": "anaf",
        "cui": "41833563",
        "day": "2026-12-01",
        "outcome": "found",
        "cached": False,
        "name": "ATELIER DIGITAL NORD SRL",
        "address": "JUD. MUNICIPIUL BUCUREŞTI, Sector 3 Mun. Bucureşti, Bd. Decebal, NR.14",
        "vat_payer": True,
        "vat_on_collection": False,
        "inactive": False,
        "deregistered_on": None,
    }


def test_not_found_is_cached_too(ctx: AppContext, fake: FakeRegistry) -> None:
    assert lookups.taxpayer(ctx, "13579134", DAY) is None
    assert lookups.taxpayer(ctx, "13579134", DAY) is None
    assert len(fake.anaf_calls) == 1


def test_answer_expires_at_the_end_of_the_day(
    ctx: AppContext, fake: FakeRegistry, clock: FakeClock
) -> None:
    lookups.taxpayer(ctx, "18547290", DAY)
    # 08:00 UTC is 10:00 in Bucharest; the day ends 14 h later
    clock.sleep(14 * 3600 - 1)
    lookups.taxpayer(ctx, "18547290", DAY)
    assert len(fake.anaf_calls) == 1
    clock.sleep(2)
    lookups.taxpayer(ctx, "18547290", DAY)
    assert len(fake.anaf_calls) == 2
    assert lookups.expires_at(DAY, datetime(2026, 12, 1, 8)) == datetime(2026, 12, 1, 22)
    # asked about a past day: valid until the end of the fetch day
    assert lookups.expires_at(date(2026, 11, 2), datetime(2026, 12, 1, 8)) == datetime(
        2026, 12, 1, 22
    )


def test_a_second_lookup_within_the_second_waits_without_a_call(
    ctx: AppContext, fake: FakeRegistry, clock: FakeClock
) -> None:
    lookups.taxpayer(ctx, "18547290", DAY)
    with pytest.raises(lookups.LookupWait) as info:
        lookups.taxpayer(ctx, "41833563", DAY)
    assert info.value.count_attempt is False
    assert info.value.delay_seconds == pytest.approx(1.05)
    assert len(fake.anaf_calls) == 1
    clock.sleep(1.0)
    assert lookups.taxpayer(ctx, "41833563", DAY) is not None
    assert fake.violations == []


def test_registry_down_is_recorded_and_raised(
    ctx: AppContext, fake: FakeRegistry, clock: FakeClock
) -> None:
    fake.anaf_faults = ["html", "html", "html"]
    with pytest.raises(RegistryUnavailable):
        lookups.taxpayer(ctx, "18547290", DAY, payment_key="pi_down")
    events = lookups.timeline(ctx, "pi_down")
    assert [e["event"] for e in events] == ["registry_unavailable"]
    assert events[0]["detail"]["reason"] == "html"
    assert fake.violations == []  # the retries took slots of their own
    assert [round(t - fake.anaf_calls[0][0], 3) for t, _ in fake.anaf_calls] == [0.0, 1.0, 3.0]
    # the CUI stays wanted: the next lookup (a second later) asks again and gets the answer
    clock.sleep(1)
    assert lookups.taxpayer(ctx, "18547290", DAY, payment_key="pi_down") is not None


def test_waiting_for_a_service_is_bounded(
    ctx: AppContext, fake: FakeRegistry, clock: FakeClock
) -> None:
    fake.vies_unavailable = {"DE"}
    with pytest.raises(RegistryUnavailable):
        lookups.check_vat(ctx, "DE268519733", DAY, payment_key="pi_eu")
    assert lookups.give_up_since(ctx, "pi_eu", "vies") is None
    clock.sleep(lookups.MAX_WAIT.total_seconds() - 60)
    with pytest.raises(RegistryUnavailable):
        lookups.check_vat(ctx, "DE268519733", DAY, payment_key="pi_eu")
    assert lookups.give_up_since(ctx, "pi_eu", "vies") is None
    clock.sleep(120)
    assert lookups.give_up_since(ctx, "pi_eu", "vies") == datetime(
        2026, 12, 1, 8, 0, 3
    )  # after 2 retries
    # after a give-up, a retry waits afresh
    assert lookups.give_up_since(ctx, "pi_eu", "vies") is None
    assert lookups.outage_started(ctx, "pi_eu", "vies") is None


def test_vies_answers_are_cached(ctx: AppContext, fake: FakeRegistry) -> None:
    assert lookups.check_vat(ctx, "DE268519733", DAY, payment_key="pi_eu").valid is True
    assert lookups.check_vat(ctx, "DE268519733", DAY).valid is True
    assert lookups.check_vat(ctx, "NL123456789B01", DAY).valid is False
    assert fake.vies_calls == ["DE268519733", "NL123456789B01"]
    (event,) = lookups.timeline(ctx, "pi_eu")
    assert (event["event"], event["detail"]["valid"], event["detail"]["name"]) == (
        "vies_check",
        True,
        "Nordlicht Software GmbH",
    )


def _cuis(n: int) -> list[str]:
    out: list[str] = []
    body = 3_000_000
    while len(out) < n:
        body += 1
        out.append(f"{body}{ro._cui_check_digit(str(body))}")
    return out


def test_a_burst_of_1000_lookups_stays_within_anafs_limits(
    ctx: AppContext, fake: FakeRegistry, clock: FakeClock
) -> None:
    """1,000 B2B payments arrive at once, each with its own CUI. Every job that cannot call
    waits (as the worker would rerun it); the registry sees at most one call per second and
    at most 100 CUIs per call."""
    cuis = _cuis(1000)
    fake.add(
        FakeCompany(
            c, f"FIRMA {c} SRL", "Str. Lungă", "1", "Mun. Cluj-Napoca", "CJ", "CLUJ", "400001"
        )
        for c in cuis
    )
    pending = list(cuis)
    answered: dict[str, str] = {}
    rounds = 0
    while pending:
        rounds += 1
        waiting: list[str] = []
        for cui in pending:
            try:
                record = lookups.taxpayer(ctx, cui, DAY)
            except lookups.LookupWait:
                waiting.append(cui)
                continue
            assert record is not None
            answered[cui] = record.name
        pending = waiting
        clock.sleep(0.5)  # the worker reruns waiting jobs after their delay
        assert rounds < 100
    assert answered == {c: f"FIRMA {c} SRL" for c in cuis}
    assert fake.violations == []
    sizes = [len(c) for _, c in fake.anaf_calls]
    assert max(sizes) <= 100 and sum(sizes) == 1000
    times = [t for t, _ in fake.anaf_calls]
    assert all(b - a >= 1.0 for a, b in itertools.pairwise(times))
    assert len(fake.anaf_calls) <= 12, sizes  # batched: not one call per payment
    assert sizes[:3] == [1, 100, 100], sizes
