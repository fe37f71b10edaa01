"""Fixtures for the ANAF client/fake tests: a fixed clock, the fake app, a client wired to it.

Constants used here are repeated in the test modules (importlib mode: conftest is not importable).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from stripe_efactura.anaf.client import AnafClient
from stripe_efactura.anaf.fake import FakeAnafState, FakeAnafTransport, FakeClock, create_fake_anaf

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # 12:00 in Bucharest
BASE = "http://anaf.fake"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def state(clock: FakeClock) -> FakeAnafState:
    return FakeAnafState(clock=clock, processing_polls=1, processing_delay=None)


@pytest.fixture
def transport(state: FakeAnafState) -> FakeAnafTransport:
    return FakeAnafTransport(create_fake_anaf(state))


@pytest.fixture
def token(state: FakeAnafState) -> dict[str, str]:
    """A mutable holder for the access token the client sends."""
    return {"access": str(state.mint_tokens()["access_token"])}


@pytest.fixture
def client(transport: FakeAnafTransport, token: dict[str, str]) -> Iterator[AnafClient]:
    with AnafClient(
        BASE, "test", lambda: token["access"], transport=transport, timeout=5.0, public_base=BASE
    ) as anaf:
        yield anaf
