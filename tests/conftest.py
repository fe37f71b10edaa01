"""Shared test fixtures: the ``../shared`` folder, database URLs for SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import settings as hypothesis_settings
from sqlalchemy.engine import Engine

from factories.demo_run import DemoRun
from stripe_efactura import cli
from stripe_efactura.store import migrate
from stripe_efactura.store.db import make_engine, sqlite_path
from stripe_efactura.ubl import artifacts

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


@pytest.fixture(scope="session")
def installed_validation(validation_src: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The validation artifacts installed once per test run (shared by the xdist processes:
    the demo's account names the folder)."""
    shared = _run_folder(tmp_path_factory)
    dest = shared / "validation"
    with _locked(shared / "validation.lock"):
        if not (shared / "validation.done").exists():
            artifacts.install_from(validation_src, dest)
            (shared / "validation.done").touch()
    return dest


def _run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run's own temporary folder, shared by its xdist processes (each has a subfolder)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


@pytest.fixture(scope="session")
def demo_run(installed_validation: Path, tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """``stripe-efactura demo --dir D`` through the real command line, once per test run:
    (rc, out, err, D, t0). About 20 s, mostly waiting for the fake ANAF's second status poll.
    tests/demo reads D; the console tests serve a copy of D (``factories.demo_run.demo_copy``).
    Under xdist the first process that needs it runs it (holding a lock on the run's shared
    temporary folder) and the other reads its result."""
    shared = _run_folder(tmp_path_factory)
    saved = shared / "demo-run.json"
    with _locked(shared / "demo-run.lock"):
        if saved.exists():
            rc, out, err, directory, started = json.loads(saved.read_text(encoding="utf-8"))
            return rc, out, err, Path(directory), started
        directory = shared / "demo-run" / "demo"
        run = _run_demo(directory, installed_validation)
        saved.write_text(json.dumps([*run[:3], str(directory), run[4]]), encoding="utf-8")
        return run


def _run_demo(directory: Path, validation: Path) -> DemoRun:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    mp = pytest.MonkeyPatch()
    mp.setenv("EFACTURA_VALIDATION_DIR", str(validation))
    started = datetime.now(ZoneInfo("Europe/Bucharest")).timestamp()
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = cli.main(["demo", "--dir", str(directory)])
    finally:
        mp.undo()
    return rc, out.getvalue(), err.getvalue(), directory, started


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


@pytest.fixture(scope="session", autouse=True)
def migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One SQLite database migrated by alembic to head, copied into every new, empty SQLite
    database that ``ensure_schema`` (``prepare``, ``serve``, ``worker``, ``db upgrade``) would
    migrate from nothing in this process: a page-for-page copy of what the same migrations
    produce, in milliseconds instead of running every migration for every test. Other upgrades
    (a database behind head, PostgreSQL, tests calling ``migrate.upgrade`` themselves, worker
    subprocesses) run alembic as before; ``tests/store/test_migrations.py`` tests the migrations
    themselves."""
    template = tmp_path_factory.mktemp("schema") / "head.db"
    engine = make_engine(f"sqlite:///{template}")
    migrate.upgrade(engine)
    engine.dispose()
    alembic_upgrade = migrate.upgrade

    def upgrade(engine: Engine, revision: str = "head") -> None:
        if revision != "head" or not _copy_into_empty(template, engine):
            alembic_upgrade(engine, revision)

    patch = pytest.MonkeyPatch()
    patch.setattr(migrate, "upgrade", upgrade)
    yield template
    patch.undo()


def _copy_into_empty(template: Path, engine: Engine) -> bool:
    """Copy ``template`` into the SQLite database of ``engine`` when it has no tables yet."""
    if sqlite_path(engine) is None:
        return False
    with engine.connect() as conn:
        if conn.execute(sa.text("SELECT COUNT(*) FROM sqlite_master")).scalar_one():
            return False
        conn.rollback()
        source = sqlite3.connect(template)
        try:
            source.backup(conn.connection.driver_connection)  # type: ignore[arg-type]
        finally:
            source.close()
    return True
