"""Sellers identified by CNP (persons with an economic activity, in RO e-Factura from
1 June 2026, OG 6/2026, registered with form 082): ``[company] cnp`` instead of ``cui``.

The CNP is validated (birth date and check digit); it is the seller's legal registration
identifier (BT-30, ``PartyLegalEntity/CompanyID``) and the ``cif`` of the ANAF upload; there is
no VAT identifier (BT-31): such a person is not registered for VAT (registration gives a VAT
code to invoice under), so the lines are category O and BR-RO-065 does not apply. The PDF says
``CNP:``. The golden file passes the official UBL 2.1 XSD and CIUS-RO 1.0.9 rules.
"""

from __future__ import annotations

import io
import os
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pypdf
import pytest

from stripe_efactura.config import parse_toml, settings_from
from stripe_efactura.errors import ConfigError
from stripe_efactura.intake.draft import draft_of
from stripe_efactura.intake.sale import Sale
from stripe_efactura.invoicing.build import build_invoice
from stripe_efactura.invoicing.model import Address, BuyerKind, Invoice
from stripe_efactura.invoicing.profile import CompanyProfile, InvoicingProfile, VatPolicy
from stripe_efactura.invoicing.seller import seller_party
from stripe_efactura.pdf.render import render_pdf
from stripe_efactura.ubl.render import render
from stripe_efactura.ubl.validate import get_validator

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
CNP = "2850715123451"

PERSON = CompanyProfile(
    name="Ioana Marinescu",
    cui="",
    cnp=CNP,
    address=Address("Str. Zorilor nr. 12", "Cluj-Napoca", "RO", postal_code="400335", county="CJ"),
    vat_payer=False,
    email="ioana@example.ro",
)
"""A photographer invoicing under her CNP, not registered for VAT."""


def _sale() -> Sale:
    billing = {
        "name": "Andrei Pop",
        "email": "andrei@example.ro",
        "address": {
            "line1": "Str. Lungă 5",
            "city": "Brașov",
            "state": "Brașov",
            "postal_code": "500001",
            "country": "RO",
        },
    }
    return Sale(
        payment_key="pi_3QxCnpSeller00000000001",
        owner_type="payment_intent",
        owner_id="pi_3QxCnpSeller00000000001",
        currency="RON",
        amount=45000,
        paid_at=datetime(2026, 11, 20, 10, 0, tzinfo=UTC),
        livemode=True,
        objects={
            "payment_intent": {
                "id": "pi_3QxCnpSeller00000000001",
                "description": "Ședință foto de familie",
                "metadata": {},
            },
            "charge": {
                "id": "ch_3QxCnpSeller00000000001",
                "billing_details": billing,
                "payment_method_details": {
                    "type": "card",
                    "card": {"brand": "visa", "last4": "4242"},
                },
                "metadata": {},
            },
        },
    )


def _invoice(company: CompanyProfile = PERSON) -> tuple[bytes, Invoice]:
    profile = InvoicingProfile(company=company, vat=VatPolicy())
    result = build_invoice(draft_of(_sale()), profile, number="IM0000001", fx=None)
    assert result.problems == ()
    assert result.invoice is not None
    return render(result.invoice), result.invoice


def test_seller_by_cnp_golden_passes_the_official_rules(validation_dir: Path) -> None:
    """BT-30 = the CNP, no BT-31, category O (not VAT-registered): 0 fatal findings."""
    xml, _inv = _invoice()
    path = GOLDEN / "seller_cnp_not_vat_registered.xml"
    if UPDATE:
        path.write_bytes(xml)
    assert path.read_bytes() == xml
    assert b"<cbc:CompanyID>2850715123451</cbc:CompanyID>" in xml
    assert b"PartyTaxScheme" not in xml.split(b"AccountingCustomerParty")[0]
    report = get_validator(validation_dir).validate(xml)
    assert [(f.rule_id, f.message_en) for f in report.fatal] == []


def test_seller_by_cnp_pdf_says_cnp() -> None:
    _xml, inv = _invoice()
    text = " ".join(
        " ".join(p.extract_text().split())
        for p in pypdf.PdfReader(io.BytesIO(render_pdf(inv))).pages  # type: ignore[arg-type]
    )
    assert f"Ioana Marinescu CNP: {CNP}" in text
    assert "CUI:" not in text.split("Cumpărător")[0]


def test_the_seller_party_is_the_person() -> None:
    party, problems = seller_party(PERSON)
    assert problems == []
    assert (party.kind, party.legal_id, party.vat_id) == (BuyerKind.INDIVIDUAL, CNP, None)
    assert PERSON.fiscal_code == CNP


@pytest.mark.parametrize(
    ("company", "codes"),
    [
        (replace(PERSON, cnp="2850715123452"), ["P-SELLER-CNP-INVALID"]),  # check digit
        (replace(PERSON, cnp="2851315123459"), ["P-SELLER-CNP-INVALID"]),  # month 13
        (replace(PERSON, vat_payer=True), ["P-SELLER-CNP-VAT-PAYER"]),
        (replace(PERSON, cnp=""), ["P-SELLER-PROFILE-INCOMPLETE"]),
    ],
)
def test_a_wrong_cnp_profile_is_a_clear_problem(company: CompanyProfile, codes: list[str]) -> None:
    _party, problems = seller_party(company)
    assert [p.code for p in problems] == codes


def test_efactura_toml_takes_cnp_instead_of_cui() -> None:
    toml = parse_toml(
        '[company]\nname = "Ioana Marinescu"\ncnp = "285 0715 123451"\nvat_payer = false\n'
        '[company.address]\nline1 = "Str. Zorilor nr. 12"\ncity = "Cluj-Napoca"\ncounty = "CJ"\n'
    )
    company = settings_from(toml, {}).company
    assert (company.cnp, company.cui, company.fiscal_code, company.vat_id) == (CNP, "", CNP, None)
    both = parse_toml('[company]\nname = "X"\ncui = "18547290"\ncnp = "2850715123451"\n')
    with pytest.raises(ConfigError):
        settings_from(both, {})
