"""The period archive: every document, the journal, a manifest that verifies."""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

import support
from stripe_efactura import app as use_cases
from stripe_efactura.app import period_export, periods
from stripe_efactura.app.context import AppContext, build_context
from stripe_efactura.cli import main
from stripe_efactura.config import STARTER_TOML, demo_settings

from .books import seed

F = support.invoice_factory()
NOV = periods.month("2026-11")


def books(tmp_path: Path, db_url: str) -> AppContext:
    ctx = build_context(demo_settings(tmp_path, database_url=db_url))
    use_cases.prepare(ctx)
    first = seed(ctx, F.standard_invoice(), signed_zip=b"PK\x03\x04signed-123")
    seed(ctx, F.storno_invoice(), signed_zip=b"PK\x03\x04signed-124", refers_to=first)
    seed(ctx, F.eur_invoice(), state="in_processing", signed_zip=None)
    seed(
        ctx,
        replace(
            F.long_invoice(2),
            number="SEF000300",
            issue_date=date(2026, 12, 2),
            payment_key="pi_dec",
        ),
    )
    return ctx


def test_archive_holds_every_document_and_the_manifest_verifies(
    tmp_path: Path, db_url: str
) -> None:
    ctx = books(tmp_path, db_url)
    out = tmp_path / "out" / "2026-11.zip"
    result = period_export.export_period(ctx, NOV, out)
    ctx.close()
    assert (result.invoices, result.missing) == (3, {"SEF000125": ["signed_zip"]})
    with zipfile.ZipFile(out) as zf:
        names = sorted(zf.namelist())
        manifest = json.loads(zf.read("manifest.json"))
        assert zf.read("facturi/SEF000123/SEF000123-anaf.zip") == b"PK\x03\x04signed-123"
        assert zf.read("facturi/SEF000124/SEF000124.xml") == b"<Invoice>SEF000124</Invoice>"
        assert zf.read("facturi/SEF000125/SEF000125.pdf") == b"%PDF-1.7 test"
        sums = zf.read("SHA256SUMS").decode()
        manifest_sha = hashlib.sha256(zf.read("manifest.json")).hexdigest()
    assert names == [
        "SHA256SUMS",
        "facturi/SEF000123/SEF000123-anaf.zip",
        "facturi/SEF000123/SEF000123.pdf",
        "facturi/SEF000123/SEF000123.xml",
        "facturi/SEF000124/SEF000124-anaf.zip",
        "facturi/SEF000124/SEF000124.pdf",
        "facturi/SEF000124/SEF000124.xml",
        "facturi/SEF000125/SEF000125.pdf",
        "facturi/SEF000125/SEF000125.xml",
        "jurnal-vanzari-2026-11.csv",
        "jurnal-vanzari-2026-11.xlsx",
        "manifest.json",
    ]
    assert manifest["period"] == "2026-11"
    assert manifest["journal"] == {"total_ron": "3157.18", "vat_ron": "539.68"}
    assert [(i["number"], i["anaf_state"], i["missing"]) for i in manifest["invoices"]] == [
        ("SEF000123", "ok", []),
        ("SEF000124", "ok", []),
        ("SEF000125", "in_processing", ["signed_zip"]),
    ]
    entry = next(e for e in manifest["files"] if e["path"].endswith("SEF000123-anaf.zip"))
    assert entry == {
        "path": "facturi/SEF000123/SEF000123-anaf.zip",
        "bytes": 14,
        "sha256": hashlib.sha256(b"PK\x03\x04signed-123").hexdigest(),
    }
    assert f"{manifest_sha}  manifest.json\n" in sums
    assert len(sums.splitlines()) == 11
    check = period_export.verify(out)
    assert (check.ok, check.files, check.problems) == (True, 10, [])


def _rewrite(src: Path, dest: Path, change: dict[str, bytes | None]) -> None:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w") as zout:
        for name in zin.namelist():
            if name in change:
                if change[name] is not None:
                    zout.writestr(name, change[name])  # type: ignore[arg-type]
                continue
            zout.writestr(name, zin.read(name))
        for name, data in change.items():
            if name not in zin.namelist() and data is not None:
                zout.writestr(name, data)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            {"facturi/SEF000123/SEF000123.xml": b"<Invoice>forged</Invoice>"},
            "facturi/SEF000123/SEF000123.xml: SHA-256 or size differs from the manifest",
        ),
        (
            {"facturi/SEF000124/SEF000124.pdf": None},
            "facturi/SEF000124/SEF000124.pdf is listed but missing",
        ),
        ({"extra.txt": b"x"}, "extra.txt is not in the manifest"),
    ],
)
def test_verify_detects_a_changed_missing_or_added_file(
    tmp_path: Path, change: dict[str, bytes | None], problem: str
) -> None:
    ctx = books(tmp_path, f"sqlite:///{tmp_path / 'e.db'}")
    good = tmp_path / "good.zip"
    period_export.export_period(ctx, NOV, good)
    ctx.close()
    bad = tmp_path / "bad.zip"
    _rewrite(good, bad, change)
    check = period_export.verify(bad)
    assert not check.ok
    assert problem in check.problems


def test_a_pdf_not_rendered_yet_is_rendered_and_archived(tmp_path: Path) -> None:
    ctx = build_context(demo_settings(tmp_path, database_url=f"sqlite:///{tmp_path / 'p.db'}"))
    use_cases.prepare(ctx)
    seed(ctx, F.standard_invoice(), pdf=None)
    out = tmp_path / "p.zip"
    period_export.export_period(ctx, NOV, out)
    ctx.close()
    with zipfile.ZipFile(out) as zf:
        pdf = zf.read("facturi/SEF000123/SEF000123.pdf")
    assert pdf.startswith(b"%PDF-")
    assert period_export.verify(out).ok


def test_cli_export_and_verify(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    books(tmp_path, db_url).close()
    config = tmp_path / "efactura.toml"
    config.write_text(STARTER_TOML, encoding="utf-8")
    monkeypatch.setenv("EFACTURA_CONFIG", str(config))
    monkeypatch.setenv("EFACTURA_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("EFACTURA_DATABASE_URL", db_url)
    out = tmp_path / "a.zip"
    assert main(["export-period", "--period", "2026-11", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "3 documents, 10 files (2026-11)" in text
    assert "SEF000125: missing signed_zip" in text
    assert main(["verify-export", str(out)]) == 0
    assert "10 files verified" in capsys.readouterr().out
    bad = tmp_path / "b.zip"
    _rewrite(out, bad, {"jurnal-vanzari-2026-11.csv": b"tampered"})
    assert main(["verify-export", str(bad)]) == 1
    assert "jurnal-vanzari-2026-11.csv: SHA-256" in capsys.readouterr().err
