"""ANAF e-Factura answers: typed results, the error tree, and classification by content.

ANAF reports most business errors with HTTP 200 and a message in the body, so every answer is
classified by its *content* first and its status second (``ANAF.md`` §1.3). This module is pure:
functions take a status code and the body bytes and return a typed result or raise one of the
errors below. ``client.py`` does the HTTP; the fake in ``fake.py`` produces the same bodies.
The error tree is in :mod:`anaf.errors`; the ZIP, error file and invoice key of a
download in :mod:`anaf.archive`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from lxml import etree

from stripe_efactura.anaf.errors import (
    AnafApiError,
    AnafAuthError,
    AnafDownloadExpired,
    AnafNoRights,
    AnafNotFound,
    AnafProtocolError,
    AnafQuotaExceeded,
    AnafRejected,
    AnafServerError,
    AnafTechnicalError,
    AnafWafRejected,
    UploadOutcomeUnknown,
)
from stripe_efactura.tz import BUCHAREST as RO_TZ

NS_UPLOAD = "mfp:anaf:dgti:spv:respUploadFisier:v1"
NS_STATUS = "mfp:anaf:dgti:efactura:stareMesajFactura:v1"
NS_ERRORS = "mfp:anaf:dgti:efactura:mesajEroriFactuta:v1"  # sic, ANAF's spelling
NS_DSIG = "http://www.w3.org/2000/09/xmldsig#"

_SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


class MessageState(StrEnum):
    """``stare`` of ``stareMesaj``."""

    IN_PROGRESS = "in prelucrare"
    OK = "ok"
    NOK = "nok"
    REJECTED_AT_UPLOAD = "XML cu erori nepreluat de sistem"


@dataclass(frozen=True)
class UploadResult:
    """``upload`` accepted: ``index`` is ``index_incarcare``; ``date_response`` is
    ANAF's ``YYYYMMDDhhmm`` (Romania local time)."""

    index: str
    date_response: str


@dataclass(frozen=True)
class StatusResult:
    state: MessageState
    download_id: str | None
    raw_state: str

    @property
    def final(self) -> bool:
        return self.state is not MessageState.IN_PROGRESS


@dataclass(frozen=True)
class MessageEntry:
    """One SPV message from ``listaMesaje*``.

    ``upload_index`` is ``id_solicitare``; ``download_id`` is ``id``; ``kind`` is ``tip``
    (e.g. ``FACTURA TRIMISA``, ``ERORI FACTURA``); ``created`` is ``data_creare``
    (``YYYYMMDDhhmm``, Romania local time) and ``created_at`` the same as an aware datetime.
    """

    created: str
    created_at: datetime | None
    cif: str
    upload_index: str
    details: str
    kind: str
    download_id: str


@dataclass(frozen=True)
class MessagePage:
    """One page of ``listaMesajePaginatieFactura`` (or the whole ``listaMesajeFactura``).

    An empty interval ("Nu exista mesaje ...") is an empty page with ``total_pages == 0``.
    """

    messages: tuple[MessageEntry, ...]
    page: int
    total_pages: int
    total_records: int
    records_in_page: int
    per_page: int
    title: str
    serial: str | None = None
    cui: str | None = None

    @property
    def has_next(self) -> bool:
        return self.page < self.total_pages


@dataclass(frozen=True)
class Finding:
    """One ANAF error message split into its parts.

    ``rule`` is the business-rule id (``BR-RO-065``) when present; ``message_ro`` the text before
    ``#``; ``message_en`` the text after it (ANAF appends the English text after ``#``), or None.
    """

    rule: str | None
    message_ro: str
    message_en: str | None
    raw: str


@dataclass(frozen=True)
class ValidationAnswer:
    """``validare/FACT1|FCN``: ``ok`` is ``stare == "ok"``."""

    ok: bool
    messages: tuple[str, ...]
    findings: tuple[Finding, ...]
    trace_id: str | None


# --------------------------------------------------------------------------------------------
# Message parsing
# --------------------------------------------------------------------------------------------

_RULE_RE = re.compile(r"\[(?P<rule>[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+)\]")
_QUOTA_RE = re.compile(r"S-au (?:facut|incarcat) deja (?P<n>\d+)", re.IGNORECASE)
_WAF_SUPPORT_RE = re.compile(r"support ID is:\s*(?P<id>[0-9]+)", re.IGNORECASE)
_WS_RE = re.compile(r"\s+")


def _squash(text: str) -> str:
    return _WS_RE.sub(" ", text).strip()


def parse_finding(message: str) -> Finding:
    """Split one ANAF message into rule id, Romanian text and English text (after ``#``).

    >>> parse_finding("[BR-RO-065]-Identificatorul ...\\n\\t\\t#The Seller ...").rule
    'BR-RO-065'
    """
    raw = message
    match = _RULE_RE.search(message)
    rule = match.group("rule") if match else None
    text = message
    if match:
        text = message[match.end() :].lstrip("-: \t\r\n")
    if "#" in text:
        ro, en = text.split("#", 1)
        return Finding(rule, _squash(ro), _squash(en) or None, raw)
    return Finding(rule, _squash(text), None, raw)


def parse_ro_timestamp(value: str) -> datetime | None:
    """``YYYYMMDDhhmm`` (Romania local) -> aware datetime, or None when malformed."""
    try:
        return datetime.strptime(value, "%Y%m%d%H%M").replace(tzinfo=RO_TZ)
    except ValueError:
        return None


def xml_root(body: bytes) -> etree._Element | None:
    stripped = body.lstrip()
    if not stripped.startswith(b"<"):
        return None
    try:
        return etree.fromstring(stripped, parser=_SAFE_PARSER)
    except etree.XMLSyntaxError:
        return None


def local_name(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def error_messages(root: etree._Element) -> list[str]:
    return [
        str(child.get("errorMessage", ""))
        for child in root
        if local_name(child.tag) in ("Errors", "Error")
    ]


# --------------------------------------------------------------------------------------------
# Classification
# --------------------------------------------------------------------------------------------


def is_waf_page(body: bytes) -> bool:
    """The F5 "Request Rejected" HTML page (served with HTTP 200)."""
    head = body[:4096].lower()
    return b"<html" in head and b"request rejected" in head


def _json(body: bytes) -> dict[str, Any] | None:
    stripped = body.strip()
    if not stripped.startswith(b"{"):
        return None
    try:
        value = json.loads(stripped)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _excerpt(body: bytes) -> str:
    text = _squash(re.sub(rb"<[^>]+>", b" ", body[:2000]).decode("utf-8", "replace"))
    return text[:200] if text else "(empty answer)"


def check_transport_level(status: int, body: bytes) -> None:
    """Raise for the answers every endpoint shares: WAF page, quotas, 5xx, 401/403."""
    if status == 429:
        raise AnafQuotaExceeded(
            "ANAF rate limit reached (HTTP 429, 1000 calls/minute)",
            scope="global",
            http_status=status,
        )
    if status == 204:
        raise AnafQuotaExceeded(
            "ANAF answered HTTP 204 (request limit reached)", scope="global", http_status=status
        )
    if status >= 500:
        raise AnafServerError(
            f"ANAF server error HTTP {status}: {_excerpt(body)}", http_status=status
        )
    if status in (401, 403):
        data = _json(body) or {}
        detail = str(data.get("message") or data.get("error") or _excerpt(body))
        raise AnafAuthError(
            f"ANAF refused the access token (HTTP {status}): {detail}", http_status=status
        )
    if is_waf_page(body):
        match = _WAF_SUPPORT_RE.search(body.decode("utf-8", "replace"))
        support_id = match.group("id") if match else None
        raise AnafWafRejected(
            f"ANAF's firewall rejected the request (support ID {support_id})",
            support_id=support_id,
            http_status=status,
        )


def classify_message(message: str, *, http_status: int | None = 200) -> AnafApiError:
    """The error for one ANAF error text (Romanian), by its known families."""
    folded = message.lower()
    quota = _QUOTA_RE.search(message)
    if quota:
        return AnafQuotaExceeded(
            message,
            scope="daily",
            limit=int(quota.group("n")),
            http_status=http_status,
            messages=[message],
        )
    if "eroare tehnica" in folded:
        return AnafTechnicalError(message, http_status=http_status, messages=[message])
    if "nu aveti drept" in folded or "nu exista niciun cif" in folded:
        return AnafNoRights(message, http_status=http_status, messages=[message])
    if "60 de zile in care este disponibil" in folded:
        return AnafDownloadExpired(message, http_status=http_status, messages=[message])
    if "nu exista factura cu id_incarcare" in folded or "nu exista inregistrata" in folded:
        return AnafNotFound(message, http_status=http_status, messages=[message])
    return AnafRejected(message, http_status=http_status, messages=[message])


def _bad_request(status: int, body: bytes) -> AnafApiError:
    data = _json(body) or {}
    message = str(data.get("message") or data.get("eroare") or _excerpt(body))
    if status == 404:
        return AnafRejected(f"ANAF endpoint not found (HTTP 404): {message}", http_status=404)
    return AnafRejected(message, http_status=status, messages=[message])


def classify_upload(status: int, body: bytes) -> UploadResult:
    """``upload`` / ``uploadb2c``. Conditions where ANAF may have stored the file anyway
    (5xx, technical error, unreadable answer) raise :class:`UploadOutcomeUnknown`."""
    try:
        check_transport_level(status, body)
    except AnafServerError as exc:
        raise UploadOutcomeUnknown(exc.message, cause_code=exc.code, http_status=status) from exc
    if status != 200:
        raise _bad_request(status, body)
    root = xml_root(body)
    if root is None or local_name(root.tag) != "header":
        raise UploadOutcomeUnknown(
            f"Unreadable ANAF upload answer: {_excerpt(body)}",
            cause_code=AnafProtocolError.code,
            http_status=status,
        )
    index = root.get("index_incarcare")
    if root.get("ExecutionStatus") == "0":
        if index:
            return UploadResult(index, root.get("dateResponse", ""))
        raise UploadOutcomeUnknown(
            "ANAF accepted the upload without an index_incarcare",
            cause_code=AnafProtocolError.code,
            http_status=status,
        )
    messages = [_squash(m) for m in error_messages(root)]
    error = classify_message(" ".join(messages) or "ExecutionStatus=1", http_status=status)
    error.messages = tuple(messages)
    if isinstance(error, AnafTechnicalError):
        raise UploadOutcomeUnknown(
            error.message, cause_code=error.code, http_status=status, messages=messages
        ) from error
    raise error


def classify_status(status: int, body: bytes) -> StatusResult:
    """``stareMesaj``."""
    check_transport_level(status, body)
    if status != 200:
        raise _bad_request(status, body)
    root = xml_root(body)
    if root is None or local_name(root.tag) != "header":
        raise AnafProtocolError(f"Unreadable ANAF status answer: {_excerpt(body)}", http_status=200)
    raw_state = root.get("stare")
    if raw_state is None:
        messages = [_squash(m) for m in error_messages(root)]
        if not messages:
            raise AnafProtocolError("ANAF status answer without 'stare'", http_status=200)
        error = classify_message(" ".join(messages))
        error.messages = tuple(messages)
        raise error
    folded = _squash(raw_state).lower()
    states = {s.value.lower(): s for s in MessageState}
    state = states.get(folded)
    if state is None:
        raise AnafProtocolError(f"Unknown ANAF message state {raw_state!r}", http_status=200)
    return StatusResult(state, root.get("id_descarcare") or None, raw_state)


def classify_download(status: int, body: bytes) -> bytes:
    """``descarcare``: the ZIP bytes, or an error (JSON ``eroare`` on HTTP 200)."""
    check_transport_level(status, body)
    if status != 200:
        raise _bad_request(status, body)
    if body.startswith(b"PK\x03\x04"):
        return body
    data = _json(body)
    if data is None:
        raise AnafProtocolError(
            f"Unreadable ANAF download answer: {_excerpt(body)}", http_status=200
        )
    message = str(data.get("eroare") or data.get("message") or "")
    raise classify_message(message or json.dumps(data, ensure_ascii=False))


def _entry(item: dict[str, Any]) -> MessageEntry:
    created = str(item.get("data_creare", ""))
    return MessageEntry(
        created=created,
        created_at=parse_ro_timestamp(created),
        cif=str(item.get("cif", "")),
        upload_index=str(item.get("id_solicitare", "")),
        details=str(item.get("detalii", "")),
        kind=str(item.get("tip", "")),
        download_id=str(item.get("id", "")),
    )


def _int(value: object, default: int) -> int:
    try:
        return int(str(value))
    except ValueError:
        return default


def classify_list(status: int, body: bytes, *, page: int = 1) -> MessagePage:
    """``listaMesajeFactura`` / ``listaMesajePaginatieFactura``."""
    check_transport_level(status, body)
    if status != 200:
        raise _bad_request(status, body)
    data = _json(body)
    if data is None:
        raise AnafProtocolError(f"Unreadable ANAF list answer: {_excerpt(body)}", http_status=200)
    title = str(data.get("titlu", ""))
    if "mesaje" not in data:
        message = str(data.get("eroare") or data.get("message") or "")
        if message.lower().startswith("nu exista mesaje"):
            return MessagePage((), page, 0, 0, 0, 500, title)
        raise classify_message(message or json.dumps(data, ensure_ascii=False))
    raw = data.get("mesaje")
    items = [m for m in raw if isinstance(m, dict)] if isinstance(raw, list) else []
    messages = tuple(_entry(m) for m in items)
    return MessagePage(
        messages=messages,
        page=_int(data.get("index_pagina_curenta", page), page),
        total_pages=_int(data.get("numar_total_pagini", 1), 1),
        total_records=_int(data.get("numar_total_inregistrari", len(messages)), len(messages)),
        records_in_page=_int(
            data.get("numar_inregistrari_in_pagina", len(messages)), len(messages)
        ),
        per_page=_int(data.get("numar_total_inregistrari_per_pagina", 500), 500),
        title=title,
        serial=str(data["serial"]) if "serial" in data else None,
        cui=str(data["cui"]) if "cui" in data else None,
    )


_VALIDATION_PREFIX_RE = re.compile(r"^E:.*?eroare(?: regula)?:\s*")


def classify_validation(status: int, body: bytes) -> ValidationAnswer:
    """``validare/FACT1|FCN`` (public host; the WAF page is possible here)."""
    check_transport_level(status, body)
    if status != 200:
        raise _bad_request(status, body)
    data = _json(body)
    if data is None or "stare" not in data:
        raise AnafProtocolError(
            f"Unreadable ANAF validation answer: {_excerpt(body)}", http_status=200
        )
    raw = data.get("Messages")
    items = [m for m in raw if isinstance(m, dict)] if isinstance(raw, list) else []
    messages = tuple(str(m.get("message", "")) for m in items)
    findings = tuple(parse_finding(_VALIDATION_PREFIX_RE.sub("", m)) for m in messages)
    trace = data.get("trace_id")
    return ValidationAnswer(
        ok=str(data["stare"]) == "ok",
        messages=messages,
        findings=findings,
        trace_id=str(trace) if trace is not None else None,
    )
