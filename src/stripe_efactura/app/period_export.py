"""The accountant's period archive: one ZIP with every document of the period and a manifest.

Layout of ``export-period --period 2026-11 --out FILE.zip``::

    jurnal-vanzari-2026-11.csv          the sales journal (app.journal)
    jurnal-vanzari-2026-11.xlsx
    facturi/SEF000123/SEF000123.xml      the UBL XML as sent to ANAF
    facturi/SEF000123/SEF000123.pdf      the PDF the payer received
    facturi/SEF000123/SEF000123-anaf.zip the ANAF-signed ZIP (legal original), when archived
    manifest.json                        every file above: path, bytes, SHA-256; per invoice
                                         its files and what is missing
    SHA256SUMS                           ``sha256sum -c`` format, every file incl. the manifest

:func:`verify` re-reads an archive and checks every hash and that nothing was added or
removed. A document not available (a PDF not rendered yet is rendered and stored first; an
invoice ANAF has not signed yet has no signed ZIP) is listed under ``missing`` in the
manifest: the archive is still complete for what exists, and the audit reports the gap.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import TypedDict

from ..errors import EfacturaError
from ..store import db
from ..store.periods import IssuedInvoice
from ..store.queries import stored_documents
from . import documents
from .context import AppContext
from .journal import build_journal, load_issued
from .journal_files import to_csv, to_xlsx
from .periods import Period

MANIFEST = "manifest.json"
SUMS = "SHA256SUMS"
FORMAT = "stripe-efactura-period-archive/1"


class ArchiveInvalid(EfacturaError):
    code = "E-ARCHIVE-INVALID"


@dataclass(frozen=True)
class ExportResult:
    path: Path
    period: str
    invoices: int
    files: int
    """Files the manifest lists (journal and documents; not the manifest itself)."""
    missing: dict[str, list[str]]
    """Invoice number -> the documents it lacks (``pdf``, ``signed_zip``)."""


@dataclass
class VerifyResult:
    ok: bool
    files: int = 0
    problems: list[str] = field(default_factory=list)


def _safe(number: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", number)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ManifestFile(TypedDict):
    """A file of the archive, as the manifest lists it."""

    path: str
    bytes: int
    sha256: str


class ManifestInvoice(TypedDict):
    """An invoice of the archive, as the manifest lists it: its files and the missing ones."""

    number: str
    kind: str
    issue_date: str
    currency: str
    total: str
    anaf_state: str
    upload_index: str | None
    download_id: str | None
    files: dict[str, str]
    missing: list[str]


class _Writer:
    """Adds files to the ZIP and remembers their hashes."""

    def __init__(self, zf: zipfile.ZipFile, stamp: tuple[int, int, int, int, int, int]) -> None:
        self.zf = zf
        self.stamp = stamp
        self.entries: list[ManifestFile] = []

    def add(self, name: str, data: bytes, *, record: bool = True) -> None:
        info = zipfile.ZipInfo(name, date_time=self.stamp)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        self.zf.writestr(info, data)
        if record:
            self.entries.append({"path": name, "bytes": len(data), "sha256": sha256(data)})


def _invoice_files(ctx: AppContext, w: _Writer, row: IssuedInvoice) -> ManifestInvoice:
    base = f"facturi/{_safe(str(row.number))}/{_safe(str(row.number))}"
    with db.read(ctx.engine) as conn:
        docs = stored_documents(conn, invoice_id=int(row.id))
    assert docs is not None  # listed in the same period query
    pdf = docs.pdf if docs.pdf is not None else documents.ensure_pdf(ctx, docs.id)
    files = {"xml": f"{base}.xml", "pdf": f"{base}.pdf"}
    w.add(files["xml"], docs.xml)
    w.add(files["pdf"], pdf)
    missing: list[str] = []
    if docs.signed_zip is not None:
        files["signed_zip"] = f"{base}-anaf.zip"
        w.add(files["signed_zip"], docs.signed_zip)
    else:
        missing.append("signed_zip")
    return {
        "number": str(row.number),
        "kind": str(row.kind),
        "issue_date": row.issue_date.isoformat(),
        "currency": str(row.currency),
        "total": str(row.total),
        "anaf_state": str(row.anaf_state),
        "upload_index": row.upload_index,
        "download_id": row.download_id,
        "files": files,
        "missing": missing,
    }


def _atomic_zip(out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    return out.with_name(f".{out.name}.tmp")


def export_period(
    ctx: AppContext,
    period: Period,
    out: Path,
    *,
    livemode: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> ExportResult:
    """Use case ``export-period``: write the period archive to ``out`` (atomically)."""
    rows = load_issued(ctx, period, livemode=livemode)
    from ..invoicing.serialize import invoice_from_json

    journal = build_journal(
        period,
        [
            (invoice_from_json(r.read_snapshot()), str(r.anaf_state), str(r.payment_key))
            for r in rows
        ],
        livemode=livemode,
    )
    now = ctx.clock().astimezone(UTC)
    stamp = (now.year, now.month, now.day, now.hour, now.minute, now.second)
    tmp = _atomic_zip(out)
    listed: list[ManifestInvoice] = []
    with zipfile.ZipFile(tmp, "w") as zf:
        w = _Writer(zf, stamp)
        w.add(f"jurnal-vanzari-{period.label}.csv", to_csv(journal))
        w.add(f"jurnal-vanzari-{period.label}.xlsx", to_xlsx(journal))
        for i, row in enumerate(rows, 1):
            listed.append(_invoice_files(ctx, w, row))
            if progress is not None:
                progress(i, len(rows))
        manifest = {
            "format": FORMAT,
            "period": period.label,
            "from": period.start.isoformat(),
            "to": period.last_day.isoformat(),
            "livemode": livemode,
            "generated_at": now.isoformat(),
            "seller_cui": ctx.settings.company.fiscal_code,
            "journal": {"total_ron": str(journal.total_ron), "vat_ron": str(journal.vat_ron)},
            "files": w.entries,
            "invoices": listed,
        }
        counted = len(w.entries)
        manifest_bytes = json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8")
        w.add(MANIFEST, manifest_bytes)
        sums = "".join(f"{e['sha256']}  {e['path']}\n" for e in w.entries)
        w.add(SUMS, sums.encode("utf-8"), record=False)
    with tmp.open("rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, out)
    missing = {str(i["number"]): list(i["missing"]) for i in listed if i["missing"]}
    return ExportResult(
        path=out, period=period.label, invoices=len(rows), files=counted, missing=missing
    )


def _check_sums(zf: zipfile.ZipFile, names: set[str], result: VerifyResult) -> None:
    for line in zf.read(SUMS).decode("utf-8").splitlines():
        digest, _, name = line.partition("  ")
        if name not in names:
            result.problems.append(f"{SUMS} lists {name}, which is not in the archive")
        elif sha256(zf.read(name)) != digest:
            result.problems.append(f"{name}: SHA-256 differs from {SUMS}")


def verify(path: Path) -> VerifyResult:
    """Check an archive written by :func:`export_period`: every file's SHA-256 against the
    manifest and ``SHA256SUMS``, and no file added or removed."""
    result = VerifyResult(ok=False)
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        result.problems.append(f"not a readable ZIP: {exc}")
        return result
    with zf:
        names = set(zf.namelist())
        if MANIFEST not in names or SUMS not in names:
            result.problems.append(f"{MANIFEST} or {SUMS} is missing")
            return result
        try:
            manifest = json.loads(zf.read(MANIFEST))
        except ValueError as exc:
            result.problems.append(f"{MANIFEST} is not JSON: {exc}")
            return result
        listed = {str(e["path"]): e for e in manifest.get("files", [])}
        for name, entry in listed.items():
            if name not in names:
                result.problems.append(f"{name} is listed but missing")
                continue
            data = zf.read(name)
            if sha256(data) != entry["sha256"] or len(data) != int(entry["bytes"]):
                result.problems.append(f"{name}: SHA-256 or size differs from the manifest")
        for name in sorted(names - set(listed) - {MANIFEST, SUMS}):
            result.problems.append(f"{name} is not in the manifest")
        _check_sums(zf, names, result)
        result.files = len(listed)
    result.ok = not result.problems
    return result
