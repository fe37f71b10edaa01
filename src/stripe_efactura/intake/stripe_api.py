"""The Stripe API adapter: the ONLY module that uses the SDK's HTTP client.

(:mod:`~stripe_efactura.intake.signature` also imports ``stripe``, for its webhook signature
helpers only.)

:class:`StripeApi` implements :class:`~stripe_efactura.intake.reader.StripeReader` with
``stripe.StripeClient``. Every call is a ``GET`` made through ``StripeClient.raw_request`` and
answered with the **raw JSON** as plain dicts: since stripe-python 15 a ``StripeObject`` is not
a ``dict`` (``.get`` raises) and its ``decimal_string`` fields become ``Decimal``; the rest of
the project works on the JSON Stripe sent.

The API version is pinned (:data:`API_VERSION`): fetched objects have that shape, whatever
version the webhook endpoint renders events in (``versions.normalize`` reconciles both).

Retries: the SDK retries connection errors, 409 and 5xx (``max_network_retries``); this module
adds retries of 429 (rate limit), which the SDK leaves to the caller unless Stripe sends
``Stripe-Should-Retry``. Errors are mapped to :class:`StripeApiError` with a code and
``permanent=True`` for 4xx other than 429 (a job should not retry those):

- ``E-STRIPE-NOT-FOUND`` (404), ``E-STRIPE-AUTH`` (401), ``E-STRIPE-PERMISSION`` (403: a
  restricted key lacks a read permission), ``E-STRIPE-REQUEST`` (other 4xx);
- ``E-STRIPE-RATE-LIMIT`` (429 after all retries), ``E-STRIPE-UNAVAILABLE`` (5xx, network).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from typing import Any

import stripe

from stripe_efactura.errors import StripeApiError
from stripe_efactura.intake.events import KIND_STRIPE_OBJECT, EventPage
from stripe_efactura.intake.plain import Json, as_dict
from stripe_efactura.intake.reader import SESSION_CONTENTS_EXPAND, SESSION_LINE_ITEM_EXPAND

API_VERSION = "2026-10-28.endive"
"""The Stripe API version of every request (the one stripe-python 16.1 is generated for)."""

DEFAULT_API_BASE = "https://api.stripe.com"
PAGE_LIMIT = 100


PI_EXPAND = ("latest_charge",)
"""Expanded on every PaymentIntent read (``retrieve_payment_intent``): its charge, which the
sale needs (payment means, billing details), in the same request."""

_PATHS = {
    "payment_intent": "/v1/payment_intents/{}",
    "charge": "/v1/charges/{}",
    "invoice": "/v1/invoices/{}",
    "checkout.session": "/v1/checkout/sessions/{}",
    "tax_rate": "/v1/tax_rates/{}",
    "customer": "/v1/customers/{}",
    "product": "/v1/products/{}",
    "refund": "/v1/refunds/{}",
    "dispute": "/v1/disputes/{}",
    "credit_note": "/v1/credit_notes/{}",
}


def backoff_seconds(attempt: int) -> float:
    """Wait before retry ``attempt`` (1, 2, …): 0.5 s doubling to 8 s, with ±25 % jitter."""
    base: float = min(0.5 * 2 ** (attempt - 1), 8.0)
    return base * (0.75 + random.random() / 2)


class StripeApi:
    """Read-only Stripe API access over ``stripe.StripeClient``; returns plain JSON dicts."""

    def __init__(
        self,
        api_key: str,
        *,
        api_base: str | None = None,
        api_version: str = API_VERSION,
        max_retries: int = 3,
        page_limit: int = PAGE_LIMIT,
        sleep: Callable[[float], None] = time.sleep,
        backoff: Callable[[int], float] = backoff_seconds,
    ) -> None:
        self.api_version = api_version
        self.max_retries = max_retries
        self.page_limit = page_limit
        self._sleep = sleep
        self._backoff = backoff
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base or DEFAULT_API_BASE},
            stripe_version=api_version,
            max_network_retries=max_retries,
            # the SDK's httpx transport: one thread-safe connection pool, the environment's
            # proxy settings read once (the default requests transport scans the whole
            # environment on every request; 548 against 379 us of CPU per call, bench/README)
            http_client=stripe.HTTPXClient(allow_sync_methods=True),
        )

    # -- transport -----------------------------------------------------------------------

    def _get(self, path: str, **params: Any) -> Json:
        attempt = 0
        while True:
            try:
                response = self._client.raw_request("get", path, **params)
            except stripe.RateLimitError as exc:
                attempt += 1
                if attempt > self.max_retries:
                    raise _mapped(exc, path) from exc
                self._sleep(self._backoff(attempt))
                continue
            except stripe.StripeError as exc:
                raise _mapped(exc, path) from exc
            data = json.loads(response.body)
            if not isinstance(data, dict):
                raise StripeApiError(f"GET {path}: not a JSON object", code="E-STRIPE-REQUEST")
            return data

    def _list_all(self, path: str, **params: Any) -> list[Json]:
        items: list[Json] = []
        cursor: str | None = None
        while True:
            page_params = dict(params, limit=self.page_limit)
            if cursor is not None:
                page_params["starting_after"] = cursor
            page = self._get(path, **page_params)
            data = [x for x in page.get("data") or [] if isinstance(x, dict)]
            items.extend(data)
            if not page.get("has_more") or not data:
                return items
            cursor = str(data[-1]["id"])

    def _first(self, path: str, **params: Any) -> Json | None:
        page = self._get(path, limit=1, **params)
        data = [x for x in page.get("data") or [] if isinstance(x, dict)]
        return data[0] if data else None

    def _retrieve(self, name: str, object_id: str, *, expand: tuple[str, ...] = ()) -> Json:
        path = _PATHS[name].format(_path_id(object_id))
        return self._get(path, expand=list(expand)) if expand else self._get(path)

    # -- StripeReader --------------------------------------------------------------------

    def retrieve_payment_intent(self, pi_id: str) -> Json:
        return self._retrieve("payment_intent", pi_id, expand=PI_EXPAND)

    def retrieve_charge(self, charge_id: str) -> Json:
        return self._retrieve("charge", charge_id)

    def retrieve_invoice(self, invoice_id: str) -> Json:
        return self._retrieve("invoice", invoice_id)

    def list_invoice_lines(self, invoice_id: str) -> list[Json]:
        return self._list_all(f"/v1/invoices/{_path_id(invoice_id)}/lines")

    def retrieve_checkout_session(self, session_id: str) -> Json:
        return self._retrieve("checkout.session", session_id)

    def list_session_line_items(self, session_id: str) -> list[Json]:
        return self._list_all(
            f"/v1/checkout/sessions/{_path_id(session_id)}/line_items",
            expand=list(SESSION_LINE_ITEM_EXPAND),
        )

    def retrieve_session_contents(self, session_id: str) -> Json:
        return self._retrieve("checkout.session", session_id, expand=SESSION_CONTENTS_EXPAND)

    def find_session_by_payment_intent(self, pi_id: str) -> Json | None:
        return self._first("/v1/checkout/sessions", payment_intent=pi_id)

    def find_invoice_payment_by_payment_intent(self, pi_id: str) -> Json | None:
        return self._first(
            "/v1/invoice_payments",
            payment={"type": "payment_intent", "payment_intent": pi_id},
        )

    def list_invoice_payments(self, invoice_id: str) -> list[Json]:
        return self._list_all("/v1/invoice_payments", invoice=invoice_id)

    def retrieve_tax_rate(self, tax_rate_id: str) -> Json:
        return self._retrieve("tax_rate", tax_rate_id)

    def retrieve_customer(self, customer_id: str) -> Json:
        return self._retrieve("customer", customer_id)

    def retrieve_product(self, product_id: str) -> Json:
        return self._retrieve("product", product_id)

    def list_pi_amount_details_line_items(self, pi_id: str) -> list[Json]:
        return self._list_all(f"/v1/payment_intents/{_path_id(pi_id)}/amount_details_line_items")

    def retrieve_object(self, kind: str, object_id: str) -> Json:
        name = KIND_STRIPE_OBJECT.get(kind, kind)
        if name not in _PATHS:
            raise StripeApiError(f"Cannot fetch a {kind}", permanent=True, code="E-STRIPE-REQUEST")
        return self._retrieve(name, object_id)

    def list_events(
        self,
        created_gte: int,
        starting_after: str | None = None,
        *,
        types: tuple[str, ...] = (),
        limit: int | None = None,
    ) -> EventPage:
        params: dict[str, Any] = {
            "created": {"gte": created_gte},
            "limit": limit or self.page_limit,
        }
        if starting_after is not None:
            params["starting_after"] = starting_after
        if types:
            params["types"] = list(types)
        page = self._get("/v1/events", **params)
        data = [x for x in page.get("data") or [] if isinstance(x, dict)]
        return EventPage(data, bool(page.get("has_more")))

    def list_refunds(self, charge_id: str) -> list[Json]:
        return self._list_all("/v1/refunds", charge=charge_id)

    # -- ledger (reconciliation): one page per call, newest first ------------------------

    def _page(
        self, path: str, params: dict[str, Any], after: str | None
    ) -> tuple[list[Json], bool]:
        if after is not None:
            params["starting_after"] = after
        page = self._get(path, limit=self.page_limit, **params)
        data = [x for x in page.get("data") or [] if isinstance(x, dict)]
        return data, bool(page.get("has_more")) and bool(data)

    def list_balance_transactions(
        self,
        *,
        created_gte: int,
        created_lt: int,
        starting_after: str | None = None,
        payout: str | None = None,
    ) -> tuple[list[Json], bool]:
        """One page of ``GET /v1/balance_transactions`` created in ``[gte, lt)`` (or paid out
        by ``payout``), each ``source`` expanded; returns (items, has_more)."""
        params: dict[str, Any] = {"expand": ["data.source"]}
        if payout is not None:
            params["payout"] = payout
        else:
            params["created"] = {"gte": created_gte, "lt": created_lt}
        return self._page("/v1/balance_transactions", params, starting_after)

    def list_payouts(
        self, *, arrival_gte: int, arrival_lt: int, starting_after: str | None = None
    ) -> tuple[list[Json], bool]:
        """One page of ``GET /v1/payouts`` arriving in ``[gte, lt)``; (items, has_more)."""
        params: dict[str, Any] = {"arrival_date": {"gte": arrival_gte, "lt": arrival_lt}}
        return self._page("/v1/payouts", params, starting_after)


def _path_id(object_id: str) -> str:
    """Stripe ids are ``[A-Za-z0-9_]``; refuse anything that could change the path."""
    if not object_id or not object_id.replace("_", "").isalnum():
        raise StripeApiError(f"Invalid Stripe id {object_id!r}", permanent=True, code="E-STRIPE-ID")
    return object_id


def _mapped(exc: stripe.StripeError, path: str) -> StripeApiError:
    status = exc.http_status
    body = as_dict(as_dict(exc.json_body).get("error"))
    context: dict[str, Any] = {
        "http_status": status,
        "request_id": exc.request_id,
        "stripe_code": body.get("code") or exc.code,
        "path": path,
    }
    message = f"Stripe GET {path} failed: {exc.user_message or exc}"
    if isinstance(exc, stripe.RateLimitError) or status == 429:
        return StripeApiError(message, code="E-STRIPE-RATE-LIMIT", **context)
    if status is not None and 400 <= status < 500:
        code = {404: "E-STRIPE-NOT-FOUND", 401: "E-STRIPE-AUTH", 403: "E-STRIPE-PERMISSION"}.get(
            status, "E-STRIPE-REQUEST"
        )
        return StripeApiError(message, permanent=True, code=code, **context)
    return StripeApiError(message, code="E-STRIPE-UNAVAILABLE", **context)
