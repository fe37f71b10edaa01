"""Formatting of the invoice PDF (pure): dates, quantities, addresses, VAT amounts."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import Decimal

from ..invoicing.model import Address, Invoice, Period, TaxClass, VatCategory
from ..money import format_ro, round2
from .labels import COUNTRY_NAMES, COUNTY_NAMES, SECTOR, VAT_LABELS

_SERIES_NUMBER = re.compile(r"^(\D+?)[\s-]*(\d+)$")


def format_date(value: date) -> str:
    """``date(2026, 11, 21)`` -> ``"21.11.2026"``."""
    return f"{value.day:02d}.{value.month:02d}.{value.year:04d}"


def period_text(period: Period) -> str:
    """``20.11.2026 – 19.12.2026`` (one day: just that day)."""
    if period.start == period.end:
        return format_date(period.start)
    return f"{format_date(period.start)} – {format_date(period.end)}"


def decimals(value: Decimal) -> int:
    exp = value.normalize().as_tuple().exponent
    return max(0, -exp) if isinstance(exp, int) else 0


def qty(value: Decimal) -> str:
    return format_ro(value, min(decimals(value), 6))


def price(value: Decimal) -> str:
    return format_ro(value, max(2, min(decimals(value), 6)))


def rate_label(value: Decimal) -> str:
    return f"{format_ro(value, min(decimals(value), 2))}%"


def vat_label(tax: TaxClass) -> str:
    if tax.category in (VatCategory.STANDARD, VatCategory.ZERO):
        return rate_label(tax.rate)
    return VAT_LABELS.get(tax.category, tax.category.value)


def format_address(address: Address) -> str:
    """One line: street, (sector,) city, county, postal code, country — in Romanian.

    A part already said by an earlier one (``Sector 3`` in the street line and the city,
    ``Berlin`` as city and state) is written once.
    """
    parts = [address.line1.strip()]
    if address.line2 and address.line2.strip():
        parts.append(address.line2.strip())
    parts.extend(_locality_parts(address))
    if address.postal_code and address.postal_code.strip():
        parts.append(address.postal_code.strip())
    country = address.country.upper()
    parts.append(COUNTRY_NAMES.get(country, country))
    return ", ".join(_without_repeats(parts))


def _locality_parts(address: Address) -> list[str]:
    sector = SECTOR.match(address.city or "")
    if sector:
        return [f"Sector {sector.group(1)}", "București"]
    parts: list[str] = []
    if address.city and address.city.strip():
        parts.append(address.city.strip())
    county = address.county.strip() if address.county else ""
    county_name = COUNTY_NAMES.get(county.upper(), county) if county else ""
    if not county_name:
        return parts
    if county.upper() == "RO-B":
        if "bucure" not in (address.city or "").lower():
            parts.append("București")
    elif address.country.upper() == "RO":
        parts.append(f"jud. {county_name}")
    else:
        parts.append(county_name)
    return parts


def _address_key(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch))
    return " ".join(re.sub(r"(?i)^sector\s*", "sector ", plain).casefold().split())


def _without_repeats(parts: list[str]) -> list[str]:
    """``parts`` without empty ones and without a part that an earlier one already holds
    (as a whole or as one of its comma-separated pieces), compared without case and
    diacritics."""
    seen: set[str] = set()
    out: list[str] = []
    for part in parts:
        key = _address_key(part)
        if not key or key in seen:
            continue
        out.append(part)
        seen.add(key)
        seen.update(_address_key(piece) for piece in part.split(","))
    return out


def series_and_number(number: str) -> str:
    match = _SERIES_NUMBER.match(number)
    if match:
        return f"Seria {match.group(1)} nr. {match.group(2)}"
    return f"Nr. {number}"


def line_vat_amounts(invoice: Invoice) -> tuple[Decimal, ...] | None:
    """VAT of every line as ``round2(net × rate / 100)``, or ``None`` when the lines of some
    (category, rate) do not add up to that rate's VAT in the breakdown (BT-117).

    A line's VAT is never adjusted to absorb a rounding difference: the invoice then shows the
    VAT per rate only and drops the per-line column, so that every VAT amount printed equals
    its base × rate.
    """
    raw = [round2(line.net_amount * line.tax.rate / Decimal(100)) for line in invoice.lines]
    groups: dict[tuple[VatCategory, Decimal], list[int]] = {}
    for idx, line in enumerate(invoice.lines):
        groups.setdefault((line.tax.category, line.tax.rate), []).append(idx)
    for item in invoice.vat_breakdown:
        members = groups.get((item.tax.category, item.tax.rate))
        if members and item.tax_amount != sum((raw[i] for i in members), Decimal("0.00")):
            return None
    return tuple(raw)


def vat_in_ron_by_rate(invoice: Invoice) -> tuple[Decimal, ...] | None:
    """The VAT of every breakdown row in lei (art. 319 (20) j), for an invoice in another
    currency with an exchange rate; ``None`` otherwise.

    Each row is ``round2(VAT × rate)``; a rounding difference against the VAT total in lei
    (BT-111) goes to the row with the most VAT, so that the rows add up to BT-111.
    """
    fx = invoice.fx
    if invoice.currency.upper() == "RON" or fx is None or not invoice.vat_breakdown:
        return None
    rows = [round2(item.tax_amount * fx.rate) for item in invoice.vat_breakdown]
    total = invoice.totals.tax_total_ron
    if total is None:
        total = round2(invoice.totals.tax_total * fx.rate)
    diff = total - sum(rows, Decimal("0.00"))
    if diff:
        biggest = max(
            range(len(rows)), key=lambda i: (abs(invoice.vat_breakdown[i].tax_amount), -i)
        )
        rows[biggest] += diff
    return tuple(rows)
