"""Payment key and owner for every flow A–H, in any order, with and without the Stripe API."""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from factories import stripe_flows as fx
from stripe_efactura.errors import ConfigError, StripeApiError
from stripe_efactura.intake.correlate import (
    OBJECT_KEYS,
    AlreadyRecorded,
    payment_key_hint,
    resolve,
    resolve_unless,
)
from stripe_efactura.intake.envelope import envelope_from_dict
from stripe_efactura.intake.events import (
    EventPage,
    Ignored,
    Trigger,
    classify,
)
from stripe_efactura.intake.fake_stripe import FakeStripeReader, FakeStripeStore
from stripe_efactura.intake.plain import ref_id
from stripe_efactura.intake.reader import iter_events
from stripe_efactura.intake.sale import Sale
from stripe_efactura.store.repo import RecordedOwner

Json = dict[str, Any]

FLOWS = [
    *fx.all_flows(),
    fx.flow_a_checkout_card(era="pre_basil"),
    fx.flow_a_checkout_card(era="pre_2022"),
    fx.flow_a_checkout_card(invoice_creation=True, era="pre_basil"),
    fx.flow_c_subscription_checkout(era="pre_basil"),
    fx.flow_d_subscription_renewal(era="pre_basil"),
    fx.flow_d_subscription_renewal(era="pre_2022"),
    fx.flow_f_direct_payment_intent(created_succeeded=True),
    fx.flow_f_direct_payment_intent(created_succeeded=True, era="pre_2022"),
]
IDS = [f.name for f in FLOWS]


def _classify(evt: Json, zero: bool = False) -> Trigger | Ignored:
    return classify(envelope_from_dict(evt), invoice_zero_amount=zero)


def _triggers(flow: fx.Flow, zero: bool = False) -> list[Trigger]:
    return [t for t in (_classify(e, zero) for e in flow.events) if isinstance(t, Trigger)]


def _sale(out: Sale | Ignored) -> Sale:
    assert isinstance(out, Sale), out
    return out


@pytest.mark.parametrize("flow", FLOWS, ids=IDS)
def test_flow_triggers_are_exactly_the_expected_events(flow: fx.Flow) -> None:
    assert {t.event_id for t in _triggers(flow)} == flow.triggers


@pytest.mark.parametrize("flow", FLOWS, ids=IDS)
def test_every_trigger_resolves_to_one_key_and_owner_in_any_order(flow: fx.Flow) -> None:
    reader = FakeStripeReader(flow.store())
    rng = random.Random(flow.name)
    orders = [list(flow.events), list(reversed(flow.events))]
    for _ in range(4):
        shuffled = list(flow.events)
        rng.shuffle(shuffled)
        orders.append(shuffled)
    for order in orders:
        seen = set()
        for evt in order:
            out = _classify(evt)
            if isinstance(out, Trigger):
                sale = _sale(resolve(out, reader))
                seen.add((sale.payment_key, sale.owner_type, sale.owner_id, sale.amount))
                assert sale.currency == flow.currency
                assert sale.degraded is False
        expected = set()
        if flow.owner is not None:
            expected = {(flow.payment_key, *flow.owner, flow.amount)}
        assert seen == expected


def test_flow_h_issues_nothing_unless_zero_invoices_are_enabled() -> None:
    flow = fx.flow_h_nothing_paid()
    codes = [out.code for out in map(_classify, flow.events) if isinstance(out, Ignored)]
    assert codes == ["I-ZERO-AMOUNT", "I-ZERO-AMOUNT", "I-ZERO-AMOUNT"]
    reader = FakeStripeReader(flow.store())
    triggers = _triggers(flow, zero=True)
    assert len(triggers) == 3
    sales = {
        (s.payment_key, s.owner_type, s.amount)
        for s in (_sale(resolve(t, reader)) for t in triggers)
    }
    assert sales == {("in_flowH", "invoice", 0)}


def test_flow_b_unpaid_completion_is_ignored() -> None:
    flow = fx.flow_b_checkout_delayed()
    out = _classify(flow.event("checkout.session.completed"))
    assert isinstance(out, Ignored) and out.code == "I-NOT-PAID"


# --- what a Sale carries --------------------------------------------------------------------


def test_checkout_sale_objects() -> None:
    flow = fx.flow_a_checkout_card()
    reader = FakeStripeReader(flow.store())
    trigger = _classify(flow.event("payment_intent.succeeded"))
    assert isinstance(trigger, Trigger)
    sale = _sale(resolve(trigger, reader))
    o = sale.objects
    assert sorted(o) == sorted(OBJECT_KEYS)
    assert o["checkout_session"]["id"] == "cs_flowA"
    assert o["payment_intent"]["id"] == "pi_flowA"
    assert o["charge"]["id"] == "ch_flowA"
    assert o["invoice"] is None and o["customer"] is None
    assert [i["id"] for i in o["line_items"]] == ["li_flowA1"]
    assert o["line_items"][0]["price"]["product"]["name"] == "Carte de bucate"
    assert o["line_items"][0]["taxes"][0]["rate"]["percentage"] == 21.0
    assert list(o["tax_rates"]) == ["txr_ro21"]
    assert list(o["products"]) == ["prod_carte"]
    assert o["amount_details_line_items"] == [] and o["invoice_lines"] == []
    assert sale.paid_at == datetime.fromtimestamp(fx.T0 + 2, UTC)
    assert sale.api_version == fx.API_VERSION
    assert reader.calls == [
        ("find_invoice_payment_by_payment_intent", "pi_flowA"),
        ("find_session_by_payment_intent", "pi_flowA"),
        ("list_session_line_items", "cs_flowA"),
        ("retrieve_charge", "ch_flowA"),
    ]


def _session_first_objects(
    reader: FakeStripeReader, line_items: list[str] | None = None
) -> Mapping[str, Any]:
    """Flow A's sale from its ``checkout.session.completed`` read through ``reader``: its
    objects, checked for the PaymentIntent, the charge and the line items' ids."""
    flow = fx.flow_a_checkout_card()
    trigger = _classify(flow.event("checkout.session.completed"))
    assert isinstance(trigger, Trigger)
    o = _sale(resolve(trigger, reader)).objects
    assert o["payment_intent"]["id"] == "pi_flowA"
    assert o["charge"] == flow.store().get("charge", "ch_flowA")
    assert [i["id"] for i in o["line_items"]] == (line_items or ["li_flowA1"])
    return o


def test_a_session_first_reads_its_line_items_payment_intent_and_charge_at_once() -> None:
    """A session's line items, its PaymentIntent and the charge (``latest_charge``) come
    with the session, expanded: one request (``StripeReader.retrieve_session_contents``)."""
    reader = FakeStripeReader(fx.flow_a_checkout_card().store())
    o = _session_first_objects(reader)
    assert o["line_items"][0]["price"]["product"]["name"] == "Carte de bucate"
    assert o["line_items"][0]["taxes"][0]["rate"]["percentage"] == 21.0
    assert reader.calls == [("retrieve_session_contents", "cs_flowA")]  # no invoice link to
    # look up: intake/links.py


def test_a_session_with_more_line_items_than_it_embeds_lists_them_all() -> None:
    """The session embeds its first ten line items (``has_more``): all twelve are then read
    from the line items endpoint, in their order; the PaymentIntent still comes with the
    session."""
    flow = fx.flow_a_checkout_card()
    store = flow.store()
    first = store.session_line_items["cs_flowA"][0]
    store.add_session_line_items(
        "cs_flowA", [{**first, "id": f"li_flowA{n:02d}"} for n in range(1, 13)]
    )
    reader = FakeStripeReader(store)
    o = _session_first_objects(reader, [f"li_flowA{n:02d}" for n in range(1, 13)])
    assert o["line_items"][11]["price"]["product"]["name"] == "Carte de bucate"
    assert reader.calls == [
        ("retrieve_session_contents", "cs_flowA"),
        ("list_session_line_items", "cs_flowA"),
    ]


class _UnexpandedPaymentIntent(FakeStripeReader):
    """A reader whose session comes back with its PaymentIntent as an id."""

    def retrieve_session_contents(self, session_id: str) -> Json:
        read = super().retrieve_session_contents(session_id)
        read["payment_intent"] = ref_id(read["payment_intent"])
        return read


def test_a_session_whose_payment_intent_is_not_expanded_reads_it() -> None:
    reader = _UnexpandedPaymentIntent(fx.flow_a_checkout_card().store())
    _session_first_objects(reader)
    assert reader.calls == [
        ("retrieve_session_contents", "cs_flowA"),
        ("retrieve_payment_intent", "pi_flowA"),
    ]


@pytest.mark.parametrize(
    ("invoice_creation", "looked_up"),
    [({"enabled": False}, False), ({"enabled": True}, True), (None, True)],
    ids=["disabled", "enabled-not-made-yet", "absent"],
)
def test_a_session_looks_the_invoice_link_up_unless_it_rules_an_invoice_out(
    invoice_creation: Json | None, looked_up: bool
) -> None:
    """A payment-mode session with ``invoice_creation.enabled: false`` and no ``invoice``
    has no Stripe Invoice: no InvoicePayment lookup. One that asked for a post-purchase
    invoice not made yet, or of an API version without ``invoice_creation``, looks it up."""
    flow = fx.flow_a_checkout_card()
    evt = flow.event("checkout.session.completed")
    session = evt["data"]["object"]
    assert session["invoice"] is None and session["invoice_creation"] == {"enabled": False}
    session.pop("invoice_creation")
    if invoice_creation is not None:
        session["invoice_creation"] = invoice_creation
    trigger = _classify(evt)
    assert isinstance(trigger, Trigger)
    reader = FakeStripeReader(flow.store())
    assert _sale(resolve(trigger, reader)).owner_type == "checkout_session"
    lookup = [("find_invoice_payment_by_payment_intent", "pi_flowA")] if looked_up else []
    assert reader.calls == [*lookup, ("retrieve_session_contents", "cs_flowA")]


def test_subscription_sale_objects() -> None:
    flow = fx.flow_d_subscription_renewal()
    reader = FakeStripeReader(flow.store())
    trigger = _classify(flow.event("charge.succeeded"))
    assert isinstance(trigger, Trigger)
    sale = _sale(resolve(trigger, reader))
    o = sale.objects
    assert (o["invoice"]["id"], o["payment_intent"]["id"], o["charge"]["id"]) == (
        "in_flowD",
        "pi_flowD",
        "ch_flowD",
    )
    assert [line["id"] for line in o["invoice_lines"]] == ["il_flowD1"]
    assert o["customer"]["id"] == "cus_flowD"
    assert o["tax_rates"]["txr_ro21"]["percentage"] == 21.0
    assert o["products"]["prod_plan_pro"]["name"] == "Plan Pro"
    assert o["checkout_session"] is None and o["line_items"] == []
    assert sale.paid_at == datetime.fromtimestamp(fx.T0 + 3010, UTC)


def test_invoice_lines_come_from_all_pages() -> None:
    flow = fx.flow_e_stripe_invoicing()
    reader = FakeStripeReader(flow.store())
    paid = flow.event("invoice.paid")
    assert paid["data"]["object"]["lines"]["has_more"] is True
    trigger = _classify(paid)
    assert isinstance(trigger, Trigger)
    sale = _sale(resolve(trigger, reader))
    lines = sale.objects["invoice_lines"]
    assert [line["id"] for line in lines] == [f"il_flowE{n:02d}" for n in range(1, 13)]
    assert sum(line["amount"] for line in lines) == 78000
    assert sale.amount == 78000 + 16380
    assert len(sale.objects["products"]) == 12
    assert ("list_invoice_lines", "in_flowE") in reader.calls


def test_out_of_band_invoice_keeps_in_key_and_no_payment_objects() -> None:
    flow = fx.flow_e_stripe_invoicing(out_of_band=True)
    reader = FakeStripeReader(flow.store())
    trigger = _classify(flow.event("invoice.paid"))
    assert isinstance(trigger, Trigger)
    sale = _sale(resolve(trigger, reader))
    assert (sale.payment_key, sale.objects["payment_intent"], sale.objects["charge"]) == (
        "in_flowEO",
        None,
        None,
    )
    assert ("list_invoice_payments", "in_flowEO") in reader.calls


def test_direct_payment_intent_sale_objects() -> None:
    flow = fx.flow_f_direct_payment_intent()
    reader = FakeStripeReader(flow.store())
    trigger = _classify(flow.event("charge.succeeded"))
    assert isinstance(trigger, Trigger)
    sale = _sale(resolve(trigger, reader))
    o = sale.objects
    assert o["payment_intent"]["metadata"]["order_id"] == "1234"
    assert [i["product_name"] for i in o["amount_details_line_items"]] == ["Ceainic"]
    assert o["charge"]["billing_details"]["name"] == "Ion Popescu"
    assert sale.paid_at == datetime.fromtimestamp(fx.T0 + 5001, UTC)


def test_amount_details_not_available_is_tolerated() -> None:
    class NoLineItems(FakeStripeReader):
        def list_pi_amount_details_line_items(self, pi_id: str) -> list[Json]:
            raise StripeApiError("gone", permanent=True, code="E-STRIPE-NOT-FOUND")

    flow = fx.flow_f_direct_payment_intent()
    trigger = _classify(flow.event("payment_intent.succeeded"))
    assert isinstance(trigger, Trigger)
    sale = _sale(resolve(trigger, NoLineItems(flow.store())))
    assert sale.objects["amount_details_line_items"] == []


def test_transient_api_errors_propagate() -> None:
    class Down(FakeStripeReader):
        def find_invoice_payment_by_payment_intent(self, pi_id: str) -> Json | None:
            raise StripeApiError("503", code="E-STRIPE-UNAVAILABLE")

    flow = fx.flow_f_direct_payment_intent()
    trigger = _classify(flow.event("payment_intent.succeeded"))
    assert isinstance(trigger, Trigger)
    with pytest.raises(StripeApiError) as exc:
        resolve(trigger, Down(flow.store()))
    assert exc.value.permanent is False


def test_inputs_are_not_mutated() -> None:
    flow = fx.flow_d_subscription_renewal(era="pre_basil")
    store = flow.store()
    for trigger in _triggers(flow):
        assert trigger.object is not None
        before = repr(trigger.object)
        resolve(trigger, FakeStripeReader(store))
        resolve(trigger, None)
        assert repr(trigger.object) == before


# --- degraded mode (no API key) -------------------------------------------------------------


def _degraded_keys(flow: fx.Flow) -> dict[str, tuple[str, str, str]]:
    out = {}
    for trigger in _triggers(flow):
        sale = _sale(resolve(trigger, None))
        assert sale.degraded is True
        out[trigger.event_type] = (sale.payment_key, sale.owner_type, sale.owner_id)
    return out


@pytest.mark.parametrize(
    "flow",
    [
        fx.flow_a_checkout_card(),
        fx.flow_a_checkout_card(era="pre_2022"),
        fx.flow_b_checkout_delayed(),
        fx.flow_d_subscription_renewal(era="pre_basil"),
        fx.flow_d_subscription_renewal(era="pre_2022"),
        fx.flow_e_stripe_invoicing(out_of_band=True),
        fx.flow_f_direct_payment_intent(),
        fx.flow_g_legacy_charge(),
    ],
    ids=lambda f: f.name,
)
def test_degraded_mode_keys_agree_when_the_payload_links_them(flow: fx.Flow) -> None:
    keys = {key for key, _, _ in _degraded_keys(flow).values()}
    assert keys == {flow.payment_key}


def test_degraded_mode_basil_subscription_splits_invoice_and_payment_events() -> None:
    # Documented limitation: a basil invoice payload does not name its PaymentIntent.
    assert _degraded_keys(fx.flow_d_subscription_renewal()) == {
        "payment_intent.succeeded": ("pi_flowD", "payment_intent", "pi_flowD"),
        "charge.succeeded": ("pi_flowD", "charge", "ch_flowD"),
        "invoice.paid": ("in_flowD", "invoice", "in_flowD"),
    }
    assert _degraded_keys(fx.flow_c_subscription_checkout())["checkout.session.completed"] == (
        "in_flowC",
        "checkout_session",
        "cs_flowC",
    )


def test_degraded_sale_uses_payload_objects_only() -> None:
    flow = fx.flow_d_subscription_renewal(era="pre_2022")
    trigger = _classify(flow.event("payment_intent.succeeded"))
    assert isinstance(trigger, Trigger)
    sale = _sale(resolve(trigger, None))
    o = sale.objects
    assert o["charge"]["id"] == "ch_flowDq"  # from the legacy charges list
    assert o["invoice"] is None and o["tax_rates"] == {}
    assert sale.paid_at == datetime.fromtimestamp(fx.T0 + 3006, UTC)

    trigger = _classify(flow.event("invoice.paid"))
    assert isinstance(trigger, Trigger)
    sale = _sale(resolve(trigger, None))
    assert [line["id"] for line in sale.objects["invoice_lines"]] == ["il_flowDq1"]
    assert sale.objects["invoice_lines"][0]["pricing"]["price_details"]["product"] == (
        "prod_plan_pro"
    )


def test_old_subscription_session_without_invoice_is_ignored() -> None:
    cs = fx.checkout_session(
        "cs_old", amount_subtotal=100, amount_tax=0, pi=None, mode="subscription"
    )
    del cs["invoice"]
    trigger = _classify(fx.event("checkout.session.completed", cs, eid="evt_o", created=fx.T0))
    assert isinstance(trigger, Trigger)
    for reader in (None, FakeStripeReader(FakeStripeStore())):
        out = resolve(trigger, reader)
        assert isinstance(out, Ignored) and out.code == "I-SUBSCRIPTION-SESSION"


# --- thin events ----------------------------------------------------------------------------


def _thin(flow: fx.Flow, etype: str, n: int) -> Json:
    obj = flow.event(etype)["data"]["object"]
    return fx.thin_event(etype, obj, eid=f"evt_thin{n}", created=fx.T0 + n)


@pytest.mark.parametrize(
    ("flow", "etype"),
    [
        (fx.flow_a_checkout_card(), "checkout.session.completed"),
        (fx.flow_c_subscription_checkout(), "invoice.paid"),
        (fx.flow_f_direct_payment_intent(), "payment_intent.succeeded"),
        (fx.flow_d_subscription_renewal(), "charge.succeeded"),
    ],
)
def test_thin_event_resolves_like_the_snapshot(flow: fx.Flow, etype: str) -> None:
    reader = FakeStripeReader(flow.store())
    trigger = _classify(_thin(flow, etype, 1))
    assert isinstance(trigger, Trigger) and trigger.needs_fetch
    sale = _sale(resolve(trigger, reader))
    assert (sale.payment_key, (sale.owner_type, sale.owner_id)) == (flow.payment_key, flow.owner)
    assert reader.calls[0][0] == "retrieve_object"


def test_thin_event_rules_apply_to_the_fetched_object() -> None:
    flow = fx.flow_b_checkout_delayed()
    store = flow.store()
    unpaid = flow.event("checkout.session.completed")["data"]["object"]
    store.add(unpaid)  # the session is still unpaid when fetched
    trigger = _classify(_thin(flow, "checkout.session.completed", 2))
    assert isinstance(trigger, Trigger)
    out = resolve(trigger, FakeStripeReader(store))
    assert isinstance(out, Ignored) and out.code == "I-NOT-PAID"


def test_thin_event_without_api_key() -> None:
    flow = fx.flow_a_checkout_card()
    trigger = _classify(_thin(flow, "checkout.session.completed", 3))
    assert isinstance(trigger, Trigger)
    with pytest.raises(ConfigError) as exc:
        resolve(trigger, None)
    assert exc.value.code == "E-STRIPE-THIN-NEEDS-KEY"


# --- hints and reconciliation ---------------------------------------------------------------


def test_payment_key_hints() -> None:
    hints = {}
    for flow in (fx.flow_c_subscription_checkout(), fx.flow_g_legacy_charge()):
        for trigger in _triggers(flow):
            hints[trigger.event_id] = payment_key_hint(trigger)
    assert hints == {
        "evt_C01": "in_flowC",
        "evt_C05": "in_flowC",
        "evt_C09": "pi_flowC",
        "evt_C10": "pi_flowC",
        "evt_G01": "ch_flowG",
    }


def test_iter_events_walks_every_page() -> None:
    store = FakeStripeStore()
    evts = [e for f in fx.all_flows()[:3] for e in f.events]
    store.add(*evts)
    reader = FakeStripeReader(store)

    class Small(FakeStripeReader):
        def list_events(
            self,
            created_gte: int,
            starting_after: str | None = None,
            *,
            types: tuple[str, ...] = (),
            limit: int = 100,
        ) -> EventPage:
            return super().list_events(created_gte, starting_after, types=types, limit=3)

    small = Small(store)
    got = [e["id"] for e in iter_events(small, fx.T0 + 5)]
    expected = sorted(
        (e for e in evts if e["created"] >= fx.T0 + 5),
        key=lambda e: (e["created"], e["id"]),
        reverse=True,
    )
    assert got == [e["id"] for e in expected]
    assert len(got) == 12
    assert got[:2] == ["evt_B06", "evt_B05"]
    assert [c for c in small.calls if c[0] == "list_events"] == [
        ("list_events", ""),
        ("list_events", got[2]),
        ("list_events", got[5]),
        ("list_events", got[8]),
    ]
    only = [e["id"] for e in iter_events(reader, 0, types=("checkout.session.completed",))]
    assert only == ["evt_B01", "evt_AI04", "evt_A04"]


def test_zero_session_without_payment_or_invoice_keys_itself_when_allowed() -> None:
    cs = fx.checkout_session(
        "cs_free", amount_subtotal=0, amount_tax=0, pi=None, payment_status="no_payment_required"
    )
    evt = fx.event("checkout.session.completed", cs, eid="evt_free", created=fx.T0)
    ignored = _classify(evt)
    assert isinstance(ignored, Ignored) and ignored.code == "I-ZERO-AMOUNT"
    trigger = _classify(evt, zero=True)
    assert isinstance(trigger, Trigger)
    store = FakeStripeStore()
    store.add(cs)
    for reader in (None, FakeStripeReader(store)):
        sale = _sale(resolve(trigger, reader))
        assert (sale.payment_key, sale.owner_type, sale.amount) == (
            "cs_free",
            "checkout_session",
            0,
        )
        assert sale.paid_at == datetime.fromtimestamp(fx.T0, UTC)


# --- a later trigger of a recorded payment (resolve_unless) ---------------------------------


@pytest.mark.parametrize("event", ["payment_intent.succeeded", "checkout.session.completed"])
def test_a_payment_recorded_from_its_session_is_settled_before_any_read(event: str) -> None:
    """A later trigger naming no invoice, of a payment recorded from its Checkout Session:
    ``settled`` is asked once, at the session's rank, and nothing is read."""
    flow = fx.flow_a_checkout_card()
    reader = FakeStripeReader(flow.store())
    trigger = _classify(flow.event(event))
    assert isinstance(trigger, Trigger)
    asked: list[tuple[str, str]] = []

    def settled(key: str, owner: str) -> bool:
        asked.append((key, owner))
        return True

    out = resolve_unless(trigger, reader, settled)
    assert out == AlreadyRecorded("pi_flowA", "checkout_session")
    assert asked == [("pi_flowA", "checkout_session")]
    assert reader.calls == []


def test_a_payment_recorded_from_its_payment_intent_reads_what_decides_its_owner() -> None:
    """``charge.succeeded`` of a direct PaymentIntent recorded from that PaymentIntent: not
    settled at the session's rank (a session or an invoice could still own it), so the invoice
    link and the session are looked up, then it is settled at its owner's rank; the line items
    and the customer are not read."""
    flow = fx.flow_f_direct_payment_intent()
    recorded = RecordedOwner("pi_flowF", "payment", "payment_intent", degraded=False)
    reader = FakeStripeReader(flow.store())
    trigger = _classify(flow.event("charge.succeeded"))
    assert isinstance(trigger, Trigger)
    asked: list[tuple[str, str]] = []

    def settled(key: str, owner: str) -> bool:
        asked.append((key, owner))
        return recorded.settles(key, owner)

    out = resolve_unless(trigger, reader, settled)
    assert out == AlreadyRecorded("pi_flowF", "payment_intent")
    assert asked == [("pi_flowF", "checkout_session"), ("pi_flowF", "payment_intent")]
    assert reader.calls == [
        ("retrieve_payment_intent", "pi_flowF"),
        ("find_invoice_payment_by_payment_intent", "pi_flowF"),
        ("find_session_by_payment_intent", "pi_flowF"),
    ]


@pytest.mark.parametrize("flow", FLOWS, ids=IDS)
def test_not_settled_builds_the_same_sale_with_the_same_reads(flow: fx.Flow) -> None:
    """``settled`` saying no changes nothing: every trigger gives resolve's sale, read with
    the same calls in the same order."""
    for evt in flow.events:
        trigger = _classify(evt)
        if not isinstance(trigger, Trigger):
            continue
        plain, unless = FakeStripeReader(flow.store()), FakeStripeReader(flow.store())
        expected = resolve(trigger, plain)
        assert resolve_unless(trigger, unless, lambda key, owner: False) == expected
        assert unless.calls == plain.calls


@pytest.mark.parametrize("flow", FLOWS, ids=IDS)
def test_a_payment_recorded_from_its_own_sale(flow: fx.Flow) -> None:
    """Every trigger, with ``settled`` answering as the payment recorded from its own full sale
    does (``RecordedOwner.settles``): one naming no invoice, of a payment recorded under a
    ``pi_`` key from a Checkout Session or an Invoice, reads nothing (a thin event reads its
    object); an Invoice owner found by the reads is built in full (its key may be an ``in_``
    one the API only confirms later); the others are AlreadyRecorded with the key and owner
    of their full sale."""
    for evt in flow.events:
        trigger = _classify(evt)
        if not isinstance(trigger, Trigger):
            continue
        full = resolve(trigger, FakeStripeReader(flow.store()))
        reader = FakeStripeReader(flow.store())
        if not isinstance(full, Sale):
            assert resolve_unless(trigger, reader, lambda key, owner: True) == full
            continue
        recorded = RecordedOwner(full.payment_key, "payment", full.owner_type, degraded=False)
        out = resolve_unless(trigger, reader, recorded.settles)
        obj = trigger.object or {}
        names_invoice = trigger.kind == "invoice" or bool(ref_id(obj.get("invoice")))
        by_key = full.payment_key.startswith("pi_")
        rich = full.owner_type in ("invoice", "checkout_session")
        if by_key and rich and not names_invoice:
            assert out == AlreadyRecorded(full.payment_key, "checkout_session"), evt["type"]
            assert [c for c in reader.calls if c[0] != "retrieve_object"] == [], evt["type"]
        elif full.owner_type == "invoice" or not by_key:
            assert out == full, evt["type"]
        else:
            assert out == AlreadyRecorded(full.payment_key, full.owner_type), evt["type"]


def test_without_a_reader_settled_is_not_asked() -> None:
    flow = fx.flow_a_checkout_card()
    trigger = _classify(flow.event("payment_intent.succeeded"))
    assert isinstance(trigger, Trigger)

    def settled(key: str, owner: str) -> bool:
        raise AssertionError("asked")

    assert resolve_unless(trigger, None, settled) == resolve(trigger, None)
