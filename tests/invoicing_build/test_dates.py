"""Issue dates (art. 319 Cod fiscal): the invoice is dated the day it is numbered; the payment
is the chargeable event that sets the VAT rate and is stated when it is earlier."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from stripe_efactura.config import Settings
from stripe_efactura.intake.draft import draft_of
from stripe_efactura.invoicing.build import build_invoice, issuing_deadline

from .conftest import make_sale

D = Decimal
JULY_2025 = datetime(2025, 7, 15, 9, 0, tzinfo=UTC)


def test_art_319_16_the_issuing_deadline_is_the_15th_of_the_next_month() -> None:
    assert issuing_deadline(date(2025, 7, 15)) == date(2025, 8, 15)
    assert issuing_deadline(date(2025, 12, 31)) == date(2026, 1, 15)
    assert issuing_deadline(date(2026, 1, 1)) == date(2026, 2, 15)


def test_art_319_20_d_a_payment_numbered_later_is_dated_that_day_at_its_own_rate(
    settings: Settings,
) -> None:
    """A July 2025 payment numbered on 1 Dec 2026: issue date 01.12.2026 (BT-2), the payment
    date as the chargeable event (BT-7), the 19 % rate in force on that day (art. 291 as it
    stood before Law 141/2025), and a warning that the art. 319 (16) deadline passed."""
    res = build_invoice(
        draft_of(make_sale(11900, paid_at=JULY_2025)),
        settings.invoicing,
        number="T1",
        fx=None,
        issued_on=date(2026, 12, 1),
    )
    assert res.invoice is not None, res.problems
    assert res.invoice.issue_date == date(2026, 12, 1)
    assert res.issue_date == date(2026, 12, 1)
    assert res.invoice.tax_point_date == date(2025, 7, 15)
    (b,) = res.invoice.vat_breakdown
    assert (b.tax.rate, b.taxable_amount, b.tax_amount) == (D(19), D("100.00"), D("19.00"))
    (late,) = res.warnings
    assert late.code == "P-ISSUED-LATE"
    assert late.message_ro == (
        "Plata din 15.07.2025 este facturată pe 01.12.2026, după termenul de emitere "
        "15.08.2025 (art. 319 alin. (16) Cod fiscal)."
    )
    assert late.message_en == (
        "The payment of 15.07.2025 is invoiced on 01.12.2026, after the issuing deadline "
        "15.08.2025 (art. 319 (16) of the Fiscal Code)."
    )


def test_art_319_16_numbered_before_the_15th_of_the_next_month_is_not_late(
    settings: Settings,
) -> None:
    res = build_invoice(
        draft_of(make_sale(12100, paid_at=datetime(2026, 10, 31, 12, 0, tzinfo=UTC))),
        settings.invoicing,
        number="T1",
        fx=None,
        issued_on=date(2026, 11, 15),
    )
    assert res.invoice is not None, res.problems
    assert (res.invoice.issue_date, res.invoice.tax_point_date) == (
        date(2026, 11, 15),
        date(2026, 10, 31),
    )
    assert res.warnings == ()


def test_numbered_on_the_payment_day_states_no_separate_payment_date(
    settings: Settings,
) -> None:
    paid = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    res = build_invoice(
        draft_of(make_sale(12100, paid_at=paid)),
        settings.invoicing,
        number="T1",
        fx=None,
        issued_on=date(2026, 11, 20),
    )
    assert res.invoice is not None
    assert (res.invoice.issue_date, res.invoice.tax_point_date) == (date(2026, 11, 20), None)


def test_an_invoice_is_never_dated_before_its_payment(settings: Settings) -> None:
    """A clock behind the payment's time stamp never dates an invoice before the payment."""
    paid = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    res = build_invoice(
        draft_of(make_sale(12100, paid_at=paid)),
        settings.invoicing,
        number="T1",
        fx=None,
        issued_on=date(2026, 11, 19),
    )
    assert res.invoice is not None
    assert (res.invoice.issue_date, res.invoice.tax_point_date) == (date(2026, 11, 20), None)
