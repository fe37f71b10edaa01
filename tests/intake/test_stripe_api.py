"""StripeApi (the real SDK client) against the fake Stripe over loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from factories import stripe_flows as fx
from stripe_efactura.errors import StripeApiError
from stripe_efactura.intake.correlate import resolve
from stripe_efactura.intake.envelope import envelope_from_dict
from stripe_efactura.intake.events import Trigger, classify
from stripe_efactura.intake.fake_stripe import (
    FakeStripeReader,
    FakeStripeStore,
    create_fake_stripe,
    run_in_thread,
)
from stripe_efactura.intake.reader import iter_events
from stripe_efactura.intake.sale import Sale
from stripe_efactura.intake.stripe_api import API_VERSION, StripeApi, backoff_seconds

KEY = "sk_test_fake_123"


@pytest.fixture(scope="module")
def store() -> FakeStripeStore:
    store = FakeStripeStore(api_key=KEY)
    for flow in fx.all_flows():
        flow.store(store)
        store.add(*flow.events)
    store.add(
        {"id": "re_1", "object": "refund", "charge": "ch_flowA", "amount": 500, "created": 10},
        {"id": "re_2", "object": "refund", "charge": "ch_flowA", "amount": 700, "created": 20},
        {"id": "re_3", "object": "refund", "charge": "ch_flowF", "amount": 100, "created": 30},
    )
    return store


@pytest.fixture(scope="module")
def base_url(store: FakeStripeStore) -> Iterator[str]:
    with run_in_thread(create_fake_stripe(store)) as url:
        yield url


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def api(base_url: str, store: FakeStripeStore, sleeps: list[float]) -> StripeApi:
    store.faults.clear()
    store.requests.clear()
    return StripeApi(KEY, api_base=base_url, sleep=sleeps.append, backoff=lambda n: n / 10)


def test_retrieve_returns_the_raw_json_as_plain_dicts(
    api: StripeApi, store: FakeStripeStore
) -> None:
    pi = api.retrieve_payment_intent("pi_flowF")
    assert type(pi) is dict
    assert type(pi["metadata"]) is dict
    stored = store.get("payment_intent", "pi_flowF")
    assert stored is not None and isinstance(stored["latest_charge"], str)
    assert pi == {**stored, "latest_charge": store.get("charge", stored["latest_charge"])}
    assert api.retrieve_charge("ch_flowF") == store.get("charge", "ch_flowF")
    assert api.retrieve_checkout_session("cs_flowA") == store.get("checkout.session", "cs_flowA")
    assert api.retrieve_tax_rate("txr_ro21")["percentage"] == 21.0
    assert api.retrieve_customer("cus_flowD")["name"] == "Exemplu Soft SRL"
    assert api.retrieve_product("prod_carte")["name"] == "Carte de bucate"
    assert api.retrieve_object("invoice", "in_flowD")["id"] == "in_flowD"
    assert api.retrieve_object("checkout_session", "cs_flowB")["id"] == "cs_flowB"
    req = store.requests[0]
    assert (req.method, req.path, req.stripe_version, req.authorization) == (
        "GET",
        "/v1/payment_intents/pi_flowF",
        API_VERSION,
        f"Bearer {KEY}",
    )
    assert req.query == (("expand[0]", "latest_charge"),)


def test_invoice_embeds_ten_lines_and_lines_page(base_url: str, store: FakeStripeStore) -> None:
    store.requests.clear()
    api = StripeApi(KEY, api_base=base_url, page_limit=5)
    inv = api.retrieve_invoice("in_flowE")
    assert len(inv["lines"]["data"]) == 10 and inv["lines"]["has_more"] is True
    lines = api.list_invoice_lines("in_flowE")
    assert [line["id"] for line in lines] == [f"il_flowE{n:02d}" for n in range(1, 13)]
    queries = [dict(r.query) for r in store.requests if r.path.endswith("/lines")]
    assert queries == [
        {"limit": "5"},
        {"limit": "5", "starting_after": "il_flowE05"},
        {"limit": "5", "starting_after": "il_flowE10"},
    ]


def test_session_line_items_are_expanded(api: StripeApi, store: FakeStripeStore) -> None:
    items = api.list_session_line_items("cs_flowA")
    assert [i["id"] for i in items] == ["li_flowA1"]
    assert items[0]["price"]["product"]["name"] == "Carte de bucate"
    assert items[0]["taxes"][0]["rate"]["id"] == "txr_ro21"
    assert items[0]["discounts"] == []
    assert store.requests[0].query == (
        ("expand[0]", "data.price.product"),
        ("expand[1]", "data.taxes"),
        ("expand[2]", "data.discounts"),
        ("limit", "100"),
    )


def test_a_session_comes_with_its_line_items_and_payment_intent(
    api: StripeApi, store: FakeStripeStore
) -> None:
    """``retrieve_session_contents``: one request, ``expand[]`` four levels deep at most."""
    session = api.retrieve_session_contents("cs_flowA")
    items = session["line_items"]
    assert (items["object"], items["has_more"]) == ("list", False)
    assert items["url"] == "/v1/checkout/sessions/cs_flowA/line_items"
    assert items["data"] == api.list_session_line_items("cs_flowA")
    assert items["data"][0]["taxes"][0]["rate"]["id"] == "txr_ro21"
    assert session["payment_intent"]["id"] == "pi_flowA"
    assert session["payment_intent"]["latest_charge"]["id"] == "ch_flowA"
    assert store.requests[0].path == "/v1/checkout/sessions/cs_flowA"
    expand = [value for key, value in store.requests[0].query]
    assert expand == [
        "line_items.data.price.product",
        "line_items.data.taxes",
        "line_items.data.discounts",
        "payment_intent.latest_charge",
    ]
    assert max(path.count(".") + 1 for path in expand) == 4  # Stripe's deepest expansion


def test_a_session_is_returned_unexpanded_unless_asked(api: StripeApi) -> None:
    session = api.retrieve_checkout_session("cs_flowA")
    assert "line_items" not in session and session["payment_intent"] == "pi_flowA"


def test_lookups(api: StripeApi, store: FakeStripeStore) -> None:
    session = api.find_session_by_payment_intent("pi_flowA")
    assert session is not None and session["id"] == "cs_flowA"
    assert api.find_session_by_payment_intent("pi_flowF") is None
    payment = api.find_invoice_payment_by_payment_intent("pi_flowD")
    assert payment is not None and payment["invoice"] == "in_flowD"
    assert api.find_invoice_payment_by_payment_intent("pi_flowF") is None
    assert [p["id"] for p in api.list_invoice_payments("in_flowC")] == ["inpay_flowC"]
    assert api.list_invoice_payments("in_flowEO") == []
    items = api.list_pi_amount_details_line_items("pi_flowF")
    assert [i["product_name"] for i in items] == ["Ceainic"]
    assert [r["id"] for r in api.list_refunds("ch_flowA")] == ["re_2", "re_1"]
    assert dict(store.requests[2].query) == {
        "limit": "1",
        "payment[type]": "payment_intent",
        "payment[payment_intent]": "pi_flowD",
    }


def test_events_pages_for_reconciliation(base_url: str, store: FakeStripeStore) -> None:
    api = StripeApi(KEY, api_base=base_url, page_limit=4)
    store.requests.clear()
    since = fx.T0 + 6000
    got = [e["id"] for e in iter_events(api, since)]
    assert got == [
        *("evt_E05", "evt_E04", "evt_E03", "evt_E02"),
        *("evt_B06", "evt_B05", "evt_B04"),
        *("evt_H03", "evt_H02", "evt_H01", "evt_G01"),
    ]
    assert [dict(r.query).get("starting_after") for r in store.requests] == [
        None,
        "evt_E02",
        "evt_H03",
    ]
    assert dict(store.requests[0].query) == {"created[gte]": str(since), "limit": "4"}
    typed = [e["id"] for e in iter_events(api, since, types=("charge.succeeded",))]
    assert typed == ["evt_E03", "evt_B05", "evt_G01"]


def test_not_found_is_permanent(api: StripeApi) -> None:
    with pytest.raises(StripeApiError) as exc:
        api.retrieve_charge("ch_missing")
    err = exc.value
    assert (err.code, err.permanent) == ("E-STRIPE-NOT-FOUND", True)
    assert err.context == {
        "http_status": 404,
        "request_id": "req_fake",
        "stripe_code": "resource_missing",
        "path": "/v1/charges/ch_missing",
    }


def test_wrong_key_is_permanent(base_url: str) -> None:
    api = StripeApi("sk_test_wrong", api_base=base_url)
    with pytest.raises(StripeApiError) as exc:
        api.retrieve_charge("ch_flowA")
    assert (exc.value.code, exc.value.permanent) == ("E-STRIPE-AUTH", True)


def test_invalid_id_never_reaches_the_network(api: StripeApi, store: FakeStripeStore) -> None:
    with pytest.raises(StripeApiError) as exc:
        api.retrieve_charge("ch_1/../../v1/customers")
    assert (exc.value.code, exc.value.permanent) == ("E-STRIPE-ID", True)
    assert store.requests == []


def test_rate_limit_is_retried_with_backoff(
    api: StripeApi, store: FakeStripeStore, sleeps: list[float]
) -> None:
    store.fail_next(429, path_prefix="/v1/payment_intents/", times=2)
    assert api.retrieve_payment_intent("pi_flowA")["id"] == "pi_flowA"
    assert sleeps == [0.1, 0.2]
    assert [r.path for r in store.requests] == ["/v1/payment_intents/pi_flowA"] * 3


def test_rate_limit_gives_up_after_max_retries(
    api: StripeApi, store: FakeStripeStore, sleeps: list[float]
) -> None:
    store.fail_next(429, times=10)
    with pytest.raises(StripeApiError) as exc:
        api.retrieve_invoice("in_flowD")
    assert (exc.value.code, exc.value.permanent) == ("E-STRIPE-RATE-LIMIT", False)
    assert sleeps == [0.1, 0.2, 0.3]
    assert len(store.requests) == 4


def test_server_errors_are_retried_by_the_sdk_then_transient(
    base_url: str, store: FakeStripeStore
) -> None:
    store.requests.clear()
    store.faults.clear()
    store.fail_next(500, times=5)
    api = StripeApi(KEY, api_base=base_url, max_retries=0)
    with pytest.raises(StripeApiError) as exc:
        api.retrieve_charge("ch_flowA")
    assert (exc.value.code, exc.value.permanent) == ("E-STRIPE-UNAVAILABLE", False)
    assert exc.value.context["http_status"] == 500
    store.faults.clear()
    store.fail_next(500, times=1)
    api = StripeApi(KEY, api_base=base_url, max_retries=1)
    assert api.retrieve_charge("ch_flowA")["id"] == "ch_flowA"


def test_backoff_grows_and_is_capped() -> None:
    assert 0.375 <= backoff_seconds(1) <= 0.625
    assert 3.0 <= backoff_seconds(4) <= 5.0
    assert 6.0 <= backoff_seconds(10) <= 10.0


@pytest.mark.parametrize(
    "flow",
    [
        fx.flow_a_checkout_card(),
        fx.flow_c_subscription_checkout(),
        fx.flow_e_stripe_invoicing(),
        fx.flow_f_direct_payment_intent(),
        fx.flow_g_legacy_charge(),
    ],
    ids=lambda f: f.name,
)
def test_resolve_over_http_equals_the_in_memory_reader(
    flow: fx.Flow, api: StripeApi, store: FakeStripeStore
) -> None:
    memory = FakeStripeReader(store)
    for evt in flow.events:
        trigger = classify(envelope_from_dict(evt), invoice_zero_amount=False)
        if isinstance(trigger, Trigger):
            over_http = resolve(trigger, api)
            in_memory = resolve(trigger, memory)
            assert isinstance(over_http, Sale)
            assert over_http == in_memory
            assert over_http.payment_key == flow.payment_key
