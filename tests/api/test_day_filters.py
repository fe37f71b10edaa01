"""``paid_from``/``paid_to`` are Bucharest days, both included, for the API and the console
alike (``browse.payment_filter``); the calendar's first and last days are accepted."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa

from factories.waits import payment_row
from stripe_efactura.app import browse
from stripe_efactura.store import db
from stripe_efactura.store.tables import payments


def keys(api, query: str) -> list[str]:  # type: ignore[no-untyped-def]
    page = api.client.get(f"/api/v1/payments?{query}", headers=api.headers("viewer")).json()
    return [i["payment_key"] for i in page["items"]]


def test_days_are_bucharest_days(api) -> None:  # type: ignore[no-untyped-def]
    with db.write(api.ctx.engine) as conn:
        # 22:30 UTC on the 4th is 00:30 on the 5th in Bucharest; 21:30 UTC on the 5th is 23:30
        for key, paid in [("pi_early", datetime(2026, 1, 4, 22, 30)),
                          ("pi_late", datetime(2026, 1, 5, 21, 30)),
                          ("pi_next", datetime(2026, 1, 5, 22, 0))]:  # fmt: skip
            conn.execute(sa.insert(payments).values(**payment_row(key, paid)))
    assert keys(api, "paid_from=2026-01-05&paid_to=2026-01-05") == ["pi_late", "pi_early"]
    assert keys(api, "paid_to=2026-01-04") == []
    assert keys(api, "paid_from=2026-01-06") == ["pi_next"]
    assert keys(api, "paid_from=0001-01-01&paid_to=9999-12-31") == [
        "pi_next",
        "pi_late",
        "pi_early",
    ]
    flt = browse.payment_filter(paid_from=date(1, 1, 1), paid_to=date.max)
    assert (flt.paid_from, flt.paid_to) == (datetime.min, None)
