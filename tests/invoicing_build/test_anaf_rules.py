"""End to end: every VAT case the builder makes passes ANAF's CIUS-RO 1.0.9 rules.

Category K (intra-Community supply of goods) is included: ``ubl.render`` writes the delivery
date and address (``Invoice.delivery_*``) that BR-IC-11/12 and BR-RO-180/201/211 require.

Builds invoices from hand-made sales, renders them with ``ubl.render`` and runs the official
schematron (XSLT 2.0, saxonche) read from ``../shared/validation``; skips when it is absent.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from stripe_efactura.config import Settings, VatPolicy
from stripe_efactura.intake.draft import draft_of
from stripe_efactura.intake.sale import Sale
from stripe_efactura.invoicing.build import build_invoice
from stripe_efactura.invoicing.model import FxInfo, VatCategory
from stripe_efactura.ubl.render import render

from .conftest import make_sale

XSLT = "cius-ro-1.0.9/xslt/EN16931-CIUS_RO-UBL-validation.xslt"
_FINDING = re.compile(r"<svrl:(failed-assert|successful-report)\b([^>]*)>(.*?)</svrl:\1>", re.S)


@pytest.fixture(scope="module")
def cius_ro(validation_src: Path) -> Callable[[bytes], list[str]]:
    saxonche = pytest.importorskip("saxonche")
    proc = saxonche.PySaxonProcessor(license=False)
    xslt = proc.new_xslt30_processor().compile_stylesheet(
        stylesheet_file=str(validation_src / XSLT)
    )

    def run(xml: bytes) -> list[str]:
        svrl = xslt.transform_to_string(xdm_node=proc.parse_xml(xml_text=xml.decode("utf-8")))
        return [
            " ".join(body.split())[:200]
            for _, attrs, body in _FINDING.findall(svrl)
            if 'flag="fatal"' in attrs
        ]

    return run


DE = {
    "name": "Muster GmbH",
    "address": {"line1": "Hauptstr. 1", "city": "Berlin", "postal_code": "10115", "country": "DE"},
}
US = {
    "name": "John Doe",
    "address": {"line1": "1 Main St", "city": "Springfield", "state": "IL", "country": "US"},
}
BUCHAREST = {
    "name": "Ana Pop",
    "address": {
        "line1": "Calea Victoriei 12",
        "city": "Bucuresti",
        "state": "Sector 1",
        "country": "RO",
    },
}
DE_STATE = {
    "name": "Muster GmbH",
    "address": {
        "line1": "Hauptstr. 1",
        "city": "Berlin",
        "state": "Berlin",
        "postal_code": "10115",
        "country": "DE",
    },
}
DE_VAT = {
    "id": "cs_1",
    "customer_details": {"tax_ids": [{"type": "eu_vat", "value": "DE123456789"}]},
}
FX = FxInfo(Decimal("5.0861"), date(2026, 11, 19))
GOODS = {"id": "prod_g", "name": "Cană", "tax_code": "txcd_99999999"}


def _pi(md: dict[str, str]) -> dict[str, Any]:
    return {"payment_intent": {"id": "pi_1", "metadata": md}}


def _cases(s: Settings) -> dict[str, tuple[Sale, Settings, FxInfo | None]]:
    not_payer = s.with_(company=replace(s.company, vat_payer=False))
    exempt = s.with_(
        vat=VatPolicy(default_category=VatCategory.EXEMPT, exemption_code="VATEX-EU-132-1I")
    )
    stripe_invoice = {
        "id": "in_1",
        "lines": {
            "data": [
                {
                    "amount": 10000,
                    "quantity": 1,
                    "description": "Plan",
                    "taxes": [
                        {
                            "amount": 2100,
                            "tax_behavior": "exclusive",
                            "tax_rate_details": {"tax_rate": "t21"},
                            "taxability_reason": "standard_rated",
                        }
                    ],
                },
                {
                    "amount": 5000,
                    "quantity": 2,
                    "description": "Carte",
                    "taxes": [
                        {
                            "amount": 550,
                            "tax_behavior": "exclusive",
                            "tax_rate_details": {"tax_rate": "t11"},
                            "taxability_reason": "reduced_rated",
                        }
                    ],
                },
            ]
        },
    }
    mixed = {
        "lineitem1": '{"productname":"Carte","quantity":"1","itemtotal":"111","vat":"11"}',
        "lineitem2": '{"productname":"Pix","quantity":"3","itemtotal":"12.10"}',
    }
    return {
        "S individual, order items": (
            make_sale(23200, **_pi({"Order Item #1": "123id121, Nume produs, 3, 232.0"})),
            s,
            None,
        ),
        "S company, plain CUI": (make_sale(12100, **_pi({"cui": "18547290"})), s, None),
        "S company RO VAT id, Bucharest": (
            make_sale(12100, billing=BUCHAREST, **_pi({"cui": "RO18547290"})),
            s,
            None,
        ),
        "S two rates": (make_sale(12310, **_pi(mixed)), s, None),
        "S Stripe Tax exclusive": (
            make_sale(
                17650,
                owner_type="invoice",
                invoice=stripe_invoice,
                tax_rates={"t21": {"percentage": 21}, "t11": {"percentage": 11}},
            ),
            s,
            None,
        ),
        "S proration credit": (
            make_sale(
                6050,
                owner_type="invoice",
                invoice={
                    "id": "in_1",
                    "lines": {
                        "data": [
                            {"amount": 12100, "quantity": 1, "description": "Plan Pro"},
                            {"amount": -6050, "quantity": 1, "description": "Unused time"},
                        ]
                    },
                },
            ),
            s,
            None,
        ),
        "S zero amount": (make_sale(0), s, None),
        "AE EUR": (make_sale(50000, "EUR", billing=DE, checkout_session=DE_VAT), s, FX),
        "O seller not VAT payer": (make_sale(12100, **_pi({"cui": "RO18547290"})), not_payer, None),
        "O with foreign VAT id": (
            make_sale(12100, billing=DE, checkout_session=DE_VAT),
            not_payer,
            None,
        ),
        "E default": (make_sale(5000), exempt, None),
        "G goods exported": (
            make_sale(
                10000,
                "USD",
                owner_type="checkout_session",
                billing=US,
                checkout_session={"id": "cs_1"},
                line_items=[
                    {
                        "quantity": 1,
                        "amount_total": 10000,
                        "amount_tax": 0,
                        "price": {"product": GOODS},
                        "taxes": [
                            {
                                "amount": 0,
                                "rate": {"percentage": 0},
                                "taxability_reason": "zero_rated",
                            }
                        ],
                    }
                ],
            ),
            s,
            FX,
        ),
        "K goods to EU company, Stripe Tax": (
            make_sale(
                24200,
                "EUR",
                owner_type="checkout_session",
                billing=DE_STATE,
                checkout_session=DE_VAT,
                line_items=[
                    {
                        "quantity": 2,
                        "amount_total": 24200,
                        "amount_tax": 0,
                        "price": {"id": "price_g", "product": GOODS},
                        "taxes": [
                            {
                                "amount": 0,
                                "rate": {"percentage": 0},
                                "taxability_reason": "reverse_charge",
                            }
                        ],
                    }
                ],
            ),
            s,
            FX,
        ),
        "K goods to EU company, no Stripe Tax": (
            make_sale(
                10000,
                "EUR",
                owner_type="checkout_session",
                billing=DE_STATE,
                checkout_session=DE_VAT,
                line_items=[
                    {"quantity": 1, "amount_total": 10000, "price": {"id": "p", "product": GOODS}}
                ],
            ),
            s,
            FX,
        ),
        "S JPY": (make_sale(1000, "JPY"), s, FxInfo(Decimal("0.0285"), date(2026, 11, 19))),
        "S USD individual abroad": (
            make_sale(1999, "USD", billing=US),
            s,
            FxInfo(Decimal("4.39"), date(2026, 11, 19)),
        ),
        "S KWD rounded": (
            make_sale(12345, "KWD"),
            s,
            FxInfo(Decimal("14.2"), date(2026, 11, 19)),
        ),
    }


def test_every_case_passes_cius_ro(
    settings: Settings, cius_ro: Callable[[bytes], list[str]]
) -> None:
    failures: dict[str, list[str]] = {}
    for name, (sale, s, fx) in _cases(settings).items():
        result = build_invoice(draft_of(sale), s.invoicing, number="TST0000001", fx=fx)
        assert result.invoice is not None, (name, result.problems)
        categories = {b.tax.category for b in result.invoice.vat_breakdown}
        assert (VatCategory.INTRA_COMMUNITY in categories) == name.startswith("K "), name
        found = cius_ro(render(result.invoice))
        if found:
            failures[name] = found
    assert failures == {}
