"""Benchmark: UBL CIUS-RO rendering time of a 20-line invoice (target <= 2 ms).

Run ``.venv/bin/python bench/ubl_render.py`` from the repository root. It prints the result
and rewrites only the ``## ubl render`` section of ``bench/README.md``.
"""

from __future__ import annotations

import platform
import statistics
import sys
import time
from datetime import date
from decimal import Decimal

from readme_section import no_arguments, write_section

from stripe_efactura.invoicing.model import (
    Address,
    FxInfo,
    Invoice,
    InvoiceLine,
    Party,
    PaymentInfo,
    SellerExtras,
    TaxClass,
    Totals,
    VatBreakdown,
    VatCategory,
)
from stripe_efactura.money import round2
from stripe_efactura.ubl.render import render

HEADING = "## ubl render"
LINES = 20
ROUNDS = 7
PER_ROUND = 200
TARGET_MS = 2.0


def twenty_line_invoice() -> Invoice:
    """EUR invoice, two VAT rates, descriptions and item ids on every line."""
    rates = (
        TaxClass(VatCategory.STANDARD, Decimal(21)),
        TaxClass(VatCategory.STANDARD, Decimal(11)),
    )
    lines = []
    for i in range(1, LINES + 1):
        qty, price = Decimal(i), Decimal("12.35") + i
        lines.append(
            InvoiceLine(
                line_id=str(i),
                name=f"Produs de test numărul {i} — ediție limitată",
                quantity=qty,
                unit_price=price,
                net_amount=round2(qty * price),
                tax=rates[i % 2],
                description=f"Descriere detaliată a produsului {i}, livrat electronic",
                seller_item_id=f"prod_{i:04d}",
            )
        )
    vat = []
    for tax in rates:
        taxable = sum((ln.net_amount for ln in lines if ln.tax == tax), Decimal("0.00"))
        vat.append(VatBreakdown(tax, taxable, round2(taxable * tax.rate / 100)))
    net = sum((ln.net_amount for ln in lines), Decimal("0.00"))
    tax_total = sum((v.tax_amount for v in vat), Decimal("0.00"))
    fx = FxInfo(Decimal("5.0875"), date(2026, 11, 19))
    address = Address("Str. Memorandumului nr. 28", "Cluj-Napoca", "RO", None, "400114", "RO-CJ")
    return Invoice(
        number="BENCH0000001",
        issue_date=date(2026, 11, 20),
        currency="EUR",
        seller=Party("Nor Digital SRL", address, vat_id="RO12345674", legal_id="12345674"),
        buyer=Party("Client Exemplu SRL", address, vat_id="RO34567892", legal_id="34567892"),
        lines=tuple(lines),
        vat_breakdown=tuple(vat),
        totals=Totals(
            line_net_total=net,
            tax_exclusive=net,
            tax_total=tax_total,
            tax_inclusive=net + tax_total,
            payable=Decimal("0.00"),
            prepaid=net + tax_total,
            tax_total_ron=round2(tax_total * fx.rate),
        ),
        seller_extras=SellerExtras(iban="RO49AAAA1B31007593840000"),
        tax_currency="RON",
        fx=fx,
        payment=PaymentInfo("48", "pi_bench", "Card Visa •••• 4242"),
    )


def measure() -> tuple[float, float, int]:
    """(median ms, best ms, bytes) over ROUNDS rounds of PER_ROUND renders."""
    inv = twenty_line_invoice()
    size = len(render(inv))
    per_round = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for _ in range(PER_ROUND):
            render(inv)
        per_round.append((time.perf_counter() - start) * 1000 / PER_ROUND)
    return statistics.median(per_round), min(per_round), size


def main() -> int:
    no_arguments(__doc__)
    median, best, size = measure()
    verdict = "meets" if median <= TARGET_MS else "MISSES"
    section = (
        f"{HEADING}\n\n"
        f"`bench/ubl_render.py`: `stripe_efactura.ubl.render.render()` of a {LINES}-line EUR "
        f"invoice (two VAT rates, RON tax total, {size} bytes of XML); {ROUNDS} rounds of "
        f"{PER_ROUND} renders.\n\n"
        f"| median ms / invoice | best ms / invoice | target |\n|---|---|---|\n"
        f"| {median:.3f} | {best:.3f} | <= {TARGET_MS} ms ({verdict}) |\n\n"
        f"Machine: Python {platform.python_version()} on {platform.machine()}, "
        f"2 shared cores (other work running).\n"
    )
    write_section(HEADING, section)
    print(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
