"""The limits of intake/payload.py: exact boundaries, every recorded Stripe shape inside them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stripe_efactura.intake import payload
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


# The webhook's shortcut (issue 17): a body the text scan clears is one the walk clears.

JSON_KEYS = st.sampled_from(["created", "paid_at", "amount", "a\x00", 'q"k', "1", "true", "x"])
JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**64), max_value=2**64)
    | st.integers(min_value=0, max_value=5_000_000_000)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.sampled_from(["a", "\x00", '"', "\\", "-", "1", "e", ":", ",", "[", "{"]))
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(JSON_KEYS, inner, max_size=4),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None)
@given(data=st.dictionaries(JSON_KEYS, JSON_VALUES, max_size=5), ascii_only=st.booleans())
def test_the_text_scan_clears_only_bodies_the_walk_clears(
    data: dict[str, Any], ascii_only: bool
) -> None:
    body = json.dumps(evt(**data), ensure_ascii=ascii_only).encode()
    if payload._plainly_inside(body):
        payload.check(json.loads(body))  # raises on a body the scan should not have cleared


@pytest.mark.parametrize(
    "body",
    [
        raw(evt(amount=-5)),
        raw(evt(rate=1.5)),
        raw(evt(amount=10**12)),
        raw(evt(note='say "hi"')),
        raw(evt(data=[[[]]] * 40)),
    ],
)
def test_bodies_the_scan_does_not_clear_are_walked_and_still_accepted(body: bytes) -> None:
    assert not payload._plainly_inside(body)
    assert load(body)["id"] == "evt_1"


def test_an_escaped_quote_cannot_hide_a_number_from_the_scan() -> None:
    # an odd count of quotes inside a string would shift what the scan takes for outside:
    # the key "1" would be read as outside text and the number beside it as string text
    body = raw(evt(a='"', **{"1": 2**63}))
    assert not payload._plainly_inside(body)
    assert rejected(body) == f"1 = {2**63} is outside ±2^63"


def test_the_webhook_bench_event_is_cleared_by_the_scan() -> None:
    body = raw(evt(created=1_763_700_000, data={"object": {"amount": 46400, "ok": True}}))
    assert payload._plainly_inside(body)
    assert payload._plainly_inside(body.decode())
