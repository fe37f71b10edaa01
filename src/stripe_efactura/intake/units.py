"""Free-text units of measure (Stripe's ``amount_details.line_items[].unit_of_measure``) as
UN/ECE Recommendation 20 codes (BT-130, checked by the CIUS-RO rule BR-CL-23).

Shops write what their catalogue says ("buc", "pcs", "kg", "oră"); ANAF accepts only the
recommendation's codes. A value already written as a code (two or three capitals or digits,
``KGM``, ``H87``, ``XBX``) is kept as it is and checked by the official rules before any number
is taken; a known word becomes its code; anything else is counted as pieces (``H87``).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

PIECE: Final = "H87"

_CODE = re.compile(r"[A-Z0-9]{2,3}")

_WORDS: Final[dict[str, str]] = {
    **dict.fromkeys(
        ("buc", "bucata", "bucati", "bc", "pc", "pcs", "piece", "pieces", "unit", "units",
         "unitate", "unitati", "ea", "each", "item", "items", "articol", "articole", "x"),
        PIECE,
    ),
    **dict.fromkeys(("kg", "kilogram", "kilograme", "kilogramme", "kgs"), "KGM"),
    **dict.fromkeys(("g", "gr", "gram", "grame", "grams"), "GRM"),
    **dict.fromkeys(("t", "tona", "tone", "tonne", "tonnes"), "TNE"),
    **dict.fromkeys(("l", "litru", "litri", "litre", "litres", "liter", "liters"), "LTR"),
    **dict.fromkeys(("ml", "mililitru", "mililitri", "millilitre", "milliliter"), "MLT"),
    **dict.fromkeys(("m", "metru", "metri", "metre", "metres", "meter", "meters"), "MTR"),
    **dict.fromkeys(("km", "kilometru", "kilometri", "kilometre", "kilometer"), "KMT"),
    **dict.fromkeys(("mp", "m2", "metru patrat", "metri patrati", "sqm"), "MTK"),
    **dict.fromkeys(("mc", "m3", "metru cub", "metri cubi", "cbm"), "MTQ"),
    **dict.fromkeys(("ora", "ore", "h", "hr", "hour", "hours"), "HUR"),
    **dict.fromkeys(("min", "minut", "minute", "minutes"), "MIN"),
    **dict.fromkeys(("zi", "zile", "day", "days"), "DAY"),
    **dict.fromkeys(("saptamana", "saptamani", "sapt", "week", "weeks"), "WEE"),
    **dict.fromkeys(("luna", "luni", "month", "months"), "MON"),
    **dict.fromkeys(("an", "ani", "year", "years"), "ANN"),
    **dict.fromkeys(("set", "seturi", "sets", "kit"), "SET"),
    **dict.fromkeys(("pereche", "perechi", "pair", "pairs"), "PR"),
    **dict.fromkeys(("kwh",), "KWH"),
    **dict.fromkeys(("serviciu", "servicii", "service", "services", "serv"), "E48"),
    **dict.fromkeys(("activitate", "activity", "act"), "ACT"),
    **dict.fromkeys(("cutie", "cutii", "box", "boxes"), "XBX"),
    **dict.fromkeys(("pachet", "pachete", "pack", "package", "packages", "pkg"), "XPK"),
    **dict.fromkeys(("sticla", "sticle", "bottle", "bottles"), "XBO"),
    **dict.fromkeys(("rola", "role", "roll", "rolls"), "XRO"),
    **dict.fromkeys(("licenta", "licente", "licence", "license", "licenses"), "C62"),
}  # fmt: skip


def _folded(text: str) -> str:
    """Lower case, diacritics dropped (``²``/``³`` read as digits), no trailing dot or extra
    space."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return " ".join(plain.lower().strip().removesuffix(".").split())


def unit_code(text: str | None) -> str:
    """The UN/ECE rec. 20 code for a shop's unit of measure (``H87`` when none is given)."""
    if not text or not text.strip():
        return PIECE
    raw = text.strip()
    if _CODE.fullmatch(raw):
        return raw
    return _WORDS.get(_folded(raw), PIECE)
