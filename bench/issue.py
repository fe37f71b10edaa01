"""Benchmark: building invoices from sales with the pure builder (target >= 2,000 / s, 1 core).

Run ``.venv/bin/python bench/issue.py`` from the repository root. It prints the result and
rewrites only the ``## issue`` section of ``bench/README.md``. The sales are a mix of the
common shapes: metadata ``Order Item #N`` (3 lines, individual, RON), a Checkout Session with
Stripe Tax line items and a custom-field CUI (company), a subscription invoice in EUR with a
BNR rate (2 lines, exclusive tax), and a PaymentIntent with only a description (one line).
"""

from __future__ import annotations

import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from readme_section import no_arguments, write_section

from stripe_efactura.config import demo_settings
from stripe_efactura.intake.draft import draft_of
from stripe_efactura.intake.sale import Sale
from stripe_efactura.invoicing.build import build_invoice
from stripe_efactura.invoicing.model import FxInfo

HEADING = "## issue"
ROUNDS = 7
PER_ROUND = 500
TARGET_PER_S = 2000.0

_BILLING = {
    "name": "Ion Popescu",
    "email": "ion@example.ro",
    "address": {
        "line1": "Str. Lungă 5",
        "city": "Brașov",
        "state": "Brașov",
        "postal_code": "500001",
        "country": "RO",
    },
}
_CHARGE = {
    "billing_details": _BILLING,
    "payment_method_details": {"type": "card", "card": {"brand": "visa", "last4": "4242"}},
}


def _sale(amount: int, currency: str, owner: str, **objects: Any) -> Sale:
    objs: dict[str, Any] = {"charge": _CHARGE, "payment_intent": {"id": "pi_b", "metadata": {}}}
    objs.update(objects)
    return Sale(
        payment_key="pi_b",
        owner_type=owner,
        owner_id="x",
        currency=currency,
        amount=amount,
        paid_at=datetime(2026, 11, 20, 10, 0, tzinfo=UTC),
        livemode=True,
        objects=objs,
    )


def sales() -> list[tuple[Sale, FxInfo | None]]:
    fx = FxInfo(Decimal("5.0861"), date(2026, 11, 19))
    order_items = _sale(
        46400,
        "RON",
        "payment_intent",
        payment_intent={
            "id": "pi_b",
            "metadata": {
                "Order Item #1": "123id121, Tricou bumbac, 3, 232.0",
                "Order Item #2": "Cană, ceramică, 2, 99,90",
                "Order Item #3": "SKU-9, Livrare rapidă, 1, 132.10",
                "order_id": "1234",
            },
        },
    )
    checkout = _sale(
        24200,
        "RON",
        "checkout_session",
        checkout_session={
            "id": "cs_b",
            "custom_fields": [
                {
                    "key": "cui",
                    "label": {"custom": "CUI", "type": "custom"},
                    "type": "text",
                    "text": {"value": "RO18547290"},
                }
            ],
            "customer_details": {"name": "Firma Mea SRL", "address": _BILLING["address"]},
            "total_details": {"amount_tax": 4200},
        },
        line_items=[
            {
                "description": "Curs online",
                "quantity": 2,
                "amount_total": 24200,
                "amount_tax": 4200,
                "taxes": [
                    {
                        "amount": 4200,
                        "rate": {"id": "txr_1", "percentage": 21},
                        "taxability_reason": "standard_rated",
                    }
                ],
            },
        ],
    )
    invoice = _sale(
        17650,
        "EUR",
        "invoice",
        invoice={
            "id": "in_b",
            "customer_name": "Ion Popescu",
            "customer_address": _BILLING["address"],
            "lines": {
                "data": [
                    {
                        "amount": 10000,
                        "quantity": 1,
                        "description": "Plan Pro",
                        "taxes": [
                            {
                                "amount": 2100,
                                "tax_behavior": "exclusive",
                                "tax_rate_details": {"tax_rate": "txr_21"},
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
                                "tax_rate_details": {"tax_rate": "txr_11"},
                                "taxability_reason": "reduced_rated",
                            }
                        ],
                    },
                ]
            },
        },
        tax_rates={"txr_21": {"percentage": 21}, "txr_11": {"percentage": 11}},
    )
    single = _sale(
        9999,
        "RON",
        "payment_intent",
        payment_intent={"id": "pi_b", "metadata": {}, "description": "Shop - Comanda 77"},
    )
    return [(order_items, None), (checkout, None), (invoice, fx), (single, None)]


def measure() -> tuple[float, float, int]:
    settings = demo_settings(Path(tempfile.gettempdir()) / "efactura-bench")
    mix = sales()
    for sale, fx in mix:  # all must build: a benchmark of failures measures nothing
        result = build_invoice(draft_of(sale), settings.invoicing, number="BENCH1", fx=fx)
        if result.invoice is None:
            raise SystemExit(f"bench sale {sale.owner_type} did not build: {result.problems}")
    rates: list[float] = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for i in range(PER_ROUND):
            sale, fx = mix[i % len(mix)]
            build_invoice(draft_of(sale), settings.invoicing, number="BENCH1", fx=fx)
        rates.append(PER_ROUND / (time.perf_counter() - start))
    return statistics.median(rates), max(rates), len(mix)


def main() -> int:
    no_arguments(__doc__)
    median, best, kinds = measure()
    verdict = "meets" if median >= TARGET_PER_S else "MISSES"
    text = (
        f"{HEADING}\n\n"
        "`bench/issue.py`: `stripe_efactura.intake.draft.draft_of()` (Stripe objects -> neutral "
        "draft) + `stripe_efactura.invoicing.build.build_invoice()` on a mix of "
        f"{kinds} sale shapes (metadata Order Items, Checkout with Stripe Tax and a CUI custom "
        "field, a EUR subscription invoice with exclusive tax and a BNR rate, a one-line "
        "PaymentIntent); "
        f"{ROUNDS} rounds of {PER_ROUND} builds, one process, one core.\n\n"
        "| median invoices / s | best invoices / s | target |\n"
        "|---|---|---|\n"
        f"| {median:,.0f} | {best:,.0f} | >= {TARGET_PER_S:,.0f} / s ({verdict}) |\n\n"
        f"Machine: Python {platform.python_version()} on {platform.machine()}, "
        "2 shared cores (other work running).\n"
    )
    print(text)
    write_section(HEADING, text)
    return 0 if median >= TARGET_PER_S else 1


if __name__ == "__main__":
    sys.exit(main())
