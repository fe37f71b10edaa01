"""BNR XML parsing and the choice of the rate for an issue date."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from stripe_efactura.invoicing.fx import BnrFormatError, choose_rate, parse_bnr_xml
from stripe_efactura.invoicing.model import FxInfo

# Hand-written samples in BNR's public format (values invented, shape as published).
DAILY = b"""<?xml version="1.0" encoding="utf-8"?>
<DataSet xmlns="http://www.bnr.ro/xsd" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
 xsi:schemaLocation="http://www.bnr.ro/xsd nbrfxrates.xsd">
  <Header>
    <Publisher>National Bank of Romania</Publisher>
    <PublishingDate>2026-11-20</PublishingDate>
    <MessageType>DR</MessageType>
  </Header>
  <Body>
    <Subject>Reference rates</Subject>
    <OrigCurrency>RON</OrigCurrency>
    <Cube date="2026-11-20">
      <Rate currency="EUR">5.0861</Rate>
      <Rate currency="USD">4.3912</Rate>
      <Rate currency="HUF" multiplier="100">1.3012</Rate>
      <Rate currency="JPY" multiplier="100">2.8500</Rate>
    </Cube>
  </Body>
</DataSet>
"""

ARCHIVE = b"""<?xml version="1.0" encoding="utf-8"?>
<DataSet xmlns="http://www.bnr.ro/xsd">
  <Header><Publisher>National Bank of Romania</Publisher>
    <PublishingDate>2026-11-23</PublishingDate><MessageType>DR</MessageType></Header>
  <Body>
    <Subject>Reference rates</Subject>
    <OrigCurrency>RON</OrigCurrency>
    <Cube date="2026-11-19">
      <Rate currency="EUR">5.0850</Rate><Rate currency="USD">4.3800</Rate>
    </Cube>
    <Cube date="2026-11-20">
      <Rate currency="EUR">5.0861</Rate><Rate currency="USD">4.3912</Rate>
    </Cube>
    <Cube date="2026-11-23"><Rate currency="EUR">5.0870</Rate><Rate currency="XDR">-</Rate></Cube>
  </Body>
</DataSet>
"""


def test_parse_daily_applies_multiplier() -> None:
    rates = parse_bnr_xml(DAILY)
    assert list(rates) == [date(2026, 11, 20)]
    day = rates[date(2026, 11, 20)]
    assert day["EUR"] == Decimal("5.0861")
    assert day["USD"] == Decimal("4.3912")
    assert day["HUF"] == Decimal("0.013012")
    assert day["JPY"] == Decimal("0.0285")


def test_parse_archive_all_days_and_skips_non_numbers() -> None:
    rates = parse_bnr_xml(ARCHIVE)
    assert sorted(rates) == [date(2026, 11, 19), date(2026, 11, 20), date(2026, 11, 23)]
    assert rates[date(2026, 11, 23)] == {"EUR": Decimal("5.0870")}


def test_parse_without_namespace_is_accepted() -> None:
    xml = (
        b'<DataSet><Body><Cube date="2026-01-05">'
        b'<Rate currency="eur">5.1</Rate></Cube></Body></DataSet>'
    )
    assert parse_bnr_xml(xml) == {date(2026, 1, 5): {"EUR": Decimal("5.1")}}


@pytest.mark.parametrize(
    "xml",
    [b"not xml", b"<DataSet/>", b'<DataSet><Cube date="yesterday"/></DataSet>'],
)
def test_parse_rejects_non_bnr_documents(xml: bytes) -> None:
    with pytest.raises(BnrFormatError):
        parse_bnr_xml(xml)


ARCH = parse_bnr_xml(ARCHIVE)


@pytest.mark.parametrize(
    ("issue", "currency", "expected"),
    [
        # Saturday 21 Nov: Friday's fixing; Monday 23 is known so the gap is proven.
        (date(2026, 11, 21), "EUR", FxInfo(Decimal("5.0861"), date(2026, 11, 20))),
        # Monday 23: still Friday's fixing (its own fixing is not used).
        (date(2026, 11, 23), "EUR", FxInfo(Decimal("5.0861"), date(2026, 11, 20))),
        # Friday 20: Thursday's fixing.
        (date(2026, 11, 20), "USD", FxInfo(Decimal("4.3800"), date(2026, 11, 19))),
        # Tuesday 24: Monday's fixing, newest in the data; no day in between.
        (date(2026, 11, 24), "EUR", FxInfo(Decimal("5.0870"), date(2026, 11, 23))),
        # Monday's fixing has no USD.
        (date(2026, 11, 24), "USD", None),
        # Nothing before the 19th.
        (date(2026, 11, 19), "EUR", None),
        # Thursday 26: Tuesday/Wednesday could be banking days: unproven.
        (date(2026, 11, 26), "EUR", None),
    ],
)
def test_choose_rate(issue: date, currency: str, expected: FxInfo | None) -> None:
    assert choose_rate(ARCH, currency, issue) == expected


def test_choose_rate_weekend_gap_from_daily_file() -> None:
    daily = parse_bnr_xml(DAILY)  # Friday 20 Nov only
    assert choose_rate(daily, "EUR", date(2026, 11, 23)) == FxInfo(
        Decimal("5.0861"), date(2026, 11, 20)
    )
    assert choose_rate(daily, "HUF", date(2026, 11, 22)) == FxInfo(
        Decimal("0.013012"), date(2026, 11, 20)
    )
    # Tuesday: Monday 23 may be a banking day whose fixing we lack.
    assert choose_rate(daily, "EUR", date(2026, 11, 24)) is None


def test_choose_rate_holidays_prove_the_gap() -> None:
    rates = {date(2026, 11, 27): {"EUR": Decimal("5.09")}}  # Friday
    # Monday 30 Nov (St Andrew) and Tuesday 1 Dec are public holidays in Romania.
    holidays = {date(2026, 11, 30), date(2026, 12, 1)}
    assert choose_rate(rates, "EUR", date(2026, 12, 2)) is None
    assert choose_rate(rates, "EUR", date(2026, 12, 2), holidays=holidays) == FxInfo(
        Decimal("5.09"), date(2026, 11, 27)
    )


def test_choose_rate_ron_is_one() -> None:
    assert choose_rate({}, "ron", date(2026, 1, 2)) == FxInfo(Decimal(1), date(2026, 1, 2))
