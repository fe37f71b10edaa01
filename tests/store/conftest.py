"""Fixtures of the store tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from stripe_efactura.store import db
from stripe_efactura.store.migrate import upgrade


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on ``db_url`` with the schema migrated to head (closed afterwards)."""
    eng = db.make_engine(db_url)
    upgrade(eng)
    yield eng
    eng.dispose()
