"""The service period of subscription invoices (BG-14 invoicing period, BG-26 line period).

Legal basis: Fiscal Code art. 319 (20) d (the date of the supply, when it differs from the
issue date — for a continuous service, the period it covers, art. 281 (8)); EN 16931 BG-14
(BT-73/74) and BG-26 (BT-134/135), BR-29/BR-30 (end not before start), BR-CO-19/20.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

from lxml import etree
from pypdf import PdfReader

from stripe_efactura.config import Settings
from stripe_efactura.intake.draft import draft_of
from stripe_efactura.invoicing.build import build_invoice
from stripe_efactura.invoicing.model import Period
from stripe_efactura.pdf.render import render_pdf
from stripe_efactura.ubl.render import render

from .conftest import Validator, golden, make_sale

NS = {
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
}


def _ts(year: int, month: int, day: int, hour: int) -> int:
    return int(datetime(year, month, day, hour, tzinfo=UTC).timestamp())


SUBSCRIPTION = {
    "id": "in_1",
    "billing_reason": "subscription_cycle",
    "lines": {
        "data": [
            {
                "amount": 12100,
                "quantity": 1,
                "description": "1 × Plan Pro (at 121.00 lei / month)",
                "period": {"start": _ts(2026, 11, 20, 10), "end": _ts(2026, 12, 20, 10)},
            },
            {
                # an add-on started on the 25th, invoiced to the end of the cycle
                "amount": 2420,
                "quantity": 1,
                "description": "Utilizator suplimentar",
                # ends at midnight Bucharest (22:00 UTC): the last day covered is the 19th
                "period": {"start": _ts(2026, 11, 25, 8), "end": _ts(2026, 12, 19, 22)},
            },
        ]
    },
}


def test_subscription_invoice_carries_line_and_invoice_periods(
    settings: Settings, cius_ro: Validator, ubl_xsd: Validator
) -> None:
    """Art. 319 (20) d / art. 281 (8): a subscription names the period it invoices — each line
    its own (BG-26) and the invoice the whole span (BG-14), days in Europe/Bucharest."""
    sale = make_sale(14520, owner_type="invoice", invoice=SUBSCRIPTION)
    result = build_invoice(draft_of(sale), settings.invoicing, number="TST0000001", fx=None)
    assert result.problems == ()
    invoice = result.invoice
    assert invoice is not None
    assert [ln.period for ln in invoice.lines] == [
        Period(date(2026, 11, 20), date(2026, 12, 20)),
        Period(date(2026, 11, 25), date(2026, 12, 19)),
    ]
    assert invoice.period == Period(date(2026, 11, 20), date(2026, 12, 20))
    xml = render(invoice)
    doc = etree.fromstring(xml)
    assert doc.xpath("/*/cac:InvoicePeriod/cbc:StartDate/text()", namespaces=NS) == ["2026-11-20"]
    assert doc.xpath("/*/cac:InvoicePeriod/cbc:EndDate/text()", namespaces=NS) == ["2026-12-20"]
    assert doc.xpath("//cac:InvoiceLine/cac:InvoicePeriod/cbc:EndDate/text()", namespaces=NS) == [
        "2026-12-20",
        "2026-12-19",
    ]
    golden("subscription_service_period", xml)
    assert ubl_xsd(xml) == []
    assert cius_ro(xml) == []
    text = " ".join(
        " ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(render_pdf(invoice))).pages
    )
    assert "Perioada facturată: 20.11.2026 – 20.12.2026" in text
    assert "Perioada: 20.11.2026 – 20.12.2026" in text
    assert "Perioada: 25.11.2026 – 19.12.2026" in text


def test_lines_without_period_give_no_invoice_period(settings: Settings) -> None:
    """No period from Stripe (a one-off payment): neither BG-14 nor BG-26 is written."""
    result = build_invoice(draft_of(make_sale(12100)), settings.invoicing, number="T1", fx=None)
    assert result.invoice is not None
    assert result.invoice.period is None
    assert b"InvoicePeriod" not in render(result.invoice)


def test_malformed_period_is_ignored(settings: Settings) -> None:
    """An end before the start, or a non-number, is not a period (nothing is invented)."""
    bad = {
        "id": "in_1",
        "lines": {
            "data": [
                {"amount": 6050, "quantity": 1, "period": {"start": 200, "end": 100}},
                {"amount": 6050, "quantity": 1, "period": {"start": "x", "end": None}},
            ]
        },
    }
    sale = make_sale(12100, owner_type="invoice", invoice=bad)
    draft = draft_of(sale)
    assert [ln.period for ln in draft.lines.lines] == [None, None]
