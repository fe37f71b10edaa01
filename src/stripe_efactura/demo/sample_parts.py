"""The building blocks of the demo's sample Stripe data (:mod:`.samples`): the sample
records, event envelopes and the Stripe objects (PaymentIntent, Charge, Checkout Session, line
items, products) in the shape of the pinned API version."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from ..intake.fake_stripe import FakeStripeStore
from ..intake.stripe_api import API_VERSION
from ..jsontypes import JsonObject, JsonValue

Json = JsonObject

VAT_RATE_ID = "txr_1DemoStripeTaxRO21"


@dataclass(frozen=True)
class SamplePayment:
    """One sample payment and what the demo expects from it."""

    key: str
    """The payment key the service derives (``pi_…``)."""
    title: str
    buyer: str
    email: str


@dataclass(frozen=True)
class Delivery:
    """One webhook delivery: the event and why it is in the plan."""

    event: Json
    note: str = ""

    @property
    def event_id(self) -> str:
        return str(self.event["id"])

    @property
    def type(self) -> str:
        return str(self.event["type"])

    @property
    def object_id(self) -> str:
        """The id of the Stripe object the event carries (``data.object.id``)."""
        data = self.event["data"]
        obj = data.get("object") if isinstance(data, dict) else None
        return str(obj.get("id", "")) if isinstance(obj, dict) else ""


@dataclass
class SampleSet:
    payments: list[SamplePayment]
    deliveries: list[Delivery]
    objects: list[Json]
    session_line_items: dict[str, list[Json]] = field(default_factory=dict)
    invoice_lines: dict[str, list[Json]] = field(default_factory=dict)

    def store(self) -> FakeStripeStore:
        """A fake Stripe API holding the current state of every sample object."""
        store = FakeStripeStore()
        store.add(*self.objects)
        for sid, items in self.session_line_items.items():
            store.add_session_line_items(sid, items)
        for iid, lines in self.invoice_lines.items():
            store.add_invoice_lines(iid, lines)
        return store


def with_changes(obj: Json, **changes: JsonValue) -> Json:
    out = copy.deepcopy(obj)
    out.update(changes)
    return out


class Events:
    """Event envelopes with readable ids ``evt_1Demo<nn>…`` created ``start + n`` seconds."""

    def __init__(self, start: int) -> None:
        self.start = start
        self.n = 0

    def __call__(self, etype: str, obj: Json) -> Json:
        self.n += 1
        return {
            "id": f"evt_1Demo{self.n:02d}{etype.replace('.', '_')[:18]}",
            "object": "event",
            "api_version": API_VERSION,
            "created": self.start + self.n,
            "data": {"object": copy.deepcopy(obj)},
            "livemode": True,
            "pending_webhooks": 1,
            "request": {"id": f"req_Demo{self.n:02d}", "idempotency_key": None},
            "type": etype,
        }


def payment_intent(
    pid: str,
    amount: int,
    *,
    created: int,
    currency: str = "ron",
    status: str = "succeeded",
    charge: str | None = None,
    customer: str | None = None,
    description: str | None = None,
    metadata: Json | None = None,
) -> Json:
    done = status == "succeeded"
    return {
        "id": pid,
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": amount if done else 0,
        "automatic_payment_methods": {"allow_redirects": "always", "enabled": True},
        "capture_method": "automatic_async",
        "confirmation_method": "automatic",
        "created": created,
        "currency": currency,
        "customer": customer,
        "description": description,
        "latest_charge": charge if done else None,
        "livemode": True,
        "metadata": metadata or {},
        "payment_method": "pm_1DemoCardVisa" if done else None,
        "payment_method_types": ["card"],
        "presentment_details": None,
        "receipt_email": None,
        "shipping": None,
        "status": status,
    }


def charge(
    cid: str,
    amount: int,
    *,
    pi: str,
    created: int,
    billing: Json,
    currency: str = "ron",
    customer: str | None = None,
    description: str | None = None,
    metadata: Json | None = None,
) -> Json:
    return {
        "id": cid,
        "object": "charge",
        "amount": amount,
        "amount_captured": amount,
        "amount_refunded": 0,
        "balance_transaction": f"txn_{cid[3:]}",
        "billing_details": billing,
        "captured": True,
        "created": created,
        "currency": currency,
        "customer": customer,
        "description": description,
        "disputed": False,
        "livemode": True,
        "metadata": metadata or {},
        "outcome": {"network_status": "approved_by_network", "type": "authorized"},
        "paid": True,
        "payment_intent": pi,
        "payment_method_details": {
            "type": "card",
            "card": {"brand": "visa", "last4": "4242", "exp_month": 8, "exp_year": 2029},
        },
        "presentment_details": None,
        "receipt_email": None,
        "refunded": False,
        "shipping": None,
        "status": "succeeded",
    }


def line_item(
    li: str, *, price: str, product: str, quantity: int, unit: int, currency: str
) -> Json:
    """A Checkout line item as stored: prices include VAT, no Stripe tax calculation."""
    total = unit * quantity
    return {
        "id": li,
        "object": "item",
        "amount_discount": 0,
        "amount_subtotal": total,
        "amount_tax": 0,
        "amount_total": total,
        "currency": currency,
        "description": None,
        "discounts": [],
        "price": {
            "id": price,
            "object": "price",
            "active": True,
            "currency": currency,
            "product": product,
            "tax_behavior": "inclusive",
            "type": "one_time",
            "unit_amount": unit,
            "unit_amount_decimal": str(unit),
        },
        "quantity": quantity,
        "taxes": [],
    }


def product(pid: str, name: str, created: int) -> Json:
    return {
        "id": pid,
        "object": "product",
        "active": True,
        "created": created,
        "description": None,
        "livemode": True,
        "metadata": {},
        "name": name,
        "tax_code": "txcd_10000000",
        "type": "service",
        "unit_label": None,
    }


def checkout_session(
    sid: str,
    *,
    pi: str,
    amount: int,
    created: int,
    details: Json,
    custom_fields: list[JsonValue],
    link: str,
) -> Json:
    return {
        "id": sid,
        "object": "checkout.session",
        "amount_subtotal": amount,
        "amount_total": amount,
        "billing_address_collection": "required",
        "client_reference_id": None,
        "collected_information": {
            "business_name": details.get("business_name"),
            "individual_name": None,
            "shipping_details": None,
        },
        "created": created,
        "currency": "ron",
        "custom_fields": custom_fields,
        "customer": None,
        "customer_creation": "if_required",
        "customer_details": details,
        "customer_email": None,
        "expires_at": created + 86_400,
        "invoice": None,
        "invoice_creation": {"enabled": False},
        "livemode": True,
        "locale": "ro",
        "metadata": {},
        "mode": "payment",
        "payment_intent": pi,
        "payment_link": link,
        "payment_status": "paid",
        "presentment_details": None,
        "shipping_cost": None,
        "status": "complete",
        "subscription": None,
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
    }


def cui_field(value: str | None) -> Json:
    return {
        "key": "cui",
        "label": {"custom": "CUI (doar pentru firme)", "type": "custom"},
        "optional": True,
        "type": "text",
        "text": {"maximum_length": 20, "minimum_length": None, "value": value},
    }
