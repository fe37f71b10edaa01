"""Session fixtures: artifacts installed from ../shared into a temp folder, one compiled
validator and the reference (phive-compiled) CIUS-RO XSLT, both loaded once."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from lxml import etree

from stripe_efactura.ubl import artifacts, schematron
from stripe_efactura.ubl.validate import Validator

REFERENCE_XSLT = "cius-ro-1.0.9/xslt/EN16931-CIUS_RO-UBL-validation.xslt"


def _load_sample() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "ubl_validate_sample", Path(__file__).with_name("sample.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SAMPLE = _load_sample()


@pytest.fixture(scope="session")
def make_invoice() -> Callable[[int], bytes]:
    fn: Callable[[int], bytes] = SAMPLE.invoice_xml
    return fn


@pytest.fixture(scope="session")
def installed(
    validation_src: Path, tmp_path_factory: pytest.TempPathFactory
) -> artifacts.ArtifactSet:
    return artifacts.install_from(validation_src, tmp_path_factory.mktemp("validation"))


@pytest.fixture(scope="session")
def validator(installed: artifacts.ArtifactSet) -> Validator:
    v = Validator(installed.root)
    v.load()
    return v


@pytest.fixture(scope="session")
def reference(validation_src: Path) -> schematron.CompiledSchematron:
    """ANAF CIUS-RO 1.0.9 as compiled by phive-rules: the reference we must agree with."""
    return schematron.CompiledSchematron(
        (validation_src / REFERENCE_XSLT).read_text(encoding="utf-8")
    )


_XPATH2_STEP = re.compile(r"\*:([\w.-]+)\[namespace-uri\(\)='([^']*)'\]")


def resolve_location(doc: etree._Element, location: str) -> list[object]:
    """The nodes an SVRL location selects, for both path notations (XPath 2 ``*:name`` steps
    of the reference are rewritten to XPath 1 for lxml). Attributes come back as
    ``(element, attribute name)``."""
    xpath = _XPATH2_STEP.sub(r"*[local-name()='\1' and namespace-uri()='\2']", location)
    result = doc.getroottree().xpath(xpath)
    assert isinstance(result, list)
    out: list[object] = []
    for node in result:
        if isinstance(node, etree._Element):
            out.append(node)
        elif getattr(node, "is_attribute", False):
            out.append((node.getparent(), node.attrname))  # type: ignore[union-attr]
    return out


@pytest.fixture(scope="session")
def locate() -> Callable[[etree._Element, str], list[object]]:
    return resolve_location
