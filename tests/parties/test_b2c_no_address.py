"""A consumer (B2C) who gave no street address: the service keeps a clear problem instead of
inventing one (docs/romania.md, "A consumer without an address").

- ANAF's CIUS-RO 1.0.9 rules require the buyer's street (BR-RO-082) and city (BR-RO-092) on
  every invoice, B2C included; only the buyer's id may be 13 zeros. An invoice without them is
  rejected by ANAF (shown below with the official rules).
- Art. 319 (20) Cod fiscal asks for the buyer's name and address on a full invoice; the
  simplified invoice of art. 319 (12) (at most 100 euro) need not name the buyer, but it goes
  through RO e-Factura with the same CIUS-RO rules, so it does not lift BR-RO-082/092.
- A placeholder street (the seller's address, "-", "Necunoscută") would pass the rules while
  stating a false address: not done.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from factories import ubl_cases as uc
from stripe_efactura.intake.draft import draft_of
from stripe_efactura.intake.sale import Sale
from stripe_efactura.invoicing.build import build_invoice
from stripe_efactura.invoicing.profile import InvoicingProfile
from stripe_efactura.ubl.render import render
from stripe_efactura.ubl.validate import get_validator

from .test_seller_cnp import PERSON


def _consumer_sale(address: dict[str, str | None]) -> Sale:
    """Checkout without billing address collection: Stripe sends country and postal code."""
    return Sale(
        payment_key="pi_3QxNoAddress000000000001",
        owner_type="payment_intent",
        owner_id="pi_3QxNoAddress000000000001",
        currency="RON",
        amount=9900,
        paid_at=datetime(2026, 11, 20, 10, 0, tzinfo=UTC),
        livemode=True,
        objects={
            "payment_intent": {"id": "pi_3QxNoAddress000000000001", "metadata": {}},
            "charge": {
                "id": "ch_3QxNoAddress000000000001",
                "billing_details": {"name": "Maria Ionescu", "address": address},
                "payment_method_details": {"type": "card", "card": {"last4": "4242"}},
                "metadata": {},
            },
        },
    )


def test_a_consumer_without_a_street_is_a_clear_problem_br_ro_082() -> None:
    sale = _consumer_sale(
        {"line1": None, "city": None, "state": None, "postal_code": "500001", "country": "RO"}
    )
    result = build_invoice(draft_of(sale), InvoicingProfile(company=PERSON), number="X1", fx=None)
    assert result.invoice is None
    codes = [p.code for p in result.problems]
    assert "P-BUYER-ADDRESS-MISSING" in codes
    assert next(p for p in result.problems if p.code == "P-BUYER-ADDRESS-MISSING").field == (
        "buyer.address.line1"
    )


def test_anaf_rejects_a_b2c_invoice_without_street_and_city(validation_dir: Path) -> None:
    """The official rules, on the valid B2C golden case with the street and city emptied."""
    buyer = uc.B2C_RO_NO_CNP.buyer
    bare = replace(buyer, address=replace(buyer.address, line1="", city=""))
    report = get_validator(validation_dir).validate(render(replace(uc.B2C_RO_NO_CNP, buyer=bare)))
    assert sorted({f.rule_id for f in report.fatal}) == ["BR-RO-082", "BR-RO-092"]
    assert get_validator(validation_dir).validate(render(uc.B2C_RO_NO_CNP)).fatal == ()
