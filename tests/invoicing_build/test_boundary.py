"""The core is Stripe-free: it imports no intake/config module and builds from a neutral draft."""

from __future__ import annotations

import ast
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal as D
from pathlib import Path

from stripe_efactura.config import Settings
from stripe_efactura.intake.draft import draft_of
from stripe_efactura.invoicing import build
from stripe_efactura.invoicing.build import build_invoice
from stripe_efactura.invoicing.draft import (
    AddressDraft,
    BuyerDraft,
    BuyerField,
    BuyerId,
    BuyerLayer,
    LinesDraft,
    PaymentFacts,
    RawLine,
    SaleDraft,
    Sourced,
)
from stripe_efactura.invoicing.model import BuyerKind, VatCategory

from .conftest import make_sale

CORE = Path(build.__file__).parent
FORBIDDEN = ("stripe_efactura.intake", "stripe_efactura.config", "stripe_efactura.store")


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative to stripe_efactura.invoicing
                parent = ["stripe_efactura", "invoicing"][: 3 - node.level]
                base = ".".join([*parent, base] if base else parent)
            out.append(base)
    return out


def test_the_core_imports_no_intake_config_or_store() -> None:
    found = {
        (p.name, name)
        for p in sorted(CORE.glob("*.py"))
        for name in _imports(p)
        if name.startswith(FORBIDDEN) or name in ("os", "sqlalchemy", "httpx", "stripe")
    }
    assert found == set()


def _draft(buyer: BuyerDraft) -> SaleDraft:
    return SaleDraft(
        payment_key="pi_neutral",
        currency="RON",
        amount=12100,
        paid_at=datetime(2026, 11, 20, 10, 0, tzinfo=UTC),
        livemode=False,
        buyer=buyer,
        lines=LinesDraft((RawLine(name="Consultanță", quantity=D(1), amount=D("121.00")),), "x"),
        payment=PaymentFacts(means_code="48", method_label="Card Visa •••• 4242"),
        order_reference="ORD-7",
    )


def test_a_hand_made_draft_builds_without_any_stripe_object(settings: Settings) -> None:
    company = BuyerLayer(
        "merchant",
        {BuyerField.BUSINESS_NAME: Sourced("Atelier Digital SRL", "merchant.name")},
        (BuyerId("text", "RO18547290", "merchant.cui"),),
        (AddressDraft("merchant.address", line1="Str. Lungă 5", city="Brașov", state="BV"),),
    )
    res = build_invoice(_draft(BuyerDraft((company,))), settings.invoicing, number="T1", fx=None)
    assert res.problems == ()
    inv = res.invoice
    assert inv is not None
    assert (inv.buyer.name, inv.buyer.kind, inv.buyer.vat_id, inv.buyer.legal_id) == (
        "Atelier Digital SRL",
        BuyerKind.COMPANY,
        "RO18547290",
        "18547290",
    )
    assert (inv.buyer.address.city, inv.buyer.address.county, inv.buyer.address.country) == (
        "Brașov",
        "RO-BV",
        "RO",
    )
    assert (inv.totals.tax_exclusive, inv.totals.tax_total, inv.totals.tax_inclusive) == (
        D("100.00"),
        D("21.00"),
        D("121.00"),
    )
    assert inv.vat_breakdown[0].tax.category is VatCategory.STANDARD
    assert inv.payment is not None
    assert (inv.payment.means_code, inv.payment.reference, inv.order_reference) == (
        "48",
        "pi_neutral",
        "ORD-7",
    )
    assert res.buyer_sources == {
        "legal_id": "merchant.cui",
        "business_name": "merchant.name",
        "address": "merchant.address",
    }


def test_a_fallback_layer_fills_only_what_no_source_gave(settings: Settings) -> None:
    stripe = BuyerLayer(
        "stripe",
        {BuyerField.BUSINESS_NAME: Sourced("Atelier SRL", "stripe.name")},
        (BuyerId("ro_tin", "18547290", "stripe.tax_ids[0]"),),
    )
    registry = BuyerLayer(
        "registry",
        {BuyerField.BUSINESS_NAME: Sourced("ATELIER DIGITAL SRL", "registry.denumire")},
        (),
        (
            AddressDraft(
                "registry.adresa",
                line1="Str. Memorandumului 1",
                city="Cluj-Napoca",
                state="Cluj",
                country="RO",
            ),
        ),
    )
    without = build_invoice(_draft(BuyerDraft((stripe,))), settings.invoicing, number="T1", fx=None)
    assert [p.code for p in without.problems] == [
        "P-BUYER-ADDRESS-MISSING",
        "P-BUYER-CITY-MISSING",
    ]
    buyer = BuyerDraft((stripe,)).with_fallback(registry)
    res = build_invoice(_draft(buyer), settings.invoicing, number="T1", fx=None)
    assert res.problems == ()
    assert res.invoice is not None
    assert (res.invoice.buyer.name, res.invoice.buyer.address.county) == ("Atelier SRL", "RO-CJ")
    assert res.buyer_sources == {
        "legal_id": "stripe.tax_ids[0]",
        "business_name": "stripe.name",
        "address": "registry.adresa",
    }


def test_draft_of_keeps_no_stripe_object_and_never_mutates_the_sale(settings: Settings) -> None:
    sale = make_sale(12100, currency="ron")
    draft = draft_of(sale)
    assert draft.currency == "RON" and sale.currency == "ron"
    assert (draft.payment, draft.lines.source, draft.order_reference) == (
        PaymentFacts(means_code="48", method_label="Card Visa •••• 4242"),
        "single_line",
        None,
    )
    assert [layer.name for layer in draft.buyer.layers] == [
        "metadata",
        "custom_fields",
        "customer_details",
        "billing_details",
        "shipping",
        "customer",
    ]
    assert draft.buyer.layers[3].fields[BuyerField.NAME] == Sourced(
        "Ion Popescu", "charge.billing_details.name"
    )
    assert replace(draft, degraded=True).degraded is True
