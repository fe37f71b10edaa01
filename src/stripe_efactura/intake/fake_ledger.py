"""The fake Stripe's ledger lists: ``GET /v1/balance_transactions`` and ``GET /v1/payouts``.

Stripe's documented list shapes: newest first (``created`` descending), ``limit`` (default
10, max 100), ``starting_after``/``ending_before`` cursors, range filters ``created`` (and for
payouts ``arrival_date``) as ``name=N`` or ``name[gt|gte|lt|lte]=N``; balance transactions
filtered by ``type``, ``source``, ``currency`` or ``payout`` (the transactions an automatic
payout paid out) and with ``expand[]=data.source`` the source object in place of its id.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse

from stripe_efactura.intake.plain import Json

if TYPE_CHECKING:
    from stripe_efactura.intake.fake_stripe import FakeStripeStore

Handler = Callable[[Request, dict[str, str], set[str]], JSONResponse]

_OPS: dict[str, Callable[[int, int], bool]] = {
    "": lambda v, b: v == b,
    "[gt]": lambda v, b: v > b,
    "[gte]": lambda v, b: v >= b,
    "[lt]": lambda v, b: v < b,
    "[lte]": lambda v, b: v <= b,
}


def in_range(value: int, params: dict[str, str], name: str) -> bool:
    """Stripe's range filters on ``name``; raises ValueError for a non-integer bound."""
    for suffix, op in _OPS.items():
        raw = params.get(f"{name}{suffix}")
        if raw is not None and not op(value, int(raw)):
            return False
    return True


def balance_transactions(store: FakeStripeStore, params: dict[str, str]) -> list[Json]:
    """The balance transactions matching ``params``, newest first (the stored objects
    themselves: copy before changing them, see :func:`expanded`)."""
    stored = store.objects.get("balance_transaction", {}).values()
    items = [
        t
        for t in stored
        if in_range(int(t.get("created", 0)), params, "created")
        and all(str(t.get(k)) == params[k] for k in ("type", "source", "currency") if k in params)
    ]
    if "payout" in params:
        wanted = set(store.payout_transactions.get(params["payout"], []))
        items = [t for t in items if t["id"] in wanted]
    items.sort(key=lambda t: (int(t.get("created", 0)), str(t["id"])), reverse=True)
    return items


def expanded(store: FakeStripeStore, items: list[Json], expand: set[str]) -> list[Json]:
    """Copies of ``items``, ``source`` expanded when ``data.source`` is asked for."""
    out = [copy.deepcopy(t) for t in items]
    if "data.source" in expand:
        for t in out:
            found = store.find(str(t.get("source"))) if t.get("source") else None
            if found is not None:
                t["source"] = found
    return out


def payouts(store: FakeStripeStore, params: dict[str, str]) -> list[Json]:
    """Payouts filtered by ``created``, ``arrival_date`` and ``status``, newest first."""
    items = [
        p
        for p in store.all("payout")
        if in_range(int(p.get("created", 0)), params, "created")
        and in_range(int(p.get("arrival_date", 0)), params, "arrival_date")
        and ("status" not in params or p.get("status") == params["status"])
    ]
    items.sort(key=lambda p: (int(p.get("created", 0)), str(p["id"])), reverse=True)
    return items


def ledger_handlers(store: FakeStripeStore) -> tuple[Handler, Handler]:
    """The two list endpoints (``create_fake_stripe`` serves them)."""
    from stripe_efactura.intake.fake_stripe import _error, _list, _slice

    def list_balance(request: Request, params: dict[str, str], expand: set[str]) -> JSONResponse:
        try:
            items = balance_transactions(store, params)
            limit = max(1, min(100, int(params.get("limit", "10"))))
        except ValueError:
            return _error(400, "invalid_request_error", "Invalid integer", param="created")
        page, more = _slice(items, params.get("starting_after"), params.get("ending_before"), limit)
        body = {
            "object": "list",
            "data": expanded(store, page, expand),
            "has_more": more,
            "url": "/v1/balance_transactions",
        }
        return JSONResponse(body, headers={"Request-Id": "req_fake"})

    def list_payouts(request: Request, params: dict[str, str], expand: set[str]) -> JSONResponse:
        try:
            items = payouts(store, params)
        except ValueError:
            return _error(400, "invalid_request_error", "Invalid integer", param="created")
        return _list(items, params, "/v1/payouts")

    return list_balance, list_payouts
