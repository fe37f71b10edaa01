"""Invoice snapshots: the frozen model <-> plain JSON, losslessly (Decimal as text).

The snapshot stored with an issued invoice is what the PDF, the email and any later
re-rendering use: the seller, buyer and lines as they were at issue time.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from functools import cache, lru_cache

from ..jsontypes import JsonValue
from .model import Invoice


def to_data(value: object) -> JsonValue:
    """A model value as JSON data (Decimal and dates as text, enums as their value)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_data(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return to_data(value.value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [to_data(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_data(v) for k, v in value.items()}
    if value is None or isinstance(value, str | int | float):
        return value
    raise TypeError(f"not a model value: {value!r}")


@cache
def _hints(cls: type) -> dict[str, object]:
    return typing.get_type_hints(cls)


def _from(tp: object, data: JsonValue) -> object:
    """The value of type ``tp`` (a model type hint) that ``to_data`` wrote as ``data``."""
    if data is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _from(args[0], data)
    if origin is tuple and isinstance(data, list):
        (item, *_rest) = typing.get_args(tp)
        return tuple(_from(item, v) for v in data)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type) and isinstance(data, dict):
        hints = _hints(tp)
        kwargs = {
            f.name: _from(hints[f.name], data[f.name])
            for f in dataclasses.fields(tp)
            if f.name in data
        }
        return tp(**kwargs)
    if isinstance(tp, type) and issubclass(tp, Enum):
        return tp(data)
    if tp is Decimal and isinstance(data, str | int):
        return Decimal(data)
    if tp is datetime and isinstance(data, str):
        return datetime.fromisoformat(data)
    if tp is date and isinstance(data, str):
        return date.fromisoformat(data)
    return data


def invoice_to_json(invoice: Invoice) -> str:
    return json.dumps(to_data(invoice), ensure_ascii=False, sort_keys=True)


@lru_cache(maxsize=128)
def invoice_from_json(text: str) -> Invoice:
    """The invoice of a snapshot. Cached per process by the text (the model is immutable: frozen
    dataclasses and tuples): the jobs of one invoice (PDF, email, upload) run one after the
    other in the same worker and each read the same snapshot."""
    value = _from(Invoice, json.loads(text))
    assert isinstance(value, Invoice)
    return value
