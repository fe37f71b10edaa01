"""The fake Stripe's wire format: list objects, cursors, expand, error bodies, auth, faults."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from factories import stripe_flows as fx
from stripe_efactura.intake.fake_stripe import FakeStripeStore, create_fake_stripe

KEY = "sk_test_wire"


@pytest.fixture
def store() -> FakeStripeStore:
    store = FakeStripeStore(api_key=KEY)
    fx.flow_a_checkout_card().store(store)
    fx.flow_e_stripe_invoicing().store(store)
    return store


@pytest.fixture
def client(store: FakeStripeStore) -> TestClient:
    return TestClient(create_fake_stripe(store), headers={"Authorization": f"Bearer {KEY}"})


def test_retrieve_and_404_shape(client: TestClient) -> None:
    ok = client.get("/v1/charges/ch_flowA")
    assert ok.status_code == 200
    assert ok.json()["id"] == "ch_flowA"
    missing = client.get("/v1/payment_intents/pi_nope")
    assert missing.status_code == 404
    assert missing.json() == {
        "error": {
            "type": "invalid_request_error",
            "message": "No such payment_intent: 'pi_nope'",
            "code": "resource_missing",
            "param": "id",
        }
    }
    assert client.get("/v1/unknown_things/x_1").status_code == 404


def test_auth_required(store: FakeStripeStore) -> None:
    anonymous = TestClient(create_fake_stripe(store))
    resp = anonymous.get("/v1/charges/ch_flowA")
    assert resp.status_code == 401
    assert resp.json()["error"]["type"] == "invalid_request_error"


def test_list_object_and_cursors(client: TestClient) -> None:
    first = client.get("/v1/invoices/in_flowE/lines", params={"limit": 5}).json()
    assert first["object"] == "list" and first["url"] == "/v1/invoices/in_flowE/lines"
    assert [x["id"] for x in first["data"]] == [f"il_flowE{n:02d}" for n in range(1, 6)]
    assert first["has_more"] is True
    last = client.get(
        "/v1/invoices/in_flowE/lines", params={"limit": 5, "starting_after": "il_flowE10"}
    ).json()
    assert [x["id"] for x in last["data"]] == ["il_flowE11", "il_flowE12"]
    assert last["has_more"] is False
    before = client.get(
        "/v1/invoices/in_flowE/lines", params={"limit": 2, "ending_before": "il_flowE03"}
    ).json()
    assert [x["id"] for x in before["data"]] == ["il_flowE01", "il_flowE02"]
    assert before["has_more"] is False
    bad = client.get("/v1/invoices/in_flowE/lines", params={"limit": "x"})
    assert bad.status_code == 400


def test_invoice_embeds_first_ten_lines(client: TestClient) -> None:
    lines = client.get("/v1/invoices/in_flowE").json()["lines"]
    assert len(lines["data"]) == 10
    assert (lines["has_more"], lines["total_count"]) == (True, 12)


def test_line_items_taxes_and_discounts_only_when_expanded(client: TestClient) -> None:
    plain = client.get("/v1/checkout/sessions/cs_flowA/line_items").json()["data"][0]
    assert "taxes" not in plain and "discounts" not in plain
    assert plain["price"]["product"] == "prod_carte"
    params = [("expand[]", "data.price.product"), ("expand[]", "data.taxes")]
    rich = client.get("/v1/checkout/sessions/cs_flowA/line_items", params=params).json()
    item = rich["data"][0]
    assert item["price"]["product"]["name"] == "Carte de bucate"
    assert item["taxes"][0]["amount"] == 2100
    assert "discounts" not in item


def test_filters(client: TestClient) -> None:
    found = client.get("/v1/checkout/sessions", params={"payment_intent": "pi_flowA"}).json()
    assert [s["id"] for s in found["data"]] == ["cs_flowA"]
    params = {"payment[type]": "payment_intent", "payment[payment_intent]": "pi_flowE"}
    payments = client.get("/v1/invoice_payments", params=params).json()
    assert [p["id"] for p in payments["data"]] == ["inpay_flowE"]
    by_invoice = client.get("/v1/invoice_payments", params={"invoice": "in_flowE"}).json()
    assert [p["id"] for p in by_invoice["data"]] == ["inpay_flowE"]


def test_faults_then_recovery(client: TestClient, store: FakeStripeStore) -> None:
    store.fail_next(429, path_prefix="/v1/charges/", times=1)
    store.fail_next(500, path_prefix="/v1/invoices/", times=1)
    limited = client.get("/v1/charges/ch_flowA")
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limit"
    assert client.get("/v1/charges/ch_flowA").status_code == 200
    failed = client.get("/v1/invoices/in_flowE")
    assert (failed.status_code, failed.json()["error"]["type"]) == (500, "api_error")
    assert client.get("/v1/invoices/in_flowE").status_code == 200


def test_lookups_by_payment_intent_follow_the_objects_as_they_are_now() -> None:
    store = FakeStripeStore()
    store.add(
        {"id": "cs_1", "object": "checkout.session", "payment_intent": "pi_a"},
        {"id": "cs_2", "object": "checkout.session", "payment_intent": {"id": "pi_a"}},
        {"id": "cs_3", "object": "checkout.session", "payment_intent": None},
    )
    assert [s["id"] for s in store.sessions_for_pi("pi_a")] == ["cs_1", "cs_2"]
    store.add({"id": "cs_1", "object": "checkout.session", "payment_intent": "pi_b"})
    assert [s["id"] for s in store.sessions_for_pi("pi_a")] == ["cs_2"]
    assert [s["id"] for s in store.sessions_for_pi("pi_b")] == ["cs_1"]
    assert store.sessions_for_pi("pi_none") == []
    store.add(
        {
            "id": "inpay_1",
            "object": "invoice_payment",
            "invoice": "in_1",
            "payment": {"type": "payment_intent", "payment_intent": "pi_c"},
        },
        {"id": "inpay_2", "object": "invoice_payment", "invoice": "in_1", "payment": {}},
    )
    assert [p["id"] for p in store.invoice_payments_for(pi_id="pi_c")] == ["inpay_1"]
    assert [p["id"] for p in store.invoice_payments_for(invoice_id="in_1")] == [
        "inpay_1",
        "inpay_2",
    ]
    assert [p["id"] for p in store.invoice_payments_for(invoice_id="in_1", pi_id="pi_c")] == [
        "inpay_1"
    ]
    assert store.invoice_payments_for(invoice_id="in_2") == []


def test_refunds_by_charge_are_an_index_lookup() -> None:
    store = FakeStripeStore()
    store.add(
        {"id": "re_1", "object": "refund", "charge": "ch_a", "created": 10},
        {"id": "re_2", "object": "refund", "charge": {"id": "ch_a"}, "created": 20},
        {"id": "re_3", "object": "refund", "charge": "ch_b", "created": 30},
    )
    assert [r["id"] for r in store.refunds_for("ch_a")] == ["re_2", "re_1"]
    store.add({"id": "re_1", "object": "refund", "charge": "ch_b", "created": 10})
    assert [r["id"] for r in store.refunds_for("ch_b")] == ["re_3", "re_1"]
    assert [r["id"] for r in store.refunds_for("ch_a")] == ["re_2"]


def test_filtered_lists_do_not_copy_every_stored_object(
    client: TestClient, store: FakeStripeStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A burst of N payments costs O(1) per lookup, as Stripe's indexed filters do."""

    def everything(kind: str) -> list[object]:
        raise AssertionError(f"full copy of every {kind}")

    monkeypatch.setattr(store, "all", everything)
    sessions = client.get("/v1/checkout/sessions", params={"payment_intent": "pi_none"})
    refunds = client.get("/v1/refunds", params={"charge": "ch_none"})
    assert (sessions.status_code, sessions.json()["data"]) == (200, [])
    assert (refunds.status_code, refunds.json()["data"]) == (200, [])
