"""Cross-check against objects recorded from real Stripe accounts (read from ../shared)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from stripe_efactura.config import Settings
from stripe_efactura.intake.draft import draft_of
from stripe_efactura.intake.sale import Sale
from stripe_efactura.invoicing.build import build_invoice
from stripe_efactura.invoicing.lines import settle_lines

D = Decimal


def _load(stripe_fixtures: Path, name: str) -> dict[str, Any]:
    data = json.loads((stripe_fixtures / name).read_text(encoding="utf-8"))
    return (
        data.get("object", data) if "object" in data and isinstance(data["object"], dict) else data
    )


def test_pay_rails_hybrid_invoice_with_discounts_and_us_tax(
    stripe_fixtures: Path, settings: Settings
) -> None:
    inv = _load(stripe_fixtures, "pay-rails/invoice.json")
    sale = Sale(
        payment_key=str(inv["id"]),
        owner_type="invoice",
        owner_id=str(inv["id"]),
        currency=str(inv["currency"]).upper(),
        amount=int(inv["amount_paid"]),
        paid_at=datetime(2025, 4, 18, 12, 0, tzinfo=UTC),
        livemode=False,
        objects={"invoice": inv, "invoice_lines": inv["lines"]["data"]},
    )
    lines = settle_lines(draft_of(sale), settings.vat)
    assert lines.source == "invoice_lines"
    assert [
        (ln.name, ln.quantity, ln.amount, ln.tax_amount, ln.amount_includes_tax)
        for ln in lines.lines
    ] == [
        ("T-Shirt", D(6), D("156.60"), D("12.45"), False),
        ("T-Shirt", D(3), D("70.47"), D("5.60"), False),
    ]
    res = build_invoice(draft_of(sale), settings.invoicing, number="T1", fx=None)
    # 7.95 % US sales tax is no Romanian rate; the address has only a postal code.
    assert [p.code for p in res.problems] == [
        "P-BUYER-ADDRESS-MISSING",
        "P-BUYER-CITY-MISSING",
        "P-VAT-RATE-UNKNOWN",
        "P-VAT-RATE-UNKNOWN",
    ]
    assert res.invoice is None and res.needs_fx is True


def test_pay_rails_subscription_session_with_postal_code_only(
    stripe_fixtures: Path, settings: Settings
) -> None:
    cs = _load(stripe_fixtures, "pay-rails/checkout.session.completed.json")
    sale = Sale(
        payment_key=str(cs["id"]),
        owner_type="checkout_session",
        owner_id=str(cs["id"]),
        currency="RON",  # pretend RON so only the buyer problems remain
        amount=int(cs["amount_total"]),
        paid_at=datetime(2022, 1, 1, 12, 0, tzinfo=UTC),
        livemode=False,
        objects={"checkout_session": cs},
    )
    res = build_invoice(draft_of(sale), settings.invoicing, number="T1", fx=None)
    assert res.line_source == "single_line"
    assert [p.code for p in res.problems] == ["P-BUYER-ADDRESS-MISSING", "P-BUYER-CITY-MISSING"]
    assert res.buyer is not None and res.buyer.address.country == "US"
    assert res.totals is not None and res.totals.tax_inclusive == D("19.00")
