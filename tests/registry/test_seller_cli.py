"""`stripe-efactura init --cui` and the start-up check as the merchant runs them: the command
line builds its own registry client from the settings, pointed at the fake registry served
over HTTP (``registry/fake_server.py``)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from stripe_efactura.cli import main
from stripe_efactura.config import STARTER_TOML, parse_toml
from stripe_efactura.intake.fake_server import run_in_thread
from stripe_efactura.registry.fake import FakeRegistry
from stripe_efactura.registry.fake_server import asgi_app
from stripe_efactura.tz import BUCHAREST
from support import toml_table


@pytest.fixture
def served() -> Iterator[tuple[FakeRegistry, str]]:
    fake = FakeRegistry()
    with run_in_thread(asgi_app(fake)) as base:
        yield fake, base


def _env(tmp_path: Path, db_url: str, base: str) -> dict[str, str]:
    return {
        "EFACTURA_CONFIG": str(tmp_path / "efactura.toml"),
        "EFACTURA_DATA_DIR": str(tmp_path / "data"),
        "EFACTURA_DATABASE_URL": db_url,
        "EFACTURA_ANAF_PUBLIC_BASE": base,
        "EFACTURA_VIES_URL": base,
    }


def test_init_cui_writes_the_company_block_from_the_registry(
    tmp_path: Path,
    db_url: str,
    served: tuple[FakeRegistry, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake, base = served
    for name, value in _env(tmp_path, db_url, base).items():
        monkeypatch.setenv(name, value)
    assert main(["init", "--cui", "RO 12345674"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == (
        "company: CONSTRUCT MONTAJ VEST SRL (CUI 12345674, VAT payer) from ANAF's registry"
    )
    data = parse_toml((tmp_path / "efactura.toml").read_text(encoding="utf-8"))
    company = toml_table(data, "company")
    assert {k: company[k] for k in ("name", "cui", "vat_payer", "vat_on_collection")} == {
        "name": "CONSTRUCT MONTAJ VEST SRL",
        "cui": "12345674",
        "vat_payer": True,
        "vat_on_collection": True,
    }
    assert company["trade_register"] == "J12/3456/2012"
    assert company["address"] == {
        "line1": "Str. Memorandumului nr. 28",
        "city": "Mun. Cluj-Napoca",
        "county": "RO-CJ",
        "postal_code": "400114",
        "country": "RO",
    }
    assert [cuis for _, cuis in fake.anaf_calls] == [["12345674"]]
    assert fake.violations == []
    # an unknown CUI: a coded one-line error, exit 2, the file unchanged
    before = (tmp_path / "efactura.toml").read_text(encoding="utf-8")
    assert main(["init", "--cui", "13579134"]) == 2
    err = capsys.readouterr().err
    assert "not in ANAF's taxpayer registry" in err and "Traceback" not in err
    assert (tmp_path / "efactura.toml").read_text(encoding="utf-8") == before


def test_the_worker_warns_at_start_when_the_profile_disagrees_with_the_registry(
    tmp_path: Path, db_url: str, served: tuple[FakeRegistry, str]
) -> None:
    fake, base = served
    fake.companies["18547290"].vat_payer = False  # the starter profile's CUI: no longer a payer
    (tmp_path / "efactura.toml").write_text(STARTER_TOML, encoding="utf-8")
    env = {**os.environ, **_env(tmp_path, db_url, base)}
    assert main_in(env, ["init"]).returncode == 0
    script = "import sys; from stripe_efactura.cli import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.Popen(
        [sys.executable, "-c", script, "worker"],
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    seen: list[str] = []
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            seen.append(line)
            if "W-SELLER-REGISTRY" in line:
                break
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    (warning,) = [s for s in seen if "W-SELLER-REGISTRY" in s]
    day = datetime.now(BUCHAREST).date().isoformat()  # the day the worker asked about
    assert "WARNING" in warning
    assert warning.rstrip().endswith(
        "[W-SELLER-REGISTRY] efactura.toml [company] vat_payer = true but ANAF's registry says "
        f"false on {day} / efactura.toml [company] vat_payer = true, dar "
        f"registrul ANAF arată false la {day}"
    )
    assert [cuis for _, cuis in fake.anaf_calls] == [["18547290"]]


def main_in(env: dict[str, str], argv: list[str]) -> subprocess.CompletedProcess[str]:
    script = "import sys; from stripe_efactura.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", script, *argv], env=env, capture_output=True, text=True, timeout=120
    )
