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

from datetime import datetime
from functools import partial

from ..tz import BUCHAREST
from .sample_parts import (
    Delivery,
    Events,
    Json,
    SamplePayment,
    SampleSet,
    charge,
    checkout_session,
    cui_field,
    line_item,
    payment_intent,
    product,
)
from .sample_subscription import subscription_renewal

# --- the four payments ----------------------------------------------------------------------


def _b2c_checkout(ev: Events, t: int, out: SampleSet) -> list[Delivery]:
    """1. B2C Checkout in RON, card, Cluj-Napoca, no CNP: 279.90 lei incl. 21 % VAT."""
    pi_id, ch_id, cs_id = "pi_3DemoB2CCluj", "ch_3DemoB2CCluj", "cs_live_DemoB2CCluj"
    address: Json = {
        "city": "Cluj-Napoca",
        "country": "RO",
        "line1": "Str. Memorandumului nr. 21, ap. 4",
        "line2": None,
        "postal_code": "400114",
        "state": "Cluj",
    }
    email = "ioana.pop@example.com"
    details: Json = {
        "address": address,
        "business_name": None,
        "email": email,
        "individual_name": None,
        "name": "Ioana Pop",
        "phone": "+40740111222",
        "tax_exempt": "none",
        "tax_ids": [],
    }
    items = [
        line_item(
            "li_DemoB2C1",
            price="price_DemoCana",
            product="prod_DemoCana",
            quantity=2,
            unit=4500,
            currency="ron",
        ),
        line_item(
            "li_DemoB2C2",
            price="price_DemoFarfurii",
            product="prod_DemoFarfurii",
            quantity=1,
            unit=18990,
            currency="ron",
        ),
    ]
    amount = 27990
    pi = payment_intent(pi_id, amount, created=t, charge=ch_id)
    billing: Json = {"address": address, "email": email, "name": "Ioana Pop", "phone": None}
    ch = charge(ch_id, amount, pi=pi_id, created=t + 20, billing=billing)
    cs = checkout_session(
        cs_id,
        pi=pi_id,
        amount=amount,
        created=t - 60,
        details=details,
        custom_fields=[cui_field(None)],
        link="plink_DemoAtelierCeramica",
    )
    out.objects += [
        pi,
        ch,
        cs,
        product("prod_DemoCana", "Cană ceramică pictată manual", t - 86_400),
        product("prod_DemoFarfurii", "Set 6 farfurii desert", t - 86_400),
    ]
    out.session_line_items[cs_id] = items
    out.payments.append(SamplePayment(pi_id, "B2C Checkout, RON, card, Cluj", "Ioana Pop", email))
    completed = ev("checkout.session.completed", cs)
    return [
        Delivery(completed, "arrives first"),
        Delivery(ev("payment_intent.succeeded", pi), "same payment"),
        Delivery(ev("charge.succeeded", ch), "same payment"),
        Delivery(completed, "Stripe redelivers it"),
    ]


def _b2b_checkout(ev: Events, t: int, out: SampleSet) -> list[Delivery]:
    """2. B2B Checkout in RON: CUI RO41833563 in the custom field, Bucharest Sector 3."""
    pi_id, ch_id, cs_id = "pi_3DemoB2BBuc", "ch_3DemoB2BBuc", "cs_live_DemoB2BBuc"
    address: Json = {
        "city": "București",
        "country": "RO",
        "line1": "Bd. Decebal nr. 14, bl. S5, sc. 2, ap. 21",
        "line2": "Sector 3",
        "postal_code": "030964",
        "state": "București",
    }
    business, email = "Atelier Digital Nord SRL", "facturi@atelier-digital.example"
    details: Json = {
        "address": address,
        "business_name": business,
        "email": email,
        "individual_name": None,
        "name": "Mihai Ionescu",
        "phone": None,
        "tax_exempt": "none",
        "tax_ids": [],
    }
    items = [
        line_item(
            "li_DemoB2B1",
            price="price_DemoHosting",
            product="prod_DemoHosting",
            quantity=1,
            unit=119000,
            currency="ron",
        ),
        line_item(
            "li_DemoB2B2",
            price="price_DemoSsl",
            product="prod_DemoSsl",
            quantity=1,
            unit=23800,
            currency="ron",
        ),
    ]
    amount = 142800
    pi = payment_intent(pi_id, amount, created=t, charge=ch_id)
    billing: Json = {
        "address": address,
        "email": email,
        "name": "Mihai Ionescu",
        "phone": None,
    }
    ch = charge(ch_id, amount, pi=pi_id, created=t + 15, billing=billing)
    cs = checkout_session(
        cs_id,
        pi=pi_id,
        amount=amount,
        created=t - 120,
        details=details,
        custom_fields=[cui_field("RO41833563")],
        link="plink_DemoGazduire",
    )
    out.objects += [
        pi,
        ch,
        cs,
        product("prod_DemoHosting", "Găzduire web Business - 12 luni", t - 86_400),
        product("prod_DemoSsl", "Certificat SSL OV - 1 an", t - 86_400),
    ]
    out.session_line_items[cs_id] = items
    out.payments.append(
        SamplePayment(
            pi_id,
            "B2B Checkout, RON, CUI field, Bucharest",
            business,
            email,
        )
    )
    return [
        Delivery(ev("payment_intent.succeeded", pi), "session found via API"),
        Delivery(ev("checkout.session.completed", cs), "same payment"),
        Delivery(ev("charge.updated", ch), "not a trigger"),
    ]


def _eur_payment_intent(ev: Events, t: int, out: SampleSet) -> list[Delivery]:
    """4. EUR PaymentIntent (WooCommerce) to a German company: reverse charge, 540.00 EUR."""
    pi_id, ch_id = "pi_3DemoWooEUR", "ch_3DemoWooEUR"
    address: Json = {
        "city": "Berlin",
        "country": "DE",
        "line1": "Torstraße 109",
        "line2": None,
        "postal_code": "10119",
        "state": "Berlin",
    }
    email = "buchhaltung@nordlicht.example"
    metadata: Json = {
        "order_id": "4821",
        "order_key": "wc_order_Demo4821",
        "site_url": "https://magazin.example.ro",
        "payment_type": "single",
        "customer_name": "Lena Hoffmann",
        "customer_email": email,
        "company": "Nordlicht Software GmbH",
        "vat_id": "DE268519733",
        "Order Item #1": "WP-101, Licență plugin e-Factura (anual), 1, 390.00",
        "Order Item #2": "WP-205, Suport prioritar (3 luni), 1, 150.00",
    }
    amount = 54000
    description = "Magazin Exemplu - Comanda 4821"
    eur = partial(payment_intent, currency="eur", description=description, metadata=metadata)
    pi = eur(pi_id, amount, created=t, charge=ch_id)
    pi_new = eur(pi_id, amount, created=t, status="requires_payment_method")
    billing: Json = {"address": address, "email": email, "name": "Lena Hoffmann", "phone": None}
    ch = charge(
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
            email,
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
    ev = Events(now - 50)
    t1, t2, t3, t4 = payment_times(now)
    first = _b2c_checkout(ev, t1, out)
    second = _b2b_checkout(ev, t2, out)
    third = subscription_renewal(ev, t3, out)
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
        seen[id(evt)] = evt["id"] = f"evt_1Demo{n:02d}"
        evt["created"] = start + n
        evt["request"] = {"id": f"req_Demo{n:02d}", "idempotency_key": None}
