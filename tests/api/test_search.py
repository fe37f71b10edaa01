"""The payments' text search reads ``payments.search``, filled from the sale's buyer data and
the overrides (both databases)."""

from __future__ import annotations

import json

import sqlalchemy as sa

from factories import stripe_flows as factory
from stripe_efactura import app as use_cases
from stripe_efactura.app import intake
from stripe_efactura.intake.fake_stripe import FakeStripeReader
from stripe_efactura.store import corrections as store_corrections
from stripe_efactura.store import db
from stripe_efactura.store.tables import payments


def keys(api, query: str) -> list[str]:  # type: ignore[no-untyped-def]
    page = api.client.get(f"/api/v1/payments?{query}", headers=api.headers("viewer")).json()
    return [i["payment_key"] for i in page["items"]]


def search_of(api, key: str) -> str:  # type: ignore[no-untyped-def]
    with db.read(api.ctx.engine) as conn:
        return str(
            conn.execute(
                sa.select(payments.c.search).where(payments.c.payment_key == key)
            ).scalar_one()
        )


def test_text_search_reads_buyer_names_emails_and_ids(api) -> None:  # type: ignore[no-untyped-def]
    flow = factory.flow_a_checkout_card()
    api.ctx.stripe = FakeStripeReader(flow.store())
    for e in flow.events:
        intake.accept_event(api.ctx, json.dumps(e).encode())
    use_cases.make_worker(api.ctx).drain()
    assert search_of(api, "pi_flowA") == (
        "pi_flowa cs_flowa ro18547290 ion popescu exemplu soft srl contabil@example.ro "
        "ion.popescu@example.ro"
    )
    assert keys(api, "q=ION.Popescu@") == ["pi_flowA"]
    assert keys(api, "q=exemplu%20soft") == ["pi_flowA"]
    assert keys(api, "q=RO18547290") == ["pi_flowA"]
    assert keys(api, "q=popescu%25") == []  # % is a character, not a wildcard
    assert keys(api, "q=nobody") == []
    with db.write(api.ctx.engine) as conn:
        store_corrections.set_overrides(conn, "pi_flowA", '{"name": "Dante International SA"}')
    assert search_of(api, "pi_flowA").startswith("dante international sa pi_flowa ")
    assert keys(api, "q=dante") == ["pi_flowA"]
