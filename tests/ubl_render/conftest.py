"""Fixtures for the UBL renderer tests: the official validators.

The CIUS-RO XSLT (XSLT 2.0, run with saxonche) and the UBL 2.1 XSD (lxml) are read from
``../shared/validation`` and compiled once per session; tests that need them skip when the
folder is absent.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from factories.ubl_cases import Validator

HERE = Path(__file__).resolve().parent

XSLT = "cius-ro-1.0.9/xslt/EN16931-CIUS_RO-UBL-validation.xslt"
XSD = {
    "Invoice": "ubl-2.1/xsd/maindoc/UBL-Invoice-2.1.xsd",
    "CreditNote": "ubl-2.1/xsd/maindoc/UBL-CreditNote-2.1.xsd",
}
_FINDING = re.compile(
    r"<svrl:(failed-assert|successful-report)\b([^>]*)>(.*?)</svrl:\1>", re.DOTALL
)
_ATTR = re.compile(r'(\w+)="([^"]*)"')
_TEXT = re.compile(r"<svrl:text>(.*?)</svrl:text>", re.DOTALL)


@pytest.fixture(scope="session")
def cius_ro(validation_src: Path) -> Validator:
    """Run ANAF's CIUS-RO 1.0.9 rules; return 'ID: text' for every fatal finding."""
    from saxonche import PySaxonProcessor

    proc = PySaxonProcessor(license=False)
    executable = proc.new_xslt30_processor().compile_stylesheet(
        stylesheet_file=str(validation_src / XSLT)
    )

    def run(xml: bytes) -> list[str]:
        node = proc.parse_xml(xml_text=xml.decode("utf-8"))
        svrl = executable.transform_to_string(xdm_node=node)
        fatal = []
        for _kind, attrs, body in _FINDING.findall(svrl):
            a = dict(_ATTR.findall(attrs))
            if a.get("flag") == "fatal":
                text = _TEXT.search(body)
                fatal.append(f"{a.get('id')}: {text.group(1).strip() if text else ''}")
        return fatal

    return run


@pytest.fixture(scope="session")
def ubl_xsd(validation_src: Path) -> Validator:
    """Validate against the UBL 2.1 XSD of the document's root; return the error lines."""
    from lxml import etree

    schemas = {
        root: etree.XMLSchema(etree.parse(str(validation_src / path))) for root, path in XSD.items()
    }

    def run(xml: bytes) -> list[str]:
        doc = etree.fromstring(xml)
        schema = schemas[etree.QName(doc).localname]
        if schema.validate(doc):
            return []
        return [str(e) for e in schema.error_log]

    return run
