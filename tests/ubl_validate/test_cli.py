"""`stripe-efactura validate FILE.xml` and `stripe-efactura validation fetch`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from stripe_efactura.cli import main
from stripe_efactura.config import STARTER_TOML
from stripe_efactura.ubl import artifacts

MakeInvoice = Callable[[int], bytes]


@pytest.fixture
def invoice_file(tmp_path: Path, make_invoice: MakeInvoice) -> Path:
    path = tmp_path / "f.xml"
    path.write_bytes(make_invoice(2))
    return path


@pytest.fixture
def bad_file(tmp_path: Path, make_invoice: MakeInvoice) -> Path:
    path = tmp_path / "bad.xml"
    path.write_bytes(
        make_invoice(1)
        .replace(b"<cbc:ID>SEF000123</cbc:ID>", b"<cbc:ID>SEF</cbc:ID>\n<cbc:UUID>u</cbc:UUID>")
        .replace(b"<cbc:CountrySubentity>RO-B<", b"<cbc:CountrySubentity>B<")
    )
    return path


def test_validate_clean_file_exits_0(
    invoice_file: Path, installed: artifacts.ArtifactSet, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(invoice_file), "--dir", str(installed.root)]) == 0
    assert capsys.readouterr().out == (
        f"{invoice_file}: VALID (0 fatal, 0 warnings; UBL 2.1 + CIUS-RO 1.0.9)\n"
    )


def test_validate_fatal_findings_exit_1(
    bad_file: Path, installed: artifacts.ArtifactSet, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(bad_file), "--dir", str(installed.root)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in out if not line.startswith(" ")][:-1] == [
        ["warning", "UBL-CR-005"],
        ["fatal", "BR-RO-010"],
        ["fatal", "BR-RO-111"],
    ]
    assert out[1:5] == [
        "        en: A UBL invoice should not include the UUID",
        "fatal   BR-RO-010  /Invoice",
        (
            "        ro: Numarul facturii (BT-1) trebuie sa includa cel putin un caracter numeric "
            "(0—9)."
        ),
        "        en: Invoice number (BT-1) must include at least one numeric character (0-9).",
    ]
    assert out[-1] == f"{bad_file}: INVALID (2 fatal, 1 warnings; UBL 2.1 + CIUS-RO 1.0.9)"


def test_validate_json(
    bad_file: Path, installed: artifacts.ArtifactSet, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(bad_file), "--json", "--dir", str(installed.root)]) == 1
    body = json.loads(capsys.readouterr().out)
    assert {k: v for k, v in body.items() if k != "findings"} == {
        "file": str(bad_file),
        "ok": False,
        "document": "Invoice",
        "artifacts": "UBL 2.1 + CIUS-RO 1.0.9",
        "fatal": 2,
        "warnings": 1,
    }
    assert [(f["rule_id"], f["flag"]) for f in body["findings"]] == [
        ("UBL-CR-005", "warning"),
        ("BR-RO-010", "fatal"),
        ("BR-RO-111", "fatal"),
    ]
    assert sorted(body["findings"][0]) == [
        "flag",
        "location",
        "message_en",
        "message_ro",
        "rule_id",
        "short_location",
        "test",
    ]


def test_validate_uses_settings_validation_dir(
    invoice_file: Path,
    installed: artifacts.ArtifactSet,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = tmp_path / "efactura.toml"
    config.write_text(STARTER_TOML, encoding="utf-8")
    monkeypatch.setenv("EFACTURA_CONFIG", str(config))
    monkeypatch.setenv("EFACTURA_VALIDATION_DIR", str(installed.root))
    assert main(["validate", str(invoice_file), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True


def test_validate_without_artifacts_exits_2(
    invoice_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(invoice_file), "--dir", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("[E-VALIDATION-ARTIFACTS] the official validation artifacts in ")
    assert "run `stripe-efactura validation fetch`" in err


def test_validate_usage_errors_exit_2(
    tmp_path: Path, installed: artifacts.ArtifactSet, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(tmp_path / "nope.xml"), "--dir", str(installed.root)]) == 2
    assert capsys.readouterr().err == (
        f"cannot read {tmp_path / 'nope.xml'}: No such file or directory\n"
    )
    assert main(["validate"]) == 2
    assert "Missing argument" in capsys.readouterr().err


def test_fetch_from_folder(
    validation_src: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "v"
    assert main(["validation", "fetch", "--from", str(validation_src), "--dir", str(dest)]) == 0
    assert capsys.readouterr().out == (
        f"installed 23 files (UBL 2.1 XSD + CIUS-RO 1.0.9 schematron) in {dest}, "
        "SHA-256 verified; schematron compiled\n"
    )
    assert artifacts.is_installed(dest)
    assert sorted(p.suffix for p in (dest / ".cache").iterdir()) == [".xslt"]


def test_fetch_from_folder_without_artifacts_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "empty").mkdir()
    args = ["validation", "fetch", "--from", str(tmp_path / "empty"), "--dir", str(tmp_path / "v")]
    assert main(args) == 2
    assert "stripe-efactura validation fetch" in capsys.readouterr().err
    assert not (tmp_path / "v").exists()


def test_fetch_download_failure_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # nothing listens on port 9 of the loopback: the download fails at once
    args = [
        "validation",
        "fetch",
        "--dir",
        str(tmp_path / "v"),
        "--anaf-url",
        "http://127.0.0.1:9/anaf.zip",
        "--oasis-url",
        "http://127.0.0.1:9/oasis.zip",
    ]
    assert main(args) == 2
    assert capsys.readouterr().err.startswith(
        "[E-VALIDATION-ARTIFACTS] could not download http://127.0.0.1:9/anaf.zip ("
    )


def test_worker_refuses_an_unknown_validator_mode(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["worker", "--once", "--validator", "nearby"]) == 2
    assert "--validator is shared or in-process" in capsys.readouterr().err
