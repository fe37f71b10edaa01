"""Cursor pagination walks every payment and invoice once, newest first (both databases)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlalchemy as sa

from factories.waits import payment_row
from stripe_efactura.store import db
from stripe_efactura.store.tables import invoices, payments, series


def fill(ctx, n: int) -> None:  # type: ignore[no-untyped-def]
    start = datetime(2026, 1, 5, 8, 0)
    with db.write(ctx.engine) as conn:
        conn.execute(sa.insert(series).values(code="P", prefix="P", padding=3, next_number=n))
        for i in range(n):
            paid = start + timedelta(hours=i // 2)  # pairs share paid_at: the key breaks ties
            key = f"pi_{i:03d}"
            row = payment_row(key, paid, status="invoiced", amount=100 + i)
            conn.execute(sa.insert(payments).values(**row))
            conn.execute(
                sa.insert(invoices).values(
                    series_code="P",
                    seq=i + 1,
                    number=f"P{i + 1:03d}",
                    kind="invoice",
                    payment_key=key,
                    issue_date=paid.date(),
                    currency="RON",
                    total="1.00",
                    livemode=False,
                    snapshot="{}",
                    created_at=paid,
                    updated_at=paid,
                )
            )


def walk(api, path: str) -> list[str]:  # type: ignore[no-untyped-def]
    seen: list[str] = []
    cursor = ""
    for _ in range(20):
        sep = "&" if "?" in path else "?"
        page = api.client.get(f"{path}{sep}limit=3{cursor}", headers=api.headers("viewer")).json()
        seen += [i.get("payment_key") if "number" not in i else i["number"] for i in page["items"]]
        if page["next_cursor"] is None:
            return seen
        cursor = f"&cursor={page['next_cursor']}"
    raise AssertionError("no last page")


def test_cursors_walk_everything_once(api) -> None:  # type: ignore[no-untyped-def]
    fill(api.ctx, 8)
    assert walk(api, "/api/v1/payments") == [f"pi_{i:03d}" for i in range(7, -1, -1)]
    assert walk(api, "/api/v1/invoices") == [f"P{i:03d}" for i in range(8, 0, -1)]
    bad = api.client.get("/api/v1/payments?cursor=bm9wZQ", headers=api.headers("viewer"))
    assert (bad.status_code, bad.json()["code"]) == (422, "E-API-CURSOR")


def test_issue_date_range_pages_in_date_order(api) -> None:  # type: ignore[no-untyped-def]
    fill(api.ctx, 8)
    first = date(2026, 1, 5)
    with db.write(api.ctx.engine) as conn:
        for seq in range(1, 9):  # numbers and dates disagree: P002 is the latest day
            day = first + timedelta(days={2: 5, 5: 4}.get(seq, seq % 3))
            conn.execute(sa.update(invoices).where(invoices.c.seq == seq).values(issue_date=day))
    got = walk(api, "/api/v1/invoices?issued_from=2026-01-05&issued_to=2026-01-10")
    assert got == ["P002", "P005", "P008", "P007", "P004", "P001", "P006", "P003"]
    narrow = walk(api, "/api/v1/invoices?issued_from=2026-01-06&issued_to=2026-01-07")
    assert narrow == ["P008", "P007", "P004", "P001"]
    mixed = api.client.get(
        "/api/v1/invoices?issued_from=2026-01-05&cursor=WzVd", headers=api.headers("viewer")
    )
    assert (mixed.status_code, mixed.json()["code"]) == (422, "E-API-CURSOR")
