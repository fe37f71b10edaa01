"""Ordinary mistakes on the command line end in ONE coded line and a non-zero exit code,
never a traceback (issue 14); an unexpected error prints one line naming a log file."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

from stripe_efactura import __version__, cli
from stripe_efactura.config import STARTER_TOML

MISSING_RO = "fișierul nu există"


@dataclass(frozen=True)
class Mistake:
    name: str
    args: Callable[[Path], list[str]]
    line: Callable[[Path], str]
    code: int
    env: Callable[[Path], dict[str, str]] = lambda _tmp: {}
    needs_invoice: bool = False


def _missing(tmp: Path) -> str:
    path = tmp / "nope.json"
    return f"[E-INPUT-MISSING] {path}: no such file / {path}: {MISSING_RO}"


def _not_a_dir(tmp: Path) -> Path:
    (tmp / "afile").write_text("x", encoding="utf-8")
    return tmp / "afile"


MISTAKES = [
    Mistake(
        "preview of a missing file",
        lambda tmp: ["preview", str(tmp / "nope.json")],
        _missing,
        2,
    ),
    Mistake(
        "ingest of a missing file",
        lambda tmp: ["ingest", str(tmp / "nope.json")],
        _missing,
        2,
    ),
    Mistake(
        "anaf token import of a missing file",
        lambda tmp: ["anaf", "token", "import", "--file", str(tmp / "nope.json")],
        _missing,
        2,
    ),
    Mistake(
        "export to a path whose parent is a file",
        lambda tmp: ["invoices", "export", "SEF000001", "--xml", str(_not_a_dir(tmp) / "f.xml")],
        lambda tmp: (
            f"[E-EXPORT-PATH] cannot write {tmp / 'afile' / 'f.xml'}: {tmp / 'afile'} is a file "
            f"/ {tmp / 'afile' / 'f.xml'} nu poate fi scris"
        ),
        2,
        needs_invoice=True,
    ),
    Mistake(
        "EFACTURA_PORT=abc",
        lambda _tmp: ["serve", "--no-worker"],
        lambda _tmp: (
            "[E-CONFIG] EFACTURA_PORT='abc' is not valid: give a port number 1-65535 "
            "/ EFACTURA_PORT='abc' nu este valid: dați un port între 1 și 65535"
        ),
        2,
        env=lambda _tmp: {"EFACTURA_PORT": "abc"},
    ),
    Mistake(
        "a webhook secret of the wrong shape (a key pasted into the wrong variable)",
        lambda _tmp: ["payments", "list"],
        lambda _tmp: (
            "[E-CONFIG] EFACTURA_STRIPE_WEBHOOK_SECRET does not look like whsec_…: copy the "
            "endpoint's signing secret (Stripe: Developers → Webhooks → the endpoint) / "
            "EFACTURA_STRIPE_WEBHOOK_SECRET nu are forma whsec_…: copiați secretul de semnare "
            "al endpoint-ului (Stripe: Developers → Webhooks)"
        ),
        2,
        env=lambda _tmp: {"EFACTURA_STRIPE_WEBHOOK_SECRET": "sk_live_pasted_here"},
    ),
    Mistake(
        "a Stripe API key of the wrong shape",
        lambda _tmp: ["payments", "list"],
        lambda _tmp: (
            "[E-CONFIG] EFACTURA_STRIPE_API_KEY does not look like rk_… or sk_…: use a "
            "restricted (rk_…) or secret (sk_…) key from Stripe: Developers → API keys / "
            "EFACTURA_STRIPE_API_KEY nu are forma rk_… sau sk_…: folosiți o cheie restricționată "
            "(rk_…) sau secretă (sk_…) din Stripe: Developers → API keys"
        ),
        2,
        env=lambda _tmp: {"EFACTURA_STRIPE_API_KEY": "pk_live_publishable"},
    ),
    Mistake(
        "EFACTURA_LOG_LEVEL=bogus",
        lambda _tmp: ["worker", "--once"],
        lambda _tmp: (
            "[E-CONFIG] EFACTURA_LOG_LEVEL='bogus' is not valid: use one of DEBUG, INFO, "
            "WARNING, ERROR, CRITICAL / EFACTURA_LOG_LEVEL='bogus' nu este valid: folosiți una "
            "dintre DEBUG, INFO, WARNING, ERROR, CRITICAL"
        ),
        2,
        env=lambda _tmp: {"EFACTURA_LOG_LEVEL": "bogus"},
    ),
    Mistake(
        "an unsupported database URL",
        lambda _tmp: ["payments", "list"],
        lambda _tmp: (
            "[E-CONFIG] EFACTURA_DATABASE_URL 'mysql' is not supported: use sqlite:///PATH or "
            "postgresql://USER@HOST/DB / EFACTURA_DATABASE_URL 'mysql' nu este acceptat: "
            "folosiți sqlite:///CALE sau postgresql://UTILIZATOR@GAZDA/BD"
        ),
        2,
        env=lambda _tmp: {"EFACTURA_DATABASE_URL": "mysql://shop:secret@db.example/shop"},
    ),
    Mistake(
        "PostgreSQL refusing connections",
        lambda _tmp: ["payments", "list"],
        lambda _tmp: (
            "[E-STORAGE] database unavailable: connection failed: connection to server at "
            '"127.0.0.1", port 1 failed: Connection refused / baza de date nu este disponibilă'
        ),
        1,
        env=lambda _tmp: {"EFACTURA_DATABASE_URL": "postgresql://root@127.0.0.1:1/test"},
    ),
    Mistake(
        "a data dir that cannot be created",
        lambda _tmp: ["init"],
        lambda tmp: (
            f"[E-DATA-DIR] cannot create the data directory {tmp / 'afile' / 'data'} "
            f"(EFACTURA_DATA_DIR): Not a directory / dosarul de date {tmp / 'afile' / 'data'} "
            "nu poate fi creat"
        ),
        2,
        env=lambda tmp: {"EFACTURA_DATA_DIR": str(_not_a_dir(tmp) / "data")},
    ),
]


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    config = tmp_path / "efactura.toml"
    config.write_text(STARTER_TOML, encoding="utf-8")
    monkeypatch.setenv("EFACTURA_CONFIG", str(config))
    monkeypatch.setenv("EFACTURA_DATA_DIR", str(tmp_path / "data"))
    for name in ("EFACTURA_DATABASE_URL", "EFACTURA_PORT", "EFACTURA_LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.mark.parametrize("mistake", MISTAKES, ids=[m.name for m in MISTAKES])
def test_a_user_mistake_is_one_coded_line(
    mistake: Mistake,
    db_url: str,
    cli_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    factory: ModuleType,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if mistake.needs_invoice:
        pipe = request.getfixturevalue("pipe")  # an issued invoice in the ``db_url`` database
        pipe.issue(factory.standard_invoice())
        monkeypatch.setenv("EFACTURA_DATABASE_URL", db_url)
    for name, value in mistake.env(cli_env).items():
        monkeypatch.setenv(name, value)
    assert cli.main(mistake.args(cli_env)) == mistake.code
    out = capsys.readouterr()
    assert out.err == mistake.line(cli_env) + "\n"
    assert "Traceback" not in out.out


def test_a_read_only_command_never_creates_nor_migrates_the_database(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db_file = cli_env / "data" / "efactura.db"
    assert cli.main(["invoices", "list"]) == 1
    assert capsys.readouterr().err == (
        f"[E-DB-SCHEMA] no database at {db_file}: run `stripe-efactura db upgrade` (or `init`) "
        f"first / nu există baza de date {db_file}: rulați `stripe-efactura db upgrade` "
        "(sau `init`)\n"
    )
    assert not db_file.exists()
    assert cli.main(["db", "upgrade"]) == 0
    capsys.readouterr()
    assert cli.main(["payments", "list", "--json"]) == 0
    assert capsys.readouterr().out == "[]\n"


def test_an_unexpected_error_is_one_line_and_a_log_file(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from stripe_efactura import app as use_cases

    def boom(_ctx: object, **_options: object) -> list[dict[str, object]]:
        raise RuntimeError("boom\nsecond line")

    assert cli.main(["db", "upgrade"]) == 0
    capsys.readouterr()
    monkeypatch.setattr(use_cases, "payments_listing", boom)
    assert cli.main(["payments", "list"]) == cli.INTERNAL_EXIT
    err = capsys.readouterr().err
    logs = sorted((cli_env / "data" / "logs").glob("stripe-efactura-error-*.log"))
    assert len(logs) == 1
    assert err == (
        f"[E-INTERNAL] unexpected error (RuntimeError: boom); details in {logs[0]} "
        f"/ eroare neașteptată; detaliile sunt în {logs[0]}\n"
    )
    text = logs[0].read_text(encoding="utf-8")
    assert text.startswith("Traceback (most recent call last):")
    assert text.endswith("RuntimeError: boom\nsecond line\n")

    assert cli.main(["--debug", "payments", "list"]) == cli.INTERNAL_EXIT
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):")
    assert err.splitlines()[-1].startswith("[E-INTERNAL] unexpected error (RuntimeError: boom)")


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out == f"stripe-efactura {__version__}\n"
