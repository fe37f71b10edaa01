"""Shared test fixtures: the ``../shared`` folder, database URLs for SQLite and PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

# Property tests check behaviour, not speed: on a shared 2-core machine a single example can take
# longer than hypothesis' default 200 ms deadline, which would make the suite flaky.
hypothesis_settings.register_profile("efactura", deadline=None)
hypothesis_settings.load_profile("efactura")

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("EFACTURA_SHARED_DIR", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` beside the checkout; tests that need it skip when it is absent."""
    if not SHARED.is_dir():
        pytest.skip("../shared is not present")
    return SHARED


def shared_part(part: str) -> Path:
    """``../shared/<part>``; the calling test skips when that folder is absent (each part of
    ``../shared`` may be missing on its own)."""
    path = SHARED / part
    if not path.is_dir():
        pytest.skip(f"../shared/{part} is not present")
    return path


@pytest.fixture(scope="session")
def validation_src() -> Path:
    """The official UBL XSD + CIUS-RO schematron as laid out in ../shared/validation."""
    return shared_part("validation")


@pytest.fixture(scope="session")
def stripe_fixtures() -> Path:
    """Real recorded Stripe objects in ../shared/fixtures/stripe."""
    return shared_part("fixtures/stripe")


def _postgres_url() -> str | None:
    return os.environ.get("EFACTURA_TEST_DATABASE_URL") or None


DB_BACKENDS = ["sqlite"] + (["postgresql"] if _postgres_url() else [])


@pytest.fixture(params=DB_BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL: a SQLite file, and PostgreSQL when configured.

    PostgreSQL gets a new schema per test (dropped afterwards) so tests never see each
    other's rows.
    """
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'efactura.db'}"
        return
    import uuid

    import sqlalchemy as sa

    base = _postgres_url()
    assert base is not None
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    yield f"{base}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()
