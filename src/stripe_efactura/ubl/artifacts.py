"""The official validation artifacts: where they live, how they are installed and verified.

The set is the OASIS UBL 2.1 XSD (``xsd/common/*.xsd`` plus the Invoice and CreditNote main
documents) and ANAF's CIUS-RO 1.0.9 schematron (the entry point
``EN16931-CIUS_RO-UBL-validation.sch`` and the six files it includes). They are third-party
files and never ship in the repository: ``stripe-efactura validation fetch`` downloads the two
official zips, or ``--from DIR`` copies them from a local folder. Every file is pinned by
SHA-256; a missing or altered file raises :class:`ValidationArtifactsMissing`.

Installed layout under ``validation_dir`` (same as ``../shared/validation``)::

    ubl-2.1/xsd/common/*.xsd
    ubl-2.1/xsd/maindoc/UBL-Invoice-2.1.xsd, UBL-CreditNote-2.1.xsd
    cius-ro-1.0.9/schematron/EN16931-CIUS_RO-UBL-validation.sch
    cius-ro-1.0.9/schematron/{abstract,UBL,codelist,cius-ro}/*.sch
    .cache/                  compiled schematron (see ``schematron.py``)
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import httpx

from ..errors import ValidationArtifactsMissing
from ..files import write_atomic

UBL_ROOT = "ubl-2.1"
CIUS_RO_ROOT = "cius-ro-1.0.9"
SCHEMATRON_DIR = f"{CIUS_RO_ROOT}/schematron"
SCHEMATRON_ENTRY = f"{SCHEMATRON_DIR}/EN16931-CIUS_RO-UBL-validation.sch"
INVOICE_XSD = f"{UBL_ROOT}/xsd/maindoc/UBL-Invoice-2.1.xsd"
CREDIT_NOTE_XSD = f"{UBL_ROOT}/xsd/maindoc/UBL-CreditNote-2.1.xsd"
CACHE_DIR = ".cache"

ANAF_ZIP_URL = "https://mfinante.gov.ro/static/10/eFactura/ro16931-ubl-1.0.9.zip"
OASIS_ZIP_URL = "http://docs.oasis-open.org/ubl/os-UBL-2.1/UBL-2.1.zip"

FETCH_HINT = (
    "run `stripe-efactura validation fetch` (or, offline, `stripe-efactura validation fetch "
    "--from DIR` with DIR holding ubl-2.1/ and cius-ro-1.0.9/ or the two official zips)"
)

XSD_PINS: Mapping[str, str] = {
    f"{UBL_ROOT}/xsd/common/CCTS_CCT_SchemaModule-2.1.xsd": (
        "dd546e4809df86b6445589f69f0d6c9df162840ae386574ddfc1da7638103e15"
    ),
    f"{UBL_ROOT}/xsd/common/UBL-CommonAggregateComponents-2.1.xsd": (
        "939172ad8dd057cd403e7f763f6532184dd5ed4b9de24c42ebb35db4792ba613"
    ),
    f"{UBL_ROOT}/xsd/common/UBL-CommonBasicComponents-2.1.xsd": (
        "bd4ad043ee1d9da1c7f8018dabf739cfafdfb59143d0d16b9ef769e6b7c408a7"
    ),
    f"{UBL_ROOT}/xsd/common/UBL-CommonExtensionComponents-2.1.xsd": (
        "ad7a4e490978adfbcfc5ec0bb20941cf11ac960ccf0c4de8791a7c731a8dbe87"
    ),
    f"{UBL_ROOT}/xsd/common/UBL-CommonSignatureComponents-2.1.xsd": (
        "3db472305f029bba5c1ae157bfd0178f715c3f9b94bd8e6c557dbce5e88da874"
    ),
    f"{UBL_ROOT}/xsd/common/UBL-CoreComponentParameters-2.1.xsd": (
        "8be3379dbdcbcc7802fafdd16bac72c48fff1c0bb364213a31a17911dd06100b"
    ),
    f"{UBL_ROOT}/xsd/common/UBL-ExtensionContentDataType-2.1.xsd": (
        "fcee77a11870208e6377ea6311b9f2a050bca24bdad8606ea02d71e9f9e72f8d"
    ),
    f"{UBL_ROOT}/xsd/common/UBL-QualifiedDataTypes-2.1.xsd": (
        "7dcb156e610239c97ae70940cf4653b88e48c3595bf5f56a2204a32e2893e6cf"
    ),
    f"{UBL_ROOT}/xsd/common/UBL-SignatureAggregateComponents-2.1.xsd": (
        "17bb6b62d709b4fd81449a37655af36aa6a1276ad4fdb1b2e249a5ed4b7c2172"
    ),
    f"{UBL_ROOT}/xsd/common/UBL-SignatureBasicComponents-2.1.xsd": (
        "cef924d7ba3d1d8ade14469325cde1364f8c174e46f0198ec02da8e9e748a489"
    ),
    f"{UBL_ROOT}/xsd/common/UBL-UnqualifiedDataTypes-2.1.xsd": (
        "09052d406b4293e2a5f9c2bfee6df10ad4d8d5f0b36e24a6349d7f7936d89eb6"
    ),
    f"{UBL_ROOT}/xsd/common/UBL-XAdESv132-2.1.xsd": (
        "a4f726bcf8cc3f7d9ffa4dab99e005535a8e8b60dced1e5d94578d2e05afa96e"
    ),
    f"{UBL_ROOT}/xsd/common/UBL-XAdESv141-2.1.xsd": (
        "1fa4625e9cefcb7a9abb5ac1b64315547450031eece8a55bd584e4ba4b79dbc1"
    ),
    f"{UBL_ROOT}/xsd/common/UBL-xmldsig-core-schema-2.1.xsd": (
        "101909c9f06456d61ddcc4fb982f1d40dc357b439f393b1a2eb46e42acd60809"
    ),
    CREDIT_NOTE_XSD: "a54651b1225052f811bf2ba01346f13f2454e7cc3e0be290c91dd680dc7b7b1a",
    INVOICE_XSD: "40fae8cb436f3a9506d7acce65ba162caef3b0bed4d5cbc0992b2153ded4edf4",
}

SCHEMATRON_PINS: Mapping[str, str] = {
    SCHEMATRON_ENTRY: "f0510956fbec21ef501fdfbba51fb533f96fde0227c3280c229e7ad081dccde4",
    f"{SCHEMATRON_DIR}/UBL/EN16931-UBL-model.sch": (
        "c88b3be63f3272c9723d0e582f7b4407d8042821285be85ad80d4de87a7e1f42"
    ),
    f"{SCHEMATRON_DIR}/UBL/EN16931-UBL-syntax.sch": (
        "2fe1c7a89e4ea0571d861c2b96c5f2033ac1d54d0a078f7a893e3784fcab83a0"
    ),
    f"{SCHEMATRON_DIR}/abstract/EN16931-model.sch": (
        "0f5143f21cef1d4cbd5924d30dd0728bab388a905eef41d8f7135e8a94fa6974"
    ),
    f"{SCHEMATRON_DIR}/abstract/EN16931-syntax.sch": (
        "3b5da7bffc8d6b2a3ebd908ce50bdf0cb44e6057e5bf9bfa7377ef6b1e9bc6cd"
    ),
    f"{SCHEMATRON_DIR}/cius-ro/RO16931-rules.sch": (
        "dc868ca1de1fb875b631941c3769699544fa933439e638ec01f3d80021587fad"
    ),
    f"{SCHEMATRON_DIR}/codelist/EN16931-UBL-codes.sch": (
        "544b3f4b96ea2552ab6e6846dd0b2dada112d74815c6db99067dae96f45e6466"
    ),
}

PINS: Mapping[str, str] = {**XSD_PINS, **SCHEMATRON_PINS}
"""Every installed file (path relative to ``validation_dir``) -> its SHA-256."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fingerprint(pins: Mapping[str, str] = PINS) -> str:
    """One SHA-256 over a set of pinned files (their paths and hashes)."""
    text = "".join(f"{path}\0{digest}\n" for path, digest in sorted(pins.items()))
    return _sha256(text.encode("utf-8"))


@dataclass(frozen=True)
class ArtifactSet:
    """A verified installation under ``root``."""

    root: Path

    @property
    def invoice_xsd(self) -> Path:
        return self.root / INVOICE_XSD

    @property
    def credit_note_xsd(self) -> Path:
        return self.root / CREDIT_NOTE_XSD

    @property
    def schematron_entry(self) -> Path:
        return self.root / SCHEMATRON_ENTRY

    @property
    def cache_dir(self) -> Path:
        return self.root / CACHE_DIR

    @property
    def schematron_fingerprint(self) -> str:
        return fingerprint(SCHEMATRON_PINS)


def _problems(root: Path) -> list[str]:
    out: list[str] = []
    for rel, digest in PINS.items():
        path = root / rel
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            out.append(f"{rel} is missing")
            continue
        except OSError as exc:
            out.append(f"{rel} cannot be read ({exc.strerror})")
            continue
        if _sha256(data) != digest:
            out.append(f"{rel} has an unexpected SHA-256 (corrupt or another version)")
    return out


def _missing_error(root: Path, problems: list[str]) -> ValidationArtifactsMissing:
    shown = "; ".join(problems[:3]) + (
        f"; and {len(problems) - 3} more" if len(problems) > 3 else ""
    )
    return ValidationArtifactsMissing(
        f"the official validation artifacts in {root} are not usable ({shown}): {FETCH_HINT}",
        validation_dir=str(root),
        problems=tuple(problems),
    )


def verify(root: Path) -> ArtifactSet:
    """Check every pinned file under ``root``; raise ValidationArtifactsMissing if any is off."""
    problems = _problems(root)
    if problems:
        raise _missing_error(root, problems)
    return ArtifactSet(root)


def is_installed(root: Path) -> bool:
    return not _problems(root)


def _install(files: Mapping[str, bytes], dest: Path) -> ArtifactSet:
    """Write pinned files whose bytes match the pins, then verify the whole set."""
    try:
        for rel, data in files.items():
            write_atomic(dest / rel, data)
    except OSError as exc:
        raise ValidationArtifactsMissing(
            f"cannot write the validation artifacts to {dest} ({exc.strerror or exc}): choose "
            "a writable folder with EFACTURA_VALIDATION_DIR or `--dir`",
            validation_dir=str(dest),
        ) from exc
    return verify(dest)


# --- candidates: where each pinned file may be found in a folder or a zip --------------------


def _relative_in_source(rel: str) -> str:
    """The path a member has inside the official zips: the part after the set's root folder.

    ``ubl-2.1/xsd/common/X.xsd`` is ``xsd/common/X.xsd`` in the OASIS zip and
    ``cius-ro-1.0.9/schematron/cius-ro/R.sch`` is ``cius-ro/R.sch`` in ANAF's zip (both may sit
    under a top folder of any name).
    """
    if rel.startswith(SCHEMATRON_DIR + "/"):
        return rel[len(SCHEMATRON_DIR) + 1 :]
    return rel[len(UBL_ROOT) + 1 :]


def _member_matches(member: str, suffix: str) -> bool:
    name = str(PurePosixPath(member.replace("\\", "/")))
    return name == suffix or name.endswith("/" + suffix)


def _zip_members(data: bytes, depth: int = 0) -> Iterator[tuple[str, bytes]]:
    """Every file in a zip (and in zips nested one level deep)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        return
    with archive:
        for info in archive.infolist():
            if info.is_dir() or info.file_size > 200_000_000:
                continue
            content = archive.read(info)
            if info.filename.lower().endswith(".zip") and depth == 0:
                yield from _zip_members(content, depth + 1)
            else:
                yield info.filename, content


def _pick_from_members(members: Iterator[tuple[str, bytes]], found: dict[str, bytes]) -> None:
    wanted = {rel: _relative_in_source(rel) for rel in PINS if rel not in found}
    for name, content in members:
        for rel, suffix in list(wanted.items()):
            if _member_matches(name, suffix) and _sha256(content) == PINS[rel]:
                found[rel] = content
                del wanted[rel]


def install_from(src_dir: Path, dest: Path) -> ArtifactSet:
    """Copy the artifacts from a local folder into ``dest`` and verify them.

    ``src_dir`` is either laid out like ``dest`` (``ubl-2.1/...``, ``cius-ro-1.0.9/...``, as in
    ``../shared/validation``) or holds the two official zips (any ``*.zip`` is searched).
    Only files whose SHA-256 matches the pin are taken.
    """
    if not src_dir.is_dir():
        raise ValidationArtifactsMissing(
            f"{src_dir} is not a folder: {FETCH_HINT}", source=str(src_dir)
        )
    found: dict[str, bytes] = {}
    for rel, digest in PINS.items():
        path = src_dir / rel
        if path.is_file():
            data = path.read_bytes()
            if _sha256(data) == digest:
                found[rel] = data
    if len(found) < len(PINS):
        for archive in sorted(src_dir.glob("*.zip")):
            _pick_from_members(_zip_members(archive.read_bytes()), found)
    missing = [rel for rel in PINS if rel not in found]
    if missing:
        raise _missing_error(
            src_dir, [f"{rel} is missing or has an unexpected SHA-256" for rel in missing]
        )
    return _install(found, dest)


def _download(client: httpx.Client, url: str) -> bytes:
    try:
        response = client.get(url)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise ValidationArtifactsMissing(
            f"could not download {url} ({exc}); download it elsewhere and run "
            "`stripe-efactura validation fetch --from DIR` with the zip in DIR",
            url=url,
        ) from exc
    return response.content


def fetch(
    dest: Path,
    *,
    anaf_url: str = ANAF_ZIP_URL,
    oasis_url: str = OASIS_ZIP_URL,
    client: httpx.Client | None = None,
    timeout: float = 120.0,
) -> ArtifactSet:
    """Download ANAF's CIUS-RO zip and the OASIS UBL 2.1 zip, extract the pinned files into
    ``dest`` and verify them. Nothing is written unless every file is found and matches."""
    own = client is None
    http = client or httpx.Client(timeout=timeout, follow_redirects=True)
    try:
        found: dict[str, bytes] = {}
        for url in (anaf_url, oasis_url):
            _pick_from_members(_zip_members(_download(http, url)), found)
    finally:
        if own:
            http.close()
    missing = [rel for rel in PINS if rel not in found]
    if missing:
        raise _missing_error(
            dest,
            [f"{rel} was not found (with the pinned SHA-256) in the downloads" for rel in missing],
        )
    return _install(found, dest)
