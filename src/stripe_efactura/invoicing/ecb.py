"""ECB euro reference rates for the One-Stop-Shop return (pure: parsing and choosing).

The OSS return is in euro. Amounts invoiced in another currency are converted "using the
exchange rate published by the European Central Bank for the last day of the tax period or, if
there is no publication on that day, on the next day of publication" (Directive 2006/112
art. 369h (2) for the Union scheme, art. 366 (1) for the non-Union scheme). The ECB publishes
its reference rates as XML (``eurofxref-daily.xml``, ``eurofxref-hist-90d.xml``,
``eurofxref-hist.xml`` under ``https://www.ecb.europa.eu/stats/eurofxref/``): for each day,
units of each currency per 1 EUR (``<Cube time="2026-09-30"><Cube currency="RON"
rate="5.0875"/>``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation

from lxml import etree

from ..errors import EfacturaError

EcbRates = Mapping[date, Mapping[str, Decimal]]
"""Publication day -> currency -> units of the currency per 1 EUR."""


class EcbRatesError(EfacturaError):
    code = "E-ECB-RATES"


def parse_ecb_xml(data: bytes) -> dict[date, dict[str, Decimal]]:
    """The rates of an ECB eurofxref XML file (daily, 90 days or the whole history)."""
    try:
        root = etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False))
    except etree.XMLSyntaxError as exc:
        raise EcbRatesError(f"the ECB rates are not XML: {exc}") from exc
    out: dict[date, dict[str, Decimal]] = {}
    for day in root.iter("{*}Cube"):
        when = day.get("time")
        if not when:
            continue
        rates: dict[str, Decimal] = {}
        for cube in day.iter("{*}Cube"):
            currency, rate = cube.get("currency"), cube.get("rate")
            if currency and rate:
                try:
                    rates[currency.upper()] = Decimal(rate)
                except InvalidOperation as exc:
                    raise EcbRatesError(f"ECB rate {currency} {rate!r} is not a number") from exc
        try:
            out[date.fromisoformat(when)] = rates
        except ValueError as exc:
            raise EcbRatesError(f"ECB day {when!r} is not a date") from exc
    return out


def period_rate(rates: EcbRates, currency: str, last_day: date) -> tuple[Decimal, date] | None:
    """Units of ``currency`` per 1 EUR for a period ending ``last_day``: the publication of that
    day, else of the next publication day (art. 369h (2)). ``None`` when not published yet.
    EUR is 1."""
    code = currency.upper()
    if code == "EUR":
        return Decimal(1), last_day
    for day in sorted(d for d in rates if d >= last_day):
        if code in rates[day]:
            return rates[day][code], day
        if rates[day]:
            return None  # published that day, but not this currency
    return None
