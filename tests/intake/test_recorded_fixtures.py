"""Real recorded Stripe objects (../shared/fixtures/stripe) wrapped into events.

They come from other projects, across API versions 2019–2026, some hand-edited. Every one must
go through parse_envelope / normalize / classify / resolve(reader=None) without a crash, and
the notable ones must give exact outcomes. Skipped when ../shared is absent.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from stripe_efactura.intake.correlate import resolve
from stripe_efactura.intake.envelope import parse_envelope
from stripe_efactura.intake.events import (
    TRIGGER_TYPES,
    Ignored,
    Trigger,
    classify,
)
from stripe_efactura.intake.sale import Sale
from stripe_efactura.intake.versions import normalize

Json = dict[str, Any]

TYPE_BY_OBJECT = {
    "charge": "charge.succeeded",
    "payment_intent": "payment_intent.succeeded",
    "invoice": "invoice.paid",
    "checkout.session": "checkout.session.completed",
    "dispute": "charge.dispute.closed",
    "refund": "refund.created",
    "invoice_payment": "invoice_payment.paid",
}
"""Event type used to wrap a bare object (README: "Wrapping objects into events")."""


def wrap(obj: Json, etype: str, api_version: str | None) -> Json:
    return {
        "id": "evt_x",
        "object": "event",
        "api_version": api_version,
        "created": 1700000000,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": etype,
        "data": {"object": obj},
    }


def recorded_events(root: Path) -> list[tuple[str, Json]]:
    """``(label, event)`` for every recorded object in every folder."""
    cases: list[tuple[str, Json]] = []
    for f in sorted((root / "dj-stripe").glob("*.json")):
        obj = json.loads(f.read_text())
        etype = TYPE_BY_OBJECT.get(obj.get("object"), f"{obj.get('object')}.updated")
        cases.append((f"dj-stripe/{f.name}", wrap(obj, etype, "2020-08-27")))
    for f in sorted((root / "pay-rails").glob("*.json")):
        data = json.loads(f.read_text())
        if f.name == "invoice.json":  # a bare invoice; the others are the event's data member
            cases.append((f"pay-rails/{f.name}", wrap(data, "invoice.paid", "2025-03-31.basil")))
            continue
        evt = wrap(data["object"], f.stem, "2022-11-15")
        evt["data"] = data
        cases.append((f"pay-rails/{f.name}", evt))
    resources = json.loads((root / "stripe-openapi" / "fixtures3.json").read_text())["resources"]
    for name, obj in sorted(resources.items()):
        if name == "event":
            cases.append(("openapi/event", obj))
            continue
        etype = TYPE_BY_OBJECT.get(name, f"{name}.updated")
        cases.append((f"openapi/{name}", wrap(obj, etype, "2026-10-28.endive")))
    return cases


def _outcome(evt: Json, *, zero: bool = False) -> Any:
    out = classify(parse_envelope(json.dumps(evt).encode()), invoice_zero_amount=zero)
    if isinstance(out, Ignored):
        return out.code
    result = resolve(out, None)
    if isinstance(result, Ignored):
        return result.code
    return (result.payment_key, result.owner_type, result.amount, result.currency)


def test_every_recorded_object_goes_through_without_a_crash(stripe_fixtures: Path) -> None:
    cases = recorded_events(stripe_fixtures)
    assert len(cases) > 190
    outcomes = {}
    for label, evt in cases:
        for zero in (False, True):
            outcomes[label, zero] = _outcome(evt, zero=zero)
    sales = [o for o in outcomes.values() if isinstance(o, tuple)]
    assert len(sales) == 16


def test_every_trigger_rule_on_every_recorded_shape(stripe_fixtures: Path) -> None:
    """Any object under any trigger type: a Trigger or a coded Ignored, never an exception."""
    codes: set[str] = set()
    for _, evt in recorded_events(stripe_fixtures):
        obj = evt["data"]["object"]
        before = json.dumps(obj, sort_keys=True)
        normalize(obj, evt.get("api_version"))
        for etype in TRIGGER_TYPES:
            out = classify(
                parse_envelope(json.dumps(wrap(obj, etype, None)).encode()),
                invoice_zero_amount=False,
            )
            if isinstance(out, Ignored):
                codes.add(out.code)
            else:
                assert isinstance(out, Trigger)
                assert isinstance(resolve(out, None), Sale | Ignored)
        assert json.dumps(obj, sort_keys=True) == before
    assert codes == {"I-MALFORMED", "I-NOT-PAID", "I-UNCAPTURED"}


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        # "amount": "10.00" (hand-edited): never guessed
        ("dj-stripe/dispute_ch_fakefakefakefake01.json", "I-MALFORMED"),
        # old charge rendered with amount_captured 0 although captured
        (
            "dj-stripe/charge_ch_fakefakefakefakefake0001.json",
            ("pi_fakefakefakefakefake0001", "charge", 2000, "USD"),
        ),
        # pre-basil invoice: the key comes from invoice.payment_intent
        (
            "dj-stripe/invoice_in_fakefakefakefakefake0001.json",
            ("pi_fakefakefakefakefake0001", "invoice", 2000, "USD"),
        ),
        # legacy charges list on the PaymentIntent
        (
            "dj-stripe/payment_intent_pi_destination_charge.json",
            ("pi_1FG742B7kbjcJ8QqGKF6qIM0", "payment_intent", 190200, "USD"),
        ),
        # "payment_intent": "pm_1234" is not a PaymentIntent: the charge keys itself
        ("pay-rails/charge.succeeded.json", ("ch_chargeid", "charge", 500, "USD")),
        # subscription-mode session without an invoice link: invoice.paid issues
        ("pay-rails/checkout.session.completed.json", "I-SUBSCRIPTION-SESSION"),
        # hybrid invoice (both eras)
        ("pay-rails/invoice.json", ("pi_3RFFrjKXBGcbgpbZ0mAQxeI1", "invoice", 24512, "USD")),
        ("pay-rails/invoice.payment_failed.json", "I-FAILED"),
        ("pay-rails/invoice.payment_action_required.json", "I-NOT-TRIGGER"),
        ("pay-rails/invoice.updated.json", "I-NOT-TRIGGER"),
        ("pay-rails/charge.refunded.json", "I-NOT-TRIGGER"),
        ("openapi/checkout.session", "I-NOT-PAID"),
        ("openapi/payment_intent", "I-NOT-PAID"),
        ("openapi/charge", "I-UNCAPTURED"),
        ("openapi/invoice", "I-NOT-PAID"),
        ("openapi/event", "I-NOT-TRIGGER"),
    ],
)
def test_notable_recorded_objects(stripe_fixtures: Path, label: str, expected: Any) -> None:
    cases = dict(recorded_events(stripe_fixtures))
    assert _outcome(cases[label]) == expected


def test_pre_basil_recorded_invoice_normalises(stripe_fixtures: Path) -> None:
    cases = dict(recorded_events(stripe_fixtures))
    evt = cases["dj-stripe/invoice_in_fakefakefakefakefake0001.json"]
    trigger = classify(parse_envelope(json.dumps(evt).encode()), invoice_zero_amount=False)
    assert isinstance(trigger, Trigger) and trigger.object is not None
    inv = trigger.object
    assert inv["total_taxes"] == [
        {
            "amount": 261,
            "tax_behavior": "inclusive",
            "tax_rate_details": {"tax_rate": "txr_fakefakefakefakefake0001"},
            "taxability_reason": None,
            "taxable_amount": None,
            "type": "tax_rate_details",
        }
    ]
    assert inv["parent"]["subscription_details"]["subscription"] == "sub_fakefakefakefakefake0001"
    assert inv["total_excluding_tax"] == inv["total"] - 261
    sale = resolve(trigger, None)
    assert isinstance(sale, Sale)
    assert sale.paid_at.timestamp() == 1593225983
    assert sale.degraded is True
