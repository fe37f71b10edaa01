"""The text, number and XML-writing primitives of the UBL renderer (:mod:`.render`): text
normalised and cut to the CIUS-RO limits, amounts and dates in UBL's lexical forms, and an
append-only pretty printer."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from stripe_efactura.errors import EfacturaError
from stripe_efactura.money import CENT

ELLIPSIS = "…"
_INVALID_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_SPACES = re.compile(r"\s+")
_ZWJ = "\u200d"
_TRAILING_PUNCT = " ,;:.-–—/"


class RenderError(EfacturaError):
    """The Invoice cannot be written as a CIUS-RO document (a builder bug, not user data)."""

    code = "E-UBL-RENDER"


# --- text --------------------------------------------------------------------------------


def clean_text(text: str) -> str:
    """NFC, drop characters XML 1.0 forbids, collapse whitespace like XPath normalize-space."""
    text = _INVALID_XML.sub("", unicodedata.normalize("NFC", text))
    return _SPACES.sub(" ", text).strip()


def _glued(text: str, i: int) -> bool:
    """True when ``text[i]`` belongs to the character before it (mark, joiner, modifier)."""
    ch = text[i]
    if unicodedata.category(ch) in ("Mn", "Mc", "Me", "Sk") and not ch.isascii():
        return True
    return ch == _ZWJ or text[i - 1] == _ZWJ


def _safe_cut(text: str, cut: int) -> int:
    """Move ``cut`` left until it does not split a character from its marks or joiners."""
    while 0 < cut < len(text) and _glued(text, cut):
        cut -= 1
    return cut


def truncate_text(text: str, limit: int, *, ellipsis: bool = True) -> str:
    """``clean_text`` then cut to at most ``limit`` characters.

    With ``ellipsis`` the text is cut at the last word boundary (when one lies in the last
    third of the allowed length, else mid-word), trailing punctuation is dropped and ``…`` is
    appended; without it the text is cut hard (identifiers, postal codes). A cut never
    separates a letter from its combining marks or an emoji from its joiners/modifiers.
    """
    s = clean_text(text)
    if len(s) <= limit:
        return s
    if not ellipsis:
        return s[: _safe_cut(s, limit)].rstrip()
    budget = limit - len(ELLIPSIS)
    cut = budget
    if s[budget] != " ":
        space = s.rfind(" ", 0, budget)
        if space >= budget * 2 // 3:
            cut = space
    head = s[: _safe_cut(s, cut)].rstrip(_TRAILING_PUNCT)
    return head + ELLIPSIS


# --- numbers -----------------------------------------------------------------------------


def finite(value: Decimal, what: str) -> Decimal:
    if not value.is_finite():
        raise RenderError(f"{what} is not a finite number: {value}", field=what)
    return value


def fmt_amount(value: Decimal, what: str = "amount") -> str:
    """A document amount: exactly 2 decimals (BR-DEC-RO-*); more precision is a bug."""
    q = finite(value, what).quantize(CENT)
    if q != value:
        raise RenderError(f"{what} {value} has more than 2 decimals", field=what)
    return f"{(q if q else abs(q)):f}"


def fmt_number(value: Decimal, what: str = "number") -> str:
    """Quantity / percent: plain decimal notation without trailing zeros, never an exponent."""
    n = finite(value, what).normalize()
    return f"{(n if n else abs(n)):f}"


def fmt_price(value: Decimal) -> str:
    """Unit price: at least 2 decimals, more when the price has them."""
    n = finite(value, "price").normalize()
    exp = n.as_tuple().exponent
    if isinstance(exp, int) and exp > -2:
        n = n.quantize(CENT)
    return f"{(n if n else abs(n)):f}"


def fmt_date(value: date) -> str:
    return value.strftime("%Y-%m-%d")


# --- writer ------------------------------------------------------------------------------


def esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def esc_attr(text: str) -> str:
    return esc(text).replace('"', "&quot;")


class Writer:
    """Append-only pretty printer: one element per line, two-space indentation."""

    def __init__(self) -> None:
        self.parts: list[str] = ['<?xml version="1.0" encoding="UTF-8"?>\n']
        self.depth = 0

    def _attrs(self, attrs: Iterable[tuple[str, str]]) -> str:
        return "".join(f' {k}="{esc_attr(v)}"' for k, v in attrs)

    def open(self, tag: str, attrs: Iterable[tuple[str, str]] = ()) -> None:
        self.parts.append(f"{'  ' * self.depth}<{tag}{self._attrs(attrs)}>\n")
        self.depth += 1

    def close(self, tag: str) -> None:
        self.depth -= 1
        self.parts.append(f"{'  ' * self.depth}</{tag}>\n")

    def leaf(self, tag: str, text: str, attrs: Iterable[tuple[str, str]] = ()) -> None:
        self.parts.append(f"{'  ' * self.depth}<{tag}{self._attrs(attrs)}>{esc(text)}</{tag}>\n")

    def opt(self, tag: str, text: str | None) -> None:
        """Write ``tag`` only when ``text`` is not empty."""
        if text:
            self.leaf(tag, text)

    def bytes(self) -> bytes:
        return "".join(self.parts).encode("utf-8")
