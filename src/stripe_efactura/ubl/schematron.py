"""Compile ANAF's CIUS-RO schematron (``.sch``) to an XSLT 2.0 validator and run it.

We compile the official ``.sch`` ourselves with the ISO Schematron reference implementation
that lxml ships (``lxml/isoschematron/resources/xsl/iso-schematron-xslt1/``), run under Saxon:

1. ``iso_dsdl_include.xsl`` resolves the ``<include>`` of the entry point (Saxon);
2. abstract patterns are expanded (``is-a`` + ``<param>``), a faithful Python port of
   ``iso_abstract_expand.xsl`` (the XSLT does the same in ~80 s on this schema: it rescans the
   document for every parameter of every attribute; the port takes milliseconds);
3. ``queryBinding`` is set to ``xslt`` so the XSLT 1 skeleton accepts the schema, and
   ``iso_svrl_for_xslt1.xsl`` generates the validator (Saxon);
4. the generated stylesheet is declared ``version="2.0"`` (the rules use XPath 2.0) and the
   ``<svrl:active-pattern>`` bodies, which only echo the document's text, are dropped;
   attribute locations get their element path (the XSLT 1 skeleton omits it).

The result (SVRL with ``id``, ``flag``, ``location``, ``test`` and the rule text on every
``failed-assert`` / ``successful-report``) is cached on disk under
``<validation_dir>/.cache/cius-ro-<key>.xslt``, keyed by the SHA-256 of the pinned schematron
files, of the skeleton stylesheets and of :data:`COMPILER_VERSION`. Saxon compiles it once per
process (:func:`load`).
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import lxml.isoschematron
from lxml import etree

from ..errors import ValidationArtifactsMissing
from ..files import write_atomic
from .artifacts import FETCH_HINT, ArtifactSet

if TYPE_CHECKING:
    from saxonche import PySaxonProcessor

COMPILER_VERSION = "2"
"""Bump when the compilation pipeline changes: it invalidates cached stylesheets."""

SKELETON_DIR = (
    Path(lxml.isoschematron.__file__).parent / "resources" / "xsl" / "iso-schematron-xslt1"
)
SKELETON_FILES = ("iso_dsdl_include.xsl", "iso_abstract_expand.xsl", "iso_svrl_for_xslt1.xsl")

SCH = "http://purl.oclc.org/dsdl/schematron"
SVRL = "http://purl.oclc.org/dsdl/svrl"
XSL = "http://www.w3.org/1999/XSL/Transform"
_SUBSTITUTED_ATTRIBUTES = ("test", "context", "select", "path")

SAXON_LOCK = threading.RLock()
"""Serialises every call into Saxon (one processor per process, shared by all threads)."""

_processor: PySaxonProcessor | None = None


def saxon_processor() -> PySaxonProcessor:
    """The process-wide ``saxonche.PySaxonProcessor`` (created on first use)."""
    global _processor
    with SAXON_LOCK:
        if _processor is None:
            from saxonche import PySaxonProcessor

            _processor = PySaxonProcessor(license=False)
        return _processor


# --- compilation --------------------------------------------------------------------------


def _expand(text: str, params: list[tuple[str, str]]) -> str:
    # Same order and semantics as iae:multi-macro-expand: each parameter in document order,
    # plain substring replacement of "$name" (the schema lists longer names first).
    for name, value in params:
        text = text.replace("$" + name, value)
    return text


def _instantiate(el: etree._Element, params: list[tuple[str, str]]) -> etree._Element:
    """Copy an element of an abstract pattern with its parameters substituted."""
    new = etree.Element(el.tag, nsmap=el.nsmap)
    for key, value in el.attrib.items():
        new.set(key, _expand(value, params) if key in _SUBSTITUTED_ATTRIBUTES else value)
    new.text = _expand(el.text, params) if el.text else el.text
    for child in el:
        tail = _expand(child.tail, params) if child.tail else child.tail
        if isinstance(child.tag, str):
            copy = _instantiate(child, params)
            copy.tail = tail
            new.append(copy)
        elif tail:  # comments and PIs are dropped, their following text is kept
            if len(new):
                new[-1].tail = (new[-1].tail or "") + tail
            else:
                new.text = (new.text or "") + tail
    return new


def expand_abstract_patterns(schema: etree._Element) -> None:
    """Replace ``<pattern is-a>`` by the abstract pattern instantiated with its params; drop
    abstract patterns (in place)."""
    patterns = {p.get("id"): p for p in schema.iter(f"{{{SCH}}}pattern")}
    for pattern in list(schema.iter(f"{{{SCH}}}pattern")):
        parent = pattern.getparent()
        if parent is None:
            continue
        if pattern.get("abstract") == "true":
            note = etree.Comment(f"Suppressed abstract pattern {pattern.get('id')} was here")
            note.tail = pattern.tail
            parent.replace(pattern, note)
            continue
        is_a = pattern.get("is-a")
        if not is_a:
            continue
        abstract = patterns.get(is_a)
        if abstract is None:
            raise ValidationArtifactsMissing(
                f"schematron pattern {pattern.get('id')!r} refers to an unknown abstract "
                f"pattern {is_a!r}: {FETCH_HINT}"
            )
        params = [
            (str(p.get("name")), str(p.get("value"))) for p in pattern.iter(f"{{{SCH}}}param")
        ]
        real = _instantiate(abstract, params)
        for key in list(real.attrib):
            del real.attrib[key]
        real.set("id", pattern.get("id") or f"{is_a}-instance")
        real.tail = pattern.tail
        parent.replace(pattern, real)


def _transform(
    stylesheet: Path,
    *,
    source_file: Path | None = None,
    text: str | None = None,
    params: dict[str, str] | None = None,
) -> str:
    proc = saxon_processor()
    with SAXON_LOCK:
        executable = proc.new_xslt30_processor().compile_stylesheet(stylesheet_file=str(stylesheet))
        for name, value in (params or {}).items():
            executable.set_parameter(name, proc.make_string_value(value))
        if source_file is not None:
            result = executable.transform_to_string(source_file=str(source_file))
        else:
            node = proc.parse_xml(xml_text=text)
            result = executable.transform_to_string(xdm_node=node)
    if not result:
        raise ValidationArtifactsMissing(f"schematron compilation step {stylesheet.name} failed")
    return str(result)


def _finish(generated: str) -> str:
    doc = etree.fromstring(generated.encode("utf-8"))
    doc.set("version", "2.0")
    # The XSLT 1 skeleton writes an attribute's location as "/@name" only; prefix the path of
    # its element, as the XSLT 2 skeleton does.
    for template in doc.iterfind(f"{{{XSL}}}template"):
        if template.get("match") == "@*" and template.get("mode") == "schematron-get-full-path":
            parent_path = etree.Element(
                f"{{{XSL}}}apply-templates",
                select="parent::*",
                mode="schematron-get-full-path",
            )
            template.insert(0, parent_path)
    for apply in doc.iterfind(f".//{{{SVRL}}}active-pattern/{{{XSL}}}apply-templates"):
        if apply.get("select") is None and apply.get("mode") is None:
            parent = apply.getparent()
            assert parent is not None
            parent.remove(apply)
    return etree.tostring(doc, xml_declaration=True, encoding="UTF-8").decode("utf-8")


def compile_schematron(entry: Path) -> str:
    """The XSLT 2.0 validator (text) compiled from the schematron entry point ``entry``."""
    included = _transform(SKELETON_DIR / "iso_dsdl_include.xsl", source_file=entry)
    schema = etree.fromstring(included.encode("utf-8"))
    expand_abstract_patterns(schema)
    schema.set("queryBinding", "xslt")
    generated = _transform(
        SKELETON_DIR / "iso_svrl_for_xslt1.xsl",
        text=etree.tostring(schema, encoding="unicode"),
        params={"generate-fired-rule": "false", "allow-foreign": "false"},
    )
    return _finish(generated)


def cache_key(artifacts: ArtifactSet) -> str:
    digest = hashlib.sha256()
    digest.update(f"compiler={COMPILER_VERSION}\n".encode())
    digest.update(f"schematron={artifacts.schematron_fingerprint}\n".encode())
    for name in SKELETON_FILES:
        digest.update(
            f"{name}=".encode() + hashlib.sha256((SKELETON_DIR / name).read_bytes()).digest()
        )
    return digest.hexdigest()


def cache_path(artifacts: ArtifactSet) -> Path:
    return artifacts.cache_dir / f"cius-ro-{cache_key(artifacts)[:32]}.xslt"


def compiled_xslt(artifacts: ArtifactSet) -> str:
    """The compiled validator for ``artifacts``: from the disk cache, else compiled and cached.

    A cache that cannot be written (read-only folder) is not an error.
    """
    path = cache_path(artifacts)
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        pass
    text = compile_schematron(artifacts.schematron_entry)
    with contextlib.suppress(OSError):
        write_atomic(path, text)
    return text


# --- running ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SvrlFinding:
    """One ``svrl:failed-assert`` or ``svrl:successful-report``."""

    rule_id: str
    flag: str
    location: str
    test: str
    text: str
    kind: str
    """``failed-assert`` or ``successful-report``."""


def parse_svrl(svrl: str | bytes) -> tuple[SvrlFinding, ...]:
    """The findings of an SVRL document, in document order."""
    data = svrl.encode("utf-8") if isinstance(svrl, str) else svrl
    root = etree.fromstring(data)
    out: list[SvrlFinding] = []
    for el in root.iter(f"{{{SVRL}}}failed-assert", f"{{{SVRL}}}successful-report"):
        text_el = el.find(f"{{{SVRL}}}text")
        text = "".join(text_el.itertext()) if text_el is not None else ""
        out.append(
            SvrlFinding(
                rule_id=el.get("id") or "",
                flag=el.get("flag") or "fatal",
                location=el.get("location") or "",
                test=el.get("test") or "",
                text=text.strip(),
                kind=etree.QName(el).localname,
            )
        )
    return tuple(out)


class CompiledSchematron:
    """A Saxon executable of a compiled schematron; :meth:`run` is thread-safe."""

    def __init__(self, xslt_text: str) -> None:
        proc = saxon_processor()
        with SAXON_LOCK:
            self._executable = proc.new_xslt30_processor().compile_stylesheet(
                stylesheet_text=xslt_text
            )
        if self._executable is None:
            raise ValidationArtifactsMissing(
                f"the compiled schematron does not compile: {FETCH_HINT}"
            )

    def run_svrl(self, xml_text: str) -> str:
        """The SVRL report (text) for one document given as text."""
        proc = saxon_processor()
        with SAXON_LOCK:
            node = proc.parse_xml(xml_text=xml_text)
            result = self._executable.transform_to_string(xdm_node=node)
        return str(result or "")

    def run(self, xml_text: str) -> tuple[SvrlFinding, ...]:
        return parse_svrl(self.run_svrl(xml_text))


_loaded: dict[Path, CompiledSchematron] = {}
_loaded_lock = threading.Lock()


def load(artifacts: ArtifactSet) -> CompiledSchematron:
    """The CIUS-RO validator for ``artifacts``: compiled (or read from the disk cache) and
    loaded into Saxon once per process and cache file."""
    path = cache_path(artifacts).resolve()
    with _loaded_lock:
        compiled = _loaded.get(path)
        if compiled is None:
            compiled = _loaded[path] = CompiledSchematron(compiled_xslt(artifacts))
        return compiled


def rule_ids(findings: Iterable[SvrlFinding]) -> list[tuple[str, str]]:
    """Sorted ``(rule_id, flag)`` pairs (with repeats): handy for comparisons."""
    return sorted((f.rule_id, f.flag) for f in findings)
