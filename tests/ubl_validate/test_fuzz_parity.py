"""Random edits of a valid invoice (and of an official ANAF sample): our compiled schematron
and the reference XSLT must agree on every one, finding by finding, or both fail."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from stripe_efactura.ubl import artifacts, schematron

_spec = importlib.util.spec_from_file_location(
    "ubl_validate_sample_fuzz", Path(__file__).with_name("sample.py")
)
assert _spec is not None and _spec.loader is not None
SAMPLE = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(SAMPLE)

VALUES = [
    "",
    "0",
    "-1",
    "12.345",
    "abc",
    "2026-13-01",
    "2026-11-20",
    "RO",
    "RO-B",
    "SECTOR7",
    "EUR",
    "Z",
    "AE",
    "x" * 301,
]


def _leaves(root: etree._Element) -> list[etree._Element]:
    return [el for el in root.iter() if isinstance(el.tag, str) and len(el) == 0]


def _outcome(compiled: schematron.CompiledSchematron, xml: str) -> object:
    try:
        return [(f.rule_id, f.flag, f.test, f.text) for f in compiled.run(xml)]
    except Exception:  # a dynamic XPath error (e.g. a bad date cast): must happen in both
        return "error"


@pytest.fixture(scope="module")
def ours(installed: artifacts.ArtifactSet) -> schematron.CompiledSchematron:
    return schematron.load(installed)


@pytest.fixture(scope="module")
def anaf_example(validation_src: Path) -> bytes:
    return (
        validation_src / "samples/anaf-ubl-b2g-examples-1.0.9/ubl_b2g_example3.xml"
    ).read_bytes()


edits = st.lists(
    st.tuples(st.integers(min_value=0, max_value=10_000), st.sampled_from([*VALUES, None])),
    min_size=1,
    max_size=3,
)


def _edit(base: bytes, changes: list[tuple[int, str | None]]) -> str:
    root = etree.fromstring(base)
    for index, value in changes:
        leaves = _leaves(root)
        leaf = leaves[index % len(leaves)]
        parent = leaf.getparent()
        if value is None and parent is not None:
            parent.remove(leaf)  # None: drop the element
        else:
            leaf.text = value
    return etree.tostring(root, encoding="unicode")


@settings(
    max_examples=25,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(changes=edits)
def test_random_edits_of_sample_invoice(
    changes: list[tuple[int, str | None]],
    ours: schematron.CompiledSchematron,
    reference: schematron.CompiledSchematron,
) -> None:
    xml = _edit(SAMPLE.invoice_xml(2), changes)
    assert _outcome(ours, xml) == _outcome(reference, xml)


@settings(
    max_examples=15,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(changes=edits)
def test_random_edits_of_anaf_example(
    changes: list[tuple[int, str | None]],
    anaf_example: bytes,
    ours: schematron.CompiledSchematron,
    reference: schematron.CompiledSchematron,
) -> None:
    xml = _edit(anaf_example, changes)
    assert _outcome(ours, xml) == _outcome(reference, xml)
