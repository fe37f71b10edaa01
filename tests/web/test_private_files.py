"""File modes, the forged ANAF callback and /healthz (issue 16 items 5 and 6)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from stripe_efactura import app as use_cases
from stripe_efactura.app import anaf_archive, anaf_login, anaf_tokens
from stripe_efactura.app.runner import prepare
from stripe_efactura.config import demo_settings
from stripe_efactura.jobs import heartbeat
from stripe_efactura.mail.send import DirectorySender
from stripe_efactura.store import db
from stripe_efactura.web.app import create_app


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    """The modes must not depend on the umask: test under the common, permissive 022."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_a_new_sqlite_data_dir_is_0700_and_its_files_0600(tmp_path: Path) -> None:
    data = tmp_path / "data"
    ctx = use_cases.build_context(demo_settings(data))
    prepare(ctx)
    with db.write(ctx.engine) as conn:
        conn.execute(sa.text("CREATE TABLE t (x INTEGER)"))
    with db.read(ctx.engine) as conn:
        conn.execute(sa.text("SELECT 1"))
    names = sorted(p.name for p in data.iterdir())
    assert {"efactura.db", "efactura.db-wal", "efactura.db-shm"} <= set(names)
    assert mode(data) == 0o700
    assert {n: mode(data / n) for n in names if n.startswith("efactura.db")} == {
        "efactura.db": 0o600,
        "efactura.db-shm": 0o600,
        "efactura.db-wal": 0o600,
        "efactura.db-writers": 0o600,  # the writers' turns (store/writer_turns.py)
    }
    ctx.close()


def test_an_older_loose_data_dir_is_tightened_at_start(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    os.chmod(data, 0o755)
    for name in ("efactura.db", "efactura.db-wal"):
        (data / name).touch()
        os.chmod(data / name, 0o644)
    os.chmod(data, 0o755)
    ctx = use_cases.build_context(demo_settings(data))
    prepare(ctx)
    assert (mode(data), mode(data / "efactura.db"), mode(data / "efactura.db-wal")) == (
        0o700,
        0o600,
        0o600,
    )
    ctx.close()


def test_outbox_emails_archives_and_the_key_are_0600(tmp_path: Path) -> None:
    msg = EmailMessage()
    msg["Message-ID"] = "<x@example.ro>"
    msg["From"] = "a@example.ro"
    msg["To"] = "b@example.ro"
    msg["Subject"] = "Factura"
    msg.set_content("corp")
    sender = DirectorySender(tmp_path / "data" / "outbox")
    sender.send(msg)
    eml = sender.path_for(msg)
    assert (mode(eml), mode(eml.parent)) == (0o600, 0o700)
    archive = tmp_path / "data" / "archive" / "2026" / "SEF000001.zip"
    anaf_archive.write_atomic(archive, b"PK\x03\x04", mode=anaf_archive.PRIVATE)
    assert (mode(archive), mode(archive.parent)) == (0o600, 0o700)
    ctx = use_cases.build_context(demo_settings(tmp_path / "keyed"))
    anaf_tokens.encryption_key(ctx)
    assert (mode(tmp_path / "keyed" / "secret.key"), mode(tmp_path / "keyed")) == (0o600, 0o700)
    ctx.close()


@pytest.fixture
def client(tmp_path: Path, db_url: str) -> Iterator[TestClient]:
    ctx = use_cases.build_context(demo_settings(tmp_path / "web", database_url=db_url))
    use_cases.prepare(ctx)
    with TestClient(create_app(ctx)) as c:
        c.ctx = ctx  # type: ignore[attr-defined]
        yield c
    ctx.close()


@pytest.mark.parametrize(
    "state", ["1796140000.abcdef0123456789.0123456789abcdef0123456789abcdef", "a.b.c"]
)
def test_a_forged_callback_state_is_refused(client: TestClient, state: str) -> None:
    r = client.get("/anaf/callback", params={"code": "c0de", "state": state})
    assert r.status_code == 400
    assert "Unknown or expired authorisation request" in r.text


@pytest.mark.parametrize(
    "state", ["1796140000.abcdef0123456789.0123456789abcdef0123456789abcdef", "a.b.c"]
)
def test_checking_a_forged_state_creates_no_key(tmp_path: Path, state: str) -> None:
    ctx = use_cases.build_context(demo_settings(tmp_path / "nokey"))
    assert anaf_login.check_login_state(ctx, state) is False
    assert not (tmp_path / "nokey" / "secret.key").exists()
    ctx.close()


def test_healthz_hides_the_driver_error(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    client.ctx.engine.dispose()  # type: ignore[attr-defined]
    client.ctx.engine = sa.create_engine(  # type: ignore[attr-defined]
        "postgresql+psycopg://nobody:secret-password@127.0.0.1:1/none"
    )
    r = client.get("/healthz")
    assert (r.status_code, r.json()) == (503, {"status": "error", "error": "E-STORAGE"})
    assert "secret-password" not in r.text and "127.0.0.1" not in r.text


def test_healthz_fails_when_the_embedded_worker_is_dead(tmp_path: Path, db_url: str) -> None:
    """``serve`` runs a worker: its /healthz fails while no worker heartbeat is fresh, and
    recovers with the next beat (issue 14); a web-only process (--no-worker) never checks."""
    ctx = use_cases.build_context(demo_settings(tmp_path / "w", database_url=db_url))
    use_cases.prepare(ctx)
    with TestClient(create_app(ctx, with_worker=True)) as c:
        r = c.get("/healthz")
        assert (r.status_code, r.json()) == (503, {"status": "error", "error": "E-WORKER-DOWN"})
        heartbeat.beat(ctx.engine, "w-1", starting=True)
        assert c.get("/healthz").json() == {"status": "ok"}
        heartbeat.beat(ctx.engine, "w-1", heartbeat.CRASHED, error="E-WORKER-CRASH: boom")
        assert c.get("/healthz").status_code == 503
    with TestClient(create_app(ctx)) as c:
        assert c.get("/healthz").json() == {"status": "ok"}
    ctx.close()
