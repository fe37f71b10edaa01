"""Hand-built Invoice objects for the UBL renderer tests, with correct EN 16931 arithmetic.

Line net = quantity × price / base quantity rounded to 2 decimals (half up); one VAT breakdown
per (category, rate) in first-seen order, tax = taxable × rate / 100 rounded per breakdown;
totals per BR-CO-10..16. ``CASES`` maps each golden file name to (Invoice, credit_note).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from decimal import Decimal

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
from stripe_efactura.money import round2

D = Decimal
Validator = Callable[[bytes], list[str]]
"""A validator fixture: XML bytes -> list of fatal findings (empty when valid)."""
ZERO = D("0.00")

S21 = TaxClass(VatCategory.STANDARD, D("21"))
S11 = TaxClass(VatCategory.STANDARD, D("11"))
AE = TaxClass(
    VatCategory.REVERSE_CHARGE,
    D("0"),
    exemption_code="VATEX-EU-AE",
    exemption_reason="Taxare inversă (art. 278 alin. (2) Cod fiscal)",
)
O_OUTSIDE_RO = TaxClass(
    VatCategory.NOT_SUBJECT,
    D("0"),
    exemption_code="VATEX-EU-O",
    exemption_reason="Neimpozabil în România conform art. 278 alin. (2) Cod fiscal",
)
G_EXPORT = TaxClass(
    VatCategory.EXPORT,
    D("0"),
    exemption_code="VATEX-EU-G",
    exemption_reason="Export scutit conform art. 294 alin. (1) Cod fiscal",
)
K_INTRA_EU = TaxClass(
    VatCategory.INTRA_COMMUNITY,
    D("0"),
    exemption_code="VATEX-EU-IC",
    exemption_reason="Livrare intracomunitară scutită conform art. 294 alin. (2) Cod fiscal",
)
O_NON_PAYER = TaxClass(
    VatCategory.NOT_SUBJECT,
    D("0"),
    exemption_code="VATEX-EU-O",
    exemption_reason="Neplătitor de TVA (art. 310 Cod fiscal)",
)

SELLER = Party(
    name="Nor Digital SRL",
    address=Address(
        line1="Str. Memorandumului nr. 28, et. 2",
        line2="Ap. 7",
        city="Cluj-Napoca",
        postal_code="400114",
        county="RO-CJ",
        country="RO",
    ),
    vat_id="RO12345674",
    legal_id="12345674",
    trade_register="J12/3456/2019",
    email="facturi@nordigital.ro",
    phone="+40 264 555 010",
)
SELLER_EXTRAS = SellerExtras(
    iban="RO49 AAAA 1B31 0075 9384 0000",
    bank="Banca Exemplu",
    share_capital="200 RON",
)

PFA_SELLER = Party(
    name="Ionescu Ion Persoană Fizică Autorizată",
    address=Address(
        line1="Str. Lalelelor nr. 5",
        city="Iași",
        postal_code="700259",
        county="RO-IS",
        country="RO",
    ),
    legal_id="45678900",
    trade_register="F22/1234/2020",
    email="ion@ionescu-foto.ro",
)
PFA_EXTRAS = SellerExtras(vat_payer=False)

CONSUMER_BV = Party(
    name="Ioana Popescu",
    address=Address(
        line1="Str. Republicii nr. 10",
        city="Brașov",
        postal_code="500030",
        county="RO-BV",
        country="RO",
    ),
    kind=BuyerKind.INDIVIDUAL,
    email="ioana.popescu@example.com",
)
COMPANY_TM = Party(
    name="Client Exemplu SRL",
    address=Address(
        line1="Bd. Revoluției din 1989 nr. 3",
        city="Timișoara",
        postal_code="300024",
        county="RO-TM",
        country="RO",
    ),
    vat_id="RO34567892",
    legal_id="34567892",
    email="contabilitate@client-exemplu.ro",
)
COMPANY_BUCHAREST = Party(
    name="Atelier Urban SRL",
    address=Address(
        line1="Bd. Unirii nr. 15, bl. 4, sc. 1",
        line2="Et. 3, ap. 12",
        city="SECTOR3",
        postal_code="030823",
        county="RO-B",
        country="RO",
    ),
    vat_id="RO23456783",
    legal_id="23456783",
)
COMPANY_DE = Party(
    name="Beispiel GmbH",
    address=Address(
        line1="Friedrichstraße 123",
        city="Berlin",
        postal_code="10117",
        country="DE",
    ),
    vat_id="DE123456789",
    email="billing@beispiel.de",
)
COMPANY_DE_GOODS = Party(
    name="Werkstatt Müller GmbH",
    address=Address(
        line1="Leopoldstraße 45",
        city="München",
        postal_code="80802",
        county="Bayern",
        country="DE",
    ),
    vat_id="DE987654321",
    legal_id="HRB 123456",
    email="einkauf@werkstatt-mueller.de",
)
WAREHOUSE_HAMBURG = Address(
    line1="Am Sandtorkai 50",
    line2="Lagerhalle 3, Tor 5",
    city="Hamburg",
    postal_code="20457",
    county="Hamburg",
    country="de",
)
COMPANY_US = Party(
    name="Example Corp",
    address=Address(
        line1="350 Fifth Avenue",
        line2="Suite 4100",
        city="New York",
        postal_code="10118",
        county="NY",
        country="US",
    ),
    legal_id="98-7654321",
)


def line(
    line_id: str,
    name: str,
    quantity: str,
    price: str,
    tax: TaxClass,
    *,
    unit: str = "H87",
    base: str | None = None,
    description: str | None = None,
    item_id: str | None = None,
) -> InvoiceLine:
    qty, unit_price = D(quantity), D(price)
    base_qty = D(base) if base is not None else None
    net = round2(qty * unit_price / (base_qty or D(1)))
    return InvoiceLine(
        line_id=line_id,
        name=name,
        quantity=qty,
        unit_price=unit_price,
        net_amount=net,
        tax=tax,
        unit_code=unit,
        description=description,
        seller_item_id=item_id,
        price_base_quantity=base_qty,
    )


def breakdown(lines: tuple[InvoiceLine, ...]) -> tuple[VatBreakdown, ...]:
    groups: dict[tuple[VatCategory, Decimal], list[InvoiceLine]] = {}
    for ln in lines:
        groups.setdefault((ln.tax.category, ln.tax.rate), []).append(ln)
    out = []
    for members in groups.values():
        taxable = sum((m.net_amount for m in members), ZERO)
        tax = members[0].tax
        out.append(VatBreakdown(tax, taxable, round2(taxable * tax.rate / 100)))
    return tuple(out)


def totals(
    lines: tuple[InvoiceLine, ...],
    vat: tuple[VatBreakdown, ...],
    *,
    paid: bool = True,
    fx: FxInfo | None = None,
) -> Totals:
    net = sum((ln.net_amount for ln in lines), ZERO)
    tax = sum((vb.tax_amount for vb in vat), ZERO)
    inclusive = net + tax
    prepaid = inclusive if paid else ZERO
    return Totals(
        line_net_total=net,
        tax_exclusive=net,
        tax_total=tax,
        tax_inclusive=inclusive,
        payable=inclusive - prepaid,
        prepaid=prepaid,
        tax_total_ron=round2(tax * fx.rate) if fx is not None else None,
    )


def invoice(
    number: str,
    issued: date,
    buyer: Party,
    lines: tuple[InvoiceLine, ...],
    *,
    currency: str = "RON",
    paid: bool = True,
    fx: FxInfo | None = None,
    seller: Party = SELLER,
    extras: SellerExtras = SELLER_EXTRAS,
    **kw: object,
) -> Invoice:
    vat = breakdown(lines)
    return Invoice(
        number=number,
        issue_date=issued,
        currency=currency,
        seller=seller,
        buyer=buyer,
        lines=lines,
        vat_breakdown=vat,
        totals=totals(lines, vat, paid=paid, fx=fx),
        seller_extras=extras,
        tax_currency="RON" if currency != "RON" else None,
        fx=fx,
        **kw,  # type: ignore[arg-type]
    )


def card(reference: str, label: str = "Card Visa •••• 4242") -> PaymentInfo:
    return PaymentInfo(means_code="48", reference=reference, method_label=label)


def storno_of(
    original: Invoice,
    number: str,
    issued: date,
    lines: tuple[InvoiceLine, ...],
    refund_id: str,
    note: str,
) -> Invoice:
    """A storno (380, negative quantities) of ``original``; refunded at once: payable 0."""
    vat = breakdown(lines)
    return replace(
        original,
        number=number,
        issue_date=issued,
        lines=lines,
        vat_breakdown=vat,
        totals=totals(lines, vat, paid=True, fx=original.fx),
        kind=InvoiceKind.STORNO,
        payment=replace(original.payment, reference=refund_id) if original.payment else None,
        payment_key=refund_id,
        preceding=(PrecedingInvoice(original.number, original.issue_date),),
        notes=(note,),
        order_reference=None,
    )


B2C_RO_NO_CNP = invoice(
    "NDG0000101",
    date(2026, 11, 20),
    CONSUMER_BV,
    (
        line(
            "1",
            "Abonament Pro — noiembrie 2026",
            "1",
            "99.00",
            S21,
            unit="C62",
            item_id="price_1QxPro",
        ),
    ),
    payment=card("pi_3QxA1b2C3d4E5f6G7h8I9j0K"),
    payment_key="pi_3QxA1b2C3d4E5f6G7h8I9j0K",
)

B2B_RO_VAT = invoice(
    "NDG0000102",
    date(2026, 11, 20),
    COMPANY_TM,
    (
        line(
            "1",
            "Licență utilizator",
            "3",
            "150.00",
            S21,
            description="Licență anuală, 1 utilizator",
        ),
        line("2", "Configurare inițială", "2.5", "100.00", S21, unit="HUR"),
    ),
    payment=PaymentInfo(
        means_code="30", reference="pi_3QxB2c3D4e5F6g7H8i9J0k1L", method_label="Transfer bancar"
    ),
    payment_key="pi_3QxB2c3D4e5F6g7H8i9J0k1L",
    order_reference="PO-2026-0457",
    buyer_reference="Dept. IT",
    notes=("Mulțumim pentru colaborare!",),
)

BUCHAREST_SECTOR = invoice(
    "NDG0000103",
    date(2026, 11, 21),
    COMPANY_BUCHAREST,
    (line("1", "Pachet design logo", "1", "1500.00", S21, unit="C62"),),
    payment=card("pi_3QxC3d4E5f6G7h8I9j0K1l2M", "Card Mastercard •••• 5454"),
    payment_key="pi_3QxC3d4E5f6G7h8I9j0K1l2M",
)

EUR_FX = FxInfo(rate=D("5.0875"), rate_date=date(2026, 11, 19))
EU_REVERSE_CHARGE_EUR = invoice(
    "NDG0000104",
    date(2026, 11, 20),
    COMPANY_DE,
    (line("1", "Abonament SaaS — utilizator/lună", "12", "49.00", AE, unit="MON"),),
    currency="EUR",
    fx=EUR_FX,
    payment=card("pi_3QxD4e5F6g7H8i9J0k1L2m3N"),
    payment_key="pi_3QxD4e5F6g7H8i9J0k1L2m3N",
)

USD_FX = FxInfo(rate=D("4.3920"), rate_date=date(2026, 11, 19))
NON_EU_US = invoice(
    "NDG0000105",
    date(2026, 11, 20),
    COMPANY_US,
    (line("1", "Dezvoltare software la comandă", "40", "30.00", O_OUTSIDE_RO, unit="HUR"),),
    currency="USD",
    fx=USD_FX,
    payment=card("pi_3QxE5f6G7h8I9j0K1l2M3n4O", "Card Amex •••• 0005"),
    payment_key="pi_3QxE5f6G7h8I9j0K1l2M3n4O",
)

NON_EU_US_GOODS = invoice(
    "NDG0000108",
    date(2026, 11, 20),
    COMPANY_US,
    (
        line("1", "Tastatură mecanică artizanală", "2", "185.00", G_EXPORT),
        line("2", "Transport internațional", "1", "40.00", G_EXPORT, unit="C62"),
    ),
    currency="USD",
    fx=USD_FX,
    payment=card("pi_3QxJ0k1L2m3N4o5P6q7R8s9T", "Card Amex •••• 0005"),
    payment_key="pi_3QxJ0k1L2m3N4o5P6q7R8s9T",
)

EU_INTRA_COMMUNITY_GOODS_EUR = invoice(
    "NDG0000109",
    date(2026, 11, 20),
    COMPANY_DE_GOODS,
    (
        line("1", "Tastatură mecanică artizanală", "3", "185.00", K_INTRA_EU),
        line("2", "Set taste PBT", "2", "45.50", K_INTRA_EU),
    ),
    currency="EUR",
    fx=EUR_FX,
    payment=card("pi_3QxK1l2M3n4O5p6Q7r8S9t0U", "Card Visa •••• 1881"),
    payment_key="pi_3QxK1l2M3n4O5p6Q7r8S9t0U",
    delivery_date=date(2026, 11, 19),
    delivery_address=WAREHOUSE_HAMBURG,
)

SELLER_NOT_VAT_REGISTERED = invoice(
    "IIF0000012",
    date(2026, 11, 20),
    CONSUMER_BV,
    (line("1", "Curs online de fotografie", "1", "300.00", O_NON_PAYER, unit="C62"),),
    seller=PFA_SELLER,
    extras=PFA_EXTRAS,
    payment=card("pi_3QxF6g7H8i9J0k1L2m3N4o5P"),
    payment_key="pi_3QxF6g7H8i9J0k1L2m3N4o5P",
)

TWO_RATES = invoice(
    "NDG0000106",
    date(2026, 11, 20),
    COMPANY_TM,
    (
        line("1", "Carte tipărită „Ghidul e-Factura”", "2", "45.50", S11),
        line("2", "Curs online e-Factura", "1", "199.99", S21, unit="C62"),
        line("3", "Ghid PDF", "3", "19.99", S21, unit="C62"),
        line("4", "Mesaje SMS de notificare", "1000", "1.25", S21, unit="C62", base="100"),
    ),
    paid=False,
    due_date=date(2026, 12, 4),
    payment=PaymentInfo(means_code="42", method_label="Ordin de plată"),
    payment_key="in_1QxG7h8I9j0K1l2M3n4O5p6Q",
)

STORNO_FULL = storno_of(
    B2C_RO_NO_CNP,
    "NDG0000187",
    date(2026, 11, 27),
    (
        line(
            "1",
            "Abonament Pro — noiembrie 2026",
            "-1",
            "99.00",
            S21,
            unit="C62",
            item_id="price_1QxPro",
        ),
    ),
    "re_3QxA1b2C3d4E5f6G0r1S2t",
    "Stornare integrală a facturii NDG0000101 din 20.11.2026",
)

STORNO_PARTIAL = storno_of(
    B2B_RO_VAT,
    "NDG0000188",
    date(2026, 11, 28),
    (line("1", "Stornare parțială: Licență utilizator", "-1", "150.00", S21),),
    "re_3QxB2c3D4e5F6g1s2T3u",
    "Stornare parțială a facturii NDG0000102 din 20.11.2026",
)

JPY_FX = FxInfo(rate=D("0.0289"), rate_date=date(2026, 11, 19))
ZERO_DECIMAL_JPY = invoice(
    "NDG0000107",
    date(2026, 11, 20),
    CONSUMER_BV,
    (line("1", "Abonament anual", "1", "15000", S21, unit="C62"),),
    currency="JPY",
    fx=JPY_FX,
    payment=card("pi_3QxH8i9J0k1L2m3N4o5P6q7R"),
    payment_key="pi_3QxH8i9J0k1L2m3N4o5P6q7R",
)

S19 = TaxClass(VatCategory.STANDARD, D("19"))
ISSUED_AFTER_PAYMENT = invoice(
    "NDG0000114",
    date(2026, 12, 1),
    CONSUMER_BV,
    (line("1", "Curs online", "1", "100.00", S19, unit="C62"),),
    payment=card("pi_3QxJul2025PaidLate00001"),
    payment_key="pi_3QxJul2025PaidLate00001",
    tax_point_date=date(2025, 7, 15),
)
"""A payment of 15.07.2025 numbered on 01.12.2026: dated the day it is numbered (BT-2), the
payment as the chargeable event (BT-7, art. 319 (20) d) with the rate then in force (19 %)."""

CASES: dict[str, tuple[Invoice, bool]] = {
    "b2c_ro_no_cnp": (B2C_RO_NO_CNP, False),
    "b2b_ro_vat": (B2B_RO_VAT, False),
    "bucharest_sector": (BUCHAREST_SECTOR, False),
    "eu_reverse_charge_eur": (EU_REVERSE_CHARGE_EUR, False),
    "eu_intra_community_goods_eur": (EU_INTRA_COMMUNITY_GOODS_EUR, False),
    "non_eu_us_services": (NON_EU_US, False),
    "non_eu_us_goods_export": (NON_EU_US_GOODS, False),
    "seller_not_vat_registered": (SELLER_NOT_VAT_REGISTERED, False),
    "two_rates_21_11": (TWO_RATES, False),
    "storno_full": (STORNO_FULL, False),
    "storno_partial": (STORNO_PARTIAL, False),
    "credit_note_381": (STORNO_FULL, True),
    "zero_decimal_jpy": (ZERO_DECIMAL_JPY, False),
    "issued_after_payment": (ISSUED_AFTER_PAYMENT, False),
}
