"""The limits of intake/payload.py: exact boundaries, every recorded Stripe shape inside them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from stripe_efactura.intake.events import EventMalformed
from stripe_efactura.intake.payload import (
    INT_LIMIT,
    MAX_DEPTH,
    TIMESTAMP_RANGE,
    PayloadRejected,
    load,
)


def evt(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"id": "evt_1", "object": "event", "type": "charge.succeeded"}
    base.update(fields)
    return base


def raw(value: Any) -> bytes:
    return json.dumps(value).encode()


def nested(levels: int) -> dict[str, Any]:
    """An event whose ``data`` adds ``levels - 1`` levels below the envelope."""
    inner: Any = 1
    for _ in range(levels - 1):
        inner = {"a": inner}
    return evt(data=inner)


def rejected(body: bytes) -> str:
    with pytest.raises(PayloadRejected) as exc:
        load(body)
    assert exc.value.code == "E-EVENT-LIMIT"
    return exc.value.message


def test_depth_boundary() -> None:
    assert load(raw(nested(MAX_DEPTH)))["id"] == "evt_1"
    assert rejected(raw(nested(MAX_DEPTH + 1))) == "The event nests deeper than 64 levels"


@pytest.mark.parametrize("levels", [1000, 5000])
def test_deep_nesting_from_the_issue_is_a_coded_rejection(levels: int) -> None:
    body = b'{"id":"evt_1","type":"t","data":' + b"[" * levels + b"]" * levels + b"}"
    assert rejected(body) == "The event nests deeper than 64 levels"


def test_integer_boundaries() -> None:
    assert load(raw(evt(amount=INT_LIMIT - 1)))["amount"] == 2**63 - 1
    assert load(raw(evt(amount=-(INT_LIMIT - 1))))["amount"] == -(2**63) + 1
    assert rejected(raw(evt(amount=2**63))) == f"amount = {2**63} is outside ±2^63"
    assert rejected(raw(evt(amount=-(2**63)))) == f"amount = {-(2**63)} is outside ±2^63"


@pytest.mark.parametrize("literal", [b"18446744073709551616", b"1" + b"0" * 40, b"1e300"])
def test_numbers_beyond_64_bits_are_rejected_whatever_their_spelling(literal: bytes) -> None:
    assert "is outside ±2^63" in rejected(b'{"id":"e","type":"t","data":{"n":' + literal + b"}}")


def test_timestamp_boundaries() -> None:
    low, high = TIMESTAMP_RANGE
    assert (low, high) == (0, 4_102_444_800)
    assert load(raw(evt(created=high)))["created"] == high
    assert rejected(raw(evt(created=10**12))) == (
        "created = 1000000000000 is not a date between 1970 and 2100"
    )
    assert rejected(raw(evt(created=-1))) == "created = -1 is not a date between 1970 and 2100"
    deep = evt(data={"object": {"status_transitions": {"paid_at": high + 1}}})
    assert rejected(raw(deep)).startswith("paid_at = 4102444801")
    period = evt(data={"object": {"lines": {"data": [{"period": {"end": 10**11}}]}}})
    assert rejected(raw(period)).startswith("end = 100000000000")


def test_plain_integers_under_other_keys_are_not_timestamps() -> None:
    assert load(raw(evt(amount=10**15, quantity=0)))["amount"] == 10**15


def test_nul_and_long_envelope_fields() -> None:
    assert rejected(raw(evt(data={"name": "a\x00b"}))) == (
        "The event holds a NUL character in a string"
    )
    assert rejected(raw(evt(data={"a\x00": 1}))) == "The event holds a NUL character in a string"
    assert rejected(raw(evt(id="evt_" + "x" * 252))) == (
        "The event's id is longer than 255 characters"
    )
    assert load(raw(evt(id="evt_" + "x" * 251)))["id"] == "evt_" + "x" * 251
    assert rejected(raw(evt(api_version="2" * 65))) == (
        "The event's api_version is longer than 64 characters"
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "The webhook body is not JSON"),
        (b"[1]", "The webhook body is not a JSON object"),
        (b'{"type":"t"}', "The event has no id"),
        (b'{"id":"","type":"t"}', "The event has no id"),
        (b'{"id":"e","type":7}', "The event has no type"),
        (b'{"id":"e","type":"t","x":NaN}', "The webhook body is not JSON"),
        (b'{"id":"e","type":"t","x":"\\ud800"}', "The webhook body is not JSON"),
    ],
)
def test_not_an_event_is_malformed_not_limited(body: bytes, message: str) -> None:
    with pytest.raises(EventMalformed) as exc:
        load(body)
    assert not isinstance(exc.value, PayloadRejected)
    assert exc.value.code == "E-EVENT-MALFORMED"
    assert exc.value.message.startswith(message)


def test_every_recorded_stripe_shape_is_inside_the_limits(shared_dir: Path) -> None:
    root = shared_dir / "fixtures" / "stripe"
    if not root.is_dir():
        pytest.skip("../shared/fixtures/stripe is absent")
    files = sorted(root.glob("*/*.json"))
    resources = json.loads((root / "stripe-openapi" / "fixtures3.json").read_text())["resources"]
    objects = [json.loads(f.read_text()) for f in files if f.name != "fixtures3.json"]
    objects += list(resources.values())
    assert len(objects) > 190
    for obj in objects:
        assert load(raw(evt(data={"object": obj})))["data"]["object"] == obj
