"""Synthetic Stripe objects and the event sets of the payment flows A–H (STRIPE.md §4).

Each ``flow_*`` function returns a :class:`Flow`: the events Stripe sends for ONE payment (in
a natural order; tests shuffle them), the current state of the Stripe objects (what the API
returns afterwards, to load into a :class:`FakeStripeStore`), and what every trigger must
resolve to. Ids are fixed and readable (``pi_flowA``, ``in_flowC``, …), so different flows
can be loaded into one store together (two variants of the same flow share ids).

Events use the current API shape unless a flow is asked for an older ``era``:
``"basil"`` (default, 2026-10-28.endive), ``"pre_basil"`` (2024-06-20: invoice
``payment_intent``/``charge``/``subscription``/``tax``/``total_tax_amounts``, session
``shipping_details``, ``charge.invoice``) or ``"pre_2022"`` (2020-08-27: also the PaymentIntent
``charges`` list and no ``latest_charge``). The stored objects stay current, as the SDK's pinned
version renders them.

All amounts are RON minor units; VAT is 21 % (the Romanian standard rate since 2025-08-01).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

from stripe_efactura.intake.fake_stripe import FakeStripeStore
from stripe_efactura.intake.signature import sign

Json = dict[str, Any]

API_VERSION = "2026-10-28.endive"
ERA_VERSIONS = {"basil": API_VERSION, "pre_basil": "2024-06-20", "pre_2022": "2020-08-27"}
ERA_TAGS = {"basil": "", "pre_basil": "p", "pre_2022": "q"}
"""Suffix of a flow's tag per era: ids of ``flow_d_subscription_renewal(era="pre_basil")`` end
in ``flowDp``."""
SECRET = "whsec_test_factory"
T0 = 1_767_225_600
"""2026-01-01T00:00:00Z; every object and event of a flow is created shortly after."""

BUYER_CUI = "RO18547290"
"""A CUI with a valid check digit (fictional company)."""

RO_BILLING: dict[str, Any] = {
    "name": "Ion Popescu",
    "email": "ion@example.ro",
    "phone": None,
    "address": {
        "line1": "Str. Lungă 5",
        "line2": None,
        "city": "Brașov",
        "state": "Brașov",
        "postal_code": "500001",
        "country": "RO",
    },
}
"""A Romanian consumer's Stripe ``billing_details`` (the sale factories' default)."""


# --- envelopes ------------------------------------------------------------------------------


def event(
    etype: str,
    obj: Json,
    *,
    eid: str,
    created: int,
    api_version: str = API_VERSION,
    livemode: bool = False,
    previous_attributes: Json | None = None,
) -> Json:
    """A snapshot event (``object: "event"``) carrying a copy of ``obj``."""
    data: Json = {"object": copy.deepcopy(obj)}
    if previous_attributes is not None:
        data["previous_attributes"] = previous_attributes
    return {
        "id": eid,
        "object": "event",
        "api_version": api_version,
        "created": created,
        "data": data,
        "livemode": livemode,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": etype,
    }


def thin_event(etype: str, obj: Json, *, eid: str, created: int, livemode: bool = False) -> Json:
    """A thin event (``object: "v2.core.event"``, type ``v1.…``) pointing at ``obj``."""
    paths = {
        "checkout.session": "/v1/checkout/sessions/",
        "payment_intent": "/v1/payment_intents/",
        "invoice": "/v1/invoices/",
        "charge": "/v1/charges/",
    }
    stamp = f"2026-01-01T00:{(created - T0) // 60 % 60:02d}:{(created - T0) % 60:02d}.000Z"
    return {
        "id": eid,
        "object": "v2.core.event",
        "type": f"v1.{etype}",
        "livemode": livemode,
        "created": stamp,
        "context": None,
        "reason": None,
        "related_object": {
            "id": obj["id"],
            "type": obj["object"],
            "url": paths[obj["object"]] + obj["id"],
        },
    }


def signed(evt: Json, *, secret: str = SECRET, timestamp: int | None = None) -> tuple[bytes, str]:
    """``(raw body, Stripe-Signature header)`` as Stripe would send ``evt``."""
    body = json.dumps(evt, ensure_ascii=False, indent=2).encode("utf-8")
    ts = timestamp if timestamp is not None else _created_of(evt)
    return body, sign(body, secret, timestamp=ts)


def _created_of(evt: Json) -> int:
    created = evt.get("created")
    return created if isinstance(created, int) else T0


# --- objects (current API shape) ------------------------------------------------------------


def tax_rate(rid: str = "txr_ro21", percentage: float = 21.0, inclusive: bool = False) -> Json:
    return {
        "id": rid,
        "object": "tax_rate",
        "active": True,
        "country": "RO",
        "created": T0 - 86_400,
        "description": "TVA România",
        "display_name": "TVA",
        "effective_percentage": percentage,
        "inclusive": inclusive,
        "jurisdiction": "RO",
        "livemode": False,
        "metadata": {},
        "percentage": percentage,
        "state": None,
        "tax_type": "vat",
    }


def product(pid: str, name: str, **extra: Any) -> Json:
    return {
        "id": pid,
        "object": "product",
        "active": True,
        "created": T0 - 86_400,
        "description": None,
        "livemode": False,
        "metadata": {},
        "name": name,
        "tax_code": None,
        "type": "service",
        "unit_label": None,
        **extra,
    }


def customer(
    cid: str, *, name: str = "Exemplu Soft SRL", email: str = "contabil@example.ro"
) -> Json:
    return {
        "id": cid,
        "object": "customer",
        "address": _address(),
        "created": T0 - 3600,
        "email": email,
        "livemode": False,
        "metadata": {},
        "name": name,
        "phone": None,
        "shipping": None,
        "tax_exempt": "none",
    }


def _address() -> Json:
    return {
        "city": "București",
        "country": "RO",
        "line1": "Str. Exemplului nr. 1",
        "line2": "Sector 1",
        "postal_code": "010101",
        "state": "București",
    }


def payment_intent(
    pid: str,
    amount: int,
    *,
    status: str = "succeeded",
    latest_charge: str | None = None,
    customer: str | None = None,
    created: int = T0,
    currency: str = "ron",
    description: str | None = None,
    metadata: Json | None = None,
    shipping: Json | None = None,
) -> Json:
    return {
        "id": pid,
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": amount if status == "succeeded" else 0,
        "capture_method": "automatic_async",
        "created": created,
        "currency": currency,
        "customer": customer,
        "description": description,
        "latest_charge": latest_charge if status == "succeeded" else None,
        "livemode": False,
        "metadata": metadata or {},
        "payment_method": "pm_card_visa",
        "presentment_details": None,
        "receipt_email": None,
        "shipping": shipping,
        "status": status,
    }


def charge(
    cid: str,
    amount: int,
    *,
    pi: str | None,
    status: str = "succeeded",
    captured: bool = True,
    created: int = T0,
    currency: str = "ron",
    customer: str | None = None,
    name: str = "Ion Popescu",
) -> Json:
    return {
        "id": cid,
        "object": "charge",
        "amount": amount,
        "amount_captured": amount if captured and status == "succeeded" else 0,
        "amount_refunded": 0,
        "balance_transaction": f"txn_{cid[3:]}",
        "billing_details": {
            "address": _address(),
            "email": "ion.popescu@example.ro",
            "name": name,
            "phone": None,
            "tax_id": None,
        },
        "captured": captured,
        "created": created,
        "currency": currency,
        "customer": customer,
        "description": None,
        "disputed": False,
        "livemode": False,
        "metadata": {},
        "paid": status == "succeeded",
        "payment_intent": pi,
        "presentment_details": None,
        "receipt_email": None,
        "refunded": False,
        "shipping": None,
        "status": status,
    }


def checkout_session(
    sid: str,
    *,
    amount_subtotal: int,
    amount_tax: int,
    pi: str | None,
    mode: str = "payment",
    payment_status: str = "paid",
    invoice: str | None = None,
    subscription: str | None = None,
    customer: str | None = None,
    created: int = T0,
    currency: str = "ron",
) -> Json:
    total = amount_subtotal + amount_tax
    return {
        "id": sid,
        "object": "checkout.session",
        "amount_subtotal": amount_subtotal,
        "amount_total": total,
        "client_reference_id": None,
        "collected_information": {
            "business_name": None,
            "individual_name": None,
            "shipping_details": {"name": "Exemplu Soft SRL", "address": _address()},
        },
        "created": created,
        "currency": currency,
        "custom_fields": [
            {
                "key": "cui",
                "label": {"custom": "CUI", "type": "custom"},
                "optional": True,
                "type": "text",
                "text": {"value": BUYER_CUI},
            }
        ],
        "customer": customer,
        "customer_details": {
            "address": _address(),
            "business_name": "Exemplu Soft SRL",
            "email": "contabil@example.ro",
            "individual_name": None,
            "name": "Ion Popescu",
            "phone": None,
            "tax_exempt": "none",
            "tax_ids": [{"type": "eu_vat", "value": BUYER_CUI}],
        },
        "customer_email": None,
        "invoice": invoice,
        "invoice_creation": {"enabled": invoice is not None and mode == "payment"},
        "livemode": False,
        "metadata": {},
        "mode": mode,
        "payment_intent": pi,
        "payment_link": None,
        "payment_status": payment_status,
        "presentment_details": None,
        "shipping_cost": None,
        "status": "complete",
        "subscription": subscription,
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": amount_tax},
    }


def session_item(
    li: str,
    *,
    price_id: str,
    product_id: str,
    quantity: int,
    unit_amount: int,
    rate: Json | None = None,
    currency: str = "ron",
) -> Json:
    """A Checkout line item as stored (``price.product`` an id; full ``taxes``/``discounts``)."""
    subtotal = unit_amount * quantity
    tax = subtotal * int(rate["percentage"]) // 100 if rate else 0
    return {
        "id": li,
        "object": "item",
        "amount_discount": 0,
        "amount_subtotal": subtotal,
        "amount_tax": tax,
        "amount_total": subtotal + tax,
        "currency": currency,
        "description": None,
        "discounts": [],
        "price": {
            "id": price_id,
            "object": "price",
            "currency": currency,
            "product": product_id,
            "tax_behavior": "exclusive",
            "type": "one_time",
            "unit_amount": unit_amount,
            "unit_amount_decimal": str(unit_amount),
        },
        "quantity": quantity,
        "taxes": (
            [
                {
                    "amount": tax,
                    "rate": rate,
                    "taxability_reason": "standard_rated",
                    "taxable_amount": subtotal,
                }
            ]
            if rate
            else []
        ),
    }


def _tax(amount: int, taxable: int, rate_id: str) -> Json:
    return {
        "amount": amount,
        "tax_behavior": "exclusive",
        "tax_rate_details": {"tax_rate": rate_id},
        "taxability_reason": "standard_rated",
        "taxable_amount": taxable,
        "type": "tax_rate_details",
    }


def invoice_line(
    il: str,
    *,
    invoice_id: str,
    amount: int,
    product_id: str,
    price_id: str,
    description: str,
    quantity: int = 1,
    rate_id: str | None = "txr_ro21",
    subscription: str | None = None,
) -> Json:
    tax = amount * 21 // 100 if rate_id else 0
    parent: Json
    if subscription:
        parent = {
            "type": "subscription_item_details",
            "subscription_item_details": {
                "subscription": subscription,
                "subscription_item": f"si_{il[3:]}",
                "invoice_item": None,
                "proration": False,
            },
        }
    else:
        parent = {
            "type": "invoice_item_details",
            "invoice_item_details": {
                "invoice_item": f"ii_{il[3:]}",
                "subscription": None,
                "proration": False,
            },
        }
    return {
        "id": il,
        "object": "line_item",
        "amount": amount,
        "currency": "ron",
        "description": description,
        "discount_amounts": [],
        "discountable": True,
        "discounts": [],
        "invoice": invoice_id,
        "livemode": False,
        "metadata": {},
        "parent": parent,
        "period": {"start": T0, "end": T0 + 30 * 86_400},
        "pricing": {
            "type": "price_details",
            "price_details": {"price": price_id, "product": product_id},
            "unit_amount_decimal": str(amount // quantity),
        },
        "quantity": quantity,
        "taxes": [_tax(tax, amount, rate_id)] if rate_id else [],
    }


def invoice(
    iid: str,
    *,
    lines: list[Json],
    status: str = "paid",
    customer: str | None = "cus_flow",
    subscription: str | None = None,
    billing_reason: str = "manual",
    created: int = T0,
    paid_at: int | None = None,
    paid_out_of_band: bool = False,
    number: str | None = None,
) -> Json:
    subtotal = sum(int(line["amount"]) for line in lines)
    taxes: dict[str, list[int]] = {}
    for line in lines:
        for t in line["taxes"]:
            rid = t["tax_rate_details"]["tax_rate"]
            acc = taxes.setdefault(rid, [0, 0])
            acc[0] += t["amount"]
            acc[1] += t["taxable_amount"]
    tax_total = sum(a for a, _ in taxes.values())
    total = subtotal + tax_total
    paid = total if status == "paid" else 0
    parent = None
    if subscription:
        parent = {
            "type": "subscription_details",
            "subscription_details": {"subscription": subscription, "metadata": {}},
            "quote_details": None,
        }
    return {
        "id": iid,
        "object": "invoice",
        "amount_due": total,
        "amount_paid": paid,
        "amount_remaining": total - paid,
        "billing_reason": billing_reason,
        "collection_method": "charge_automatically",
        "created": created,
        "currency": "ron",
        "customer": customer,
        "customer_address": _address(),
        "customer_email": "contabil@example.ro",
        "customer_name": "Exemplu Soft SRL",
        "customer_phone": None,
        "customer_shipping": None,
        "customer_tax_exempt": "none",
        "customer_tax_ids": [{"type": "eu_vat", "value": BUYER_CUI}],
        "default_tax_rates": [],
        "lines": {
            "object": "list",
            "data": lines[:10],
            "has_more": len(lines) > 10,
            "total_count": len(lines),
            "url": f"/v1/invoices/{iid}/lines",
        },
        "livemode": False,
        "metadata": {},
        "number": number or f"EX-{iid[3:].upper()}",
        "paid_out_of_band": paid_out_of_band,
        "parent": parent,
        "status": status,
        "status_transitions": {
            "finalized_at": created + 60 if status != "draft" else None,
            "paid_at": paid_at if status == "paid" else None,
            "voided_at": None,
            "marked_uncollectible_at": None,
        },
        "subtotal": subtotal,
        "total": total,
        "total_excluding_tax": subtotal,
        "total_taxes": [_tax(a, b, rid) for rid, (a, b) in taxes.items()],
    }


def invoice_payment(inpay: str, *, invoice_id: str, pi: str, amount: int, paid_at: int) -> Json:
    return {
        "id": inpay,
        "object": "invoice_payment",
        "amount_paid": amount,
        "amount_requested": amount,
        "created": paid_at - 5,
        "currency": "ron",
        "invoice": invoice_id,
        "is_default": True,
        "livemode": False,
        "payment": {"type": "payment_intent", "payment_intent": pi},
        "status": "paid",
        "status_transitions": {"canceled_at": None, "paid_at": paid_at},
    }


# --- older eras -----------------------------------------------------------------------------


def pre_basil_invoice(inv: Json, *, pi: str | None, charge_id: str | None) -> Json:
    """``inv`` as an endpoint pinned before 2025-03-31.basil renders it."""
    old = copy.deepcopy(inv)
    parent = old.pop("parent", None) or {}
    old.pop("total_taxes", None)
    old["payment_intent"] = pi
    old["charge"] = charge_id
    old["subscription"] = (parent.get("subscription_details") or {}).get("subscription")
    taxes = inv["total_taxes"]
    old["tax"] = sum(t["amount"] for t in taxes) if taxes else None
    old["total_tax_amounts"] = [
        {"amount": t["amount"], "inclusive": False, "tax_rate": t["tax_rate_details"]["tax_rate"]}
        for t in taxes
    ]
    for line in old["lines"]["data"]:
        pricing = line.pop("pricing")
        line.pop("parent", None)
        details = pricing["price_details"]
        line["price"] = {"id": details["price"], "object": "price", "product": details["product"]}
        line["tax_amounts"] = [
            {
                "amount": t["amount"],
                "inclusive": False,
                "tax_rate": t["tax_rate_details"]["tax_rate"],
            }
            for t in line.pop("taxes")
        ]
        line["type"] = "subscription" if old["subscription"] else "invoiceitem"
        line["subscription"] = old["subscription"]
    return old


def pre_basil_session(cs: Json) -> Json:
    old = copy.deepcopy(cs)
    info = old.pop("collected_information")
    old["shipping_details"] = info["shipping_details"]
    return old


def pre_basil_charge(ch: Json, *, invoice_id: str | None) -> Json:
    old = copy.deepcopy(ch)
    old["invoice"] = invoice_id
    return old


def pre_2022_payment_intent(pi: Json, charges: list[Json], *, invoice_id: str | None) -> Json:
    old = copy.deepcopy(pi)
    old.pop("latest_charge", None)
    old["invoice"] = invoice_id
    old["charges"] = {
        "object": "list",
        "data": copy.deepcopy(charges),
        "has_more": False,
        "total_count": len(charges),
        "url": f"/v1/charges?payment_intent={pi['id']}",
    }
    return old


# --- flows ----------------------------------------------------------------------------------


@dataclass
class Flow:
    name: str
    title: str
    events: list[Json]
    """Everything Stripe sends for the payment, in a plausible order."""
    objects: list[Json]
    """Current state of every object (what ``GET`` returns afterwards)."""
    payment_key: str | None
    """What every trigger resolves to (with the API); ``None``: nothing is issued."""
    owner: tuple[str, str] | None
    """``(owner_type, owner_id)`` expected with the API."""
    amount: int
    currency: str
    triggers: frozenset[str]
    """Ids of the events that :func:`events.classify` turns into a Trigger (zero not allowed)."""
    session_line_items: dict[str, list[Json]] = field(default_factory=dict)
    invoice_lines: dict[str, list[Json]] = field(default_factory=dict)
    pi_line_items: dict[str, list[Json]] = field(default_factory=dict)

    def store(self, store: FakeStripeStore | None = None) -> FakeStripeStore:
        """Load the flow's objects into ``store`` (a new one by default)."""
        store = store if store is not None else FakeStripeStore()
        store.add(*self.objects)
        for sid, items in self.session_line_items.items():
            store.add_session_line_items(sid, items)
        for iid, lines in self.invoice_lines.items():
            store.add_invoice_lines(iid, lines)
        for pid, items in self.pi_line_items.items():
            store.add_pi_line_items(pid, items)
        return store

    def event(self, etype: str) -> Json:
        """The first event of a type (tests pick single events with this)."""
        return next(e for e in self.events if e["type"] == etype)


class _Seq:
    """Event ids ``evt_<flow><nn>`` and creation times ``T0 + offset + n``."""

    def __init__(self, flow: str, offset: int, api_version: str) -> None:
        self.flow, self.offset, self.api_version, self.n = flow, offset, api_version, 0

    def __call__(self, etype: str, obj: Json) -> Json:
        self.n += 1
        return event(
            etype,
            obj,
            eid=f"evt_{self.flow}{self.n:02d}",
            created=T0 + self.offset + self.n,
            api_version=self.api_version,
        )


def _with(obj: Json, **changes: Any) -> Json:
    out = copy.deepcopy(obj)
    out.update(changes)
    return out


def _ids(evts: list[Json], *types: str) -> frozenset[str]:
    return frozenset(e["id"] for e in evts if e["type"] in types)


def flow_a_checkout_card(*, invoice_creation: bool = False, era: str = "basil") -> Flow:
    """A. Checkout / Payment Link, ``mode=payment``, card. 2 × 50.00 lei + 21 % = 121.00 lei.

    With ``invoice_creation`` Stripe also issues a post-purchase Invoice (``in_flowA``), which
    then owns the payment.
    """
    t = "A" + ("I" if invoice_creation else "") + ERA_TAGS[era]
    ev = _Seq(t, 0, ERA_VERSIONS[era])
    rate = tax_rate()
    prod = product("prod_carte", "Carte de bucate")
    items = [
        session_item(
            f"li_flow{t}1",
            price_id="price_carte",
            product_id=prod["id"],
            quantity=2,
            unit_amount=5000,
            rate=rate,
        )
    ]
    pi_created = payment_intent(f"pi_flow{t}", 12100, status="requires_payment_method")
    pi = payment_intent(f"pi_flow{t}", 12100, latest_charge=f"ch_flow{t}")
    ch = charge(f"ch_flow{t}", 12100, pi=f"pi_flow{t}", created=T0 + 2)
    inv_id = f"in_flow{t}" if invoice_creation else None
    cs = checkout_session(
        f"cs_flow{t}", amount_subtotal=10000, amount_tax=2100, pi=f"pi_flow{t}", invoice=inv_id
    )
    objects: list[Json] = [pi, ch, cs, rate, prod]
    inv_events: list[Json] = []
    if era != "basil":
        cs = pre_basil_session(cs)
        ch = pre_basil_charge(ch, invoice_id=None)
    if era == "pre_2022":
        pi = pre_2022_payment_intent(pi, [ch], invoice_id=None)
    events = [
        ev("payment_intent.created", pi_created),
        ev("payment_intent.succeeded", pi),
        ev("charge.succeeded", ch),
        ev("checkout.session.completed", cs),
    ]
    if invoice_creation:
        line = invoice_line(
            f"il_flow{t}1",
            invoice_id=f"in_flow{t}",
            amount=10000,
            quantity=2,
            product_id=prod["id"],
            price_id="price_carte",
            description="Carte de bucate",
        )
        inv = invoice(f"in_flow{t}", lines=[line], customer=None, paid_at=T0 + 5, created=T0 + 4)
        objects += [
            inv,
            invoice_payment(
                f"inpay_flow{t}",
                invoice_id=f"in_flow{t}",
                pi=f"pi_flow{t}",
                amount=12100,
                paid_at=T0 + 5,
            ),
        ]
        if era != "basil":
            inv = pre_basil_invoice(inv, pi=f"pi_flow{t}", charge_id=f"ch_flow{t}")
        inv_events = [
            ev("invoice.created", _with(inv, status="draft")),
            ev("invoice.finalized", inv),
            ev("invoice.paid", inv),
            ev("invoice.payment_succeeded", inv),
        ]
    events += [*inv_events, ev("charge.updated", ch)]
    triggers = _ids(
        events,
        "payment_intent.succeeded",
        "charge.succeeded",
        "checkout.session.completed",
        "invoice.paid",
        "invoice.finalized",
    )
    owner = ("invoice", f"in_flow{t}") if invoice_creation else ("checkout_session", f"cs_flow{t}")
    return Flow(
        t,
        "Checkout, payment mode, card" + (", post-purchase invoice" if invoice_creation else ""),
        events,
        objects,
        f"pi_flow{t}",
        owner,
        12100,
        "RON",
        triggers,
        session_line_items={f"cs_flow{t}": items},
    )


def flow_b_checkout_delayed() -> Flow:
    """B. Checkout with SEPA Debit (EUR): ``completed`` is unpaid, success comes days later."""
    t = "B"
    ev = _Seq(t, 1000, API_VERSION)
    rate = tax_rate()
    prod = product("prod_abonament_anual", "Abonament anual")
    items = [
        session_item(
            f"li_flow{t}1",
            price_id="price_anual",
            product_id=prod["id"],
            quantity=1,
            unit_amount=20000,
            rate=rate,
            currency="eur",
        )
    ]
    later = T0 + 3 * 86_400
    cs_unpaid = checkout_session(
        f"cs_flow{t}",
        amount_subtotal=20000,
        amount_tax=4200,
        pi=f"pi_flow{t}",
        payment_status="unpaid",
        currency="eur",
        created=T0 + 1000,
    )
    cs_paid = _with(cs_unpaid, payment_status="paid")
    pi_proc = payment_intent(f"pi_flow{t}", 24200, status="processing", currency="eur")
    pi = payment_intent(
        f"pi_flow{t}", 24200, latest_charge=f"py_flow{t}", currency="eur", created=T0 + 1000
    )
    ch_pending = charge(f"py_flow{t}", 24200, pi=f"pi_flow{t}", status="pending", currency="eur")
    ch = charge(f"py_flow{t}", 24200, pi=f"pi_flow{t}", currency="eur", created=T0 + 1001)
    events = [
        ev("checkout.session.completed", cs_unpaid),
        ev("payment_intent.processing", pi_proc),
        ev("charge.pending", ch_pending),
    ]
    ev.offset = later - T0
    events += [
        ev("payment_intent.succeeded", pi),
        ev("charge.succeeded", ch),
        ev("checkout.session.async_payment_succeeded", cs_paid),
    ]
    triggers = _ids(
        events,
        "payment_intent.succeeded",
        "charge.succeeded",
        "checkout.session.async_payment_succeeded",
    )
    return Flow(
        t,
        "Checkout, delayed method (SEPA)",
        events,
        [cs_paid, pi, ch, rate, prod],
        f"pi_flow{t}",
        ("checkout_session", f"cs_flow{t}"),
        24200,
        "EUR",
        triggers,
        session_line_items={f"cs_flow{t}": items},
    )


def _subscription_objects(
    f: str, *, reason: str, created: int, lines_count: int = 1
) -> tuple[Json, Json, Json, Json, list[Json]]:
    """Invoice (paid), PaymentIntent, Charge, InvoicePayment and the lines of flow ``f``."""
    iid, pid, cid = f"in_flow{f}", f"pi_flow{f}", f"ch_flow{f}"
    lines = [
        invoice_line(
            f"il_flow{f}{n}",
            invoice_id=iid,
            amount=10000,
            product_id="prod_plan_pro",
            price_id="price_plan_pro",
            description="1 × Plan Pro (la 100,00 lei / lună)",
            subscription=f"sub_flow{f}",
        )
        for n in range(1, lines_count + 1)
    ]
    paid_at = created + 10
    inv = invoice(
        iid,
        lines=lines,
        customer=f"cus_flow{f}",
        subscription=f"sub_flow{f}",
        billing_reason=reason,
        created=created,
        paid_at=paid_at,
    )
    amount = int(inv["amount_paid"])
    pi = payment_intent(
        pid,
        amount,
        latest_charge=cid,
        customer=f"cus_flow{f}",
        created=created + 5,
        description="Subscription creation" if reason == "subscription_create" else None,
    )
    ch = charge(cid, amount, pi=pid, customer=f"cus_flow{f}", created=created + 6)
    ip = invoice_payment(f"inpay_flow{f}", invoice_id=iid, pi=pid, amount=amount, paid_at=paid_at)
    return inv, pi, ch, ip, lines


def _invoice_events(
    ev: _Seq, inv: Json, pi: Json, ch: Json, ip: Json, era: str, order: str
) -> list[Json]:
    draft = _with(
        inv,
        status="draft",
        amount_paid=0,
        amount_remaining=inv["amount_due"],
        status_transitions={**inv["status_transitions"], "paid_at": None, "finalized_at": None},
    )
    open_ = _with(
        inv,
        status="open",
        amount_paid=0,
        amount_remaining=inv["amount_due"],
        status_transitions={**inv["status_transitions"], "paid_at": None},
    )
    pi_created = _with(pi, status="requires_confirmation", amount_received=0, latest_charge=None)
    pi_ev, ch_ev, inv_ev = pi, ch, inv
    if era != "basil":
        draft = pre_basil_invoice(draft, pi=None, charge_id=None)
        open_ = pre_basil_invoice(open_, pi=pi["id"], charge_id=None)
        inv_ev = pre_basil_invoice(inv, pi=pi["id"], charge_id=ch["id"])
        ch_ev = pre_basil_charge(ch, invoice_id=inv["id"])
        pi_ev = _with(pi, invoice=inv["id"])
        pi_created = _with(pi_created, invoice=inv["id"])
    if era == "pre_2022":
        pi_ev = pre_2022_payment_intent(pi, [ch_ev], invoice_id=inv["id"])
    head = [("invoice.created", draft), ("invoice.finalized", open_)]
    pay = [
        ("payment_intent.created", pi_created),
        ("payment_intent.succeeded", pi_ev),
        ("charge.succeeded", ch_ev),
    ]
    paid = [
        ("invoice.paid", inv_ev),
        ("invoice.payment_succeeded", inv_ev),
        ("invoice_payment.paid", ip),
    ]
    ordered = head + paid + pay if order == "invoice_first" else head + pay + paid
    return [ev(etype, obj) for etype, obj in ordered]


def flow_c_subscription_checkout(*, era: str = "basil") -> Flow:
    """C. Checkout, ``mode=subscription``, first period: the session names ``in_flowC``."""
    t = "C" + ERA_TAGS[era]
    ev = _Seq(t, 2000, ERA_VERSIONS[era])
    inv, pi, ch, ip, _ = _subscription_objects(t, reason="subscription_create", created=T0 + 2000)
    cs = checkout_session(
        f"cs_flow{t}",
        amount_subtotal=10000,
        amount_tax=2100,
        pi=None,
        mode="subscription",
        invoice=f"in_flow{t}",
        subscription=f"sub_flow{t}",
        customer=f"cus_flow{t}",
        created=T0 + 1990,
    )
    cs_ev = pre_basil_session(cs) if era != "basil" else cs
    sub = {
        "id": f"sub_flow{t}",
        "object": "subscription",
        "status": "active",
        "customer": f"cus_flow{t}",
    }
    events = [ev("checkout.session.completed", cs_ev), ev("customer.subscription.created", sub)]
    events += _invoice_events(ev, inv, pi, ch, ip, era, "invoice_first")
    triggers = _ids(
        events,
        "checkout.session.completed",
        "invoice.paid",
        "payment_intent.succeeded",
        "charge.succeeded",
    )
    objects = [cs, inv, pi, ch, ip, sub, tax_rate(), product("prod_plan_pro", "Plan Pro")]
    objects.append(customer(f"cus_flow{t}"))
    return Flow(
        t,
        "Checkout, subscription mode, first period",
        events,
        objects,
        f"pi_flow{t}",
        ("invoice", f"in_flow{t}"),
        12100,
        "RON",
        triggers,
    )


def flow_d_subscription_renewal(*, era: str = "basil") -> Flow:
    """D. Subscription renewal: invoice events, PaymentIntent and Charge of ``in_flowD``."""
    t = "D" + ERA_TAGS[era]
    ev = _Seq(t, 3000, ERA_VERSIONS[era])
    inv, pi, ch, ip, _ = _subscription_objects(t, reason="subscription_cycle", created=T0 + 3000)
    events = _invoice_events(ev, inv, pi, ch, ip, era, "payment_first")
    triggers = _ids(events, "invoice.paid", "payment_intent.succeeded", "charge.succeeded")
    objects = [inv, pi, ch, ip, tax_rate(), product("prod_plan_pro", "Plan Pro")]
    objects.append(customer(f"cus_flow{t}"))
    return Flow(
        t,
        "Subscription renewal",
        events,
        objects,
        f"pi_flow{t}",
        ("invoice", f"in_flow{t}"),
        12100,
        "RON",
        triggers,
    )


def flow_e_stripe_invoicing(*, out_of_band: bool = False) -> Flow:
    """E. Stripe Invoicing, ``send_invoice`` with 12 lines (two pages of ``/lines``).

    Paid on the hosted page (PI + charge), or ``out_of_band`` (no PI: the key is ``in_flowE``).
    """
    t = "E" + ("O" if out_of_band else "")
    ev = _Seq(t, 4000, API_VERSION)
    created = T0 + 4000
    lines = [
        invoice_line(
            f"il_flow{t}{n:02d}",
            invoice_id=f"in_flow{t}",
            amount=1000 * n,
            product_id=f"prod_ora{n:02d}",
            price_id=f"price_ora{n:02d}",
            description=f"Consultanță, modulul {n}",
        )
        for n in range(1, 13)
    ]
    paid_at = created + 7 * 86_400
    inv = invoice(
        f"in_flow{t}",
        lines=lines,
        customer=f"cus_flow{t}",
        created=created,
        paid_at=paid_at,
        paid_out_of_band=out_of_band,
    )
    inv["collection_method"] = "send_invoice"
    amount = int(inv["amount_paid"])
    open_ = _with(
        inv,
        status="open",
        amount_paid=0,
        amount_remaining=amount,
        status_transitions={**inv["status_transitions"], "paid_at": None},
    )
    events = [ev("invoice.finalized", open_)]
    objects = [inv, tax_rate(), customer(f"cus_flow{t}")]
    objects += [product(f"prod_ora{n:02d}", f"Consultanță, modulul {n}") for n in range(1, 13)]
    key = f"in_flow{t}"
    if not out_of_band:
        pi = payment_intent(
            f"pi_flow{t}",
            amount,
            latest_charge=f"ch_flow{t}",
            customer=f"cus_flow{t}",
            created=paid_at,
        )
        ch = charge(
            f"ch_flow{t}", amount, pi=f"pi_flow{t}", customer=f"cus_flow{t}", created=paid_at
        )
        ip = invoice_payment(
            f"inpay_flow{t}",
            invoice_id=f"in_flow{t}",
            pi=f"pi_flow{t}",
            amount=amount,
            paid_at=paid_at,
        )
        objects += [pi, ch, ip]
        ev.offset += 7 * 86_400
        events += [ev("payment_intent.succeeded", pi), ev("charge.succeeded", ch)]
        key = f"pi_flow{t}"
    events += [ev("invoice.paid", inv), ev("invoice.payment_succeeded", inv)]
    triggers = _ids(events, "invoice.paid", "payment_intent.succeeded", "charge.succeeded")
    return Flow(
        t,
        "Stripe Invoicing" + (" paid out of band" if out_of_band else ""),
        events,
        objects,
        key,
        ("invoice", f"in_flow{t}"),
        amount,
        "RON",
        triggers,
        invoice_lines={f"in_flow{t}": lines},
    )


WOO_METADATA = {
    "customer_name": "Ion Popescu",
    "customer_email": "ion.popescu@example.ro",
    "order_id": "1234",
    "order_key": "wc_order_abc123",
    "site_url": "https://magazin.example.ro",
    "payment_type": "single",
}


def flow_f_direct_payment_intent(*, created_succeeded: bool = False, era: str = "basil") -> Flow:
    """F. Direct PaymentIntent (WooCommerce): 232.00 lei, WooCommerce metadata.

    ``created_succeeded``: a ``confirm=true`` create, whose ``payment_intent.created`` snapshot
    already says ``succeeded`` (then also a trigger).
    """
    t = "F" + ("S" if created_succeeded else "") + ERA_TAGS[era]
    ev = _Seq(t, 5000, ERA_VERSIONS[era])
    kwargs: Json = {
        "created": T0 + 5000,
        "description": "Magazin Exemplu - Comanda 1234",
        "metadata": WOO_METADATA,
        "shipping": {"name": "Ion Popescu", "phone": None, "address": _address()},
    }
    pi = payment_intent(f"pi_flow{t}", 23200, latest_charge=f"ch_flow{t}", **kwargs)
    first = (
        pi
        if created_succeeded
        else payment_intent(f"pi_flow{t}", 23200, status="requires_payment_method", **kwargs)
    )
    ch = charge(f"ch_flow{t}", 23200, pi=f"pi_flow{t}", created=T0 + 5001)
    pi_ev = pi
    if era == "pre_2022":
        pi_ev = pre_2022_payment_intent(pi, [ch], invoice_id=None)
        if created_succeeded:
            first = pi_ev
    events = [ev("payment_intent.created", first)]
    if not created_succeeded:
        action = _with(first, status="requires_action")
        events.append(ev("payment_intent.requires_action", action))
    events += [
        ev("payment_intent.succeeded", pi_ev),
        ev("charge.succeeded", ch),
        ev("charge.updated", ch),
    ]
    types = ["payment_intent.succeeded", "charge.succeeded"]
    if created_succeeded:
        types.append("payment_intent.created")
    amount_items = [
        {
            "id": f"uli_flow{t}1",
            "object": "payment_intent_amount_details_line_item",
            "discount_amount": None,
            "payment_method_options": {},
            "product_code": "SKU-1",
            "product_name": "Ceainic",
            "quantity": 2,
            "tax": {"total_tax_amount": 4026},
            "unit_cost": 9587,
            "unit_of_measure": "buc",
        }
    ]
    return Flow(
        t,
        "Direct PaymentIntent (WooCommerce)",
        events,
        [pi, ch],
        f"pi_flow{t}",
        ("payment_intent", f"pi_flow{t}"),
        23200,
        "RON",
        _ids(events, *types),
        pi_line_items={f"pi_flow{t}": amount_items},
    )


def flow_g_legacy_charge() -> Flow:
    """G. Legacy Charges API: a single ``charge.succeeded`` with no PaymentIntent."""
    t = "G"
    ev = _Seq(t, 6000, "2019-12-03")
    ch = charge(f"ch_flow{t}", 5000, pi=None, created=T0 + 6000)
    events = [ev("charge.succeeded", ch)]
    return Flow(
        t,
        "Legacy charge without PaymentIntent",
        events,
        [ch],
        f"ch_flow{t}",
        ("charge", f"ch_flow{t}"),
        5000,
        "RON",
        _ids(events, "charge.succeeded"),
    )


def flow_h_nothing_paid() -> Flow:
    """H. Nothing paid: a trial through Checkout (``no_payment_required``) and a 0 invoice."""
    t = "H"
    ev = _Seq(t, 7000, API_VERSION)
    line = invoice_line(
        f"il_flow{t}1",
        invoice_id=f"in_flow{t}",
        amount=0,
        product_id="prod_plan_pro",
        price_id="price_plan_pro",
        description="Perioadă de probă pentru Plan Pro",
        subscription=f"sub_flow{t}",
        rate_id=None,
    )
    inv = invoice(
        f"in_flow{t}",
        lines=[line],
        customer=f"cus_flow{t}",
        subscription=f"sub_flow{t}",
        billing_reason="subscription_create",
        created=T0 + 7000,
        paid_at=T0 + 7000,
    )
    cs = checkout_session(
        f"cs_flow{t}",
        amount_subtotal=0,
        amount_tax=0,
        pi=None,
        mode="subscription",
        payment_status="no_payment_required",
        invoice=f"in_flow{t}",
        subscription=f"sub_flow{t}",
        customer=f"cus_flow{t}",
        created=T0 + 6990,
    )
    events = [
        ev("checkout.session.completed", cs),
        ev("invoice.finalized", inv),
        ev("invoice.paid", inv),
    ]
    return Flow(
        t,
        "Nothing paid (trial)",
        events,
        [cs, inv, customer(f"cus_flow{t}"), product("prod_plan_pro", "Plan Pro")],
        None,
        None,
        0,
        "RON",
        frozenset(),
    )


def all_flows() -> list[Flow]:
    """One of each flow (current API shape), A–H, plus A with a post-purchase invoice and E
    paid out of band."""
    return [
        flow_a_checkout_card(),
        flow_a_checkout_card(invoice_creation=True),
        flow_b_checkout_delayed(),
        flow_c_subscription_checkout(),
        flow_d_subscription_renewal(),
        flow_e_stripe_invoicing(),
        flow_e_stripe_invoicing(out_of_band=True),
        flow_f_direct_payment_intent(),
        flow_g_legacy_charge(),
        flow_h_nothing_paid(),
    ]
