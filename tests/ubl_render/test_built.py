"""Integration: invoices made by the real builder render to documents ANAF accepts."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from factories.ubl_cases import Validator
from stripe_efactura.config import demo_settings
from stripe_efactura.intake.draft import draft_of
from stripe_efactura.intake.sale import Sale
from stripe_efactura.invoicing.build import build_invoice
from stripe_efactura.invoicing.model import FxInfo
from stripe_efactura.ubl.render import render

BILLING = {
    "name": "Ion Popescu",
    "email": "ion@example.ro",
    "phone": None,
    "address": {
        "line1": "Str. Lungă 5",
        "line2": None,
        "city": "Brașov",
        "state": "Brașov",
        "postal_code": "500001",
        "country": "RO",
    },
}


def card_sale(amount: int, currency: str) -> Sale:
    objects: dict[str, Any] = {
        "payment_intent": {"id": "pi_1", "metadata": {}},
        "charge": {
            "id": "ch_1",
            "billing_details": BILLING,
            "payment_method_details": {"type": "card", "card": {"brand": "visa", "last4": "4242"}},
            "metadata": {},
        },
    }
    return Sale(
        payment_key="pi_1",
        owner_type="payment_intent",
        owner_id="pi_1",
        currency=currency,
        amount=amount,
        paid_at=datetime(2026, 11, 20, 10, 0, tzinfo=UTC),
        livemode=False,
        objects=objects,
    )


@pytest.mark.parametrize(
    ("currency", "fx"),
    [("RON", None), ("EUR", FxInfo(Decimal("5.0875"), date(2026, 11, 19)))],
)
def test_built_card_sale_renders_without_fatal_findings(
    tmp_path: Path, currency: str, fx: FxInfo | None, cius_ro: Validator, ubl_xsd: Validator
) -> None:
    result = build_invoice(
        draft_of(card_sale(12100, currency)),
        demo_settings(tmp_path).invoicing,
        number="TST0000001",
        fx=fx,
    )
    assert result.problems == ()
    assert result.invoice is not None
    xml = render(result.invoice)
    assert ubl_xsd(xml) == []
    assert cius_ro(xml) == []
