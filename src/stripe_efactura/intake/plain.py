"""Reading plain Stripe JSON defensively (pure): a value that is not the expected shape reads
as empty, never as a crash."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

EMPTY: Mapping[str, Any] = {}


def as_map(value: Any) -> Mapping[str, Any]:
    """A JSON object, or an empty mapping for anything else."""
    if type(value) is dict:  # fast path: JSON objects are dicts
        return value
    return value if isinstance(value, Mapping) else EMPTY


def as_list(value: Any) -> list[Mapping[str, Any]]:
    """The objects of a JSON array or of a Stripe list object (``{"data": [...]}``)."""
    if isinstance(value, Mapping):
        value = value.get("data")
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []
