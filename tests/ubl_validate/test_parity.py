"""Our compiled CIUS-RO schematron against the reference compilation (phive-rules' XSLT):
the same findings, rule by rule, on every official sample and on targeted negative variants."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from lxml import etree

from stripe_efactura.ubl import schematron
from stripe_efactura.ubl.validate import ValidationReport, Validator


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        f"ubl_validate_{name}", Path(__file__).with_name(f"{name}.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MUT = _load("mutations")
SAMPLE = _load("sample")

# What ANAF's 1.0.9 rules say about each official sample (ANAF.md §5 "proof run").
SAMPLE_EXPECTED: dict[str, list[tuple[str, str]]] = {
    "anaf-examples/creditNote_ex.xml": [("BR-RO-001", "fatal")],
    "anaf-examples/eInvoice_ex.xml": [("BR-RO-001", "fatal")],
    "anaf-ubl-b2g-examples-1.0.9/ubl_b2g_example0.xml": [("UBL-CR-681", "warning")],
    "anaf-ubl-b2g-examples-1.0.9/ubl_b2g_example1.xml": [],
    "anaf-ubl-b2g-examples-1.0.9/ubl_b2g_example2.xml": [],
    "anaf-ubl-b2g-examples-1.0.9/ubl_b2g_example3.xml": [],
    "anaf-ubl-b2g-examples-1.0.9/ubl_b2g_example4.xml": [],
    "anaf-ubl-b2g-examples-1.0.9/ubl_b2g_example5.xml": [("UBL-CR-681", "warning")],
    "anaf-ubl-b2g-examples-1.0.9/ubl_b2g_example6.xml": [
        ("BR-RO-111", "fatal"),
        ("BR-RO-170", "fatal"),
        ("BR-S-08", "fatal"),
        ("UBL-CR-681", "warning"),
    ],
    "anaf-ubl-b2g-examples-1.0.9/ubl_b2g_example7.xml": [],
    "anaf-ubl-b2g-examples-1.0.9/ubl_b2g_example8.xml": [],
    "anaf-ubl-b2g-examples-1.0.9/ubl_b2g_example9.xml": [],
    "anaf-ubl-b2g-examples-1.0.9/ubl_b2g_example10.xml": [],
    "cen-en16931-ubl-examples/ubl-tc434-creditnote1.xml": [
        ("BR-RO-001", "fatal"),
        ("BR-RO-030", "fatal"),
    ],
    "cen-en16931-ubl-examples/ubl-tc434-example1.xml": [
        ("BR-RO-001", "fatal"),
        ("BR-RO-030", "fatal"),
        ("BR-RO-120", "fatal"),
        ("BR-RO-L302", "fatal"),
    ],
    "cen-en16931-ubl-examples/ubl-tc434-example2.xml": [
        ("BR-RO-001", "fatal"),
        ("BR-RO-030", "fatal"),
    ],
}

Locate = Callable[[etree._Element, str], list[object]]


def assert_same_as_reference(
    xml: bytes,
    report: ValidationReport,
    reference: schematron.CompiledSchematron,
    locate: Locate,
) -> None:
    """Same (rule id, flag) multiset, same texts and tests, locations selecting the same
    nodes, in the same order."""
    assert [f for f in report.findings if f.flag == "xsd"] == []
    ours = [(f.rule_id, f.flag) for f in report.findings]
    expected = reference.run(xml.decode("utf-8"))
    assert ours == [(f.rule_id, f.flag) for f in expected]
    doc = etree.fromstring(xml)
    for mine, ref in zip(report.findings, expected, strict=True):
        assert mine.test == ref.test
        ro, en = mine.message_ro, mine.message_en
        assert " ".join(ref.text.split()).endswith(en)
        assert ro == "" or ro in " ".join(ref.text.split())
        assert len(locate(doc, mine.location)) == 1
        # For attribute contexts (e.g. BR-CL-23 on @unitCode) the reference writes the
        # attribute's value instead of a path (no "schematron-select-full-path" template for
        # attributes); ours is the element path + /@name.
        if ref.location.startswith("/"):
            assert locate(doc, mine.location) == locate(doc, ref.location)


def test_every_official_sample_is_listed(validation_src: Path) -> None:
    root = validation_src / "samples"
    found = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.xml"))
    assert found == sorted(SAMPLE_EXPECTED)


@pytest.mark.parametrize("name", sorted(SAMPLE_EXPECTED))
def test_official_samples_match_reference(
    name: str,
    validation_src: Path,
    validator: Validator,
    reference: schematron.CompiledSchematron,
    locate: Locate,
) -> None:
    xml = (validation_src / "samples" / name).read_bytes()
    report = validator.validate(xml)
    assert report.rule_ids() == SAMPLE_EXPECTED[name]
    assert_same_as_reference(xml, report, reference, locate)


def test_clean_sample_invoice_and_credit_note(validator: Validator) -> None:
    for lines in (1, 2, 20):
        report = validator.validate(SAMPLE.invoice_xml(lines))
        assert (report.document, report.findings) == ("Invoice", ())
    report = validator.validate(SAMPLE.credit_note_xml(2))
    assert (report.document, report.findings) == ("CreditNote", ())


def _mutated(base: bytes, mutate: Callable[[etree._Element], None]) -> bytes:
    root = etree.fromstring(base)
    mutate(root)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def test_there_are_at_least_30_negative_variants() -> None:
    assert len(MUT.MUTATIONS) + len(MUT.CREDIT_NOTE_MUTATIONS) >= 30


@pytest.mark.parametrize("name", list(MUT.MUTATIONS))
def test_invoice_mutation_fires_target_rules_like_reference(
    name: str,
    validator: Validator,
    reference: schematron.CompiledSchematron,
    locate: Locate,
) -> None:
    mutate, expected = MUT.MUTATIONS[name]
    xml = _mutated(SAMPLE.invoice_xml(2), mutate)
    report = validator.validate(xml)
    assert report.rule_ids() == expected
    assert not report.ok if any(flag == "fatal" for _, flag in expected) else report.ok
    assert_same_as_reference(xml, report, reference, locate)


@pytest.mark.parametrize("name", list(MUT.CREDIT_NOTE_MUTATIONS))
def test_credit_note_mutation_fires_target_rules_like_reference(
    name: str,
    validator: Validator,
    reference: schematron.CompiledSchematron,
    locate: Locate,
) -> None:
    mutate, expected = MUT.CREDIT_NOTE_MUTATIONS[name]
    xml = _mutated(SAMPLE.credit_note_xml(1), mutate)
    report = validator.validate(xml)
    assert report.document == "CreditNote"
    assert report.rule_ids() == expected
    assert_same_as_reference(xml, report, reference, locate)
