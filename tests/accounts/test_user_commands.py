"""`stripe-efactura user …` and `audit-log list` drive the same use cases as the API."""

from __future__ import annotations

import hashlib
import io
import json
import logging
from pathlib import Path

import pytest
import sqlalchemy as sa

from stripe_efactura.cli import main
from stripe_efactura.config import STARTER_TOML
from stripe_efactura.store import db
from stripe_efactura.store.tables import api_tokens


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str) -> str:
    config = tmp_path / "efactura.toml"
    config.write_text(STARTER_TOML, encoding="utf-8")
    monkeypatch.setenv("EFACTURA_CONFIG", str(config))
    monkeypatch.setenv("EFACTURA_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("EFACTURA_DATABASE_URL", db_url)
    monkeypatch.setenv("USER", "operator")
    return db_url


def run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str, stdin: str = ""
) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_user_commands_round_trip(
    cli_env: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    pw = "a long enough password\n"
    assert run(
        monkeypatch,
        capsys,
        "user",
        "add",
        "Boss@Example.ro",
        "--role",
        "admin",
        "--password-stdin",
        stdin=pw,
    )[:2] == (0, "added boss@example.ro (admin)\n")
    assert run(monkeypatch, capsys, "user", "add", "v@example.ro", "--password-stdin", stdin=pw)[
        :2
    ] == (0, "added v@example.ro (viewer)\n")
    code, _, err = run(
        monkeypatch, capsys, "user", "add", "v@example.ro", "--password-stdin", stdin=pw
    )
    assert (code, err) == (
        1,
        (
            "[E-USER-EXISTS] A user v@example.ro already exists. / "
            "Utilizatorul v@example.ro există deja.\n"
        ),
    )
    code, out, _ = run(monkeypatch, capsys, "user", "list", "--json")
    listed = json.loads(out)
    assert [(u["email"], u["role"], u["active"]) for u in listed] == [
        ("boss@example.ro", "admin", True),
        ("v@example.ro", "viewer", True),
    ]
    code, secret, err = run(
        monkeypatch,
        capsys,
        "user",
        "token",
        "create",
        "v@example.ro",
        "--name",
        "bi",
        "--scope",
        "read",
    )
    secret = secret.strip()
    assert (code, err) == (0, "token 1 (read) for v@example.ro; shown once:\n")
    engine = db.make_engine(cli_env)
    with db.read(engine) as conn:
        digest = conn.execute(sa.select(api_tokens.c.token_hash)).scalar_one()
    engine.dispose()
    assert digest == hashlib.sha256(secret.encode()).hexdigest()
    code, out, _ = run(monkeypatch, capsys, "user", "token", "list", "--json")
    assert secret not in out
    assert [(t["id"], t["prefix"], t["scope"]) for t in json.loads(out)] == [
        (1, secret[:12], "read")
    ]
    assert run(monkeypatch, capsys, "user", "token", "revoke", "1")[:2] == (
        0,
        f"revoked token 1 ({secret[:12]}…)\n",
    )
    assert run(monkeypatch, capsys, "user", "role", "v@example.ro", "accountant")[1] == (
        "v@example.ro is now accountant\n"
    )
    assert (
        run(
            monkeypatch,
            capsys,
            "user",
            "passwd",
            "v@example.ro",
            "--password-stdin",
            stdin="another long password\n",
        )[1]
        == "password changed for v@example.ro\n"
    )
    assert run(monkeypatch, capsys, "user", "disable", "v@example.ro")[1] == (
        "disabled v@example.ro\n"
    )
    code, out, _ = run(monkeypatch, capsys, "audit-log", "list", "--json")
    entries = json.loads(out)
    assert [(e["action"], e["actor"], e["via"], e["target_id"]) for e in entries] == [
        ("user.update", "cli:operator", "cli", "v@example.ro"),
        ("user.password", "cli:operator", "cli", "v@example.ro"),
        ("user.update", "cli:operator", "cli", "v@example.ro"),
        ("token.revoke", "cli:operator", "cli", "1"),
        ("token.create", "cli:operator", "cli", "1"),
        ("user.add", "cli:operator", "cli", "v@example.ro"),
        ("user.add", "cli:operator", "cli", "boss@example.ro"),
    ]
    assert entries[0]["after"]["active"] is False
    assert secret not in out and secret not in caplog.text
