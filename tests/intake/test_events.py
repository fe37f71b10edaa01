"""Envelopes (snapshot and thin), API-era normalisation, and every trigger and ignore rule."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from factories import stripe_flows as fx
from stripe_efactura.intake.envelope import envelope_from_dict, parse_envelope
from stripe_efactura.intake.events import (
    EventMalformed,
    Ignored,
    RelatedObject,
    Trigger,
    classify,
)
from stripe_efactura.intake.versions import normalize

Json = dict[str, Any]


def _classify(evt: Json, *, zero: bool = False) -> Trigger | Ignored:
    return classify(parse_envelope(json.dumps(evt).encode()), invoice_zero_amount=zero)


def _ev(etype: str, obj: Json, **kw: Any) -> Json:
    return fx.event(etype, obj, eid="evt_t1", created=fx.T0 + 1, **kw)


def _code(evt: Json, *, zero: bool = False) -> str:
    out = _classify(evt, zero=zero)
    return out.code if isinstance(out, Ignored) else "TRIGGER"


# --- envelopes ------------------------------------------------------------------------------


def test_snapshot_envelope_fields() -> None:
    pi = fx.payment_intent("pi_1", 500, latest_charge="ch_1")
    evt = fx.event(
        "payment_intent.succeeded",
        pi,
        eid="evt_1",
        created=fx.T0,
        api_version="2024-06-20",
        livemode=True,
        previous_attributes={"status": "processing"},
    )
    evt["account"] = "acct_123"
    env = parse_envelope(json.dumps(evt).encode())
    assert (env.id, env.type, env.api_version, env.livemode, env.created, env.account) == (
        "evt_1",
        "payment_intent.succeeded",
        "2024-06-20",
        True,
        fx.T0,
        "acct_123",
    )
    assert env.object == pi
    assert env.thin is False and env.related_object is None
    assert env.previous_attributes == {"status": "processing"}


def test_thin_envelope_strips_v1_and_converts_created() -> None:
    cs = fx.checkout_session("cs_1", amount_subtotal=100, amount_tax=0, pi="pi_1")
    evt = fx.thin_event("checkout.session.completed", cs, eid="evt_thin", created=fx.T0 + 75)
    assert evt["type"] == "v1.checkout.session.completed"
    env = parse_envelope(json.dumps(evt).encode())
    assert env.thin is True
    assert env.type == "checkout.session.completed"
    assert env.created == fx.T0 + 75
    assert env.object is None
    assert env.related_object == RelatedObject(
        "cs_1", "checkout.session", "/v1/checkout/sessions/cs_1"
    )


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"\xff\xfe",
        b"[1, 2]",
        b'{"object": "event", "type": "x"}',
        b'{"id": "evt_1", "object": "event"}',
        b'{"id": "evt_1", "object": "charge", "type": "charge.succeeded"}',
    ],
)
def test_malformed_bodies(raw: bytes) -> None:
    with pytest.raises(EventMalformed) as exc:
        parse_envelope(raw)
    assert exc.value.code == "E-EVENT-MALFORMED"
    assert isinstance(exc.value, ValueError)


def test_envelope_from_dict_does_not_mutate() -> None:
    evt = fx.flow_a_checkout_card().event("checkout.session.completed")
    before = copy.deepcopy(evt)
    env = envelope_from_dict(evt)
    out = classify(env, invoice_zero_amount=False)
    assert isinstance(out, Trigger)
    assert evt == before


# --- trigger rules --------------------------------------------------------------------------

PI_OK = fx.payment_intent("pi_1", 12100, latest_charge="ch_1")
CH_OK = fx.charge("ch_1", 12100, pi="pi_1")
CS_OK = fx.checkout_session("cs_1", amount_subtotal=10000, amount_tax=2100, pi="pi_1")
LINE = fx.invoice_line(
    "il_1",
    invoice_id="in_1",
    amount=10000,
    product_id="prod_1",
    price_id="price_1",
    description="X",
)
INV_OK = fx.invoice("in_1", lines=[LINE], paid_at=fx.T0 + 10)
INV_OPEN = {**INV_OK, "status": "open", "amount_paid": 0, "amount_remaining": 12100}
INV_ZERO = fx.invoice(
    "in_0",
    lines=[{**LINE, "amount": 0, "taxes": []}],
    paid_at=fx.T0,
)


@pytest.mark.parametrize(
    ("etype", "obj", "zero", "expected"),
    [
        ("checkout.session.completed", CS_OK, False, "TRIGGER"),
        ("checkout.session.completed", {**CS_OK, "payment_status": "unpaid"}, False, "I-NOT-PAID"),
        (
            "checkout.session.completed",
            {**CS_OK, "payment_status": "no_payment_required", "amount_total": 0},
            False,
            "I-ZERO-AMOUNT",
        ),
        (
            "checkout.session.completed",
            {**CS_OK, "payment_status": "no_payment_required", "amount_total": 0},
            True,
            "TRIGGER",
        ),
        ("checkout.session.completed", {**CS_OK, "amount_total": 0}, False, "I-ZERO-AMOUNT"),
        ("checkout.session.async_payment_succeeded", CS_OK, False, "TRIGGER"),
        ("checkout.session.async_payment_failed", CS_OK, False, "I-FAILED"),
        ("checkout.session.expired", CS_OK, False, "I-FAILED"),
        ("payment_intent.succeeded", PI_OK, False, "TRIGGER"),
        ("payment_intent.succeeded", {**PI_OK, "amount_received": 0}, False, "I-ZERO-AMOUNT"),
        ("payment_intent.succeeded", {**PI_OK, "status": "processing"}, False, "I-NOT-PAID"),
        ("payment_intent.created", PI_OK, False, "TRIGGER"),
        (
            "payment_intent.created",
            {**PI_OK, "status": "requires_payment_method"},
            False,
            "I-NOT-PAID",
        ),
        ("payment_intent.created", {**PI_OK, "status": "canceled"}, False, "I-FAILED"),
        ("payment_intent.payment_failed", PI_OK, False, "I-FAILED"),
        ("payment_intent.canceled", PI_OK, False, "I-FAILED"),
        ("payment_intent.processing", PI_OK, False, "I-NOT-TRIGGER"),
        ("invoice.paid", INV_OK, False, "TRIGGER"),
        ("invoice.paid", INV_OPEN, False, "I-NOT-PAID"),
        ("invoice.paid", INV_ZERO, False, "I-ZERO-AMOUNT"),
        ("invoice.paid", INV_ZERO, True, "TRIGGER"),
        (
            "invoice.paid",
            {**INV_OK, "amount_paid": 0, "paid_out_of_band": True},
            False,
            "TRIGGER",
        ),
        ("invoice.paid", {**INV_OK, "status": "void"}, False, "I-FAILED"),
        ("invoice.finalized", INV_OPEN, False, "I-NOT-PAID"),
        ("invoice.finalized", INV_OK, False, "TRIGGER"),
        (
            "invoice.finalized",
            {**INV_OK, "status": "open", "amount_remaining": 0, "amount_paid": 12100},
            False,
            "TRIGGER",
        ),
        (
            "invoice.finalized",
            {**INV_OK, "status": "open", "amount_remaining": 0, "amount_paid": 0},
            False,
            "I-NOT-PAID",
        ),
        ("invoice.finalized", INV_ZERO, False, "I-ZERO-AMOUNT"),
        ("invoice.finalized", INV_ZERO, True, "TRIGGER"),
        ("invoice.payment_succeeded", INV_OK, False, "I-NOT-TRIGGER"),
        ("invoice.created", INV_OK, False, "I-NOT-TRIGGER"),
        ("invoice.payment_failed", INV_OPEN, False, "I-FAILED"),
        ("invoice.voided", INV_OPEN, False, "I-FAILED"),
        ("charge.succeeded", CH_OK, False, "TRIGGER"),
        ("charge.captured", CH_OK, False, "TRIGGER"),
        (
            "charge.succeeded",
            {**CH_OK, "captured": False, "amount_captured": 0},
            False,
            "I-UNCAPTURED",
        ),
        ("charge.succeeded", {**CH_OK, "status": "pending", "paid": False}, False, "I-NOT-PAID"),
        ("charge.succeeded", {**CH_OK, "status": "failed", "paid": False}, False, "I-FAILED"),
        ("charge.succeeded", {**CH_OK, "amount_captured": "10.00"}, False, "I-MALFORMED"),
        ("charge.succeeded", {**CH_OK, "amount_captured": 0, "amount": 0}, False, "I-ZERO-AMOUNT"),
        ("charge.failed", CH_OK, False, "I-FAILED"),
        ("charge.updated", CH_OK, False, "I-NOT-TRIGGER"),
        ("charge.refunded", CH_OK, False, "I-NOT-TRIGGER"),
        ("refund.created", {"id": "re_1", "object": "refund"}, False, "I-NOT-TRIGGER"),
        ("charge.succeeded", PI_OK, False, "I-MALFORMED"),
        ("invoice.paid", {**INV_OK, "object": "invoice_payment"}, False, "I-MALFORMED"),
        ("payment_intent.succeeded", {**PI_OK, "id": None}, False, "I-MALFORMED"),
    ],
)
def test_trigger_rules(etype: str, obj: Json, zero: bool, expected: str) -> None:
    assert _code(_ev(etype, obj), zero=zero) == expected


def test_event_without_object() -> None:
    evt = _ev("payment_intent.succeeded", PI_OK)
    evt["data"] = {}
    assert _code(evt) == "I-NO-OBJECT"


def test_ignored_carries_both_languages() -> None:
    out = _classify(_ev("checkout.session.completed", {**CS_OK, "payment_status": "unpaid"}))
    assert isinstance(out, Ignored)
    assert (out.event_id, out.event_type) == ("evt_t1", "checkout.session.completed")
    assert out.reason == out.message_en
    assert out.message_en.startswith("The payment is not complete yet")
    assert out.message_ro.startswith("Plata nu este încă finalizată")


def test_trigger_fields_and_hints() -> None:
    out = _classify(_ev("charge.succeeded", CH_OK, api_version="2024-06-20"), zero=True)
    assert out == Trigger(
        event_id="evt_t1",
        event_type="charge.succeeded",
        kind="charge",
        object_id="ch_1",
        object=normalize(CH_OK),
        livemode=False,
        api_version="2024-06-20",
        created=fx.T0 + 1,
        needs_fetch=False,
        hints=("pi_1", "ch_1"),
        zero_allowed=True,
        account=None,
    )


@pytest.mark.parametrize(
    ("etype", "obj", "hints"),
    [
        ("checkout.session.completed", CS_OK, ("pi_1",)),
        (
            "checkout.session.completed",
            {**CS_OK, "payment_intent": None, "invoice": "in_9", "mode": "subscription"},
            ("in_9",),
        ),
        ("payment_intent.succeeded", PI_OK, ("pi_1", "ch_1")),
        ("invoice.paid", INV_OK, ("in_1",)),
        (
            "invoice.paid",
            fx.pre_basil_invoice(INV_OK, pi="pi_7", charge_id="ch_7"),
            ("pi_7", "in_1", "ch_7"),
        ),
        ("charge.succeeded", {**CH_OK, "payment_intent": None}, ("ch_1",)),
        ("charge.succeeded", {**CH_OK, "payment_intent": "pm_1234"}, ("ch_1",)),
    ],
)
def test_hints(etype: str, obj: Json, hints: tuple[str, ...]) -> None:
    out = _classify(_ev(etype, obj))
    assert isinstance(out, Trigger)
    assert out.hints == hints


def test_thin_trigger_needs_fetch() -> None:
    evt = fx.thin_event("invoice.paid", INV_OK, eid="evt_thin1", created=fx.T0 + 5)
    out = _classify(evt)
    assert isinstance(out, Trigger)
    assert (out.kind, out.object_id, out.object, out.needs_fetch, out.hints) == (
        "invoice",
        "in_1",
        None,
        True,
        ("in_1",),
    )


def test_thin_non_trigger_and_mismatch() -> None:
    evt = fx.thin_event("charge.updated", CH_OK, eid="evt_thin2", created=fx.T0)
    assert _code(evt) == "I-NOT-TRIGGER"
    evt = fx.thin_event("charge.failed", CH_OK, eid="evt_thin3", created=fx.T0)
    assert _code(evt) == "I-FAILED"
    evt = fx.thin_event("invoice.paid", CH_OK, eid="evt_thin4", created=fx.T0)
    evt["type"] = "v1.invoice.paid"
    assert _code(evt) == "I-NO-OBJECT"


# --- normalisation --------------------------------------------------------------------------


def test_normalize_is_a_copy_and_idempotent_on_current_shapes() -> None:
    for obj in (PI_OK, CH_OK, CS_OK, INV_OK, LINE):
        before = copy.deepcopy(obj)
        out = normalize(obj, "2026-10-28.endive")
        assert obj == before
        assert out == obj
        assert out is not obj


def test_pre_2022_payment_intent_gets_latest_charge() -> None:
    old_ch = {**CH_OK, "id": "ch_old", "created": fx.T0 - 100}
    new_ch = {**CH_OK, "id": "ch_new", "created": fx.T0}
    old = fx.pre_2022_payment_intent(PI_OK, [old_ch, new_ch], invoice_id="in_1")
    before = copy.deepcopy(old)
    out = normalize(old, "2020-08-27")
    assert out["latest_charge"] == "ch_new"
    assert out["invoice"] == "in_1"
    assert out["charges"] == old["charges"]
    assert old == before


def test_pre_basil_invoice_gets_basil_fields() -> None:
    sub_line = fx.invoice_line(
        "il_s1",
        invoice_id="in_1",
        amount=10000,
        product_id="prod_1",
        price_id="price_1",
        description="Plan",
        subscription="sub_1",
    )
    basil = fx.invoice("in_1", lines=[sub_line], subscription="sub_1", paid_at=fx.T0 + 10)
    old = fx.pre_basil_invoice(basil, pi="pi_1", charge_id="ch_1")
    assert "parent" not in old and "total_taxes" not in old
    out = normalize(old, "2024-06-20")
    assert out["parent"] == basil["parent"]
    assert out["total_excluding_tax"] == 10000
    assert out["total_taxes"] == [
        {
            "amount": 2100,
            "tax_behavior": "exclusive",
            "tax_rate_details": {"tax_rate": "txr_ro21"},
            "taxability_reason": None,
            "taxable_amount": None,
            "type": "tax_rate_details",
        }
    ]
    assert out["payments"]["data"] == [
        {
            "object": "invoice_payment",
            "invoice": "in_1",
            "is_default": True,
            "status": "paid",
            "amount_paid": 12100,
            "currency": "ron",
            "payment": {"type": "payment_intent", "payment_intent": "pi_1"},
        }
    ]
    line = out["lines"]["data"][0]
    assert line["pricing"] == {
        "type": "price_details",
        "price_details": {"price": "price_1", "product": "prod_1"},
        "unit_amount_decimal": None,
    }
    assert [t["amount"] for t in line["taxes"]] == [2100]
    assert line["parent"] == {
        "type": "subscription_item_details",
        "subscription_item_details": {
            "subscription": "sub_1",
            "subscription_item": None,
            "invoice_item": None,
            "proration": False,
        },
    }
    # legacy fields are kept for code that still reads them
    assert (out["payment_intent"], out["charge"], out["tax"]) == ("pi_1", "ch_1", 2100)


def test_pre_basil_invoice_paid_by_charge_only() -> None:
    old = fx.pre_basil_invoice(INV_OK, pi=None, charge_id="ch_9")
    out = normalize(old)
    assert out["payments"]["data"][0]["payment"] == {"type": "charge", "charge": "ch_9"}
    assert out["parent"] is None


def test_invoice_without_any_payment_link_gets_no_payments() -> None:
    old = fx.pre_basil_invoice(INV_OK, pi=None, charge_id=None)
    assert "payments" not in normalize(old)


def test_hybrid_invoice_keeps_basil_values() -> None:
    hybrid = {**INV_OK, "payment_intent": "pi_h", "tax": 2100, "total_tax_amounts": []}
    out = normalize(hybrid)
    assert out["total_taxes"] == INV_OK["total_taxes"]
    assert out["payments"]["data"][0]["payment"]["payment_intent"] == "pi_h"


def test_pre_basil_session_shipping_moves_to_collected_information() -> None:
    old = fx.pre_basil_session(CS_OK)
    out = normalize(old, "2024-06-20")
    assert out["collected_information"] == CS_OK["collected_information"]
    ancient = {k: v for k, v in old.items() if k != "shipping_details"}
    ancient["shipping"] = {"name": "N", "address": {"country": "RO"}}
    assert normalize(ancient)["collected_information"]["shipping_details"] == ancient["shipping"]


def test_object_kind_inferred_from_id_when_absent() -> None:
    bare = {k: v for k, v in CH_OK.items() if k != "object"}
    assert normalize(bare)["object"] == "charge"
    assert _code(_ev("charge.succeeded", bare)) == "TRIGGER"


def test_very_old_charge_gets_amount_captured_and_status() -> None:
    ancient = {"id": "ch_a", "object": "charge", "amount": 700, "paid": True, "captured": True}
    out = normalize(ancient)
    assert (out["amount_captured"], out["status"]) == (700, "succeeded")
