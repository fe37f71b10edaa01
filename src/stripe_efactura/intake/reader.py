"""Read-only Stripe API access as the intake needs it: :class:`StripeReader` (implemented by
``intake/stripe_api.py`` over HTTP and ``intake/fake_stripe.py`` in memory) and
:func:`iter_events`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from stripe_efactura.intake.events import EventPage
from stripe_efactura.intake.plain import Json

SESSION_LINE_ITEM_EXPAND = ("data.price.product", "data.taxes", "data.discounts")
"""``expand`` for ``GET /v1/checkout/sessions/{id}/line_items``."""

SESSION_CONTENTS_EXPAND = (
    *(f"line_items.{path}" for path in SESSION_LINE_ITEM_EXPAND),
    "payment_intent.latest_charge",
)
"""``expand`` for ``GET /v1/checkout/sessions/{id}`` (:meth:`StripeReader.
retrieve_session_contents`): the session's first line items, as the line items endpoint
gives them with :data:`SESSION_LINE_ITEM_EXPAND` (four levels, Stripe's deepest), and its
PaymentIntent with the charge, in one request."""


class StripeReader(Protocol):
    """Read-only Stripe API access; every method returns plain JSON dicts.

    ``retrieve_*`` raise :class:`StripeApiError` (``permanent=True`` for 404 and other 4xx
    except 429); ``find_*`` return ``None`` when nothing matches; ``list_*`` return all pages.
    """

    def retrieve_payment_intent(self, pi_id: str) -> Json:
        """The PaymentIntent with ``latest_charge`` expanded (the charge object, or ``None``):
        the charge comes with it instead of in a request of its own."""
        ...

    def retrieve_charge(self, charge_id: str) -> Json: ...
    def retrieve_invoice(self, invoice_id: str) -> Json: ...
    def list_invoice_lines(self, invoice_id: str) -> list[Json]: ...
    def retrieve_checkout_session(self, session_id: str) -> Json: ...
    def list_session_line_items(self, session_id: str) -> list[Json]:
        """Line items expanded with :data:`SESSION_LINE_ITEM_EXPAND`."""
        ...

    def retrieve_session_contents(self, session_id: str) -> Json:
        """The Checkout Session expanded with :data:`SESSION_CONTENTS_EXPAND`: ``line_items``
        a list object with the first handful of items (``has_more`` when there are more:
        :meth:`list_session_line_items` reads them all) and ``payment_intent`` the
        PaymentIntent with ``latest_charge`` (``None`` when the session has none)."""
        ...

    def find_session_by_payment_intent(self, pi_id: str) -> Json | None: ...
    def find_invoice_payment_by_payment_intent(self, pi_id: str) -> Json | None: ...
    def list_invoice_payments(self, invoice_id: str) -> list[Json]: ...
    def retrieve_tax_rate(self, tax_rate_id: str) -> Json: ...
    def retrieve_customer(self, customer_id: str) -> Json: ...
    def retrieve_product(self, product_id: str) -> Json: ...
    def list_pi_amount_details_line_items(self, pi_id: str) -> list[Json]: ...
    def retrieve_object(self, kind: str, object_id: str) -> Json:
        """The resource behind a thin event; ``kind`` as in :data:`events.TRIGGER_TYPES`."""
        ...

    def list_events(
        self,
        created_gte: int,
        starting_after: str | None = None,
        *,
        types: tuple[str, ...] = (),
        limit: int = 100,
    ) -> EventPage: ...
    def list_refunds(self, charge_id: str) -> list[Json]: ...


def iter_events(
    reader: StripeReader, created_gte: int, *, types: tuple[str, ...] = ()
) -> Iterator[Json]:
    """Every event created at or after ``created_gte`` (newest first), all pages (reconcile)."""
    cursor: str | None = None
    while True:
        page = reader.list_events(created_gte, cursor, types=types)
        yield from page.events
        if not page.has_more or page.last_id is None:
            return
        cursor = page.last_id
