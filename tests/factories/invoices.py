"""Hand-built invoices with checked arithmetic, shared by the PDF and mail tests.

Loaded by file path (``load_factory``) because tests use ``--import-mode=importlib``.
Every amount below is worked out in the comments; the builder is not involved.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal as D

from stripe_efactura.invoicing.model import (
    Address,
    BuyerKind,
    FxInfo,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    Party,
    PaymentInfo,
    PrecedingInvoice,
    SellerExtras,
    TaxClass,
    Totals,
    VatBreakdown,
    VatCategory,
)

S21 = TaxClass(VatCategory.STANDARD, D("21"))
S11 = TaxClass(VatCategory.STANDARD, D("11"))
AE = TaxClass(
    VatCategory.REVERSE_CHARGE,
    D("0"),
    exemption_code="VATEX-EU-AE",
    exemption_reason="Taxare inversă",
)

SELLER = Party(
    name="Firma Mea SRL",
    address=Address(
        line1="Str. Exemplu nr. 1",
        city="SECTOR1",
        county="RO-B",
        postal_code="010101",
        country="RO",
    ),
    vat_id="RO18547290",
    legal_id="18547290",
    trade_register="J40/1234/2020",
    email="contabilitate@firma-mea.ro",
    phone="+40 21 000 0000",
)
EXTRAS = SellerExtras(
    iban="RO49AAAA1B31007593840000",
    bank="Banca Exemplu",
    share_capital="200 lei",
    vat_on_collection=True,
)
BUYER_RO = Party(
    name="Client Ștefănescu SRL",
    address=Address(
        line1="Bd. Eroilor nr. 7",
        city="Cluj-Napoca",
        county="RO-CJ",
        postal_code="400129",
        country="RO",
    ),
    vat_id="RO14399840",
    legal_id="14399840",
    trade_register="J12/345/2015",
    email="achizitii@stefanescu.ro",
)
BUYER_PERSON = Party(
    name="Ion Țăranu",
    kind=BuyerKind.INDIVIDUAL,
    address=Address(line1="Str. Lăpușneanu nr. 3", city="Iași", county="RO-IS", country="RO"),
    legal_id="1900101400017",
    email="ion.taranu@example.ro",
)
BUYER_DE = Party(
    name="Müller Software GmbH",
    address=Address(line1="Hauptstraße 5", city="Berlin", postal_code="10115", country="DE"),
    vat_id="DE123456789",
    email="einkauf@mueller.example",
)
CARD = PaymentInfo(means_code="48", reference="pi_3QabcDEF123", method_label="Card Visa •••• 4242")
FX = FxInfo(rate=D("5.0876"), rate_date=date(2026, 11, 20))

LINE_SUBSCRIPTION = InvoiceLine(
    line_id="1",
    name="Abonament lunar „Premium” — acces platformă",
    quantity=D("1"),
    unit_price=D("100.00"),
    net_amount=D("100.00"),
    tax=S21,
    unit_code="MON",
    description="Perioada 21.11.2026 – 20.12.2026",
)


def standard_invoice() -> Invoice:
    """RON, two VAT rates, a thousands separator, card paid.

    1 × 100.00 (21 %) = 100.00, VAT 21.00
    10 × 150.00 (21 %) = 1 500.00, VAT 315.00
    2 × 49.99 (11 %) = 99.98, VAT 10.9978 -> 11.00
    21 %: 1 600.00 / 336.00; 11 %: 99.98 / 11.00
    net 1 699.98 + VAT 347.00 = 2 046.98, prepaid 2 046.98, payable 0.00
    """
    lines = (
        LINE_SUBSCRIPTION,
        InvoiceLine(
            line_id="2",
            name="Consultanță tehnică",
            quantity=D("10"),
            unit_price=D("150.00"),
            net_amount=D("1500.00"),
            tax=S21,
            unit_code="HUR",
        ),
        InvoiceLine(
            line_id="3",
            name="Carte tipărită „Șezătoarea și țăranii”",
            quantity=D("2"),
            unit_price=D("49.99"),
            net_amount=D("99.98"),
            tax=S11,
        ),
    )
    return Invoice(
        number="SEF000123",
        issue_date=date(2026, 11, 21),
        currency="RON",
        seller=SELLER,
        buyer=BUYER_RO,
        lines=lines,
        vat_breakdown=(
            VatBreakdown(S21, D("1600.00"), D("336.00")),
            VatBreakdown(S11, D("99.98"), D("11.00")),
        ),
        totals=Totals(
            line_net_total=D("1699.98"),
            tax_exclusive=D("1699.98"),
            tax_total=D("347.00"),
            tax_inclusive=D("2046.98"),
            payable=D("0.00"),
            prepaid=D("2046.98"),
        ),
        seller_extras=EXTRAS,
        payment=replace(CARD, paid_at=datetime(2026, 11, 21, 10, 5, tzinfo=UTC)),
        payment_key="pi_3QabcDEF123",
        order_reference="comanda-7781",
    )


def storno_invoice() -> Invoice:
    """Storno of line 1 of SEF000123: -1 × 100.00 = -100.00, VAT -21.00, total -121.00."""
    line = replace(LINE_SUBSCRIPTION, quantity=D("-1"), net_amount=D("-100.00"))
    return Invoice(
        number="SEF000124",
        issue_date=date(2026, 11, 25),
        currency="RON",
        seller=SELLER,
        buyer=BUYER_RO,
        lines=(line,),
        vat_breakdown=(VatBreakdown(S21, D("-100.00"), D("-21.00")),),
        totals=Totals(
            line_net_total=D("-100.00"),
            tax_exclusive=D("-100.00"),
            tax_total=D("-21.00"),
            tax_inclusive=D("-121.00"),
            payable=D("0.00"),
            prepaid=D("-121.00"),
        ),
        kind=InvoiceKind.STORNO,
        seller_extras=EXTRAS,
        payment=PaymentInfo(means_code="48", reference="re_3QstornoXYZ"),
        preceding=(PrecedingInvoice(number="SEF000123", issue_date=date(2026, 11, 21)),),
        payment_key="re_3QstornoXYZ",
    )


def eur_invoice() -> Invoice:
    """EUR, B2C with CNP: 1 × 200.00 = 200.00, VAT 42.00 EUR.

    VAT in RON: 42.00 × 5.0876 = 213.6792 -> 213.68.
    """
    return Invoice(
        number="SEF000125",
        issue_date=date(2026, 11, 21),
        currency="EUR",
        seller=SELLER,
        buyer=BUYER_PERSON,
        lines=(
            InvoiceLine(
                line_id="1",
                name="Curs online „Programare în Python”",
                quantity=D("1"),
                unit_price=D("200.00"),
                net_amount=D("200.00"),
                tax=S21,
            ),
        ),
        vat_breakdown=(VatBreakdown(S21, D("200.00"), D("42.00")),),
        totals=Totals(
            line_net_total=D("200.00"),
            tax_exclusive=D("200.00"),
            tax_total=D("42.00"),
            tax_inclusive=D("242.00"),
            payable=D("0.00"),
            prepaid=D("242.00"),
            tax_total_ron=D("213.68"),
        ),
        seller_extras=replace(EXTRAS, vat_on_collection=False),
        tax_currency="RON",
        fx=FX,
        payment=replace(CARD, reference="pi_3QeurEUR777"),
        payment_key="pi_3QeurEUR777",
    )


def reverse_charge_invoice() -> Invoice:
    """EUR B2B to a German company, category AE: 1 × 1 000.00, VAT 0.00 (0.00 RON)."""
    return Invoice(
        number="SEF000126",
        issue_date=date(2026, 11, 22),
        currency="EUR",
        seller=SELLER,
        buyer=BUYER_DE,
        lines=(
            InvoiceLine(
                line_id="1",
                name="Licență software anuală",
                quantity=D("1"),
                unit_price=D("1000.00"),
                net_amount=D("1000.00"),
                tax=AE,
                unit_code="ANN",
            ),
        ),
        vat_breakdown=(VatBreakdown(AE, D("1000.00"), D("0.00")),),
        totals=Totals(
            line_net_total=D("1000.00"),
            tax_exclusive=D("1000.00"),
            tax_total=D("0.00"),
            tax_inclusive=D("1000.00"),
            payable=D("0.00"),
            prepaid=D("1000.00"),
            tax_total_ron=D("0.00"),
        ),
        seller_extras=replace(EXTRAS, vat_on_collection=False),
        tax_currency="RON",
        fx=FX,
        payment=replace(CARD, reference="pi_3QrevCHG555"),
        payment_key="pi_3QrevCHG555",
    )


def long_invoice(count: int = 70) -> Invoice:
    """``count`` lines of 1 × 10.00 (21 %): net 10.00·count, VAT 2.10·count."""
    lines = tuple(
        InvoiceLine(
            line_id=str(i),
            name=f"Produs de test nr. {i} — ședință",
            quantity=D("1"),
            unit_price=D("10.00"),
            net_amount=D("10.00"),
            tax=S21,
        )
        for i in range(1, count + 1)
    )
    net = D("10.00") * count
    vat = D("2.10") * count
    return Invoice(
        number="SEF000127",
        issue_date=date(2026, 11, 23),
        currency="RON",
        seller=SELLER,
        buyer=BUYER_RO,
        lines=lines,
        vat_breakdown=(VatBreakdown(S21, net, vat),),
        totals=Totals(
            line_net_total=net,
            tax_exclusive=net,
            tax_total=vat,
            tax_inclusive=net + vat,
            payable=D("0.00"),
            prepaid=net + vat,
        ),
        seller_extras=EXTRAS,
        payment=CARD,
        payment_key="pi_3QabcDEF123",
    )
