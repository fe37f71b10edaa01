"""The demo's third sample payment: ``invoice.paid`` of a monthly subscription renewal with
Stripe Tax 21 % added on top, paid by the saved card (see :mod:`.samples`)."""

from __future__ import annotations

import copy

from ..jsontypes import JsonValue
from .sample_parts import (
    VAT_RATE_ID,
    Delivery,
    Events,
    Json,
    SamplePayment,
    SampleSet,
    charge,
    payment_intent,
    product,
    with_changes,
)


def subscription_renewal(ev: Events, t: int, out: SampleSet) -> list[Delivery]:
    """3. Subscription renewal, ``invoice.paid``, Stripe Tax 21 % exclusive: 149.00 + 31.29."""
    in_id, pi_id, ch_id = "in_1DemoRenewal", "pi_3DemoRenewal", "ch_3DemoRenewal"
    cus_id, sub_id = "cus_DemoMunteanu", "sub_1DemoPlanPro"
    address: Json = {
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
    taxes: list[JsonValue] = [
        {
            "amount": tax,
            "tax_behavior": "exclusive",
            "tax_rate_details": {"tax_rate": VAT_RATE_ID},
            "taxability_reason": "standard_rated",
            "taxable_amount": net,
            "type": "tax_rate_details",
        }
    ]
    line: Json = {
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
    transitions: Json = {
        "finalized_at": t - 60,
        "paid_at": paid_at,
        "voided_at": None,
        "marked_uncollectible_at": None,
    }
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
        "status_transitions": transitions,
        "subtotal": net,
        "total": total,
        "total_excluding_tax": net,
        "total_taxes": copy.deepcopy(taxes),
    }
    draft = with_changes(
        inv,
        status="draft",
        amount_paid=0,
        amount_remaining=total,
        status_transitions={**transitions, "paid_at": None, "finalized_at": None},
    )
    open_ = with_changes(
        inv,
        status="open",
        amount_paid=0,
        amount_remaining=total,
        status_transitions={**transitions, "paid_at": None},
    )
    pi = payment_intent(
        pi_id, total, created=t, charge=ch_id, customer=cus_id, description="Subscription update"
    )
    billing: Json = {"address": address, "email": email, "name": "Andrei Munteanu", "phone": None}
    ch = charge(
        ch_id,
        total,
        pi=pi_id,
        created=t + 5,
        billing=billing,
        customer=cus_id,
        description="Subscription update",
    )
    inpay: Json = {
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
    customer: Json = {
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
    rate: Json = {
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
        product("prod_DemoPlanPro", "Plan Pro (abonament lunar)", t - 200 * 86_400),
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
