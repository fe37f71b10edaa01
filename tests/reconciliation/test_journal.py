"""The sales journal: RON amounts per VAT rate and category, stornos negative, totals to the ban."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import support
from stripe_efactura.app import journal as jr
from stripe_efactura.app import journal_files, periods
from stripe_efactura.app.context import build_context
from stripe_efactura.cli import main
from stripe_efactura.config import demo_settings
from stripe_efactura.invoicing.model import (
    FxInfo,
    Invoice,
    InvoiceLine,
    TaxClass,
    Totals,
    VatBreakdown,
    VatCategory,
)
from stripe_efactura.invoicing.storno import build_storno
from stripe_efactura.money import round2

from .books import seed

F = support.invoice_factory()
NOV = periods.month("2026-11")


def issued() -> list[tuple[object, str, str]]:
    return [
        (F.standard_invoice(), "ok", "pi_3QabcDEF123"),
        (F.storno_invoice(), "ok", "re_3QstornoXYZ"),
        (F.eur_invoice(), "ok", "pi_3QeurEUR777"),
        (F.reverse_charge_invoice(), "nok", "pi_3QrevCHG555"),
    ]


def test_rows_in_ron_per_rate_and_category() -> None:
    book = jr.build_journal(NOV, issued())  # type: ignore[arg-type]
    got = [(r.number, r.kind, r.corrects, r.bases, r.vats, r.total_ron) for r in book.rows]
    assert got == [
        (
            "SEF000123",
            "factură",
            "",
            {"S21": D("1600.00"), "S11": D("99.98")},
            {"S21": D("336.00"), "S11": D("11.00")},
            D("2046.98"),
        ),
        (
            "SEF000124",
            "storno",
            "SEF000123",
            {"S21": D("-100.00")},
            {"S21": D("-21.00")},
            D("-121.00"),
        ),
        # 242.00 EUR x 5.0876 = 1231.1992 -> 1231.20; VAT = BT-111 213.68; base the rest
        ("SEF000125", "factură", "", {"S21": D("1017.52")}, {"S21": D("213.68")}, D("1231.20")),
        # 1000.00 EUR x 5.0876, reverse charge
        ("SEF000126", "factură", "", {"AE": D("5087.60")}, {}, D("5087.60")),
    ]
    assert [(r.buyer_code, r.currency, r.rate) for r in book.rows] == [
        ("RO14399840", "RON", D(1)),
        ("RO14399840", "RON", D(1)),
        ("1900101400017", "EUR", D("5.0876")),
        ("DE123456789", "EUR", D("5.0876")),
    ]
    assert book.standard_rates == (D("21"), D("11"))
    assert book.totals == {
        "total_ron": D("8244.78"),
        "base:S21": D("2517.52"),
        "vat:S21": D("528.68"),
        "base:S11": D("99.98"),
        "vat:S11": D("11.00"),
        "base:AE": D("5087.60"),
    }
    assert book.vat_ron == D("539.68")


def test_csv_has_romanian_columns_and_a_total_row() -> None:
    book = jr.build_journal(NOV, issued())  # type: ignore[arg-type]
    data = journal_files.to_csv(book)
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][:12] == [
        "Nr. crt.",
        "Număr document",
        "Data",
        "Tip document",
        "Factura stornată",
        "Beneficiar",
        "CUI/CNP beneficiar",
        "Țara",
        "Moneda",
        "Curs BNR",
        "Total în valută",
        "Total document (RON)",
    ]
    assert rows[0][12:16] == ["Baza impozabilă 21%", "TVA 21%", "Baza impozabilă 11%", "TVA 11%"]
    assert rows[0][-3:] == ["Neimpozabile / în afara sferei TVA", "Stare ANAF", "Plată Stripe"]
    head = rows[0]
    storno = dict(zip(head, rows[2], strict=True))
    assert (storno["Total document (RON)"], storno["TVA 21%"], storno["Tip document"]) == (
        "-121.00",
        "-21.00",
        "storno",
    )
    total = dict(zip(head, rows[-1], strict=True))
    assert total["Nr. crt."] == "TOTAL"
    assert (total["Total document (RON)"], total["TVA 21%"], total["Taxare inversă"]) == (
        "8244.78",
        "528.68",
        "5087.60",
    )
    assert total["Total în valută"] == ""
    assert len(rows) == 6


def test_xlsx_has_numeric_cells_with_the_same_values() -> None:
    from openpyxl import load_workbook

    book = jr.build_journal(NOV, issued())  # type: ignore[arg-type]
    sheet = load_workbook(io.BytesIO(journal_files.to_xlsx(book))).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    head = list(values[0])
    last = dict(zip(head, values[-1], strict=True))
    assert last["Nr. crt."] == "TOTAL"
    assert D(str(last["Total document (RON)"])) == D("8244.78")
    eur = dict(zip(head, values[3], strict=True))
    assert isinstance(eur["TVA 21%"], float | int) and D(str(eur["TVA 21%"])) == D("213.68")
    assert sheet.cell(row=4, column=head.index("TVA 21%") + 1).number_format == "#,##0.00"


RATES = st.sampled_from([D("21"), D("11"), D("9"), D("5")])
CENTS = st.integers(min_value=1, max_value=5_000_000)


@st.composite
def fx_invoices(draw: st.DrawFn) -> Invoice:
    """EUR invoices with 1-3 VAT rates and a random BNR rate (4 decimals)."""
    rates = draw(st.lists(RATES, min_size=1, max_size=3, unique=True))
    breakdown = []
    for rate in rates:
        net = D(draw(CENTS)) / 100
        breakdown.append(
            VatBreakdown(TaxClass(VatCategory.STANDARD, rate), net, round2(net * rate / 100))
        )
    if draw(st.booleans()):
        breakdown.append(VatBreakdown(F.AE, D(draw(CENTS)) / 100, D("0.00")))
    fx = FxInfo(
        rate=D(draw(st.integers(min_value=10000, max_value=99999))) / 10000,
        rate_date=date(2026, 11, 20),
    )
    net = sum((b.taxable_amount for b in breakdown), D("0.00"))
    vat = sum((b.tax_amount for b in breakdown), D("0.00"))
    totals = Totals(net, net, vat, net + vat, D("0.00"), net + vat, round2(vat * fx.rate))
    lines = tuple(
        InvoiceLine(str(i), f"Linia {i}", D("1"), b.taxable_amount, b.taxable_amount, b.tax)
        for i, b in enumerate(breakdown, 1)
    )
    return replace(
        F.eur_invoice(), lines=lines, vat_breakdown=tuple(breakdown), totals=totals, fx=fx
    )


@settings(max_examples=150, deadline=None)
@given(fx_invoices())
def test_fx_rows_reconcile_to_the_invoice_to_the_ban(invoice: Invoice) -> None:
    bases, vats, total = jr.ron_amounts(invoice)
    inv = invoice
    assert inv.fx is not None
    rate = inv.fx.rate
    assert total == round2(inv.totals.tax_inclusive * rate)
    assert sum(vats.values()) == inv.totals.tax_total_ron
    assert sum(bases.values()) + sum(vats.values()) == total
    for b in inv.vat_breakdown:
        key = jr.rate_key(b.tax.rate) if b.tax.category is VatCategory.STANDARD else "AE"
        assert abs(bases[key] - b.taxable_amount * rate) <= D("0.03")
    # a full storno (same rate) gives exactly the negated row
    storno = build_storno(
        inv,
        amount=inv.totals.tax_inclusive,
        issue_date=date(2026, 11, 30),
        number="X1",
        reason=None,
    )
    s_bases, s_vats, s_total = jr.ron_amounts(storno)
    assert (s_total, s_vats) == (-total, {k: -v for k, v in vats.items()})
    assert s_bases == {k: -v for k, v in bases.items()}


def test_use_case_and_cli_read_the_period_of_live_invoices(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings_ = demo_settings(tmp_path, database_url=db_url)
    ctx = build_context(settings_)
    from stripe_efactura import app as use_cases

    use_cases.prepare(ctx)
    for invoice, state, _key in issued():
        seed(ctx, invoice, state=state)  # type: ignore[arg-type]
    outside = replace(
        F.long_invoice(3), number="SEF000200", issue_date=date(2026, 12, 1), payment_key="pi_dec"
    )
    seed(ctx, outside)
    seed(ctx, replace(F.long_invoice(2), number="SEF000201", payment_key="pi_test"), livemode=False)
    book = jr.sales_journal(ctx, NOV)
    assert [r.number for r in book.rows] == ["SEF000123", "SEF000124", "SEF000125", "SEF000126"]
    assert book.total_ron == D("8244.78")
    assert [r.number for r in jr.sales_journal(ctx, NOV, livemode=False).rows] == ["SEF000201"]
    ctx.close()

    config = tmp_path / "efactura.toml"
    from stripe_efactura.config import STARTER_TOML

    config.write_text(STARTER_TOML, encoding="utf-8")
    monkeypatch.setenv("EFACTURA_CONFIG", str(config))
    monkeypatch.setenv("EFACTURA_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("EFACTURA_DATABASE_URL", db_url)
    out_csv, out_xlsx = tmp_path / "j.csv", tmp_path / "j.xlsx"
    rc = main(["journal", "--period", "2026-11", "--csv", str(out_csv), "--xlsx", str(out_xlsx)])
    assert rc == 0
    rows = list(csv.reader(io.StringIO(out_csv.read_text(encoding="utf-8-sig"))))
    assert [r[1] for r in rows[1:]] == ["SEF000123", "SEF000124", "SEF000125", "SEF000126", ""]
    assert out_xlsx.read_bytes()[:2] == b"PK"
    assert main(["journal", "--period", "2026-13"]) == 2
    assert main(["journal", "--from", "2026-11-01", "--to", "2026-11-21", "--json"]) == 0
