"""Romanian identifiers and addresses: CUI, CNP, EU VAT ids, counties, Bucharest sectors.

Pure functions, no I/O. Every normaliser takes whatever a buyer typed into Stripe Checkout (or a
merchant put into metadata) and returns a canonical value, or ``None`` when the input cannot be
understood; none of them raises on odd input. The rules are documented in ``docs/romania.md``.

- CUI/CIF (``cod unic de înregistrare``): 2-10 digits, the last one a check digit computed with
  the key ``753217532`` (:func:`validate_cui`).
- CNP (``cod numeric personal``): 13 digits ``S AA LL ZZ JJ NNN C``, check digit with the key
  ``279146358279`` (:func:`validate_cnp`).
- EU VAT ids: per-state format table, ``EL`` for Greece, ``XI`` for Northern Ireland; Romanian
  ids also pass the CUI check (:func:`normalize_vat_id`).
- Counties: ISO 3166-2:RO (``RO-CJ``; Bucharest ``RO-B``) as CIUS-RO BR-RO-110/111 want
  (:func:`county_code`); Bucharest addresses carry ``SECTOR1``..``SECTOR6`` as the city
  (BR-RO-100/101, :func:`bucharest_sector`, :func:`normalize_ro_address`).
"""

from __future__ import annotations

import re
from types import MappingProxyType

from stripe_efactura.invoicing.countries import EU_MEMBERS, is_eu, normalize_country
from stripe_efactura.invoicing.ro_address import (
    COUNTIES,
    bucharest_sector,
    county_code,
    county_name,
    normalize_ro_address,
    sector_from_postal_code,
)

__all__ = [
    "COUNTIES",
    "VAT_ID_PATTERNS",
    "bucharest_sector",
    "county_code",
    "county_name",
    "is_eu",
    "normalize_country",
    "normalize_ro_address",
    "normalize_vat_id",
    "sector_from_postal_code",
    "validate_cnp",
    "validate_cui",
]

# --------------------------------------------------------------------------------------------
# CUI / CIF

_CUI_KEY = (7, 5, 3, 2, 1, 7, 5, 3, 2)
_CUI_LABEL = re.compile(r"^\s*(?:c\.?\s*u\.?\s*i\.?|c\.?\s*i\.?\s*f\.?|cod\s+fiscal)\s*:?\s*", re.I)
_ID_SEPARATORS = re.compile(r"[\s.\-_/,]+")


def _cui_check_digit(body: str) -> int:
    """The check digit of a CUI body (the digits before the check digit, at most 9)."""
    padded = body.rjust(9, "0")
    total = sum(int(d) * k for d, k in zip(padded, _CUI_KEY, strict=True))
    return total * 10 % 11 % 10


def validate_cui(text: str | None) -> str | None:
    """The CUI digits when ``text`` is a Romanian CUI/CIF with a valid check digit, else None.

    Accepts an optional ``RO`` prefix (any case), a ``CUI``/``CIF``/``Cod fiscal`` label, spaces,
    dots and hyphens: ``'RO 18547290'``, ``'ro18547290'``, ``'18.547.290'``, ``'CIF: RO18547290'``
    all give ``'18547290'``. A CUI has 2 to 10 digits and never starts with 0.
    """
    if not text:
        return None
    raw = _CUI_LABEL.sub("", text.strip())
    if raw[:2].upper() == "RO":
        raw = raw[2:]
    digits = _ID_SEPARATORS.sub("", raw)
    if not (digits.isascii() and digits.isdigit()) or not 2 <= len(digits) <= 10:
        return None
    if digits[0] == "0":
        return None
    if _cui_check_digit(digits[:-1]) != int(digits[-1]):
        return None
    return digits


# --------------------------------------------------------------------------------------------
# CNP

_CNP_KEY = (2, 7, 9, 1, 4, 6, 3, 5, 8, 2, 7, 9)
_CNP_CENTURY: MappingProxyType[str, tuple[int, ...]] = MappingProxyType(
    {
        "1": (1900,),
        "2": (1900,),
        "3": (1800,),
        "4": (1800,),
        "5": (2000,),
        "6": (2000,),
        # Foreign residents (7, 8) and foreign persons (9): the century is not encoded, so the
        # date must be valid in the 1900s or the 2000s.
        "7": (1900, 2000),
        "8": (1900, 2000),
        "9": (1900, 2000),
    }
)


def cnp_check_digit(first12: str) -> int:
    """The check digit of a CNP from its first 12 digits."""
    total = sum(int(d) * k for d, k in zip(first12, _CNP_KEY, strict=True))
    rest = total % 11
    return 1 if rest == 10 else rest


def _valid_date(year: int, month: int, day: int) -> bool:
    if not 1 <= month <= 12 or day < 1:
        return False
    if month == 2:
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        return day <= (29 if leap else 28)
    return day <= (30 if month in (4, 6, 9, 11) else 31)


def validate_cnp(text: str | None) -> str | None:
    """The 13 digits when ``text`` is a plausible CNP with a valid check digit, else None.

    Checks: 13 digits (spaces allowed around and between), sex/century digit 1-9, a real
    birth date (for 7/8/9, valid in the 1900s or the 2000s), and the check digit. The county
    digits (JJ) and the serial (NNN) are not checked: their allotment rules changed over time.
    ``0000000000000`` (the ANAF placeholder for a consumer without CNP) is not a CNP.
    """
    if not text:
        return None
    digits = re.sub(r"\s+", "", text)
    if len(digits) != 13 or not (digits.isascii() and digits.isdigit()):
        return None
    centuries = _CNP_CENTURY.get(digits[0])
    if centuries is None:
        return None
    yy, mm, dd = int(digits[1:3]), int(digits[3:5]), int(digits[5:7])
    if not any(_valid_date(century + yy, mm, dd) for century in centuries):
        return None
    if cnp_check_digit(digits[:12]) != int(digits[12]):
        return None
    return digits


# --------------------------------------------------------------------------------------------
# EU VAT identifiers

VAT_ID_PATTERNS: MappingProxyType[str, re.Pattern[str]] = MappingProxyType(
    {
        prefix: re.compile(pattern)
        for prefix, pattern in {
            "AT": r"U\d{8}",
            "BE": r"[01]\d{9}",
            "BG": r"\d{9,10}",
            "CY": r"\d{8}[A-Z]",
            "CZ": r"\d{8,10}",
            "DE": r"\d{9}",
            "DK": r"\d{8}",
            "EE": r"\d{9}",
            "EL": r"\d{9}",
            "ES": r"[A-Z]\d{7}[A-Z0-9]|\d{8}[A-Z]",
            "FI": r"\d{8}",
            "FR": r"[0-9A-HJ-NP-Z]{2}\d{9}",
            "HR": r"\d{11}",
            "HU": r"\d{8}",
            "IE": r"\d{7}[A-W][A-IW]?|\d[A-Z+*]\d{5}[A-W]",
            "IT": r"\d{11}",
            "LT": r"\d{9}|\d{12}",
            "LU": r"\d{8}",
            "LV": r"\d{11}",
            "MT": r"\d{8}",
            "NL": r"\d{9}B\d{2}",
            "PL": r"\d{10}",
            "PT": r"\d{9}",
            "RO": r"[1-9]\d{1,9}",
            "SE": r"\d{10}01",
            "SI": r"\d{8}",
            "SK": r"\d{10}",
            "XI": r"\d{9}|\d{12}|GD\d{3}|HA\d{3}",
        }.items()
    }
)
"""VAT id prefix -> pattern of the part after the prefix (VIES formats)."""

_VAT_PREFIX_ALIASES = MappingProxyType({"GR": "EL"})


def _vat_prefix_for_country(country: str | None) -> str | None:
    if not country:
        return None
    up = country.strip().upper()
    if up in ("EL", "XI"):
        return up
    code = normalize_country(country)
    if code is None:
        return None
    return "EL" if code == "GR" else code if code in EU_MEMBERS else None


def normalize_vat_id(text: str | None, country: str | None = None) -> str | None:
    """An EU VAT id as ``PREFIX`` + number (``'DE123456789'``), or None when malformed.

    The prefix comes from the text (``'de 123 456 789'``) or, when the text has none, from
    ``country`` (ISO code or name; Greece is ``EL``, ``GR`` is accepted as an alias). A prefix
    written in the text wins over ``country``. Spaces, dots, hyphens, slashes and commas are
    dropped. Only the format is checked (VIES patterns), except for Romania where the CUI check
    digit must also be right. Non-EU identifiers give None.
    """
    if not text:
        return None
    compact = _ID_SEPARATORS.sub("", text.strip()).upper()
    if not compact.isascii():
        return None
    head = compact[:2]
    head = _VAT_PREFIX_ALIASES.get(head, head)
    if head in VAT_ID_PATTERNS:
        prefix, number = head, compact[2:]
    elif head.isalpha() and len(head) == 2 and not _looks_like_prefixless(compact, country):
        return None
    else:
        found = _vat_prefix_for_country(country)
        if found is None:
            return None
        prefix, number = found, compact
    if not VAT_ID_PATTERNS[prefix].fullmatch(number):
        return None
    if prefix == "RO" and validate_cui(number) is None:
        return None
    return prefix + number


def _looks_like_prefixless(compact: str, country: str | None) -> bool:
    """Numbers that start with two letters without a prefix: French keys, Austrian ``U``."""
    prefix = _vat_prefix_for_country(country)
    return prefix is not None and bool(VAT_ID_PATTERNS[prefix].fullmatch(compact))
