"""The payments' text search reads ``payments.search``, filled from the sale's buyer data and
the overrides (both databases)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from starlette.testclient import TestClient

from factories import stripe_flows as factory
from factories.attention import ADDRESS, broken_charge, ingest
from stripe_efactura import app as use_cases
from stripe_efactura.app import intake
from stripe_efactura.app.context import AppContext
from stripe_efactura.config import demo_settings
from stripe_efactura.intake.fake_stripe import FakeStripeReader
from stripe_efactura.store import corrections as store_corrections
from stripe_efactura.store import db
from stripe_efactura.store.tables import invoices, payments
from stripe_efactura.web.app import create_app


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


DANTE_SEARCH = (
    "test000003 ch_flowg~reissue-1 dante international sa 14399840 ro14399840 "
    "ion.popescu@example.ro"
)


def numbers(client: TestClient, headers: dict[str, str], query: str) -> list[str]:
    answer = client.get(f"/api/v1/invoices?{query}", headers=headers)
    assert answer.status_code == 200, answer.text
    return [i["number"] for i in answer.json()["items"]]


def test_invoice_text_search_by_number_buyer_ids_payment_and_email(
    tmp_path: Path,
    db_url: str,
    validation_dir: Path,
    make_users: Callable[[AppContext], dict[str, str]],
) -> None:
    flow = broken_charge()
    settings = demo_settings(tmp_path, database_url=db_url, validation_dir=validation_dir)
    ctx = use_cases.build_context(settings, stripe=FakeStripeReader(flow.store()))  # type: ignore[arg-type]
    use_cases.prepare(ctx)
    tokens = make_users(ctx)
    ingest(ctx, flow)
    key = str(flow.payment_key)
    auth = {"Authorization": f"Bearer {tokens['accountant']}"}
    company = {"name": "Dante International SA", "vat_id": "RO14399840", **ADDRESS}
    with TestClient(create_app(ctx)) as client:
        done = client.put(f"/api/v1/payments/{key}/buyer", headers=auth, json=ADDRESS)
        assert done.json()["invoice"] == "TEST000001"
        body = {"reason": "Factura pe firmă", "buyer": company}
        again = client.post("/api/v1/invoices/TEST000001/reissue", headers=auth, json=body)
        assert again.json()["new_invoice"] == "TEST000003"
        with db.read(ctx.engine) as conn:
            rows = conn.execute(
                sa.select(invoices.c.number, invoices.c.search).order_by(invoices.c.id)
            ).all()
        assert [tuple(r) for r in rows] == [
            ("TEST000001", "test000001 ch_flowg ion popescu ion.popescu@example.ro"),
            ("TEST000002", "test000002 ch_flowg~storno-1 ion popescu ion.popescu@example.ro"),
            ("TEST000003", DANTE_SEARCH),
        ]
        found = {
            query: numbers(client, auth, f"q={query}")
            for query in (
                "TEST000003",
                "test000002",
                "000001",
                "2",
                "Dante",
                "14399840",
                "RO14399840",
                "ion%20popescu",
                "ION.Popescu@example.ro",
                "ch_flowG",
                "ch_flowG~storno",
                "reissue-1",
                "0000000000000",
                "popescu%25",
                "nobody",
            )
        }
        assert found == {
            "TEST000003": ["TEST000003"],
            "test000002": ["TEST000002"],
            "000001": ["TEST000001"],
            "2": ["TEST000002"],
            "Dante": ["TEST000003"],
            "14399840": ["TEST000003"],
            "RO14399840": ["TEST000003"],
            "ion%20popescu": ["TEST000002", "TEST000001"],
            "ION.Popescu@example.ro": ["TEST000003", "TEST000002", "TEST000001"],
            "ch_flowG": ["TEST000003", "TEST000002", "TEST000001"],
            "ch_flowG~storno": ["TEST000002"],
            "reissue-1": ["TEST000003"],
            "0000000000000": [],
            "popescu%25": [],
            "nobody": [],
        }
        assert numbers(client, auth, "q=popescu&kind=storno") == ["TEST000002"]
        assert numbers(client, auth, "q=popescu&issued_from=2000-01-01") == [
            "TEST000003",
            "TEST000002",
            "TEST000001",
        ]
        first = client.get("/api/v1/invoices?q=ch_flowg&limit=2", headers=auth).json()
        rest = client.get(
            f"/api/v1/invoices?q=ch_flowg&limit=2&cursor={first['next_cursor']}", headers=auth
        ).json()
        assert [i["number"] for i in first["items"]] == ["TEST000003", "TEST000002"]
        assert ([i["number"] for i in rest["items"]], rest["next_cursor"]) == (["TEST000001"], None)
    ctx.close()
