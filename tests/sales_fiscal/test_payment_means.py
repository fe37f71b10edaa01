"""Payment means (BG-16) of SEPA debits and Stripe bank transfers.

Legal basis: EN 16931 BT-81 (UNTDID 4461 code), BT-82 (payment means text), BT-84 (payee
account), BR-61 (a credit transfer, 30 or 58, names the account paid into); Fiscal Code art. 319
(20) asks for the seller's bank account only as the account to pay into, which a payment into
Stripe's account is not.
"""

from __future__ import annotations

from typing import Any

import pytest
from lxml import etree

from stripe_efactura.config import Settings
from stripe_efactura.intake.draft import draft_of
from stripe_efactura.invoicing.build import build_invoice
from stripe_efactura.pdf.labels import Words
from stripe_efactura.pdf.mentions import paid_note
from stripe_efactura.ubl.render import render

from .conftest import Validator, golden, make_sale

NS = {
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
}
SEPA: dict[str, Any] = {
    "type": "sepa_debit",
    "sepa_debit": {
        "bank_code": "37040044",
        "country": "DE",
        "last4": "3000",
        "mandate": "mandate_1",
    },
}
BANK_TRANSFER: dict[str, Any] = {"type": "customer_balance", "customer_balance": {}}


def _xml(settings: Settings, method: dict[str, Any]) -> tuple[bytes, Any]:
    result = build_invoice(
        draft_of(make_sale(12100, method=method)),
        settings.invoicing,
        number="TST0000001",
        fx=None,
    )
    assert result.problems == ()
    assert result.invoice is not None
    return render(result.invoice), result.invoice


def _means(xml: bytes) -> tuple[list[str], list[str], list[str]]:
    doc = etree.fromstring(xml)
    code = doc.xpath("//cac:PaymentMeans/cbc:PaymentMeansCode/text()", namespaces=NS)
    name = doc.xpath("//cac:PaymentMeans/cbc:PaymentMeansCode/@name", namespaces=NS)
    iban = doc.xpath("//cac:PayeeFinancialAccount/cbc:ID/text()", namespaces=NS)
    return [str(c) for c in code], [str(n) for n in name], [str(i) for i in iban]


def test_sepa_direct_debit_is_untdid_59_with_a_debit_label_not_a_card(
    settings: Settings, cius_ro: Validator, ubl_xsd: Validator
) -> None:
    """UNTDID 4461 code 59 = SEPA direct debit; BT-82 says so in Romanian (not "Card •••• 3000")
    and no payee account is written (the seller collects, BT-84 is for transfers)."""
    xml, invoice = _xml(settings, SEPA)
    assert _means(xml) == (["59"], ["Debit direct SEPA •••• 3000"], [])
    assert paid_note(invoice, Words()) == (
        "Achitat prin debit direct prin Stripe, referință pi_1 (Debit direct SEPA •••• 3000)."
    )
    golden("payment_sepa_debit", xml)
    assert ubl_xsd(xml) == []
    assert cius_ro(xml) == []


def test_stripe_bank_transfer_is_42_without_the_merchant_iban(
    settings: Settings, cius_ro: Validator, ubl_xsd: Validator
) -> None:
    """A Stripe bank transfer (customer_balance) was paid into Stripe's virtual account, not the
    seller's: UNTDID 42 "payment to bank account" and no BT-84 — the demo profile has an IBAN
    and it must not appear (30/58 would need the account paid into, BR-61)."""
    assert settings.invoicing.company.iban
    xml, invoice = _xml(settings, BANK_TRANSFER)
    assert _means(xml) == (["42"], ["Transfer bancar în contul Stripe"], [])
    assert invoice.payment is not None and invoice.payment.paid_into_stripe
    golden("payment_stripe_bank_transfer", xml)
    assert ubl_xsd(xml) == []
    assert cius_ro(xml) == []


@pytest.mark.parametrize(
    ("method", "code", "label"),
    [
        (
            {"type": "bacs_debit", "bacs_debit": {"last4": "2345"}},
            "49",
            "Debit direct Bacs •••• 2345",
        ),
        (
            {"type": "us_bank_account", "us_bank_account": {"last4": "6789"}},
            "49",
            "Debit direct ACH •••• 6789",
        ),
        ({"type": "sepa_debit", "sepa_debit": {}}, "59", "Debit direct SEPA"),
        (
            {"type": "card", "card": {"brand": "mastercard", "last4": "4444"}},
            "48",
            "Card Mastercard •••• 4444",
        ),
        ({"type": "klarna", "klarna": {}}, "1", None),
    ],
)
def test_other_methods(
    settings: Settings, method: dict[str, Any], code: str, label: str | None
) -> None:
    draft = draft_of(make_sale(12100, method=method))
    assert (draft.payment.means_code, draft.payment.method_label) == (code, label)
    assert draft.payment.paid_into_stripe is False
