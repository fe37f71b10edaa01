"""What ``descarcare`` returns: a ZIP holding the filed document and ANAF's signature. The
document is the validated invoice (``ok``) or ANAF's error list (``nok``, with the duplicate
message when the invoice was filed before). :func:`invoice_key` reads what identifies a filing
when an upload's answer was lost."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from datetime import date

from stripe_efactura.anaf.errors import AnafProtocolError
from stripe_efactura.anaf.responses import (
    Finding,
    error_messages,
    local_name,
    parse_finding,
    xml_root,
)

_DUPLICATE_RE = re.compile(
    r"Factura a mai fost transmisa anterior cu index\s*=\s*(?P<index>\d+)"
    r"(?:\s+si data incarcare\s*=\s*(?P<date>\d{4}-\d{2}-\d{2}))?"
)


@dataclass(frozen=True)
class DuplicateInfo:
    """``Factura a mai fost transmisa anterior cu index=<index> si data incarcare=<date>``."""

    index: str
    upload_date: date | None


@dataclass(frozen=True)
class ErrorFile:
    """The ``nok`` error file from the download ZIP (namespace ``mesajEroriFactuta``)."""

    upload_index: str | None
    seller_cif: str | None
    findings: tuple[Finding, ...]

    @property
    def duplicate(self) -> DuplicateInfo | None:
        """The original filing when ANAF rejected this upload as a duplicate."""
        for finding in self.findings:
            info = parse_duplicate(finding.raw)
            if info is not None:
                return info
        return None


@dataclass(frozen=True)
class DownloadArchive:
    """The ZIP from ``descarcare``: ``{index}.xml`` and ``semnatura_{index}.xml``.

    ``document`` is the validated invoice (``ok``) or the error list (``nok``); ``error_file`` is
    set when the document is an error list.
    """

    index: str
    document_name: str
    document: bytes
    signature_name: str
    signature: bytes
    error_file: ErrorFile | None

    @property
    def is_error(self) -> bool:
        return self.error_file is not None


def parse_duplicate(message: str) -> DuplicateInfo | None:
    """The original upload index (and date) in ANAF's duplicate message, else None."""
    match = _DUPLICATE_RE.search(message)
    if match is None:
        return None
    raw_date = match.group("date")
    return DuplicateInfo(match.group("index"), date.fromisoformat(raw_date) if raw_date else None)


def parse_error_file(xml: bytes) -> ErrorFile:
    """Parse the ``nok`` error list (``<header Index_incarcare Cif_emitent><Error .../>``)."""
    root = xml_root(xml)
    if root is None or local_name(root.tag) != "header":
        raise AnafProtocolError("The ANAF error file is not the expected <header> XML")
    findings = tuple(parse_finding(m) for m in error_messages(root))
    return ErrorFile(root.get("Index_incarcare"), root.get("Cif_emitent"), findings)


_INDEX_RE = re.compile(r"(\d+)")


def _is_signature(content: bytes) -> bool:
    root = xml_root(content)
    return root is not None and local_name(root.tag) == "Signature"


def _split(members: dict[str, bytes]) -> tuple[str, str]:
    """(document name, signature name) of the two XML files, told apart by content (the
    XML-DSig ``Signature`` root), whatever their names."""
    sigs = [n for n, content in members.items() if _is_signature(content)]
    docs = [n for n in members if n not in sigs]
    if len(members) != 2 or len(sigs) != 1 or len(docs) != 1:
        raise AnafProtocolError(
            "The ANAF archive must hold one document XML and one signature XML; it holds "
            f"{sorted(members)}"
        )
    return docs[0], sigs[0]


def parse_archive(data: bytes) -> DownloadArchive:
    """Open the ``descarcare`` ZIP: exactly one document XML (the invoice, or ANAF's error
    list when its root is the ``header`` of ``mesajEroriFactuta``) and one XML-DSig signature,
    whatever the files are called (``<index>.xml`` and ``semnatura_<index>.xml`` today);
    folders and non-XML files are ignored. ``index`` is the first number in the document's
    (else the signature's) file name, ``""`` when neither has one."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = {
                info.filename: archive.read(info)
                for info in archive.infolist()
                if not info.is_dir() and info.filename.lower().endswith(".xml")
            }
    except zipfile.BadZipFile as exc:
        raise AnafProtocolError("The ANAF download is not a valid ZIP") from exc
    doc_name, sig_name = _split(members)
    document, signature = members[doc_name], members[sig_name]
    root = xml_root(document)
    error_file = None
    if root is not None and local_name(root.tag) == "header":  # ANAF's error list, not an invoice
        error_file = parse_error_file(document)
    found = _INDEX_RE.search(doc_name.rsplit("/", 1)[-1]) or _INDEX_RE.search(sig_name)
    index = found.group(1) if found else ""
    return DownloadArchive(index, doc_name, document, sig_name, signature, error_file)


_UBL_NS = {
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
}


@dataclass(frozen=True)
class InvoiceKey:
    """What identifies a filing when reconciling an upload whose answer was lost: seller CUI
    (without ``RO``), BT-1 invoice number, BT-2 issue date (``YYYY-MM-DD``)."""

    seller_cif: str | None
    number: str | None
    issue_date: str | None


def invoice_key(xml: bytes) -> InvoiceKey | None:
    """The :class:`InvoiceKey` of a UBL Invoice/CreditNote (e.g. ``DownloadArchive.document``),
    or None when the bytes are not a UBL invoice."""
    root = xml_root(xml)
    if root is None or local_name(root.tag) not in ("Invoice", "CreditNote"):
        return None

    def text(path: str) -> str | None:
        found = root.find(path, _UBL_NS)
        return found.text.strip() if found is not None and found.text else None

    seller = text("cac:AccountingSupplierParty/cac:Party/cac:PartyTaxScheme/cbc:CompanyID") or text(
        "cac:AccountingSupplierParty/cac:Party/cac:PartyLegalEntity/cbc:CompanyID"
    )
    if seller is not None:
        seller = seller.replace(" ", "").upper().removeprefix("RO")
    return InvoiceKey(seller, text("cbc:ID"), text("cbc:IssueDate"))
