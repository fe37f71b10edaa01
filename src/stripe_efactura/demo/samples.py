"""The demo's sample Stripe data: four payments, their objects and the webhooks Stripe sends.

Written for the demo (no recorded Stripe data): the objects have the shape of the Stripe API
version the service pins (:data:`~stripe_efactura.intake.stripe_api.API_VERSION`), the people
and companies are fictional, and every fiscal id has a valid check digit.

1. **B2C Checkout in RON**: a Payment Link paid by card, buyer in Cluj-Napoca, no CNP (the
   optional CUI field left empty), prices include the 21 % VAT.
2. **B2B Checkout in RON**: a company types ``RO41833563`` in the Checkout custom field
   ``CUI``; address in Bucharest, ``Sector 3``.
3. **Subscription renewal**: ``invoice.paid`` of a monthly plan, Stripe Tax 21 % added on top
   (``tax_behavior: exclusive``), paid by the saved card.
4. **EUR sale to an EU business**: a direct PaymentIntent as the WooCommerce Stripe gateway
   creates it (metadata ``order_id``, ``Order Item #N``, ``vat_id``), to a German company with
   a VAT id: reverse charge (category AE), VAT stated in RON at the BNR rate.

All objects and events are ``livemode: true``: only live-mode invoices are sent to ANAF, and
the demo's ANAF is the in-process fake of ANAF's *test* environment.

:func:`build_samples` returns the objects (to load into a
:class:`~stripe_efactura.intake.fake_stripe.FakeStripeStore`, the demo's Stripe API) and the
webhook deliveries in the order the demo posts them, with duplicates and out-of-order
deliveries, as Stripe really sends them.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..intake.fake_stripe import FakeStripeStore
from ..intake.stripe_api import API_VERSION
from ..tz import BUCHAREST

Json = dict[str, Any]

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


# --- helpers ----------------------------------------------------------------------------------


def _with(obj: Json, **changes: Any) -> Json:
    out = copy.deepcopy(obj)
    out.update(changes)
    return out


class _Events:
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


def _payment_intent(
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


def _charge(
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


def _item(li: str, *, price: str, product: str, quantity: int, unit: int, currency: str) -> Json:
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


def _product(pid: str, name: str, created: int) -> Json:
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


def _session(
    sid: str,
    *,
    pi: str,
    amount: int,
    created: int,
    details: Json,
    custom_fields: list[Json],
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


def _cui_field(value: str | None) -> Json:
    return {
        "key": "cui",
        "label": {"custom": "CUI (doar pentru firme)", "type": "custom"},
        "optional": True,
        "type": "text",
        "text": {"maximum_length": 20, "minimum_length": None, "value": value},
    }


# --- the four payments ----------------------------------------------------------------------


def _b2c_checkout(ev: _Events, t: int, out: SampleSet) -> list[Delivery]:
    """1. B2C Checkout in RON, card, Cluj-Napoca, no CNP: 279.90 lei incl. 21 % VAT."""
    pi_id, ch_id, cs_id = "pi_3DemoB2CCluj", "ch_3DemoB2CCluj", "cs_live_DemoB2CCluj"
    address = {
        "city": "Cluj-Napoca",
        "country": "RO",
        "line1": "Str. Memorandumului nr. 21, ap. 4",
        "line2": None,
        "postal_code": "400114",
        "state": "Cluj",
    }
    details: Json = {
        "address": address,
        "business_name": None,
        "email": "ioana.pop@example.com",
        "individual_name": None,
        "name": "Ioana Pop",
        "phone": "+40740111222",
        "tax_exempt": "none",
        "tax_ids": [],
    }
    items = [
        _item(
            "li_DemoB2C1",
            price="price_DemoCana",
            product="prod_DemoCana",
            quantity=2,
            unit=4500,
            currency="ron",
        ),
        _item(
            "li_DemoB2C2",
            price="price_DemoFarfurii",
            product="prod_DemoFarfurii",
            quantity=1,
            unit=18990,
            currency="ron",
        ),
    ]
    amount = 27990
    pi = _payment_intent(pi_id, amount, created=t, charge=ch_id)
    billing = {"address": address, "email": details["email"], "name": "Ioana Pop", "phone": None}
    ch = _charge(ch_id, amount, pi=pi_id, created=t + 20, billing=billing)
    cs = _session(
        cs_id,
        pi=pi_id,
        amount=amount,
        created=t - 60,
        details=details,
        custom_fields=[_cui_field(None)],
        link="plink_DemoAtelierCeramica",
    )
    out.objects += [
        pi,
        ch,
        cs,
        _product("prod_DemoCana", "Cană ceramică pictată manual", t - 86_400),
        _product("prod_DemoFarfurii", "Set 6 farfurii desert", t - 86_400),
    ]
    out.session_line_items[cs_id] = items
    out.payments.append(
        SamplePayment(pi_id, "B2C Checkout, RON, card, Cluj", "Ioana Pop", details["email"])
    )
    completed = ev("checkout.session.completed", cs)
    return [
        Delivery(completed, "arrives first"),
        Delivery(ev("payment_intent.succeeded", pi), "same payment"),
        Delivery(ev("charge.succeeded", ch), "same payment"),
        Delivery(completed, "Stripe redelivers it"),
    ]


def _b2b_checkout(ev: _Events, t: int, out: SampleSet) -> list[Delivery]:
    """2. B2B Checkout in RON: CUI RO41833563 in the custom field, Bucharest Sector 3."""
    pi_id, ch_id, cs_id = "pi_3DemoB2BBuc", "ch_3DemoB2BBuc", "cs_live_DemoB2BBuc"
    address = {
        "city": "București",
        "country": "RO",
        "line1": "Bd. Decebal nr. 14, bl. S5, sc. 2, ap. 21",
        "line2": "Sector 3",
        "postal_code": "030964",
        "state": "București",
    }
    details: Json = {
        "address": address,
        "business_name": "Atelier Digital Nord SRL",
        "email": "facturi@atelier-digital.example",
        "individual_name": None,
        "name": "Mihai Ionescu",
        "phone": None,
        "tax_exempt": "none",
        "tax_ids": [],
    }
    items = [
        _item(
            "li_DemoB2B1",
            price="price_DemoHosting",
            product="prod_DemoHosting",
            quantity=1,
            unit=119000,
            currency="ron",
        ),
        _item(
            "li_DemoB2B2",
            price="price_DemoSsl",
            product="prod_DemoSsl",
            quantity=1,
            unit=23800,
            currency="ron",
        ),
    ]
    amount = 142800
    pi = _payment_intent(pi_id, amount, created=t, charge=ch_id)
    billing = {
        "address": address,
        "email": details["email"],
        "name": "Mihai Ionescu",
        "phone": None,
    }
    ch = _charge(ch_id, amount, pi=pi_id, created=t + 15, billing=billing)
    cs = _session(
        cs_id,
        pi=pi_id,
        amount=amount,
        created=t - 120,
        details=details,
        custom_fields=[_cui_field("RO41833563")],
        link="plink_DemoGazduire",
    )
    out.objects += [
        pi,
        ch,
        cs,
        _product("prod_DemoHosting", "Găzduire web Business - 12 luni", t - 86_400),
        _product("prod_DemoSsl", "Certificat SSL OV - 1 an", t - 86_400),
    ]
    out.session_line_items[cs_id] = items
    out.payments.append(
        SamplePayment(
            pi_id,
            "B2B Checkout, RON, CUI field, Bucharest",
            details["business_name"],
            details["email"],
        )
    )
    return [
        Delivery(ev("payment_intent.succeeded", pi), "session found via API"),
        Delivery(ev("checkout.session.completed", cs), "same payment"),
        Delivery(ev("charge.updated", ch), "not a trigger"),
    ]


def _subscription_renewal(ev: _Events, t: int, out: SampleSet) -> list[Delivery]:
    """3. Subscription renewal, ``invoice.paid``, Stripe Tax 21 % exclusive: 149.00 + 31.29."""
    in_id, pi_id, ch_id = "in_1DemoRenewal", "pi_3DemoRenewal", "ch_3DemoRenewal"
    cus_id, sub_id = "cus_DemoMunteanu", "sub_1DemoPlanPro"
    address = {
        "city": "Timișoara",
        "country": "RO",
        "line1": "Str. Eugeniu de Savoya nr. 7, ap. 3",
        "line2": None,
        "postal_code": "300085",
        "state": "Timiș",
    }
    email = "andrei.munteanu@example.com"
    period = (t - 30 * 86_400, t)
    net, tax = 14900, 3129
    taxes = [
        {
            "amount": tax,
            "tax_behavior": "exclusive",
            "tax_rate_details": {"tax_rate": VAT_RATE_ID},
            "taxability_reason": "standard_rated",
            "taxable_amount": net,
            "type": "tax_rate_details",
        }
    ]
    line = {
        "id": "il_1DemoRenewal",
        "object": "line_item",
        "amount": net,
        "currency": "ron",
        "description": "1 × Plan Pro (la 149,00 lei / lună)",
        "discount_amounts": [],
        "discountable": True,
        "discounts": [],
        "invoice": in_id,
        "livemode": True,
        "metadata": {},
        "parent": {
            "type": "subscription_item_details",
            "subscription_item_details": {
                "subscription": sub_id,
                "subscription_item": "si_DemoPlanPro",
                "invoice_item": None,
                "proration": False,
            },
        },
        "period": {"start": period[1], "end": period[1] + 30 * 86_400},
        "pricing": {
            "type": "price_details",
            "price_details": {"price": "price_DemoPlanPro", "product": "prod_DemoPlanPro"},
            "unit_amount_decimal": str(net),
        },
        "quantity": 1,
        "taxes": taxes,
    }
    total = net + tax
    paid_at = t + 8
    inv: Json = {
        "id": in_id,
        "object": "invoice",
        "account_country": "RO",
        "amount_due": total,
        "amount_paid": total,
        "amount_remaining": 0,
        "attempt_count": 1,
        "automatic_tax": {"enabled": True, "liability": {"type": "self"}, "status": "complete"},
        "billing_reason": "subscription_cycle",
        "collection_method": "charge_automatically",
        "created": t - 3600,
        "currency": "ron",
        "customer": cus_id,
        "customer_address": address,
        "customer_email": email,
        "customer_name": "Andrei Munteanu",
        "customer_phone": None,
        "customer_shipping": None,
        "customer_tax_exempt": "none",
        "customer_tax_ids": [],
        "default_tax_rates": [],
        "lines": {
            "object": "list",
            "data": [line],
            "has_more": False,
            "total_count": 1,
            "url": f"/v1/invoices/{in_id}/lines",
        },
        "livemode": True,
        "metadata": {},
        "number": "DEMO-PRO-0012",
        "paid_out_of_band": False,
        "parent": {
            "type": "subscription_details",
            "subscription_details": {"subscription": sub_id, "metadata": {}},
            "quote_details": None,
        },
        "period_end": period[1],
        "period_start": period[0],
        "status": "paid",
        "status_transitions": {
            "finalized_at": t - 60,
            "paid_at": paid_at,
            "voided_at": None,
            "marked_uncollectible_at": None,
        },
        "subtotal": net,
        "total": total,
        "total_excluding_tax": net,
        "total_taxes": copy.deepcopy(taxes),
    }
    draft = _with(
        inv,
        status="draft",
        amount_paid=0,
        amount_remaining=total,
        status_transitions={**inv["status_transitions"], "paid_at": None, "finalized_at": None},
    )
    open_ = _with(
        inv,
        status="open",
        amount_paid=0,
        amount_remaining=total,
        status_transitions={**inv["status_transitions"], "paid_at": None},
    )
    pi = _payment_intent(
        pi_id, total, created=t, charge=ch_id, customer=cus_id, description="Subscription update"
    )
    billing = {"address": address, "email": email, "name": "Andrei Munteanu", "phone": None}
    ch = _charge(
        ch_id,
        total,
        pi=pi_id,
        created=t + 5,
        billing=billing,
        customer=cus_id,
        description="Subscription update",
    )
    inpay = {
        "id": "inpay_1DemoRenewal",
        "object": "invoice_payment",
        "amount_paid": total,
        "amount_requested": total,
        "created": t + 3,
        "currency": "ron",
        "invoice": in_id,
        "is_default": True,
        "livemode": True,
        "payment": {"type": "payment_intent", "payment_intent": pi_id},
        "status": "paid",
        "status_transitions": {"canceled_at": None, "paid_at": paid_at},
    }
    customer = {
        "id": cus_id,
        "object": "customer",
        "address": address,
        "created": t - 200 * 86_400,
        "email": email,
        "livemode": True,
        "metadata": {},
        "name": "Andrei Munteanu",
        "phone": None,
        "shipping": None,
        "tax_exempt": "none",
    }
    rate = {
        "id": VAT_RATE_ID,
        "object": "tax_rate",
        "active": True,
        "country": "RO",
        "created": t - 200 * 86_400,
        "description": None,
        "display_name": "VAT",
        "effective_percentage": 21.0,
        "inclusive": False,
        "jurisdiction": "RO",
        "jurisdiction_level": "country",
        "livemode": True,
        "metadata": {},
        "percentage": 21.0,
        "state": None,
        "tax_type": "vat",
    }
    out.objects += [
        inv,
        pi,
        ch,
        inpay,
        customer,
        rate,
        _product("prod_DemoPlanPro", "Plan Pro (abonament lunar)", t - 200 * 86_400),
    ]
    out.invoice_lines[in_id] = [line]
    out.payments.append(
        SamplePayment(
            pi_id, "Subscription renewal, Stripe Tax 21 % exclusive", "Andrei Munteanu", email
        )
    )
    paid = ev("invoice.paid", inv)
    return [
        Delivery(ev("invoice.created", draft), "a draft"),
        Delivery(ev("invoice.finalized", open_), "open, not paid yet"),
        Delivery(paid, "before its PI events"),
        Delivery(ev("payment_intent.succeeded", pi), "the invoice owns it"),
        Delivery(ev("charge.succeeded", ch), "same payment"),
        Delivery(ev("invoice.payment_succeeded", inv), "repeats invoice.paid"),
        Delivery(paid, "Stripe redelivers it"),
    ]


def _eur_payment_intent(ev: _Events, t: int, out: SampleSet) -> list[Delivery]:
    """4. EUR PaymentIntent (WooCommerce) to a German company: reverse charge, 540.00 EUR."""
    pi_id, ch_id = "pi_3DemoWooEUR", "ch_3DemoWooEUR"
    address = {
        "city": "Berlin",
        "country": "DE",
        "line1": "Torstraße 109",
        "line2": None,
        "postal_code": "10119",
        "state": "Berlin",
    }
    metadata: Json = {
        "order_id": "4821",
        "order_key": "wc_order_Demo4821",
        "site_url": "https://magazin.example.ro",
        "payment_type": "single",
        "customer_name": "Lena Hoffmann",
        "customer_email": "buchhaltung@nordlicht.example",
        "company": "Nordlicht Software GmbH",
        "vat_id": "DE268519733",
        "Order Item #1": "WP-101, Licență plugin e-Factura (anual), 1, 390.00",
        "Order Item #2": "WP-205, Suport prioritar (3 luni), 1, 150.00",
    }
    amount = 54000
    description = "Magazin Exemplu - Comanda 4821"
    kwargs: Json = {"currency": "eur", "description": description, "metadata": metadata}
    pi = _payment_intent(pi_id, amount, created=t, charge=ch_id, **kwargs)
    pi_new = _payment_intent(pi_id, amount, created=t, status="requires_payment_method", **kwargs)
    billing = {
        "address": address,
        "email": metadata["customer_email"],
        "name": "Lena Hoffmann",
        "phone": None,
    }
    ch = _charge(
        ch_id,
        amount,
        pi=pi_id,
        created=t + 4,
        billing=billing,
        currency="eur",
        description=description,
        metadata=metadata,
    )
    out.objects += [pi, ch]
    out.payments.append(
        SamplePayment(
            pi_id,
            "EUR PaymentIntent (WooCommerce), EU business, reverse charge",
            "Nordlicht Software GmbH",
            metadata["customer_email"],
        )
    )
    succeeded = ev("payment_intent.succeeded", pi)
    return [
        Delivery(ev("payment_intent.created", pi_new), "not paid yet"),
        Delivery(ev("charge.succeeded", ch), "before its PI event"),
        Delivery(succeeded, "same payment"),
        Delivery(succeeded, "Stripe redelivers it"),
    ]


def payment_times(now: int) -> tuple[int, int, int, int]:
    """When the four payments start: two minutes apart in the ten minutes before ``now``, and
    all on the day of ``now`` in Bucharest (their issue date), even just after midnight."""
    local = datetime.fromtimestamp(now, BUCHAREST)
    day_start = int(local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp())
    first = max(now - 600, day_start)
    step = max(1, min(120, (now - 60 - first) // 4))
    return first, first + step, first + 2 * step, first + 3 * step


def build_samples(now: int) -> SampleSet:
    """The four sample payments, paid in the minutes before ``now`` (Unix seconds)."""
    out = SampleSet(payments=[], deliveries=[], objects=[])
    ev = _Events(now - 50)
    t1, t2, t3, t4 = payment_times(now)
    first = _b2c_checkout(ev, t1, out)
    second = _b2b_checkout(ev, t2, out)
    third = _subscription_renewal(ev, t3, out)
    fourth = _eur_payment_intent(ev, t4, out)
    queues = {1: first, 2: second, 3: third, 4: fourth}
    # Interleaved as deliveries of concurrent payments arrive; each payment's first trigger
    # comes in payment order, so the invoice numbers follow 1..4.
    out.deliveries = [queues[n].pop(0) for n in SCHEDULE]
    leftover = [d for q in queues.values() for d in q]
    if leftover:  # pragma: no cover - a sample edited without its schedule
        raise ValueError(f"{len(leftover)} sample deliveries are not scheduled")
    _renumber(out.deliveries, now - 50)
    return out


SCHEDULE = (1, 2, 1, 3, 3, 3, 2, 4, 1, 3, 4, 1, 2, 3, 4, 3, 3, 4)
"""Which payment's next delivery goes out next."""


def _renumber(plan: list[Delivery], start: int) -> None:
    """Event ids ``evt_1DemoNN`` and ``created`` in order of first delivery (a redelivery
    carries the same event, hence the same id)."""
    seen: dict[int, str] = {}
    for delivery in plan:
        evt = delivery.event
        if id(evt) in seen:
            continue
        n = len(seen) + 1
        evt["id"] = f"evt_1Demo{n:02d}"
        evt["created"] = start + n
        evt["request"] = {"id": f"req_Demo{n:02d}", "idempotency_key": None}
        seen[id(evt)] = evt["id"]
