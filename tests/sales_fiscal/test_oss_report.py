"""The quarterly One-Stop-Shop return (``oss-report``).

Legal basis: Directive 2006/112 art. 369f-369h (quarterly return in euro, per member state of
consumption and rate), art. 369h (2) (conversion at the ECB rate of the last day of the period,
or of the next publication day), art. 369e / Reg. 282/2011 (corrections of earlier periods in a
later return); Fiscal Code art. 315.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from stripe_efactura.app import oss_report as uc
from stripe_efactura.config import Settings
from stripe_efactura.intake.draft import draft_of
from stripe_efactura.invoicing.build import build_invoice
from stripe_efactura.invoicing.ecb import parse_ecb_xml, period_rate
from stripe_efactura.invoicing.model import FxInfo, Invoice, InvoiceKind, PrecedingInvoice

from .conftest import make_sale
from .test_oss_invoice import DE_CONSUMER, FR_CONSUMER, _line

# Q3 2026 ends Wednesday 30 September; this fake feed has no publication that day, so the
# next publication (1 October) is the one art. 369h (2) prescribes.
ECB_XML = b"""<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01"
    xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
  <gesmes:subject>Reference rates</gesmes:subject>
  <Cube>
    <Cube time="2026-10-01">
      <Cube currency="USD" rate="1.1700"/><Cube currency="RON" rate="5.1000"/>
    </Cube>
    <Cube time="2026-09-29">
      <Cube currency="USD" rate="1.1600"/><Cube currency="RON" rate="5.0000"/>
    </Cube>
  </Cube>
</gesmes:Envelope>
"""


def _invoice(
    settings: Settings,
    currency: str,
    buyer: dict[str, Any],
    rate: dict[str, Any],
    total: int,
    tax: int,
) -> Invoice:
    session = {"id": "cs_1", "mode": "payment", "payment_intent": "pi_1", "total_details": {}}
    sale = make_sale(
        total,
        currency,
        billing=buyer,
        owner_type="checkout_session",
        checkout_session=session,
        line_items=[_line(total, tax, rate)],
    )
    fx = FxInfo(D("5.0875"), date(2026, 11, 19)) if currency != "RON" else None
    result = build_invoice(draft_of(sale), settings.invoicing, number="T1", fx=fx)
    assert result.invoice is not None, result.problems
    return result.invoice


def _storno(inv: Invoice, original_day: date, part: D) -> Invoice:
    return replace(
        inv,
        kind=InvoiceKind.STORNO,
        preceding=(PrecedingInvoice("T0", original_day),),
        vat_breakdown=tuple(
            replace(
                b,
                taxable_amount=-(b.taxable_amount * part).quantize(D("0.01")),
                tax_amount=-(b.tax_amount * part).quantize(D("0.01")),
            )
            for b in inv.vat_breakdown
        ),
    )


DE19 = {"id": "txr_de19", "percentage": 19, "inclusive": True, "country": "DE"}
FR20 = {"id": "txr_fr20", "percentage": 20, "inclusive": True, "country": "FR"}
RO21 = {"id": "txr_ro21", "percentage": 21, "inclusive": True, "country": "RO"}


def test_ecb_rate_of_the_next_publication_day_when_the_last_day_has_none() -> None:
    rates = parse_ecb_xml(ECB_XML)
    assert period_rate(rates, "RON", date(2026, 9, 30)) == (D("5.1000"), date(2026, 10, 1))
    assert period_rate(rates, "EUR", date(2026, 9, 30)) == (D(1), date(2026, 9, 30))
    assert period_rate(rates, "RON", date(2026, 12, 31)) is None
    assert period_rate(rates, "KWD", date(2026, 9, 30)) is None


def test_quarter_return_per_member_state_and_rate_in_eur(settings: Settings) -> None:
    """Q3 2026: two German sales at 19 % (one in EUR, one in RON converted at the ECB's
    5.1000 of 1 October), a French one at 20 %, a refund of a Q3 German sale (netted) and one of
    a Q2 German sale (a correction of 2026Q2); a Romanian sale is not in the return."""
    de_eur = _invoice(settings, "EUR", DE_CONSUMER, DE19, 11900, 1900)  # 100.00 + 19.00 EUR
    de_ron = _invoice(settings, "RON", DE_CONSUMER, DE19, 59500, 9500)  # 500.00 + 95.00 RON
    fr_ron = _invoice(settings, "RON", FR_CONSUMER, FR20, 24000, 4000)  # 200.00 + 40.00 RON
    ro = _invoice(settings, "RON", DE_CONSUMER, RO21, 12100, 2100)
    back_q3 = _storno(de_eur, date(2026, 8, 3), D("0.5"))  # -50.00 / -9.50 EUR
    back_q2 = _storno(de_ron, date(2026, 6, 20), D("0.2"))  # -100.00 / -19.00 RON
    report = uc.build_report(
        uc.quarter("2026Q3"), [de_eur, de_ron, fr_ron, ro, back_q3, back_q2], parse_ecb_xml(ECB_XML)
    )
    assert report.rows == (
        # DE 19 %: EUR 100.00 - 50.00 = 50.00 / 9.50; RON 500.00 / 5.1 = 98.04, 95.00 / 5.1 = 18.63
        uc.OssRow("DE", D(19), D("148.04"), D("28.13"), 3),
        uc.OssRow("FR", D(20), D("39.22"), D("7.84"), 1),
    )
    assert report.corrections == (uc.OssRow("DE", D(19), D("-19.61"), D("-3.73"), 1, "2026Q2"),)
    assert report.rates == {
        "EUR": (D(1), date(2026, 9, 30)),
        "RON": (D("5.1000"), date(2026, 10, 1)),
    }
    assert report.total_vat_eur == D("32.24")
    assert uc.to_csv(report).decode() == (
        "member_state,rate,taxable_eur,vat_eur,documents,corrects\n"
        "DE,19,148.04,28.13,3,\n"
        "FR,20,39.22,7.84,1,\n"
        "DE,19,-19.61,-3.73,1,2026Q2\n"
    )


def test_missing_ecb_rate_is_a_coded_error(settings: Settings) -> None:
    de_ron = _invoice(settings, "RON", DE_CONSUMER, DE19, 59500, 9500)
    with pytest.raises(uc.OssReportError) as err:
        uc.build_report(uc.quarter("2026Q4"), [de_ron], parse_ecb_xml(ECB_XML))
    assert err.value.code == "E-OSS-REPORT"


@pytest.mark.parametrize("text", ["2026Q5", "2026", "Q3 2026", ""])
def test_bad_quarter_is_refused(text: str) -> None:
    with pytest.raises(uc.OssReportError):
        uc.quarter(text)


def test_quarter_bounds() -> None:
    q = uc.quarter("2026-q4")
    assert (q.label, q.start, q.end, q.last_day) == (
        "2026Q4",
        date(2026, 10, 1),
        date(2027, 1, 1),
        date(2026, 12, 31),
    )


def test_use_case_reads_the_issued_invoices_and_the_injected_rates(
    tmp_path: Path, db_url: str, validation_dir: Path
) -> None:
    """End to end: the NL sale issued (and not uploaded) in Q1 2026 is in that quarter's
    return, converted at the injected ECB rate of 31 March 2026; the CSV/JSON table agree."""
    from .test_oss_upload import _issue_ctx

    ctx = _issue_ctx(tmp_path, db_url, validation_dir, upload_oss=False)
    feed = (
        b'<E xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref"><Cube>'
        b'<Cube time="2026-03-31"><Cube currency="RON" rate="5.0000"/></Cube></Cube></E>'
    )
    calls: list[int] = []

    def rates() -> Any:
        calls.append(1)
        return parse_ecb_xml(feed)

    try:
        report = uc.oss_report(ctx, uc.quarter("2026Q1"), rates, livemode=True)
        empty = uc.oss_report(ctx, uc.quarter("2026Q2"), rates, livemode=True)
    finally:
        ctx.close()
    assert report.rows == (uc.OssRow("NL", D(21), D("20.00"), D("4.20"), 1),)
    assert empty.rows == () and calls == [1]  # no OSS sale: the ECB is not asked
    headers, rows = uc.report_table(report)
    assert json.loads(json.dumps([dict(zip(headers, r, strict=True)) for r in rows])) == [
        {
            "member_state": "NL",
            "rate": "21",
            "taxable_eur": "20.00",
            "vat_eur": "4.20",
            "documents": "1",
            "corrects": "",
        }
    ]


def test_cli_oss_report_json_and_csv(
    tmp_path: Path,
    db_url: str,
    validation_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``stripe-efactura oss-report --quarter 2026Q1 --json --csv F --ecb-file X``: the same
    numbers as the use case, from a saved ECB file (no network)."""
    from stripe_efactura.cli import main
    from stripe_efactura.config import STARTER_TOML

    from .test_oss_upload import _issue_ctx

    _issue_ctx(tmp_path, db_url, validation_dir, upload_oss=False).close()
    ecb = tmp_path / "eurofxref.xml"
    ecb.write_bytes(
        b'<E xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref"><Cube>'
        b'<Cube time="2026-03-31"><Cube currency="RON" rate="5.0000"/></Cube></Cube></E>'
    )
    config = tmp_path / "efactura.toml"
    config.write_text(STARTER_TOML, encoding="utf-8")
    monkeypatch.setenv("EFACTURA_CONFIG", str(config))
    monkeypatch.setenv("EFACTURA_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("EFACTURA_DATABASE_URL", db_url)
    out_csv = tmp_path / "oss.csv"
    capsys.readouterr()
    args = ["oss-report", "--quarter", "2026Q1", "--json", "--csv", str(out_csv)]
    assert main([*args, "--ecb-file", str(ecb)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == {
        "quarter": "2026Q1",
        "rates": {"RON": {"rate": "5.0000", "date": "2026-03-31"}},
        "rows": [
            {
                "member_state": "NL",
                "rate": "21",
                "taxable_eur": "20.00",
                "vat_eur": "4.20",
                "documents": "1",
                "corrects": "",
            }
        ],
        "total_vat_eur": "4.20",
    }
    assert out_csv.read_text(encoding="utf-8") == (
        "member_state,rate,taxable_eur,vat_eur,documents,corrects\nNL,21,20.00,4.20,1,\n"
    )
    assert main(["oss-report", "--quarter", "2026Q5", "--ecb-file", str(ecb)]) == 2
