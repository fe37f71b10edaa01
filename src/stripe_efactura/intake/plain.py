"""Reading plain Stripe JSON defensively (pure): a value that is not the expected shape reads
as empty (or ``None``), never as a crash."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Json = dict[str, Any]
"""A Stripe object as the API sends it, plain JSON."""

EMPTY: Mapping[str, Any] = {}


def as_map(value: object) -> Mapping[str, Any]:
    """A JSON object, or an empty mapping for anything else."""
    if type(value) is dict:  # fast path: JSON objects are dicts
        return value
    return value if isinstance(value, Mapping) else EMPTY


def as_objects(value: object) -> list[Mapping[str, Any]]:
    """The objects of a JSON array or of a Stripe list object (``{"data": [...]}``)."""
    if isinstance(value, Mapping):
        value = value.get("data")
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def as_dict(value: object) -> dict[str, Any]:
    """``value`` if it is a dict, else an empty dict (Stripe sends ``null`` and ``{}`` freely)."""
    return value if isinstance(value, dict) else {}


def as_list(value: object) -> list[Any]:
    """A list from a plain list or a Stripe list object (``{"object": "list", "data": […]}``)."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict) and isinstance(value.get("data"), list):
        return list(value["data"])
    return []


def ref_id(value: object) -> str | None:
    """The id of an expandable field: the string itself, or ``value["id"]`` when expanded."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return str(value["id"])
    return None


def as_int(value: object) -> int | None:
    """An integer amount, or ``None`` (booleans and strings such as ``"10.00"`` are rejected)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def object_name(obj: Mapping[str, Any]) -> str | None:
    """Stripe's ``object`` value, inferred from the id prefix when absent (hand-edited data)."""
    name = obj.get("object")
    if isinstance(name, str):
        return name
    oid = obj.get("id")
    if isinstance(oid, str):
        for prefix, inferred in _ID_PREFIX_OBJECT.items():
            if oid.startswith(prefix):
                return inferred
    return None


_ID_PREFIX_OBJECT = {
    "in_": "invoice",
    "cs_": "checkout.session",
    "pi_": "payment_intent",
    "ch_": "charge",
    "py_": "charge",
}
