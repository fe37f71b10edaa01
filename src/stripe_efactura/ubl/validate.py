"""The official validation gate: UBL 2.1 XSD + ANAF CIUS-RO 1.0.9 schematron.

    report = get_validator(settings.validation_dir).validate(xml_bytes)
    if report.fatal: ...   # the invoice must not be numbered / uploaded

Order, as ANAF does it: the document must be well-formed, have an ``Invoice`` or ``CreditNote``
root and be valid against the matching UBL 2.1 XSD; only then the schematron runs. Every
problem is a :class:`Finding`; XSD errors have ``rule_id`` ``"XSD"`` and flag ``"xsd"``
(``"XML"`` when the bytes are not well-formed XML at all). Both schematron ``failed-assert``
and ``successful-report`` count (ANAF's county/sector rules BR-RO-100/101/110/111 are
reports). ``report.fatal`` holds what blocks: flags ``fatal`` and ``xsd``.

A :class:`Validator` loads lazily (artifacts verified, XSD parsed, schematron compiled or read
from the disk cache) on first use and is safe to share between threads.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from lxml import etree

from ..errors import Problem
from ..jsontypes import JsonObject
from . import artifacts as artifacts_mod
from . import schematron

UBL_INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
UBL_CREDIT_NOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
ROOTS = {
    f"{{{UBL_INVOICE_NS}}}Invoice": "Invoice",
    f"{{{UBL_CREDIT_NOTE_NS}}}CreditNote": "CreditNote",
}

Flag = Literal["fatal", "warning", "xsd"]
BLOCKING_FLAGS = frozenset({"fatal", "xsd"})
_PREFIX = re.compile(r"^\s*\[[^\]]*\]\s*-?\s*")
_SPACE = re.compile(r"\s+")
_STEP = re.compile(r"\*\[local-name\(\)='([^']*)' and namespace-uri\(\)='([^']*)'\]")
_LINE_COLUMN = re.compile(r", line \d+, column \d+$")
_UBL_PREFIXES = {
    "{urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2}": "cbc:",
    "{urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2}": "cac:",
    "{urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2}": "ext:",
    f"{{{UBL_INVOICE_NS}}}": "",
    f"{{{UBL_CREDIT_NOTE_NS}}}": "",
}


@dataclass(frozen=True)
class Finding:
    """One finding of the official validation."""

    rule_id: str
    """Rule id: ``BR-RO-010``, ``BR-CO-15``, ``UBL-CR-681``...; ``XSD`` / ``XML`` for schema
    and well-formedness errors."""
    flag: Flag
    """``fatal`` and ``xsd`` block the invoice; ``warning`` does not."""
    location: str
    """XPath of the offending node (schematron: full path with namespace tests; XSD: lxml
    path); may be empty."""
    test: str
    """The schematron XPath test that failed (empty for XSD findings)."""
    message_ro: str
    """ANAF's Romanian text (before ``#``); empty for CEN rules, which are English only."""
    message_en: str
    """The English text (after ``#`` for ANAF rules)."""

    @property
    def blocking(self) -> bool:
        return self.flag in BLOCKING_FLAGS

    @property
    def short_location(self) -> str:
        """``location`` with UBL prefixes, for people: ``/Invoice/cac:TaxTotal/cbc:TaxAmount``."""
        return _STEP.sub(_short_step, self.location)

    def to_dict(self) -> dict[str, str]:
        return {
            "rule_id": self.rule_id,
            "flag": self.flag,
            "location": self.location,
            "test": self.test,
            "message_ro": self.message_ro,
            "message_en": self.message_en,
            "short_location": self.short_location,
        }

    def to_problem(self) -> Problem:
        """As a merchant-facing Problem (code ``V-<rule id>``); ``ubl.explain`` adds hints."""
        return Problem(
            code=f"V-{self.rule_id}",
            field=self.location,
            message_ro=self.message_ro or self.message_en,
            message_en=self.message_en or self.message_ro,
            fatal=self.blocking,
            context=(("flag", self.flag),),
        )


@dataclass(frozen=True)
class ValidationReport:
    findings: tuple[Finding, ...]
    document: str | None = None
    """``Invoice`` or ``CreditNote`` (``None`` when the root is neither)."""
    artifacts: str = field(default="UBL 2.1 + CIUS-RO 1.0.9")

    @property
    def fatal(self) -> tuple[Finding, ...]:
        """The findings that block: schematron ``fatal`` and every XSD / XML error."""
        return tuple(f for f in self.findings if f.blocking)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if not f.blocking)

    @property
    def ok(self) -> bool:
        """No blocking finding (warnings allowed)."""
        return not self.fatal

    def rule_ids(self) -> list[tuple[str, str]]:
        """Sorted ``(rule_id, flag)`` pairs, with repeats."""
        return sorted((f.rule_id, f.flag) for f in self.findings)

    def to_dict(self) -> JsonObject:
        return {
            "ok": self.ok,
            "document": self.document,
            "artifacts": self.artifacts,
            "fatal": len(self.fatal),
            "warnings": len(self.warnings),
            "findings": [{**f.to_dict()} for f in self.findings],
        }


def split_message(text: str) -> tuple[str, str]:
    """``(message_ro, message_en)`` from a rule text.

    ANAF's rules read ``[BR-RO-xxx]-<Romanian>#<English>``; CEN rules are English only. The
    ``[id]-`` prefix is dropped (``rule_id`` carries it) and whitespace is collapsed. The split
    is on the first ``#`` (English texts may contain more, e.g. in URNs).
    """
    body = _SPACE.sub(" ", _PREFIX.sub("", text, count=1)).strip()
    if "#" in body:
        ro, en = body.split("#", 1)
        return ro.strip(), en.strip()
    return "", body


def _finding(svrl: schematron.SvrlFinding) -> Finding:
    ro, en = split_message(svrl.text)
    flag: Flag = "warning" if svrl.flag == "warning" else "fatal"
    return Finding(svrl.rule_id, flag, svrl.location, svrl.test, ro, en)


def _short_step(match: re.Match[str]) -> str:
    local, namespace = match.group(1), match.group(2)
    return _short_names(f"{{{namespace}}}{local}") if namespace else local


def _short_names(text: str) -> str:
    """``{urn:...CommonBasicComponents-2}ID`` -> ``cbc:ID`` in libxml2 messages."""
    for clark, prefix in _UBL_PREFIXES.items():
        text = text.replace(clark, prefix)
    return text


def _xsd_finding(rule_id: str, location: str, line: int, detail: str) -> Finding:
    where_ro = f" (linia {line})" if line else ""
    where_en = f" (line {line})" if line else ""
    if rule_id == "XML":
        ro = f"Fișierul nu este XML bine format{where_ro}: {detail}"
        en = f"The file is not well-formed XML{where_en}: {detail}"
    else:
        ro = f"Documentul nu respectă schema UBL 2.1 (XSD){where_ro}: {detail}"
        en = f"The document is not valid against the UBL 2.1 schema (XSD){where_en}: {detail}"
    return Finding(rule_id, "xsd", location, "", ro, en)


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_blank_text=False,
    )


class Validator:
    """XSD + CIUS-RO schematron over the artifacts installed in ``validation_dir``.

    Nothing is loaded until the first :meth:`validate` (or :meth:`load`); a missing or corrupt
    installation raises :class:`~stripe_efactura.errors.ValidationArtifactsMissing` then.
    """

    def __init__(self, validation_dir: Path) -> None:
        self.validation_dir = Path(validation_dir)
        self._lock = threading.Lock()
        self._loaded = False
        self._schemas: dict[str, etree.XMLSchema] = {}
        self._schematron: schematron.CompiledSchematron | None = None

    def load(self) -> None:
        """Verify the artifacts, parse both XSDs and load the compiled schematron (once)."""
        with self._lock:
            if self._loaded:
                return
            arts = artifacts_mod.verify(self.validation_dir)
            schemas = {
                "Invoice": etree.XMLSchema(etree.parse(str(arts.invoice_xsd))),
                "CreditNote": etree.XMLSchema(etree.parse(str(arts.credit_note_xsd))),
            }
            compiled = schematron.load(arts)
            self._schemas, self._schematron = schemas, compiled
            self._loaded = True

    def validate(self, xml: bytes) -> ValidationReport:
        """Validate one UBL document (bytes as rendered / uploaded)."""
        self.load()
        try:
            doc = etree.fromstring(xml, _parser())
        except etree.XMLSyntaxError as exc:
            line = exc.lineno or 0
            detail = _LINE_COLUMN.sub("", str(exc.msg))
            return ValidationReport((_xsd_finding("XML", "", line, detail),))
        if doc.getroottree().docinfo.doctype:
            detail = "a DOCTYPE declaration is not allowed in an e-Factura document"
            return ValidationReport((_xsd_finding("XML", "", 1, detail),))
        kind = ROOTS.get(str(doc.tag))
        if kind is None:
            detail = (
                f"the root element is {doc.tag!r}; expected Invoice ({UBL_INVOICE_NS}) "
                f"or CreditNote ({UBL_CREDIT_NOTE_NS})"
            )
            return ValidationReport((_xsd_finding("XSD", "/", doc.sourceline or 0, detail),))
        schema = self._schemas[kind]
        with self._lock:
            try:
                valid = schema.validate(doc)
            except etree.XMLSchemaValidateError as exc:  # libxml2 gave up: still a rejection
                detail = f"the schema validator failed ({exc})"
                return ValidationReport((_xsd_finding("XSD", "", 0, detail),), kind)
            errors = list(schema.error_log) if not valid else []
        if errors:
            findings = tuple(
                _xsd_finding("XSD", e.path or "", e.line, _short_names(e.message)) for e in errors
            )
            return ValidationReport(findings, kind)
        assert self._schematron is not None
        try:
            svrl = self._schematron.run(etree.tostring(doc, encoding="unicode"))
        except Exception as exc:  # a Saxon dynamic error: report it, never pass silently
            finding = Finding(
                "SCHEMATRON",
                "fatal",
                "",
                "",
                f"Validarea schematron a eșuat: {exc}",
                f"The schematron validation failed: {exc}",
            )
            return ValidationReport((finding,), kind)
        return ValidationReport(tuple(_finding(f) for f in svrl), kind)


class ValidatorLike(Protocol):
    """What issuing needs of a validator: this module's :class:`Validator` (in the process)
    or ``ubl.shared.SharedValidator`` (the host's validator process)."""

    validation_dir: Path

    def load(self) -> None: ...

    def validate(self, xml: bytes) -> ValidationReport: ...


_validators: dict[Path, ValidatorLike] = {}
_validators_lock = threading.Lock()


def get_validator(validation_dir: Path) -> ValidatorLike:
    """The process-wide validator for ``validation_dir`` (one per resolved path): in this
    process unless :func:`use_validator` installed another."""
    key = Path(validation_dir).resolve()
    with _validators_lock:
        validator = _validators.get(key)
        if validator is None:
            validator = _validators[key] = Validator(key)
        return validator


def use_validator(validation_dir: Path, validator: ValidatorLike) -> None:
    """Make ``validator`` this process's validator for ``validation_dir`` (a ``worker``
    process installs the shared one before its first job)."""
    with _validators_lock:
        _validators[Path(validation_dir).resolve()] = validator
