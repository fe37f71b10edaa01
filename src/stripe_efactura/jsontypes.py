"""The JSON types of the shared kernel: what ``json.loads`` returns and ``json.dumps`` takes.

``JsonValue`` is recursive (mypy checks it all the way down). Decimal is not JSON: a value
that still holds Decimals (amounts before serialisation) is a dataclass or a TypedDict with a
``to_json()``, never a ``JsonObject``. ``Any`` stays only where a payload crosses the edge
un-parsed (Stripe objects in ``intake/``, ANAF answers in ``anaf/``); see
``tests/architecture/test_any.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeAlias

JsonScalar: TypeAlias = bool | int | float | str | None
JsonValue: TypeAlias = "JsonScalar | list[JsonValue] | dict[str, JsonValue]"
JsonObject: TypeAlias = dict[str, JsonValue]
JsonArray: TypeAlias = list[JsonValue]

# Read-only views: a ``dict[str, str]`` is a ``JsonMapping`` (dict is invariant, Mapping is not).
ReadJsonValue: TypeAlias = "JsonScalar | Sequence[ReadJsonValue] | Mapping[str, ReadJsonValue]"
JsonMapping: TypeAlias = Mapping[str, ReadJsonValue]


def json_object(value: object) -> JsonObject | None:
    """``value`` if it is a JSON object (as ``json.loads`` returns it), else None."""
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return value
    return None
