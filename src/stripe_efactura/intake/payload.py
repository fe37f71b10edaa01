"""Reading a webhook body: JSON with the limits every real Stripe event respects (pure).

The webhook endpoint and the worker both read events through :func:`load`, so a body the
endpoint stored is one the worker can read, and one it refused is refused again by
``ingest`` or ``payments retry``. Issue 16: signed bodies 1,000 levels deep
(``RecursionError``), ``created: 10**12`` (a year beyond 9999) and integers of 2^63 and more
(``OverflowError`` in the database) were acknowledged, then failed in the worker without a
code. The limits, far beyond anything Stripe sends (its deepest recorded objects nest 11
levels, with the envelope):

- nesting at most :data:`MAX_DEPTH` objects/arrays deep;
- every number strictly between -2^63 and 2^63 (the database's BIGINT), floats finite;
- every timestamp field (``created``, ``*_at``, ``period_start`` …) that is an integer lies
  in :data:`TIMESTAMP_RANGE` (1970-01-01 .. 2100-01-01);
- no string holds a NUL character (PostgreSQL text cannot store it), and the envelope's
  ``id``, ``type``, ``account``/``context`` are at most 255 characters, ``api_version`` at most 64
  (the columns they are stored in).

A body outside them raises :class:`PayloadRejected` (``E-EVENT-LIMIT``); a body that is not
JSON, or not an object with a string ``id`` and ``type``, raises
:class:`~stripe_efactura.intake.events.EventMalformed` (``E-EVENT-MALFORMED``).
"""

from __future__ import annotations

from typing import Any

import orjson

from .events import EventMalformed

MAX_DEPTH = 64
INT_LIMIT = 2**63
"""Numbers must satisfy ``-INT_LIMIT < n < INT_LIMIT``."""
TIMESTAMP_RANGE = (0, 4_102_444_800)
"""Unix seconds accepted in timestamp fields: 1970-01-01 .. 2100-01-01 (inclusive)."""

TIMESTAMP_KEYS = frozenset(
    {
        "created",
        "date",
        "start",
        "end",
        "period_start",
        "period_end",
        "current_period_start",
        "current_period_end",
        "trial_start",
        "trial_end",
        "due_date",
        "due_by",
        "cancel_at",
        "available_on",
        "arrival_date",
        "billing_cycle_anchor",
        "next_payment_attempt",
    }
)
"""Stripe's integer timestamp fields, besides every key ending in ``_at``."""

_ENVELOPE_LENGTHS = {"id": 255, "type": 255, "account": 255, "context": 255, "api_version": 64}


class PayloadRejected(EventMalformed):
    """A JSON event outside the limits above."""

    code = "E-EVENT-LIMIT"


def load(raw: bytes | str) -> dict[str, Any]:
    """Parse ``raw`` and check it against the limits; the event as a dict."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if "depth" in str(exc) or "recursion" in str(exc):
            raise PayloadRejected(f"The event nests deeper than {MAX_DEPTH} levels") from exc
        raise EventMalformed(f"The webhook body is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise EventMalformed("The webhook body is not a JSON object")
    if not isinstance(data.get("id"), str) or not data["id"]:
        raise EventMalformed("The event has no id")
    if not isinstance(data.get("type"), str):
        raise EventMalformed("The event has no type")
    for key, longest in _ENVELOPE_LENGTHS.items():
        value = data.get(key)
        if isinstance(value, str) and len(value) > longest:
            raise PayloadRejected(f"The event's {key} is longer than {longest} characters")
    if not _plainly_inside(raw):
        check(data)
    return data


_SEPARATORS = bytes.maketrans(b"{}[],:", b"      ")
_WORDS = frozenset((b"true", b"false", b"null"))


def _plainly_inside(raw: bytes | str) -> bool:
    """True when the JSON text alone proves that :func:`check` would find nothing, so the
    webhook's request path skips walking every value (issue 17: the walk took 70 us of a
    5 KB event, this 15 us: a body without any backslash skips looking for the two escapes,
    and each distinct scalar is looked at once). False only means "walk": the walk decides.

    Without ``\\"`` in the text every ``"`` opens or closes a string, so splitting at them
    leaves what lies outside strings at the even places: punctuation, blanks and the
    scalars. Then, each step sound:

    - no ``\\u0000``: the parser refuses a raw NUL byte, so that escape is the only way a
      string or key can hold a NUL;
    - at most :data:`MAX_DEPTH` ``{`` and ``[`` outside strings: every object or array opens
      with one, so no path nests deeper;
    - every scalar is ``true``, ``false``, ``null`` or a run of at most 10 digits no greater
      than the end of :data:`TIMESTAMP_RANGE`: inside ±2^63, a valid timestamp whatever
      its key, and (no ``-``, ``.``, ``e``) neither negative nor a float.
    """
    text = raw.encode() if isinstance(raw, str) else raw
    if b"\\" in text and (b'\\"' in text or b"\\u0000" in text):
        return False
    outside = b" ".join(text.split(b'"')[0::2])
    if outside.count(b"{") + outside.count(b"[") > MAX_DEPTH:
        return False
    for token in set(outside.translate(_SEPARATORS).split()) - _WORDS:
        if not token.isdigit():
            return False
        if len(token) > 9 and (len(token) > 10 or int(token) > TIMESTAMP_RANGE[1]):
            return False
    return True


def check(data: Any) -> None:
    """Walk ``data`` without recursion; raise :class:`PayloadRejected` at the first value
    outside the limits."""
    stack: list[tuple[Any, str, int]] = [(data, "", 1)]
    while stack:
        value, key, depth = stack.pop()
        if isinstance(value, dict):
            _deeper(depth)
            stack.extend((v, str(k), depth + 1) for k, v in value.items())
            for k in value:
                _text(k)
        elif isinstance(value, list):
            _deeper(depth)
            stack.extend((v, key, depth + 1) for v in value)
        elif isinstance(value, str):
            _text(value)
        elif isinstance(value, bool) or value is None:
            continue
        elif isinstance(value, int | float):
            _number(value, key)


def _deeper(depth: int) -> None:
    if depth > MAX_DEPTH:
        raise PayloadRejected(f"The event nests deeper than {MAX_DEPTH} levels")


def _text(value: str) -> None:
    if "\x00" in value:
        raise PayloadRejected("The event holds a NUL character in a string")


def _number(value: int | float, key: str) -> None:
    if value != value or value in (float("inf"), float("-inf")):  # NaN or infinite
        raise PayloadRejected(f"{key or 'a number'} is not a finite number")
    if not -INT_LIMIT < value < INT_LIMIT:
        raise PayloadRejected(f"{key or 'a number'} = {value} is outside ±2^63")
    if isinstance(value, int) and (key in TIMESTAMP_KEYS or key.endswith("_at")):
        low, high = TIMESTAMP_RANGE
        if not low <= value <= high:
            raise PayloadRejected(f"{key} = {value} is not a date between 1970 and 2100")
