"""Golden stornos built by the real builder (``invoicing.storno.build_storno``) from the
hand-built originals of ``factories.ubl_cases``: each renders byte for byte as stored and passes
the official UBL 2.1 XSD and ANAF's CIUS-RO 1.0.9 rules (``validation_src``).

Regenerate with ``UPDATE_GOLDEN=1 .venv/bin/pytest tests/storno/test_golden_stornos.py`` and
review the diff.
"""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pytest

from factories import ubl_cases as uc
from stripe_efactura.invoicing.model import Invoice
from stripe_efactura.invoicing.storno import ReturnedItem, build_storno
from stripe_efactura.ubl.render import render
from stripe_efactura.ubl.validate import get_validator

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
ISSUED = date(2026, 11, 30)

TWO_RATES_PAID = uc.invoice(
    "NDG0000106",
    date(2026, 11, 20),
    uc.COMPANY_TM,
    uc.TWO_RATES.lines,
    payment=uc.card("pi_3QxTwoRates0000000000001"),
    payment_key="pi_3QxTwoRates0000000000001",
)
"""Books at 11 % and courses, a guide and SMS at 21 %: 1,079.95 lei, paid by card."""


def _storno(original: Invoice, amount: str, number: str, **kw: object) -> Invoice:
    return build_storno(
        original,
        amount=D(amount),
        issue_date=ISSUED,
        number=number,
        **kw,  # type: ignore[arg-type]
    )


BY_ITEM = _storno(
    uc.B2B_RO_VAT,
    "181.50",
    "NDG0000190",
    reason="Rambursare la cererea clientului",
    payment_id="re_3QxItem1Licence0000001",
    items=(ReturnedItem(quantity=D("1"), line="1"),),
)
"""Art. 287 lit. b) Cod fiscal: 1 of the 3 licences returned: −1 × 150.00 at 21 %."""

BY_ITEM_TWO_RATES = _storno(
    TWO_RATES_PAID,
    "301.01",
    "NDG0000191",
    reason="Rambursare la cererea clientului",
    payment_id="re_3QxItemTwoRates0000001",
    items=(
        ReturnedItem(quantity=D("2"), line="1"),
        ReturnedItem(quantity=D("1"), line="2", amount=D("200.00")),
    ),
)
"""Art. 287 lit. b): both books at 11 % (101.01) and the course at 21 % for 200.00 (a partial
refund of that item): each reversed at its own rate."""

PROPORTIONAL = _storno(
    TWO_RATES_PAID,
    "100.00",
    "NDG0000192",
    reason="Rambursare: plată duplicată",
    payment_id="re_3QxProportional0000001",
)
"""Fallback (the refund names no items): split over 11 % and 21 % in proportion, labelled so
in the line names and a note."""

LOST_DISPUTE = _storno(
    uc.B2C_RO_NO_CNP,
    "119.79",
    "NDG0000193",
    reason="Dispută pierdută: produs sau serviciu neprimit",
    payment_id="dp_1QxLostDispute00000001",
)
"""A lost dispute the merchant decided to reverse (``[storno] lost_disputes``): full storno,
the reason in Romanian, the dispute as payment reference (BT-83)."""

CREDIT_NOTE_BY_ITEM = _storno(
    uc.B2B_RO_VAT,
    "302.50",
    "NDG0000194",
    reason="Rambursare la cererea clientului",
    payment_id="re_3QxCreditNote381000001",
    items=(ReturnedItem(quantity=D("2.5"), item=None, line="2"),),
    type_code="381",
)
"""``[storno] credit_note_381``: the returned set-up hours as a CreditNote 381 (positive)."""

CASES: dict[str, Invoice] = {
    "storno_by_item": BY_ITEM,
    "storno_by_item_two_rates": BY_ITEM_TWO_RATES,
    "storno_proportional_fallback": PROPORTIONAL,
    "storno_lost_dispute": LOST_DISPUTE,
    "credit_note_381_by_item": CREDIT_NOTE_BY_ITEM,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_storno_matches_golden_file(name: str) -> None:
    path = GOLDEN / f"{name}.xml"
    xml = render(CASES[name])
    if UPDATE:
        path.write_bytes(xml)
    assert path.read_bytes() == xml


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_storno_passes_the_official_rules(name: str, validation_dir: Path) -> None:
    report = get_validator(validation_dir).validate((GOLDEN / f"{name}.xml").read_bytes())
    assert [(f.rule_id, f.message_en) for f in report.fatal] == []
    assert report.document == ("CreditNote" if name.startswith("credit_note") else "Invoice")


def test_every_golden_storno_has_a_case() -> None:
    assert sorted(p.stem for p in GOLDEN.glob("*.xml")) == sorted(CASES)


def test_the_golden_stornos_carry_what_the_law_and_the_merchant_need() -> None:
    """Amounts to the ban: BY_ITEM −181.50 (−150.00 + −31.50), BY_ITEM_TWO_RATES −301.01,
    PROPORTIONAL −100.00 over both rates, LOST_DISPUTE the whole invoice."""
    assert [(ln.name, ln.quantity, ln.net_amount) for ln in BY_ITEM.lines] == [
        ("Licență utilizator", D("-1"), D("-150.00"))
    ]
    assert (BY_ITEM.totals.tax_total, BY_ITEM.totals.tax_inclusive) == (D("-31.50"), D("-181.50"))
    assert [
        (b.tax.rate, b.taxable_amount, b.tax_amount) for b in BY_ITEM_TWO_RATES.vat_breakdown
    ] == [
        (D("11"), D("-91.00"), D("-10.01")),
        (D("21"), D("-165.29"), D("-34.71")),
    ]
    assert [ln.name[:9] for ln in PROPORTIONAL.lines] == ["Cota 11%:", "Cota 21%:"]
    assert PROPORTIONAL.totals.tax_inclusive == D("-100.00")
    assert LOST_DISPUTE.totals.tax_inclusive == -uc.B2C_RO_NO_CNP.totals.tax_inclusive
    assert LOST_DISPUTE.payment is not None
    assert LOST_DISPUTE.payment.reference == "dp_1QxLostDispute00000001"
    assert CREDIT_NOTE_BY_ITEM.type_code == "381"
    assert replace(CREDIT_NOTE_BY_ITEM, type_code="380").totals.tax_inclusive == D("-302.50")
