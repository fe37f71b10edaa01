"""Golden files: every case renders byte for byte as stored and passes ANAF's rules.

Regenerate with ``UPDATE_GOLDEN=1 .venv/bin/pytest tests/ubl_render`` and review the diff.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from factories.ubl_cases import BUCHAREST_SECTOR, CASES, Validator
from stripe_efactura.ubl.render import render

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def _rendered(name: str) -> bytes:
    invoice, credit_note = CASES[name]
    return render(invoice, credit_note=credit_note)


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_golden_file(name: str) -> None:
    path = GOLDEN / f"{name}.xml"
    xml = _rendered(name)
    if UPDATE:
        path.write_bytes(xml)
    assert path.read_bytes() == xml


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_is_valid_ubl_and_cius_ro(name: str, cius_ro: Validator, ubl_xsd: Validator) -> None:
    xml = (GOLDEN / f"{name}.xml").read_bytes()
    assert ubl_xsd(xml) == []
    assert cius_ro(xml) == []


def test_every_golden_file_has_a_case() -> None:
    assert sorted(p.stem for p in GOLDEN.glob("*.xml")) == sorted(CASES)


def test_validator_fixture_reports_fatal_rules(cius_ro: Validator) -> None:
    """The gate is live: a Bucharest address with a city that is not SECTORn is reported."""
    buyer = BUCHAREST_SECTOR.buyer
    bad = replace(buyer, address=replace(buyer.address, city="București"))
    findings = cius_ro(render(replace(BUCHAREST_SECTOR, buyer=bad)))
    assert [f.split(":")[0] for f in findings] == ["BR-RO-101"]
