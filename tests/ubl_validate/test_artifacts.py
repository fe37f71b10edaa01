"""Installing and verifying the official artifacts: from a folder, from zips, over HTTP."""

from __future__ import annotations

import hashlib
import io
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from stripe_efactura.errors import ValidationArtifactsMissing
from stripe_efactura.ubl import artifacts


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def anaf_zip(src: Path, *, drop: str = "", alter: str = "") -> bytes:
    """ANAF's zip as it unpacks into ../shared (schematron tree under a top folder), plus the
    preprocessed files we do not need."""
    entries: dict[str, bytes] = {}
    root = src / artifacts.SCHEMATRON_DIR
    for path in sorted(root.rglob("*.sch")):
        rel = path.relative_to(root).as_posix()
        if rel == drop:
            continue
        data = path.read_bytes()
        entries[f"ro16931-ubl-1.0.9/{rel}"] = data + b"<!-- x -->" if rel == alter else data
    return _zip(entries)


def oasis_zip(src: Path) -> bytes:
    """The OASIS UBL 2.1 layout: xsd/ (wanted) next to xsdrt/ (same names, other bytes)."""
    entries: dict[str, bytes] = {"UBL-2.1/UBL-2.1.html": b"<html/>"}
    for rel in artifacts.XSD_PINS:
        data = (src / rel).read_bytes()
        inner = rel.removeprefix("ubl-2.1/")
        entries[f"UBL-2.1/{inner.replace('xsd/', 'xsdrt/', 1)}"] = b"<!-- runtime -->" + data
        entries[f"UBL-2.1/{inner}"] = data
    return _zip(entries)


@pytest.fixture(scope="module")
def zips(validation_src: Path) -> dict[str, bytes]:
    return {
        "/anaf.zip": anaf_zip(validation_src),
        "/oasis.zip": oasis_zip(validation_src),
        "/anaf-missing.zip": anaf_zip(validation_src, drop="cius-ro/RO16931-rules.sch"),
        "/anaf-altered.zip": anaf_zip(validation_src, alter="abstract/EN16931-model.sch"),
    }


@pytest.fixture(scope="module")
def http_base(zips: dict[str, bytes]) -> Iterator[str]:
    """A loopback HTTP server serving the zips above (404 for anything else)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = zips.get(self.path)
            self.send_response(404 if body is None else 200)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _assert_installed_like(dest: Path, src: Path) -> None:
    files = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
    assert files == sorted(artifacts.PINS)
    for rel in artifacts.PINS:
        assert (dest / rel).read_bytes() == (src / rel).read_bytes()


def test_pins_are_the_sha256_of_the_official_files(validation_src: Path) -> None:
    assert len(artifacts.PINS) == 23
    for rel, digest in artifacts.PINS.items():
        assert hashlib.sha256((validation_src / rel).read_bytes()).hexdigest() == digest


def test_install_from_folder_copies_exactly_the_pinned_files(
    validation_src: Path, tmp_path: Path
) -> None:
    installed = artifacts.install_from(validation_src, tmp_path / "v")
    _assert_installed_like(tmp_path / "v", validation_src)
    assert installed.invoice_xsd == tmp_path / "v/ubl-2.1/xsd/maindoc/UBL-Invoice-2.1.xsd"
    assert installed.schematron_entry == (
        tmp_path / "v/cius-ro-1.0.9/schematron/EN16931-CIUS_RO-UBL-validation.sch"
    )
    assert artifacts.verify(tmp_path / "v") == installed
    assert artifacts.is_installed(tmp_path / "v")


def test_install_from_folder_of_official_zips(
    validation_src: Path, zips: dict[str, bytes], tmp_path: Path
) -> None:
    src = tmp_path / "downloads"
    src.mkdir()
    (src / "ro16931-ubl-1.0.9.zip").write_bytes(zips["/anaf.zip"])
    (src / "UBL-2.1.zip").write_bytes(zips["/oasis.zip"])
    artifacts.install_from(src, tmp_path / "v")
    _assert_installed_like(tmp_path / "v", validation_src)


def test_missing_file_names_the_file_and_the_command(validation_src: Path, tmp_path: Path) -> None:
    artifacts.install_from(validation_src, tmp_path)
    (tmp_path / artifacts.CREDIT_NOTE_XSD).unlink()
    with pytest.raises(ValidationArtifactsMissing) as info:
        artifacts.verify(tmp_path)
    assert info.value.code == "E-VALIDATION-ARTIFACTS"
    assert info.value.message == (
        f"the official validation artifacts in {tmp_path} are not usable "
        "(ubl-2.1/xsd/maindoc/UBL-CreditNote-2.1.xsd is missing): "
        "run `stripe-efactura validation fetch` (or, offline, `stripe-efactura validation "
        "fetch --from DIR` with DIR holding ubl-2.1/ and cius-ro-1.0.9/ or the two official zips)"
    )
    assert not artifacts.is_installed(tmp_path)


def test_corrupt_file_is_refused(validation_src: Path, tmp_path: Path) -> None:
    artifacts.install_from(validation_src, tmp_path)
    path = tmp_path / "cius-ro-1.0.9/schematron/cius-ro/RO16931-rules.sch"
    path.write_bytes(path.read_bytes().replace(b"'1.0.1'", b"'1.0.2'"))
    with pytest.raises(ValidationArtifactsMissing) as info:
        artifacts.verify(tmp_path)
    assert info.value.context["problems"] == (
        (
            "cius-ro-1.0.9/schematron/cius-ro/RO16931-rules.sch has an unexpected SHA-256 "
            "(corrupt or another version)"
        ),
    )
    assert "stripe-efactura validation fetch" in info.value.message


def test_empty_folder_lists_every_file(tmp_path: Path) -> None:
    with pytest.raises(ValidationArtifactsMissing) as info:
        artifacts.verify(tmp_path)
    assert info.value.context["problems"] == tuple(f"{rel} is missing" for rel in artifacts.PINS)
    assert "and 20 more" in info.value.message


def test_install_from_refuses_an_altered_source_and_writes_nothing(
    validation_src: Path, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    for rel in artifacts.PINS:
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_bytes((validation_src / rel).read_bytes())
    (src / artifacts.INVOICE_XSD).write_bytes(b"<xsd:schema/>")
    with pytest.raises(ValidationArtifactsMissing) as info:
        artifacts.install_from(src, tmp_path / "dest")
    assert info.value.context["problems"] == (
        "ubl-2.1/xsd/maindoc/UBL-Invoice-2.1.xsd is missing or has an unexpected SHA-256",
    )
    assert not (tmp_path / "dest").exists()


def test_install_from_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ValidationArtifactsMissing, match="is not a folder"):
        artifacts.install_from(tmp_path / "nope", tmp_path / "dest")


def test_fetch_downloads_extracts_and_verifies(
    validation_src: Path, http_base: str, tmp_path: Path
) -> None:
    installed = artifacts.fetch(
        tmp_path / "v", anaf_url=f"{http_base}/anaf.zip", oasis_url=f"{http_base}/oasis.zip"
    )
    assert installed.root == tmp_path / "v"
    _assert_installed_like(tmp_path / "v", validation_src)


def test_fetch_http_error_writes_nothing(http_base: str, tmp_path: Path) -> None:
    with pytest.raises(ValidationArtifactsMissing) as info:
        artifacts.fetch(
            tmp_path / "v", anaf_url=f"{http_base}/gone.zip", oasis_url=f"{http_base}/oasis.zip"
        )
    assert info.value.message.startswith(f"could not download {http_base}/gone.zip (")
    assert "`stripe-efactura validation fetch --from DIR`" in info.value.message
    assert not (tmp_path / "v").exists()


@pytest.mark.parametrize(
    ("zip_name", "rel"),
    [
        ("anaf-missing.zip", "cius-ro-1.0.9/schematron/cius-ro/RO16931-rules.sch"),
        ("anaf-altered.zip", "cius-ro-1.0.9/schematron/abstract/EN16931-model.sch"),
    ],
)
def test_fetch_refuses_incomplete_or_altered_zip(
    zip_name: str, rel: str, http_base: str, tmp_path: Path
) -> None:
    with pytest.raises(ValidationArtifactsMissing) as info:
        artifacts.fetch(
            tmp_path / "v",
            anaf_url=f"{http_base}/{zip_name}",
            oasis_url=f"{http_base}/oasis.zip",
        )
    assert info.value.context["problems"] == (
        f"{rel} was not found (with the pinned SHA-256) in the downloads",
    )
    assert not (tmp_path / "v").exists()


def test_official_urls() -> None:
    assert artifacts.ANAF_ZIP_URL == (
        "https://mfinante.gov.ro/static/10/eFactura/ro16931-ubl-1.0.9.zip"
    )
    assert artifacts.OASIS_ZIP_URL == "http://docs.oasis-open.org/ubl/os-UBL-2.1/UBL-2.1.zip"


def test_unwritable_destination(validation_src: Path, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(ValidationArtifactsMissing) as info:
        artifacts.install_from(validation_src, tmp_path / "file" / "v")
    assert info.value.message.startswith(
        f"cannot write the validation artifacts to {tmp_path / 'file' / 'v'} ("
    )
