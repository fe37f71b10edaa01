"""Place of supply and VAT treatment, end to end: Stripe sale -> intake -> builder -> UBL.

Each case is a Stripe sale as intake reads it; the builder decides the VAT treatment and the
renderer writes the document. The result must match its golden file byte for byte and pass
the UBL 2.1 XSD and ANAF's CIUS-RO 1.0.9 rules with no fatal finding. Every case's docstring
states the legal basis (Codul fiscal = Law 227/2015; the Directive = 2006/112/CE).

Regenerate with ``UPDATE_GOLDEN=1 .venv/bin/pytest tests/ubl_render/test_place_of_supply.py``
and review the diff.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from factories.ubl_cases import Validator
from stripe_efactura.config import Settings, demo_settings
from stripe_efactura.intake.draft import draft_of
from stripe_efactura.intake.sale import Sale
from stripe_efactura.invoicing.build import BuildResult, build_invoice
from stripe_efactura.invoicing.model import FxInfo, VatCategory
from stripe_efactura.invoicing.profile import VatPolicy
from stripe_efactura.ubl.render import render

GOLDEN = Path(__file__).resolve().parent / "golden_place_of_supply"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
PAID = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
FX = {
    "EUR": FxInfo(Decimal("5.0875"), date(2026, 11, 19)),
    "USD": FxInfo(Decimal("4.3920"), date(2026, 11, 19)),
    "GBP": FxInfo(Decimal("5.8210"), date(2026, 11, 19)),
    "CHF": FxInfo(Decimal("5.4480"), date(2026, 11, 19)),
}
GOODS = {"id": "prod_kbd", "name": "Tastatură mecanică", "tax_code": "txcd_99999999"}
SERVICE = {"id": "prod_dev", "name": "Dezvoltare software", "tax_code": "txcd_10000000"}


def checkout(
    amount: int,
    currency: str,
    *,
    name: str,
    address: dict[str, str],
    tax_ids: list[dict[str, str]],
    product: dict[str, str] | None = None,
    quantity: int = 1,
    shipping: dict[str, Any] | None = None,
    metadata: dict[str, str] | None = None,
) -> Sale:
    """A Checkout Session paid by card, with Stripe's customer details and one line item."""
    session: dict[str, Any] = {
        "id": "cs_live_a1B2c3D4",
        "metadata": metadata or {},
        "customer_details": {
            "business_name": name,
            "name": "Accounts Payable",
            "email": "ap@example.com",
            "address": address,
            "tax_ids": tax_ids,
        },
    }
    if shipping is not None:
        session["collected_information"] = {"shipping_details": shipping}
    objects: dict[str, Any] = {
        "checkout_session": session,
        "payment_intent": {"id": "pi_3QpS1a2B3c4D5e6F", "metadata": {}},
        "charge": {
            "id": "ch_3QpS1a2B3c4D5e6F",
            "billing_details": {"name": name, "address": address},
            "payment_method_details": {"type": "card", "card": {"brand": "visa", "last4": "4242"}},
            "metadata": {},
        },
        "line_items": [
            {
                "quantity": quantity,
                "amount_total": amount,
                "description": (product or SERVICE)["name"],
                "price": {"id": "price_1", "product": product or SERVICE},
            }
        ],
    }
    return Sale(
        payment_key="pi_3QpS1a2B3c4D5e6F",
        owner_type="checkout_session",
        owner_id="cs_live_a1B2c3D4",
        currency=currency,
        amount=amount,
        paid_at=PAID,
        livemode=True,
        objects=objects,
    )


US_NY = {"line1": "350 Fifth Avenue", "city": "New York", "state": "NY", "postal_code": "10118",
         "country": "US"}  # fmt: skip
GB_LONDON = {"line1": "10 Finsbury Square", "city": "London", "postal_code": "EC2A 1AF",
             "country": "GB"}  # fmt: skip
CH_ZURICH = {"line1": "Bahnhofstrasse 10", "city": "Zürich", "state": "ZH", "postal_code": "8001",
             "country": "CH"}  # fmt: skip
DE_BERLIN = {"line1": "Friedrichstraße 123", "city": "Berlin", "state": "Berlin",
             "postal_code": "10117", "country": "DE"}  # fmt: skip
AT_VIENNA = {"line1": "Kärntner Straße 5", "city": "Wien", "state": "Wien", "postal_code": "1010",
             "country": "AT"}  # fmt: skip
HAMBURG_WAREHOUSE = {
    "name": "Werkstatt Müller GmbH — Lager",
    "address": {"line1": "Am Sandtorkai 50", "line2": "Lagerhalle 3", "city": "Hamburg",
                "state": "Hamburg", "postal_code": "20457", "country": "DE"},
}  # fmt: skip


Case = Callable[[Settings], tuple[Sale, Settings]]


def o_services_us_ein_art_278_2(settings: Settings) -> tuple[Sale, Settings]:
    """Codul fiscal art. 278 (2): B2B services are supplied where the buyer is established
    (New York), so they are outside the scope of Romanian VAT: category O, ``VATEX-EU-O``,
    "Neimpozabil în România conform art. 278 alin. (2)". The US EIN is the buyer's legal
    registration identifier (BT-47), never a VAT id (BT-48 would fail BR-CO-09); Reg. (UE)
    282/2011 art. 18 (3) accepts such a business number as proof of business status. BR-O-02
    keeps the seller's VAT code out of BT-31: it is stated in a note (art. 319 (20) d)."""
    sale = checkout(120000, "USD", name="Example Corp", address=US_NY,
                    tax_ids=[{"type": "us_ein", "value": "12-3456789"}])  # fmt: skip
    return sale, settings


def o_services_uk_company_art_278_2(settings: Settings) -> tuple[Sale, Settings]:
    """Codul fiscal art. 278 (2): a UK company buying services is outside the scope of
    Romanian VAT (not ``S 21 %``). Its GB VAT number is a VAT id, but BR-O-02 forbids a buyer
    VAT id (BT-48) on an O invoice, so it is written as its legal identifier (BT-47)."""
    sale = checkout(50000, "GBP", name="Acme Widgets Ltd", address=GB_LONDON,
                    tax_ids=[{"type": "gb_vat", "value": "GB123456789"}])  # fmt: skip
    return sale, settings


def g_goods_export_ch_art_294_1_a(settings: Settings) -> tuple[Sale, Settings]:
    """Codul fiscal art. 294 (1) a): goods the seller ships outside the EU (Zürich) are an
    export, exempt with the right of deduction: category G, ``VATEX-EU-G``. The merchant sells
    goods (``[vat] supplies = "goods"``), so a line without a Stripe product tax code is a
    good. The Swiss VAT number (``ch_vat``) is the buyer's VAT id (BT-48, ``CHE…``)."""
    sale = checkout(37000, "CHF", name="Uhrwerk AG", address=CH_ZURICH, quantity=2,
                    product={"id": "prod_x", "name": "Tastatură mecanică"},
                    tax_ids=[{"type": "ch_vat", "value": "CHE-123.456.789 MWST"}])  # fmt: skip
    return sale, settings.with_(vat=replace(settings.vat, supplies="goods"))


def k_intra_community_shipping_address_art_294_2_a(
    settings: Settings,
) -> tuple[Sale, Settings]:
    """Codul fiscal art. 294 (2) a): goods shipped to a company registered for VAT in another
    member state are an exempt intra-Community supply: category K, ``VATEX-EU-IC``. The
    delivery (BG-13, BT-72 and BT-75..80, BR-IC-11/12) is where and when the goods went: the
    Checkout shipping address (the Hamburg warehouse), not the billing address (Berlin), and
    the merchant's ``delivery_date`` (23.11.2026), not the payment date."""
    sale = checkout(
        55500, "EUR", name="Werkstatt Müller GmbH", address=DE_BERLIN, quantity=3,
        product=GOODS, shipping=HAMBURG_WAREHOUSE, metadata={"delivery_date": "2026-11-23"},
        tax_ids=[{"type": "eu_vat", "value": "DE987654321"}],
    )  # fmt: skip
    return sale, settings


def ae_eu_services_art_278_2_directive_196(settings: Settings) -> tuple[Sale, Settings]:
    """Codul fiscal art. 278 (2) and Directive art. 196: B2B services to a company in another
    member state are taxed there, by the buyer: category AE, ``VATEX-EU-AE``, with the words
    "taxare inversă" that art. 319 (20) m) prescribes and the provisions it rests on."""
    sale = checkout(58800, "EUR", name="Beispiel GmbH", address=DE_BERLIN,
                    tax_ids=[{"type": "eu_vat", "value": "DE123456789"}])  # fmt: skip
    return sale, settings


def s_ro_vat_buyer_not_established(settings: Settings) -> tuple[Sale, Settings]:
    """A company established in Austria but registered for VAT in Romania (art. 316/317,
    ``RO…`` id) is a Romanian VAT buyer: no EU reverse charge (that needs another member
    state's VAT id), standard VAT (art. 291 (1), 21 %), its RO VAT id as BT-48 and its CUI as
    BT-47, its Austrian address kept; the invoice is in e-Factura's B2B scope since
    1 January 2026 (OUG 120/2021 art. 10 as amended) and is uploaded without ``extern``."""
    sale = checkout(121000, "RON", name="Alpen Handel GmbH", address=AT_VIENNA,
                    tax_ids=[{"type": "eu_vat", "value": "RO34567892"}])  # fmt: skip
    return sale, settings


def e_exempt_vatex_132_1i_art_319_20_l(settings: Settings) -> tuple[Sale, Settings]:
    """Codul fiscal art. 319 (20) l): an exempt supply cites the provision. The merchant's
    code ``VATEX-EU-132-1I`` (education, Directive art. 132 (1) i)) gives the mention
    "Scutit fără drept de deducere conform art. 132 alin. (1) lit. i) din Directiva
    2006/112/CE" (BT-120) next to the code (BT-121)."""
    sale = checkout(30000, "RON", name="Școala Exemplu SRL",
                    address={"line1": "Str. Lungă 5", "city": "Brașov", "state": "Brașov",
                             "postal_code": "500001", "country": "RO"},
                    tax_ids=[{"type": "eu_vat", "value": "RO23456783"}])  # fmt: skip
    vat = VatPolicy(default_category=VatCategory.EXEMPT, exemption_code="VATEX-EU-132-1I")
    return sale, settings.with_(vat=vat)


def o_seller_not_vat_registered_art_310(settings: Settings) -> tuple[Sale, Settings]:
    """Codul fiscal art. 310: a seller under the small-enterprise scheme charges no VAT and is
    not registered for it: category O with "Neplătitor de TVA (regim special de scutire,
    art. 310 Cod fiscal)", no seller VAT id (BR-O-02) and no note claiming one."""
    sale = checkout(30000, "RON", name="Client Exemplu SRL",
                    address={"line1": "Str. Lungă 5", "city": "Brașov", "state": "Brașov",
                             "postal_code": "500001", "country": "RO"},
                    tax_ids=[{"type": "ro_tin", "value": "34567892"}])  # fmt: skip
    return sale, settings.with_(company=replace(settings.company, vat_payer=False))


CASES: dict[str, Case] = {
    f.__name__: f
    for f in (
        o_services_us_ein_art_278_2,
        o_services_uk_company_art_278_2,
        g_goods_export_ch_art_294_1_a,
        k_intra_community_shipping_address_art_294_2_a,
        ae_eu_services_art_278_2_directive_196,
        s_ro_vat_buyer_not_established,
        e_exempt_vatex_132_1i_art_319_20_l,
        o_seller_not_vat_registered_art_310,
    )
}


def built(name: str, tmp_path: Path) -> BuildResult:
    sale, settings = CASES[name](demo_settings(tmp_path))
    fx = FX.get(sale.currency)
    return build_invoice(draft_of(sale), settings.invoicing, number="SEF000321", fx=fx)


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_and_valid(
    name: str, tmp_path: Path, cius_ro: Validator, ubl_xsd: Validator
) -> None:
    result = built(name, tmp_path)
    assert result.problems == ()
    assert result.invoice is not None
    xml = render(result.invoice)
    path = GOLDEN / f"{name}.xml"
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(xml)
    assert path.read_bytes() == xml
    assert ubl_xsd(xml) == []
    assert cius_ro(xml) == []


def test_every_golden_file_has_a_case() -> None:
    assert sorted(p.stem for p in GOLDEN.glob("*.xml")) == sorted(CASES)
