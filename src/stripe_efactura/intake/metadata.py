"""Merchant metadata conventions: which metadata is read, and the line-item formats (pure).

Stripe metadata values are strings only (50 keys, keys ≤ 40 chars, values ≤ 500 chars), so
structured data arrives as JSON strings or flattened keys.

**Which metadata.** :func:`metadata_sources` lists the metadata of the objects describing the
payment, owner first: the owner object (``sale.owner_type``), then the Checkout Session, the
PaymentIntent, the Invoice, the Invoice's subscription (``parent.subscription_details.metadata``)
and the Charge. Buyer keys are looked up key by key in that order (first non-empty wins). Line
keys are taken from ONE metadata dict: the first in that order that has any line key, so lines
from two objects are never mixed. Keys match case-insensitively, ignoring spaces, ``_`` and
``-`` where stated.

**Line formats** (:func:`metadata_lines`), the first present wins:

1. ``Order Item #N`` — ``"123id121, Nume produs, 3, 232.0"``: optional product id, name,
   quantity, line TOTAL in major units (as charged, VAT included unless ``[vat]
   prices_include_vat = false``). The key matches case- and space-insensitively
   (``order item #1``, ``OrderItem#2``, ``order_item_3``); items are sorted by N numerically.
   The value is parsed **from the right**: total, then quantity, then the rest.

   *Separator rule.* If the value contains a comma followed by whitespace anywhere, fields are
   separated by comma + whitespace only, so a comma directly between characters is part of a
   field: a decimal comma (``"Tricou, 2, 99,90"`` is 99.90) or a comma inside the name.
   Otherwise (no space after any comma) every comma separates fields and decimals must use a
   point (``"Tricou,2,99.90"``). Thousands separators follow :func:`money.parse_decimal`.

   *Product id.* When at least two fields precede the quantity, the first is taken as the
   product id if it has no whitespace and contains a digit (``123id121``, ``SKU-7``);
   otherwise all preceding fields form the name (rejoined with the separator).
2. ``lineitemN`` — a JSON object string ``{"productname","quantity","itemtotal"}`` (also
   ``name``/``product_name``, ``qty``, ``total``/``item_total``, optional ``id``/``sku`` and
   ``vat``/``vat_rate`` percent), sorted by N.
3. ``lines`` or ``line_items`` — a JSON array string of such objects.

A malformed item is a coded problem (never skipped silently); the caller then invoices
nothing until it is fixed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any, NamedTuple

from ..errors import Problem
from ..invoicing.problems import problem
from ..money import exponent, parse_decimal
from .sale import Sale

_OWNER_ORDER = ("checkout_session", "payment_intent", "invoice", "subscription", "charge")


@dataclass(frozen=True)
class MetaLine:
    """One line read from merchant metadata (amounts in major units, as written)."""

    name: str
    quantity: Decimal
    total: Decimal
    item_id: str | None = None
    vat_rate: Decimal | None = None
    key: str = ""


def _as_str_dict(value: object) -> dict[str, str]:
    if not value or not isinstance(value, Mapping):
        return {}
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in value.items()}


def _obj(sale: Sale, name: str) -> Mapping[str, Any]:
    value = sale.objects.get(name)
    if type(value) is dict:
        return value
    return value if isinstance(value, Mapping) else {}


class MetaSource(NamedTuple):
    """One object's metadata: its role, the metadata, and the keys normalised (:func:`norm_key`)
    to ``(original key, value)``."""

    name: str
    md: dict[str, str]
    normed: dict[str, tuple[str, str]]


def meta_source(name: str, md: dict[str, str]) -> MetaSource:
    return MetaSource(name, md, {norm_key(k): (k, v) for k, v in md.items()})


def metadata_sources(sale: Sale) -> list[MetaSource]:
    """The metadata of the sale's objects in precedence order (owner first), non-empty only."""
    found: dict[str, dict[str, str]] = {}
    for name in ("checkout_session", "payment_intent", "invoice", "charge"):
        md = _as_str_dict(_obj(sale, name).get("metadata"))
        if md:
            found[name] = md
    parent = _obj(sale, "invoice").get("parent")
    if isinstance(parent, Mapping):
        details = parent.get("subscription_details")
        if isinstance(details, Mapping):
            md = _as_str_dict(details.get("metadata"))
            if md:
                found["subscription"] = md
    order = [sale.owner_type, *(n for n in _OWNER_ORDER if n != sale.owner_type)]
    return [meta_source(name, found[name]) for name in order if name in found]


_KEY_NOISE = re.compile(r"[\s_\-]+")


@lru_cache(maxsize=4096)
def norm_key(key: str) -> str:
    """Lower case without spaces, ``_``, ``-`` (``'Order Item #1'`` -> ``'orderitem#1'``)."""
    return _KEY_NOISE.sub("", key).lower()


_ORDER_ITEM = re.compile(r"^orderitem#?(\d{1,6})$")
_LINEITEM = re.compile(r"^lineitem#?(\d{1,6})$")
_LINES_KEYS = ("lines", "lineitems")


def line_keys(md: Mapping[str, str]) -> list[tuple[str, str, int]]:
    """``(format, key, N)`` for each line key in ``md`` (format ``order_item``/``lineitem``/
    ``lines``)."""
    out: list[tuple[str, str, int]] = []
    for key in md:
        k = norm_key(key)
        if m := _ORDER_ITEM.match(k):
            out.append(("order_item", key, int(m.group(1))))
        elif m := _LINEITEM.match(k):
            out.append(("lineitem", key, int(m.group(1))))
        elif k in _LINES_KEYS:
            out.append(("lines", key, 0))
    return out


MAX_AMOUNT = Decimal(10) ** 12
"""Largest line total accepted from metadata (major units)."""
MAX_QUANTITY = Decimal(10) ** 9


def _amount(text: str, currency: str) -> Decimal:
    value = parse_decimal(text)
    if value < 0:
        raise ValueError("the total is negative")
    if value >= MAX_AMOUNT:
        raise ValueError("the total is too large")
    if value != value.quantize(Decimal(1).scaleb(-exponent(currency))):
        raise ValueError(f"the total has more decimals than {currency} allows")
    return value


def parse_quantity(text: str) -> Decimal:
    """A quantity typed by a merchant: > 0, < 10⁹, at most 4 decimals. Raises ``ValueError``."""
    value = parse_decimal(text)
    if value <= 0:
        raise ValueError("the quantity must be greater than zero")
    if value >= MAX_QUANTITY:
        raise ValueError("the quantity is too large")
    if value != value.quantize(Decimal("0.0001")):
        raise ValueError("the quantity has more than 4 decimals")
    return value


_LOOKS_LIKE_ID = re.compile(r"^\S*\d\S*$")


def parse_order_item(key: str, value: str, currency: str) -> MetaLine:
    """Parse one ``Order Item #N`` value (see the module docs). Raises ``ValueError``."""
    text = value.strip()
    if re.search(r",\s", text):
        fields = [f.strip() for f in re.split(r",\s+", text)]
        joiner = ", "
    else:
        fields = [f.strip() for f in text.split(",")]
        joiner = ","
    if len(fields) < 3:
        raise ValueError("expected 'name, quantity, total'")
    total = _amount(fields[-1], currency)
    quantity = parse_quantity(fields[-2])
    rest = fields[:-2]
    item_id: str | None = None
    if len(rest) >= 2 and _LOOKS_LIKE_ID.match(rest[0]):
        item_id, rest = rest[0], rest[1:]
    name = joiner.join(rest).strip()
    if not name:
        raise ValueError("the product name is empty")
    return MetaLine(name=name, quantity=quantity, total=total, item_id=item_id, key=key)


def _pick(obj: Mapping[str, Any], *names: str) -> Any:
    wanted = {norm_key(n) for n in names}
    for k, v in obj.items():
        if norm_key(str(k)) in wanted and v not in (None, ""):
            return v
    return None


def _json_line(obj: object, key: str, currency: str) -> MetaLine:
    if not isinstance(obj, Mapping):
        raise ValueError("expected a JSON object")
    name = _pick(obj, "productname", "product_name", "name", "description")
    if not isinstance(name, (str, int, float)) or not str(name).strip():
        raise ValueError("productname is missing")
    qty_raw = _pick(obj, "quantity", "qty")
    total_raw = _pick(obj, "itemtotal", "item_total", "total", "amount")
    if total_raw is None or isinstance(total_raw, (bool, dict, list)):
        raise ValueError("itemtotal is missing")
    if isinstance(qty_raw, (bool, dict, list)):
        raise ValueError("quantity is not a number")
    quantity = Decimal(1) if qty_raw is None else parse_quantity(str(qty_raw))
    total = _amount(str(total_raw), currency)
    item_id = _pick(obj, "id", "productid", "product_id", "sku")
    vat_raw = _pick(obj, "vat", "vatrate", "vat_rate")
    vat_rate: Decimal | None = None
    if vat_raw is not None:
        if isinstance(vat_raw, (bool, dict, list)):
            raise ValueError("vat is not a number")
        vat_rate = parse_decimal(str(vat_raw).rstrip("%"))
        if not 0 <= vat_rate < 100 or vat_rate != vat_rate.quantize(Decimal("0.01")):
            raise ValueError("vat must be a percent between 0 and 100")
    return MetaLine(
        name=str(name).strip(),
        quantity=quantity,
        total=total,
        item_id=None if item_id is None else str(item_id),
        vat_rate=vat_rate,
        key=key,
    )


def _loads(text: str) -> Any:
    try:
        return json.loads(text, parse_float=str, parse_int=str)
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"not valid JSON ({exc.__class__.__name__})") from exc


@dataclass(frozen=True)
class MetaLinesResult:
    lines: tuple[MetaLine, ...]
    source: str
    """``metadata.<object>.<format>``, e.g. ``metadata.payment_intent.order_item``."""
    problems: tuple[Problem, ...]


def metadata_lines(sale: Sale) -> MetaLinesResult | None:
    """Lines from merchant metadata, or ``None`` when no metadata holds line keys."""
    for obj_name, md, _ in metadata_sources(sale):
        keys = line_keys(md)
        if not keys:
            continue
        for fmt in ("order_item", "lineitem", "lines"):
            chosen = sorted((n, k) for f, k, n in keys if f == fmt)
            if chosen:
                return _read(fmt, [k for _, k in chosen], md, obj_name, sale.currency)
    return None


def _read(
    fmt: str, keys: list[str], md: Mapping[str, str], obj_name: str, currency: str
) -> MetaLinesResult:
    lines: list[MetaLine] = []
    problems: list[Problem] = []
    for key in keys:
        value = md[key]
        try:
            if fmt == "order_item":
                lines.append(parse_order_item(key, value, currency))
            elif fmt == "lineitem":
                lines.append(_json_line(_loads(value), key, currency))
            else:
                data = _loads(value)
                if not isinstance(data, list) or not data:
                    raise ValueError("expected a non-empty JSON array")
                lines.extend(_json_line(item, key, currency) for item in data)
        except ValueError as exc:
            code = {
                "order_item": "P-METADATA-ORDER-ITEM-INVALID",
                "lineitem": "P-METADATA-LINEITEM-INVALID",
                "lines": "P-METADATA-LINES-INVALID",
            }[fmt]
            problems.append(problem(code, key=key, value=value[:120], reason=str(exc)))
    return MetaLinesResult(
        lines=tuple(lines), source=f"metadata.{obj_name}.{fmt}", problems=tuple(problems)
    )


# --- buyer keys --------------------------------------------------------------------------------

ADDRESS_FIELDS = ("line1", "line2", "city", "state", "postal_code", "country")
_ADDRESS_ALIASES = {
    "line1": ("line1", "street", "address1", "strada"),
    "line2": ("line2", "address2"),
    "city": ("city", "localitate", "oras"),
    "state": ("state", "county", "judet"),
    "postal_code": ("postal_code", "postalcode", "zip", "postcode", "cod_postal"),
    "country": ("country", "tara"),
    "cui": ("cui", "cif"),
}
_ADDRESS_PREFIXES = ("address", "billing_address", "customer_address")


def _address_flat_key(key: str) -> tuple[str, str] | None:
    """``address.city`` / ``address[city]`` / ``address_city`` -> ``('address', 'city')``."""
    k = key.strip().lower()
    for prefix in _ADDRESS_PREFIXES:
        for open_, close in ((".", ""), ("[", "]"), ("_", "")):
            head = prefix + open_
            if k.startswith(head) and k.endswith(close):
                sub = k[len(head) : len(k) - len(close)] if close else k[len(head) :]
                sub = sub.replace(" ", "_").replace("-", "_")
                for field, aliases in _ADDRESS_ALIASES.items():
                    if sub in aliases:
                        return prefix, field
    return None


def metadata_address(md: Mapping[str, str]) -> tuple[dict[str, str], list[Problem], str]:
    """The address (+ ``cui``) in one metadata dict: the ``address`` JSON, else flattened keys.

    Returns ``(fields, problems, key used)``; ``fields`` keys are ``ADDRESS_FIELDS`` + ``cui``.
    """
    problems: list[Problem] = []
    for key, value in md.items():
        if key.strip().lower() not in _ADDRESS_PREFIXES or not value.strip():
            continue
        try:
            data = _loads(value)
            if not isinstance(data, Mapping):
                raise ValueError("expected a JSON object")
        except ValueError as exc:
            problems.append(problem("P-BUYER-METADATA-INVALID", key=key, reason=str(exc)))
            continue
        out: dict[str, str] = {}
        for field, aliases in _ADDRESS_ALIASES.items():
            v = _pick(data, *aliases)
            if isinstance(v, (str, int)) and str(v).strip():
                out[field] = str(v).strip()
        return out, problems, key
    flat: dict[str, str] = {}
    for key, value in md.items():
        hit = _address_flat_key(key)
        if hit and value.strip() and hit[1] not in flat:
            flat[hit[1]] = value.strip()
    return flat, problems, "address.*" if flat else ""


def iter_metadata(sources: list[MetaSource], *names: str) -> Iterator[tuple[str, str, str]]:
    """``(object, key, value)`` for keys matching ``names`` (normalised), in precedence order."""
    wanted = [norm_key(n) for n in names]
    for obj_name, _, normed in sources:
        for w in wanted:
            hit = normed.get(w)
            if hit and hit[1].strip():
                yield obj_name, hit[0], hit[1].strip()
