"""BNR reference rates: parse BNR's XML and choose the rate for an invoice (pure).

BNR publishes its reference rates every banking day at about 13:00 in
``https://www.bnr.ro/nbrfxrates.xml`` (the latest day only), ``nbrfxrates10days.xml`` and the
yearly archives ``nbrfxrates<YYYY>.xml``. All share one shape (namespace
``http://www.bnr.ro/xsd``)::

    <DataSet xmlns="http://www.bnr.ro/xsd">
      <Header>…<PublishingDate>2026-11-20</PublishingDate>…</Header>
      <Body>
        <OrigCurrency>RON</OrigCurrency>
        <Cube date="2026-11-20">
          <Rate currency="EUR">5.0861</Rate>
          <Rate currency="HUF" multiplier="100">1.3012</Rate>
        </Cube>
        …
      </Body>
    </DataSet>

``Cube/@date`` is the publication date. A ``multiplier`` means the value is for that many
units (100 HUF, 100 JPY, …); :func:`parse_bnr_xml` divides it out, so every rate is RON per
**one** unit.

**Which rate an invoice uses** (:func:`choose_rate`): the rate BNR published on the last
banking day *before* the issue date. BNR's daily fixing is published around 13:00 and is the
rate in force from then until the next fixing, so the rate that is valid for the whole issue
date — the one the Fiscal Code (art. 290) prescribes for the VAT stated in lei — is the previous
banking day's fixing. The issue date's own fixing is never used, even when it is already
published, so an invoice issued at 09:00 and one issued at 15:00 on the same day use the same
rate. When the data does not prove which fixing is the last one before the issue date (the
newest fixing in ``rates`` is older and a weekday in between could be a banking day), no rate
is returned: the caller fetches fresher data (or the yearly archive) and retries. It never
guesses.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from lxml import etree

from .model import FxInfo

BNR_NAMESPACE = "http://www.bnr.ro/xsd"

_BNR_LIST = (
    "AED AUD BGN BRL CAD CHF CNY CZK DKK EGP EUR GBP HKD HUF IDR ILS INR ISK JPY KRW MDL MXN "
    "MYR NOK NZD PHP PLN RSD RUB SEK SGD THB TRY UAH USD XAU XDR ZAR"
)
BNR_CURRENCIES = frozenset(_BNR_LIST.split())
"""Currencies in BNR's daily reference list (2024–2026)."""

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


class BnrFormatError(ValueError):
    """The bytes are not a BNR rates document."""


def _local(tag: object) -> str:
    text = tag if isinstance(tag, str) else ""
    return text.rsplit("}", 1)[-1]


def parse_bnr_xml(xml: bytes) -> dict[date, dict[str, Decimal]]:
    """Rates by publication date, each ``{currency: RON per 1 unit}``.

    Accepts the daily file and the yearly archives. Rates that are not numbers are skipped.
    Raises :class:`BnrFormatError` when the document is not well-formed XML or has no ``Cube``.
    """
    try:
        root = etree.fromstring(xml, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise BnrFormatError(f"BNR rates are not well-formed XML: {exc}") from exc
    out: dict[date, dict[str, Decimal]] = {}
    found = False
    for cube in root.iter():
        if _local(cube.tag) != "Cube":
            continue
        found = True
        try:
            day = date.fromisoformat((cube.get("date") or "").strip())
        except ValueError as exc:
            raise BnrFormatError(f"Cube without a valid date: {cube.get('date')!r}") from exc
        rates = out.setdefault(day, {})
        for rate in cube:
            if _local(rate.tag) != "Rate":
                continue
            currency = (rate.get("currency") or "").strip().upper()
            try:
                value = Decimal((rate.text or "").strip())
                multiplier = Decimal((rate.get("multiplier") or "1").strip())
            except InvalidOperation:
                continue
            if len(currency) != 3 or not value.is_finite() or value <= 0 or multiplier <= 0:
                continue
            rates[currency] = value / multiplier if multiplier != 1 else value
    if not found:
        raise BnrFormatError("no <Cube> element: not a BNR rates document")
    return out


def _banking_gap_certain(last: date, issue_date: date, holidays: Collection[date]) -> bool:
    """True when every day strictly between ``last`` and ``issue_date`` is not a banking day."""
    day = last + timedelta(days=1)
    while day < issue_date:
        if day.weekday() < 5 and day not in holidays:
            return False
        day += timedelta(days=1)
    return True


def choose_rate(
    rates: Mapping[date, Mapping[str, Decimal]],
    currency: str,
    issue_date: date,
    *,
    holidays: Collection[date] = (),
) -> FxInfo | None:
    """The BNR rate for an invoice in ``currency`` issued on ``issue_date``, or ``None``.

    Picks the newest publication date strictly before ``issue_date`` (see the module docs).
    Returns ``None`` (the caller waits and retries) when that fixing lacks ``currency`` or
    when the data cannot prove it is the last fixing before the issue date: that is proven
    when ``rates`` also holds a fixing on or after the issue date, or when every day in between
    is a weekend day or one of ``holidays`` (Romanian public holidays, given by the caller).
    ``rates`` must be a gap-free series (one BNR file, or archives merged whole).
    ``RON`` gets rate 1 dated the issue date.
    """
    code = currency.upper()
    if code == "RON":
        return FxInfo(rate=Decimal(1), rate_date=issue_date)
    before = [d for d in rates if d < issue_date]
    if not before:
        return None
    last = max(before)
    newer_known = any(d >= issue_date for d in rates)
    if not newer_known and not _banking_gap_certain(last, issue_date, holidays):
        return None
    value = rates[last].get(code)
    if value is None:
        return None
    return FxInfo(rate=value, rate_date=last, source="BNR")
