"""Money: Decimal only, integer minor units at the Stripe boundary, Romanian formatting.

Stripe amounts are integers in the currency's minor unit; the exponent depends on the
currency (https://docs.stripe.com/currencies). Never divide by 100 blindly.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

ZERO_DECIMAL = frozenset(
    [
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "JPY",
        "KMF",
        "KRW",
        "MGA",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    ]
)
THREE_DECIMAL = frozenset(["BHD", "JOD", "KWD", "OMR", "TND"])
# ISK, HUF and TWD are special at Stripe: amounts are still given with 2 decimals in the
# API (e.g. 1000 = 10.00 HUF), although payouts are whole units. We keep exponent 2 for them.

CENT = Decimal("0.01")
ZERO = Decimal("0")


def exponent(currency: str) -> int:
    """Number of decimals of ``currency`` in Stripe's minor units."""
    code = currency.upper()
    if code in ZERO_DECIMAL:
        return 0
    if code in THREE_DECIMAL:
        return 3
    return 2


def quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-exponent(currency))


def from_minor(amount: int, currency: str) -> Decimal:
    """Stripe integer minor units -> Decimal in major units (exact)."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError(f"minor-unit amount must be an int, got {type(amount).__name__}")
    exp = exponent(currency)
    return (Decimal(amount).scaleb(-exp)).quantize(quantum(currency))


def round2(value: Decimal) -> Decimal:
    """EN 16931 document amounts: 2 decimals, half up (BR-DEC-*)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def parse_decimal(text: str) -> Decimal:
    """Parse a human-typed number: ``"232.0"``, ``"232,50"``, ``"1.234,50"``, ``"1,234.50"``.

    Raises ``ValueError`` on anything that is not a finite number.
    """
    s = text.strip().replace(" ", "").replace("\u00a0", "")
    if not s:
        raise ValueError("empty number")
    if "," in s and "." in s:
        if s.rfind(",") > s.rfind("."):
            s = s.replace(".", "").replace(",", ".")
        else:
            s = s.replace(",", "")
    elif "," in s:
        if s.count(",") > 1:
            raise ValueError(f"not a number: {text!r}")
        s = s.replace(",", ".")
    try:
        value = Decimal(s)
    except InvalidOperation as exc:
        raise ValueError(f"not a number: {text!r}") from exc
    if not value.is_finite():
        raise ValueError(f"not a finite number: {text!r}")
    return value


def format_ro(value: Decimal, places: int = 2) -> str:
    """Romanian number format: ``4855.5`` -> ``"4.855,50"``; ``-12`` -> ``"-12,00"``."""
    q = Decimal(1).scaleb(-places)
    v = value.quantize(q, rounding=ROUND_HALF_UP)
    sign = "-" if v < 0 else ""
    digits = f"{abs(v):f}"
    whole, _, frac = digits.partition(".")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    out = ".".join(groups)
    return f"{sign}{out},{frac}" if places > 0 else f"{sign}{out}"


def format_amount(value: Decimal, currency: str) -> str:
    """``format_ro`` with the currency's decimals and code: ``"1.234,50 RON"``."""
    return f"{format_ro(value, max(exponent(currency), 2))} {currency.upper()}"
