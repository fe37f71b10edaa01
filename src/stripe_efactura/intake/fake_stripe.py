"""A faithful fake of the read-only part of Stripe's REST API, for tests and the demo.

Stripe cannot be reached from tests (and stripe-mock is not installable), so this module
serves the ``GET`` endpoints the service uses, in Stripe's wire format:

- objects as stored (plain JSON), ``404`` as
  ``{"error": {"type": "invalid_request_error", "code": "resource_missing", …}}``;
- list objects ``{"object": "list", "data": […], "has_more": …, "url": …}`` with ``limit``
  (default 10, max 100) and ``starting_after`` / ``ending_before`` cursors;
- ``expand[]`` of ``data.price.product``, ``data.taxes`` and ``data.discounts`` on Checkout
  line items (``taxes`` and ``discounts`` are only returned when expanded, as on Stripe), and
  of ``latest_charge`` on a PaymentIntent, and of ``line_items`` (its first 10 items, the
  paths below it as on the line items endpoint) and ``payment_intent`` (``.latest_charge``)
  on a Checkout Session;
- an invoice embeds only the first 10 lines (``has_more`` tells to page ``/lines``);
- ``Authorization: Bearer <key>`` checked when the store has an ``api_key`` (401 otherwise);
- injectable faults (``429`` rate limit, ``500``) for the next N requests on a path prefix;
- the ledger lists ``/v1/balance_transactions`` and ``/v1/payouts`` (:mod:`.fake_ledger`).

:class:`FakeStripeStore` is the shared state; :func:`create_fake_stripe` serves it over HTTP
(the real :class:`~stripe_efactura.intake.stripe_api.StripeApi` talks to it through
``EFACTURA_STRIPE_API_BASE``), and :class:`FakeStripeReader` reads it in memory for pure unit
tests of :mod:`~stripe_efactura.intake.correlate`.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from stripe_efactura.errors import StripeApiError
from stripe_efactura.intake.events import KIND_STRIPE_OBJECT, EventPage
from stripe_efactura.intake.fake_server import run_in_thread as run_in_thread
from stripe_efactura.intake.plain import Json, as_dict, as_list, ref_id
from stripe_efactura.intake.reader import SESSION_CONTENTS_EXPAND, SESSION_LINE_ITEM_EXPAND

_COLLECTIONS = {
    "payment_intents": "payment_intent",
    "charges": "charge",
    "invoices": "invoice",
    "checkout/sessions": "checkout.session",
    "invoice_payments": "invoice_payment",
    "tax_rates": "tax_rate",
    "customers": "customer",
    "products": "product",
    "prices": "price",
    "refunds": "refund",
    "events": "event",
    "disputes": "dispute",
    "credit_notes": "credit_note",
    "balance_transactions": "balance_transaction",
    "payouts": "payout",
}
_EMBEDDED_LINES = 10


@dataclass
class Fault:
    """Answer the next ``times`` requests whose path starts with ``path_prefix`` with ``status``."""

    status: int
    path_prefix: str = "/v1/"
    times: int = 1


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    stripe_version: str | None
    authorization: str | None


@dataclass
class FakeStripeStore:
    """Stripe objects by type and id, plus the lists Stripe keeps beside them."""

    api_key: str | None = None
    objects: dict[str, dict[str, Json]] = field(default_factory=dict)
    invoice_lines: dict[str, list[Json]] = field(default_factory=dict)
    session_line_items: dict[str, list[Json]] = field(default_factory=dict)
    pi_line_items: dict[str, list[Json]] = field(default_factory=dict)
    payout_transactions: dict[str, list[str]] = field(default_factory=dict)
    """Payout id -> the balance transaction ids it paid out (``?payout=`` filter)."""
    faults: list[Fault] = field(default_factory=list)
    requests: list[RecordedRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    refs: dict[tuple[str, str, str], dict[str, None]] = field(default_factory=dict, repr=False)
    """(kind, reference, referenced id) -> ids of the objects that referred to it when added:
    the lookups by PaymentIntent or invoice are O(1), as Stripe's are (each hit is checked
    against the object as it is now)."""

    def add(self, *objs: Json) -> None:
        """Store objects by their ``object`` type (an event goes to ``GET /v1/events``)."""
        for obj in objs:
            kind = str(obj["object"])
            self.objects.setdefault(kind, {})[str(obj["id"])] = copy.deepcopy(obj)
            for name, value in _references(kind, obj):
                self.refs.setdefault((kind, name, value), {})[str(obj["id"])] = None

    def _referring(self, kind: str, name: str, value: str) -> list[Json]:
        """The objects of ``kind`` whose reference ``name`` is ``value`` now, in insertion order."""
        stored = self.objects.get(kind, {})
        found = []
        for object_id in self.refs.get((kind, name, value), {}):
            obj = stored.get(object_id)
            if obj is not None and dict(_references(kind, obj)).get(name) == value:
                found.append(copy.deepcopy(obj))
        return found

    def add_invoice_lines(self, invoice_id: str, lines: list[Json]) -> None:
        """All lines of an invoice (the invoice itself then embeds only the first 10)."""
        self.invoice_lines[invoice_id] = copy.deepcopy(lines)

    def add_session_line_items(self, session_id: str, items: list[Json]) -> None:
        """Checkout line items with ``price.product`` as an id and full ``taxes``/``discounts``."""
        self.session_line_items[session_id] = copy.deepcopy(items)

    def add_pi_line_items(self, pi_id: str, items: list[Json]) -> None:
        self.pi_line_items[pi_id] = copy.deepcopy(items)

    def add_payout(self, payout: Json, transaction_ids: list[str]) -> None:
        """A payout and the balance transactions it paid out (Stripe's automatic payouts)."""
        self.add(payout)
        self.payout_transactions[str(payout["id"])] = list(transaction_ids)

    def find(self, object_id: str) -> Json | None:
        """Any stored object by id (for ``expand[]=data.source``)."""
        for objs in self.objects.values():
            if object_id in objs:
                return copy.deepcopy(objs[object_id])
        return None

    def fail_next(self, status: int, *, path_prefix: str = "/v1/", times: int = 1) -> None:
        self.faults.append(Fault(status, path_prefix, times))

    def get(self, kind: str, object_id: str) -> Json | None:
        found = self.objects.get(kind, {}).get(object_id)
        return copy.deepcopy(found) if found is not None else None

    def all(self, kind: str) -> list[Json]:
        return [copy.deepcopy(o) for o in self.objects.get(kind, {}).values()]

    # -- views used by both the HTTP app and the in-memory reader --------------------------

    def with_latest_charge(self, pi: Json) -> Json:
        """``pi`` with ``expand[]=latest_charge``: the charge object in place of its id, as
        Stripe expands it (an id this store does not hold stays an id). ``pi`` is changed in
        place: pass a copy (:meth:`get` returns one)."""
        charge_id = pi.get("latest_charge")
        if isinstance(charge_id, str):
            charge = self.get("charge", charge_id)
            if charge is not None:
                pi["latest_charge"] = charge
        return pi

    def invoice_view(self, invoice_id: str) -> Json | None:
        inv = self.get("invoice", invoice_id)
        if inv is None or invoice_id not in self.invoice_lines:
            return inv
        lines = self.all_invoice_lines(invoice_id)
        inv["lines"] = _embedded(lines, f"/v1/invoices/{invoice_id}/lines")
        inv["lines"]["total_count"] = len(lines)
        return inv

    def all_invoice_lines(self, invoice_id: str) -> list[Json]:
        if invoice_id in self.invoice_lines:
            return copy.deepcopy(self.invoice_lines[invoice_id])
        inv = self.get("invoice", invoice_id)
        return [x for x in as_list(as_dict(inv).get("lines")) if isinstance(x, dict)]

    def session_items_view(self, session_id: str, expand: set[str]) -> list[Json]:
        items = copy.deepcopy(self.session_line_items.get(session_id, []))
        for item in items:
            price = item.get("price")
            if "data.price.product" in expand and isinstance(price, dict):
                product = self.get("product", str(price.get("product")))
                if product is not None:
                    price["product"] = product
            for key in ("taxes", "discounts"):
                if f"data.{key}" not in expand:
                    item.pop(key, None)
        return items

    def session_contents_view(self, session_id: str, expand: set[str]) -> Json | None:
        """The session with ``expand[]`` of ``line_items`` (its first :data:`_EMBEDDED_LINES`
        items as a list object, each expanded as :meth:`session_items_view` by the paths
        below ``line_items.``) and of ``payment_intent`` (with ``latest_charge`` when
        ``payment_intent.latest_charge``), as Stripe expands them; None when unknown."""
        session = self.get("checkout.session", session_id)
        if session is None:
            return None
        below = {p.removeprefix("line_items.") for p in expand if p.startswith("line_items.")}
        if below or "line_items" in expand:
            items = self.session_items_view(session_id, below)
            url = f"/v1/checkout/sessions/{session_id}/line_items"
            session["line_items"] = _embedded(items, url)
        pi_id = session.get("payment_intent")
        wants_pi = {"payment_intent", "payment_intent.latest_charge"} & expand
        pi = self.get("payment_intent", pi_id) if wants_pi and isinstance(pi_id, str) else None
        if pi is not None:
            expanded = "payment_intent.latest_charge" in expand
            session["payment_intent"] = self.with_latest_charge(pi) if expanded else pi
        return session

    def invoice_payments_for(
        self, invoice_id: str | None = None, pi_id: str | None = None
    ) -> list[Json]:
        if pi_id is not None:
            candidates = self._referring("invoice_payment", "payment_intent", pi_id)
        elif invoice_id is not None:
            candidates = self._referring("invoice_payment", "invoice", invoice_id)
        else:
            candidates = self.all("invoice_payment")
        found = []
        for ip in candidates:
            payment = as_dict(ip.get("payment"))
            if invoice_id is not None and ip.get("invoice") != invoice_id:
                continue
            if pi_id is not None and ref_id(payment.get("payment_intent")) != pi_id:
                continue
            found.append(ip)
        return found

    def sessions_for_pi(self, pi_id: str) -> list[Json]:
        return self._referring("checkout.session", "payment_intent", pi_id)

    def events_since(self, created_gte: int, types: tuple[str, ...] = ()) -> list[Json]:
        events = [
            e
            for e in self.all("event")
            if int(e.get("created", 0)) >= created_gte and (not types or e.get("type") in types)
        ]
        events.sort(key=lambda e: (int(e.get("created", 0)), str(e["id"])), reverse=True)
        return events

    def refunds_for(self, charge_id: str) -> list[Json]:
        refunds = self._referring("refund", "charge", charge_id)
        refunds.sort(key=lambda r: (int(r.get("created", 0)), str(r["id"])), reverse=True)
        return refunds

    def take_fault(self, path: str) -> int | None:
        with self.lock:
            for fault in self.faults:
                if path.startswith(fault.path_prefix) and fault.times > 0:
                    fault.times -= 1
                    return fault.status
        return None


def _references(kind: str, obj: Json) -> list[tuple[str, str]]:
    """The references :meth:`FakeStripeStore._referring` looks objects up by."""
    if kind == "checkout.session":
        pi = ref_id(obj.get("payment_intent"))
        return [("payment_intent", pi)] if pi else []
    if kind == "invoice_payment":
        pi = ref_id(as_dict(obj.get("payment")).get("payment_intent"))
        invoice = ref_id(obj.get("invoice"))
        return [(n, v) for n, v in (("payment_intent", pi), ("invoice", invoice)) if v]
    if kind == "refund":
        charge = ref_id(obj.get("charge"))
        return [("charge", charge)] if charge else []
    return []


# --- in-memory reader -----------------------------------------------------------------------


def _missing(kind: str, object_id: str) -> StripeApiError:
    return StripeApiError(
        f"No such {kind}: '{object_id}'",
        permanent=True,
        code="E-STRIPE-NOT-FOUND",
        http_status=404,
    )


class FakeStripeReader:
    """A :class:`~stripe_efactura.intake.reader.StripeReader` over a store, no HTTP.

    ``calls`` records ``(method, argument)`` so tests can assert what was fetched.
    """

    def __init__(self, store: FakeStripeStore) -> None:
        self.store = store
        self.calls: list[tuple[str, str]] = []

    def _get(self, kind: str, object_id: str, method: str) -> Json:
        self.calls.append((method, object_id))
        found = self.store.invoice_view(object_id) if kind == "invoice" else None
        found = found or self.store.get(kind, object_id)
        if found is None:
            raise _missing(kind, object_id)
        return found

    def retrieve_payment_intent(self, pi_id: str) -> Json:
        pi = self._get("payment_intent", pi_id, "retrieve_payment_intent")
        return self.store.with_latest_charge(pi)

    def retrieve_charge(self, charge_id: str) -> Json:
        return self._get("charge", charge_id, "retrieve_charge")

    def retrieve_invoice(self, invoice_id: str) -> Json:
        return self._get("invoice", invoice_id, "retrieve_invoice")

    def list_invoice_lines(self, invoice_id: str) -> list[Json]:
        self.calls.append(("list_invoice_lines", invoice_id))
        return self.store.all_invoice_lines(invoice_id)

    def retrieve_checkout_session(self, session_id: str) -> Json:
        return self._get("checkout.session", session_id, "retrieve_checkout_session")

    def list_session_line_items(self, session_id: str) -> list[Json]:
        self.calls.append(("list_session_line_items", session_id))
        return self.store.session_items_view(session_id, set(SESSION_LINE_ITEM_EXPAND))

    def retrieve_session_contents(self, session_id: str) -> Json:
        self.calls.append(("retrieve_session_contents", session_id))
        found = self.store.session_contents_view(session_id, set(SESSION_CONTENTS_EXPAND))
        if found is None:
            raise _missing("checkout.session", session_id)
        return found

    def find_session_by_payment_intent(self, pi_id: str) -> Json | None:
        self.calls.append(("find_session_by_payment_intent", pi_id))
        found = self.store.sessions_for_pi(pi_id)
        return found[0] if found else None

    def find_invoice_payment_by_payment_intent(self, pi_id: str) -> Json | None:
        self.calls.append(("find_invoice_payment_by_payment_intent", pi_id))
        found = self.store.invoice_payments_for(pi_id=pi_id)
        return found[0] if found else None

    def list_invoice_payments(self, invoice_id: str) -> list[Json]:
        self.calls.append(("list_invoice_payments", invoice_id))
        return self.store.invoice_payments_for(invoice_id=invoice_id)

    def retrieve_tax_rate(self, tax_rate_id: str) -> Json:
        return self._get("tax_rate", tax_rate_id, "retrieve_tax_rate")

    def retrieve_customer(self, customer_id: str) -> Json:
        return self._get("customer", customer_id, "retrieve_customer")

    def retrieve_product(self, product_id: str) -> Json:
        return self._get("product", product_id, "retrieve_product")

    def list_pi_amount_details_line_items(self, pi_id: str) -> list[Json]:
        self.calls.append(("list_pi_amount_details_line_items", pi_id))
        return copy.deepcopy(self.store.pi_line_items.get(pi_id, []))

    def retrieve_object(self, kind: str, object_id: str) -> Json:
        name = KIND_STRIPE_OBJECT.get(kind, kind)
        return self._get(name, object_id, "retrieve_object")

    def list_events(
        self,
        created_gte: int,
        starting_after: str | None = None,
        *,
        types: tuple[str, ...] = (),
        limit: int = 100,
    ) -> EventPage:
        self.calls.append(("list_events", starting_after or ""))
        events = self.store.events_since(created_gte, types)
        page, has_more = _slice(events, starting_after, None, limit)
        return EventPage(page, has_more)

    def list_refunds(self, charge_id: str) -> list[Json]:
        self.calls.append(("list_refunds", charge_id))
        return self.store.refunds_for(charge_id)


def _slice(
    items: list[Json], starting_after: str | None, ending_before: str | None, limit: int
) -> tuple[list[Json], bool]:
    ids = [str(i.get("id")) for i in items]
    if starting_after is not None:
        start = ids.index(starting_after) + 1 if starting_after in ids else len(items)
        page = items[start : start + limit]
        return page, start + limit < len(items)
    if ending_before is not None:
        end = ids.index(ending_before) if ending_before in ids else 0
        begin = max(0, end - limit)
        return items[begin:end], begin > 0
    return items[:limit], limit < len(items)


# --- HTTP app -------------------------------------------------------------------------------


def _error(status: int, etype: str, message: str, **extra: Any) -> JSONResponse:
    body = {"error": {"type": etype, "message": message, **extra}}
    return JSONResponse(body, status_code=status, headers={"Request-Id": "req_fake"})


def _not_found(kind: str, object_id: str) -> JSONResponse:
    return _error(
        404,
        "invalid_request_error",
        f"No such {kind}: '{object_id}'",
        code="resource_missing",
        param="id",
    )


def _params(request: Request) -> tuple[dict[str, str], set[str]]:
    """Flat query params and the ``expand`` set (``expand[]=x``, ``expand[0]=x``)."""
    flat: dict[str, str] = {}
    expand: set[str] = set()
    for key, value in request.query_params.multi_items():
        if key == "expand" or (key.startswith("expand[") and key.endswith("]")):
            expand.add(value)
        elif key.startswith("types[") or key == "types":
            flat[f"types.{len(flat)}"] = value
        else:
            flat[key] = value
    return flat, expand


def _found(kind: str, object_id: str, found: Json | None) -> JSONResponse:
    """``found`` as Stripe answers a retrieve, or its 404 when it is None."""
    if found is None:
        return _not_found(kind, object_id)
    return JSONResponse(found, headers={"Request-Id": "req_fake"})


def _embedded(items: list[Json], url: str) -> Json:
    """The list object Stripe embeds in an object it returns: the first
    :data:`_EMBEDDED_LINES` items, ``has_more`` when there are more to page from ``url``."""
    return {
        "object": "list",
        "data": items[:_EMBEDDED_LINES],
        "has_more": len(items) > _EMBEDDED_LINES,
        "url": url,
    }


def _list(items: list[Json], params: dict[str, str], url: str) -> JSONResponse:
    try:
        limit = max(1, min(100, int(params.get("limit", "10"))))
    except ValueError:
        return _error(400, "invalid_request_error", "Invalid integer: limit", param="limit")
    page, has_more = _slice(items, params.get("starting_after"), params.get("ending_before"), limit)
    body = {"object": "list", "data": page, "has_more": has_more, "url": url}
    return JSONResponse(body, headers={"Request-Id": "req_fake"})


Handler = Callable[[Request, dict[str, str], set[str]], JSONResponse]


class _Endpoints:
    """The fake's ``GET /v1/…`` handlers over one store (:func:`create_fake_stripe` routes
    them); each takes the request, its query parameters and its ``expand[]`` set."""

    def __init__(self, store: FakeStripeStore) -> None:
        self.store = store

    def guarded(self, handler: Handler) -> Callable[[Request], Any]:
        """``handler`` as an endpoint: recorded, authenticated and given its injected fault."""
        store = self.store

        async def endpoint(request: Request) -> JSONResponse:
            auth = request.headers.get("authorization")
            store.requests.append(
                RecordedRequest(
                    request.method,
                    request.url.path,
                    tuple(request.query_params.multi_items()),
                    request.headers.get("stripe-version"),
                    auth,
                )
            )
            if store.api_key is not None and auth != f"Bearer {store.api_key}":
                return _error(401, "invalid_request_error", "Invalid API Key provided")
            status = store.take_fault(request.url.path)
            if status == 429:
                return _error(
                    429,
                    "invalid_request_error",
                    "Request rate limit exceeded. Retry after a short while.",
                    code="rate_limit",
                )
            if status is not None:
                return _error(status, "api_error", "An unknown error occurred (fake fault).")
            params, expand = _params(request)
            response = handler(request, params, expand)
            version = request.headers.get("stripe-version")
            if version:
                response.headers["Stripe-Version"] = version
            return response

        return endpoint

    def found_or_404(self, kind: str, object_id: str) -> JSONResponse:
        store = self.store
        found = store.invoice_view(object_id) if kind == "invoice" else store.get(kind, object_id)
        return _found(kind, object_id, found)

    def retrieve(self, request: Request, params: dict[str, str], expand: set[str]) -> JSONResponse:
        collection = str(request.path_params["collection"])
        kind = _COLLECTIONS.get(collection)
        if kind is None:
            return _error(404, "invalid_request_error", f"Unrecognized request URL: {collection}")
        object_id = str(request.path_params["id"])
        if kind == "payment_intent" and "latest_charge" in expand:
            pi = self.store.get(kind, object_id)
            expanded = self.store.with_latest_charge(pi) if pi is not None else None
            return _found(kind, object_id, expanded)
        return self.found_or_404(kind, object_id)

    def session(self, request: Request, params: dict[str, str], expand: set[str]) -> JSONResponse:
        sid = str(request.path_params["id"])
        return _found("checkout.session", sid, self.store.session_contents_view(sid, expand))

    def list_sessions(
        self, request: Request, params: dict[str, str], expand: set[str]
    ) -> JSONResponse:
        if "payment_intent" in params:
            items = self.store.sessions_for_pi(params["payment_intent"])
        else:
            items = self.store.all("checkout.session")
        return _list(items, params, "/v1/checkout/sessions")

    def session_items(
        self, request: Request, params: dict[str, str], expand: set[str]
    ) -> JSONResponse:
        sid = str(request.path_params["id"])
        if self.store.get("checkout.session", sid) is None:
            return _not_found("checkout.session", sid)
        items = self.store.session_items_view(sid, expand)
        return _list(items, params, f"/v1/checkout/sessions/{sid}/line_items")

    def invoice_lines(
        self, request: Request, params: dict[str, str], expand: set[str]
    ) -> JSONResponse:
        iid = str(request.path_params["id"])
        if self.store.get("invoice", iid) is None:
            return _not_found("invoice", iid)
        return _list(self.store.all_invoice_lines(iid), params, f"/v1/invoices/{iid}/lines")

    def pi_items(self, request: Request, params: dict[str, str], expand: set[str]) -> JSONResponse:
        pid = str(request.path_params["id"])
        if self.store.get("payment_intent", pid) is None:
            return _not_found("payment_intent", pid)
        items = copy.deepcopy(self.store.pi_line_items.get(pid, []))
        return _list(items, params, f"/v1/payment_intents/{pid}/amount_details_line_items")

    def list_invoice_payments(
        self, request: Request, params: dict[str, str], expand: set[str]
    ) -> JSONResponse:
        items = self.store.invoice_payments_for(
            invoice_id=params.get("invoice"), pi_id=params.get("payment[payment_intent]")
        )
        return _list(items, params, "/v1/invoice_payments")

    def list_events(
        self, request: Request, params: dict[str, str], expand: set[str]
    ) -> JSONResponse:
        try:
            gte = int(params.get("created[gte]", "0"))
        except ValueError:
            return _error(400, "invalid_request_error", "Invalid integer", param="created[gte]")
        types = [v for k, v in params.items() if k.startswith("types.")]
        if "type" in params:
            types.append(params["type"])
        return _list(self.store.events_since(gte, tuple(types)), params, "/v1/events")

    def list_refunds(
        self, request: Request, params: dict[str, str], expand: set[str]
    ) -> JSONResponse:
        if "charge" in params:
            items = self.store.refunds_for(params["charge"])
        else:
            items = self.store.all("refund")
        return _list(items, params, "/v1/refunds")


def create_fake_stripe(store: FakeStripeStore) -> Starlette:
    """An ASGI app serving ``store`` as Stripe's ``GET /v1/…`` endpoints."""
    from stripe_efactura.intake.fake_ledger import ledger_handlers

    api = _Endpoints(store)
    guarded = api.guarded
    balance, payouts = ledger_handlers(store)
    routes = [
        Route("/v1/balance_transactions", guarded(balance)),
        Route("/v1/payouts", guarded(payouts)),
        Route("/v1/checkout/sessions", guarded(api.list_sessions)),
        Route("/v1/checkout/sessions/{id}", guarded(api.session)),
        Route("/v1/checkout/sessions/{id}/line_items", guarded(api.session_items)),
        Route("/v1/invoices/{id}/lines", guarded(api.invoice_lines)),
        Route("/v1/payment_intents/{id}/amount_details_line_items", guarded(api.pi_items)),
        Route("/v1/invoice_payments", guarded(api.list_invoice_payments)),
        Route("/v1/events", guarded(api.list_events)),
        Route("/v1/refunds", guarded(api.list_refunds)),
        Route("/v1/{collection}/{id}", guarded(api.retrieve)),
    ]
    return Starlette(routes=routes)
