"""From a trigger event to a Sale: the payment key and the richest owner of the payment.

One payment can announce itself through several events (a Checkout payment sends
``payment_intent.succeeded``, ``charge.succeeded`` and ``checkout.session.completed``). Every
trigger of the same payment must resolve to the same **payment key** (``pi_…``, else ``in_…``,
else ``ch_…``; the database keeps one invoice per key) and to the same **owner**, the object the
invoice is built from, whichever event arrives first:

1. a Stripe **Invoice** (the event is ``invoice.*``; or the session has ``invoice``; or the
   PaymentIntent is linked to one through an InvoicePayment, or ``invoice`` before basil);
2. else a **Checkout Session** (the event is ``checkout.session.*``, or the session found by
   ``GET /v1/checkout/sessions?payment_intent=``), with its line items;
3. else the **PaymentIntent** with its latest Charge (and ``amount_details`` line items);
4. else the **Charge** alone (legacy Charges API, no PaymentIntent).

All Stripe reads go through :class:`StripeReader` (plain dicts in, plain dicts out). Without a
reader (no API key) the Sale is built from the webhook payload alone and marked ``degraded``.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from stripe_efactura.errors import ConfigError, EfacturaError, StripeApiError
from stripe_efactura.intake import links
from stripe_efactura.intake.events import (
    KIND_CHARGE,
    KIND_INVOICE,
    KIND_PAYMENT_INTENT,
    KIND_SESSION,
    SUBSCRIPTION_SESSION,
    Ignored,
    Trigger,
    invoice_payment_refs,
    payment_hints,
    trigger_rule,
)
from stripe_efactura.intake.owner_facts import (
    invoice_product_ids,
    invoice_tax_rate_ids,
    owner_amount,
    paid_at,
)
from stripe_efactura.intake.plain import as_dict, as_list, ref_id
from stripe_efactura.intake.reader import StripeReader
from stripe_efactura.intake.sale import Sale
from stripe_efactura.intake.versions import normalize

OBJECT_KEYS = (
    "invoice",
    "invoice_lines",
    "checkout_session",
    "line_items",
    "payment_intent",
    "charge",
    "customer",
    "amount_details_line_items",
    "tax_rates",
    "products",
)
"""Keys of ``Sale.objects``; all are always present (``None``, ``[]`` or ``{}`` when unknown)."""


# --- payment key ----------------------------------------------------------------------------


def payment_key_hint(trigger: Trigger) -> str | None:
    """The payment key the payload alone suggests: ``pi_…``, else ``in_…``, else ``ch_…``.

    It is final for PaymentIntent and Charge events and for invoices that name their PI (before
    basil); a basil invoice or a subscription-mode session only names the ``in_…`` and the API
    may still find its ``pi_…`` (see :func:`resolve`).
    """
    for prefix in ("pi_", "in_", "ch_", "py_"):
        for hint in trigger.hints:
            if hint.startswith(prefix):
                return hint
    return None


def _key(pi_id: str | None, invoice_id: str | None, charge_id: str | None, fallback: str) -> str:
    return pi_id or invoice_id or charge_id or fallback


def _pi_ref(value: object) -> str | None:
    """A PaymentIntent id, ignoring hand-edited junk such as ``"pm_1234"``."""
    rid = ref_id(value)
    return rid if rid and rid.startswith("pi_") else None


# --- resolve --------------------------------------------------------------------------------

Settled = Callable[[str, str], bool]
"""``settled(payment_key, owner_type)``: whether the payment is already recorded, not degraded,
from an owner at least as rich as ``owner_type``, so that a sale built from this owner would
change nothing (``store.repo.record_sale`` would answer ``seen``)."""


@dataclasses.dataclass(frozen=True)
class AlreadyRecorded:
    """A trigger of a payment that ``settled`` says is recorded from an owner at least as
    rich as ``owner_type``: the sale was not built (no line items, charge or customer read).
    Either the owner was found with the same reads as for a full sale (``owner_type`` is that
    owner's), or, for a trigger naming no invoice of a payment recorded from a Checkout
    Session or richer, nothing was read (``owner_type`` is ``checkout_session``)."""

    payment_key: str
    owner_type: str


def resolve(trigger: Trigger, reader: StripeReader | None) -> Sale | Ignored:
    """Build the :class:`Sale` for a trigger, or :class:`Ignored` when the fetched object of a
    thin event does not pass the trigger rules.

    Raises :class:`ConfigError` (``E-STRIPE-THIN-NEEDS-KEY``) for a thin event without a reader,
    :class:`StripeApiError` when Stripe fails, :class:`EfacturaError` (``E-SALE-INCOMPLETE``)
    when the owner has no amount, currency or date.
    """
    built = _builder(trigger, reader)
    if not isinstance(built, _Build):
        return built
    return built.full() if reader is not None else built.degraded()


def resolve_unless(
    trigger: Trigger, reader: StripeReader | None, settled: Settled
) -> Sale | Ignored | AlreadyRecorded:
    """:func:`resolve`, but a payment that ``settled`` says is recorded is
    :class:`AlreadyRecorded` instead of built: at once, before any read, when the trigger
    names no invoice and its ``pi_`` key is recorded from a Checkout Session or an Invoice
    (the second event of a Checkout payment reads nothing); else once its owner turns out to
    be a Checkout Session (without invoice), a PaymentIntent or a Charge of one with a
    ``pi_`` key that ``settled`` accepts. An Invoice owner found by the reads is always
    built; without a reader (degraded) so is every sale."""
    built = _builder(trigger, reader)
    if not isinstance(built, _Build):
        return built
    return built.full_unless(settled) if reader is not None else built.degraded()


def _builder(trigger: Trigger, reader: StripeReader | None) -> _Build | Ignored:
    if trigger.needs_fetch or trigger.object is None:
        fetched = fetch_thin(trigger, reader)
        if isinstance(fetched, Ignored):
            return fetched
        trigger = fetched
    obj = trigger.object
    assert obj is not None
    subscription_session = trigger.kind == KIND_SESSION and obj.get("mode") == "subscription"
    if subscription_session and ref_id(obj.get("invoice")) is None:
        # Old API versions do not link the first invoice; never issue from the session.
        return Ignored.of(trigger.event_id, trigger.event_type, SUBSCRIPTION_SESSION)
    return _Build(trigger, obj, reader)


def fetch_thin(trigger: Trigger, reader: StripeReader | None) -> Trigger | Ignored:
    """A thin event's trigger with its object read from the API (as a snapshot event's would
    carry it), or :class:`Ignored` when that object does not pass the trigger rules.

    Raises :class:`ConfigError` (``E-STRIPE-THIN-NEEDS-KEY``) without a reader and
    :class:`StripeApiError` when the object cannot be read.
    """
    if reader is None:
        raise ConfigError(
            f"Event {trigger.event_id} is a thin event; it needs EFACTURA_STRIPE_API_KEY",
            code="E-STRIPE-THIN-NEEDS-KEY",
        )
    obj = normalize(reader.retrieve_object(trigger.kind, trigger.object_id))
    reason = trigger_rule(trigger.event_type, obj, invoice_zero_amount=trigger.zero_allowed)
    if reason is not None:
        return Ignored.of(trigger.event_id, trigger.event_type, reason)
    hints = payment_hints(trigger.kind, obj)
    return dataclasses.replace(trigger, object=obj, needs_fetch=False, hints=hints)


class _Build:
    """Collects the objects of one payment; ``full`` uses the reader, ``degraded`` does not."""

    def __init__(self, trigger: Trigger, obj: dict[str, Any], reader: StripeReader | None):
        self.trigger = trigger
        self.reader = reader
        self.objects: dict[str, Any] = {
            k: ([] if k.endswith(("lines", "items")) else None) for k in OBJECT_KEYS
        }
        self.objects["tax_rates"] = {}
        self.objects["products"] = {}
        role = {
            KIND_INVOICE: "invoice",
            KIND_SESSION: "checkout_session",
            KIND_PAYMENT_INTENT: "payment_intent",
            KIND_CHARGE: "charge",
        }[trigger.kind]
        self.objects[role] = copy.deepcopy(obj)  # the Sale never shares dicts with the Trigger

    # -- with the API --------------------------------------------------------------------

    def full(self) -> Sale:
        self._find_owner()
        return self._full_of_owner()

    def full_unless(self, settled: Settled) -> Sale | AlreadyRecorded:
        recorded = self._recorded_before_reads(settled)
        if recorded is not None:
            return recorded
        self._find_owner()
        if self.objects["invoice"] is None:
            owner, key = self._owner_key()
            if key is not None and settled(key, owner):
                return AlreadyRecorded(key, owner)
        return self._full_of_owner()

    def _full_of_owner(self) -> Sale:
        o = self.objects
        if o["invoice"] is not None:
            return self._full_invoice()
        if o["checkout_session"] is not None:
            return self._full_session()
        if o["payment_intent"] is not None:
            return self._full_payment_intent()
        ch = o["charge"]
        return self._finish(KIND_CHARGE, ch, _pi_ref(ch.get("payment_intent")), degraded=False)

    def _recorded_before_reads(self, settled: Settled) -> AlreadyRecorded | None:
        """A trigger that names no invoice, of a payment already recorded (not degraded) from
        a Checkout Session or an Invoice under the ``pi_`` key its payload names: that
        recording looked the invoice link and the session up (or its session ruled an invoice
        out), so nothing is read; an invoice made later comes with its own ``invoice.paid``."""
        if self.trigger.kind == KIND_INVOICE or links.named_invoice(self.objects) is not None:
            return None
        key = payment_key_hint(self.trigger)  # the key ``settled`` was read for
        if key is not None and key.startswith("pi_") and settled(key, KIND_SESSION):
            return AlreadyRecorded(key, KIND_SESSION)
        return None

    def _owner_key(self) -> tuple[str, str | None]:
        """Without an Invoice: the owner's type and the ``pi_`` payment key its full sale
        would have (None for a Charge without PaymentIntent), as :meth:`_finish` computes
        them."""
        o = self.objects
        if o["checkout_session"] is not None:
            return KIND_SESSION, _pi_ref(o["checkout_session"].get("payment_intent"))
        if o["payment_intent"] is not None:
            return KIND_PAYMENT_INTENT, ref_id(o["payment_intent"])
        return KIND_CHARGE, None

    def _find_owner(self) -> None:
        """Read what decides the owner: the Invoice, else the Checkout Session, else the
        PaymentIntent, else the Charge (the first of them in ``objects`` afterwards)."""
        r = self.reader
        assert r is not None
        o = self.objects
        if o["charge"] is not None and o["payment_intent"] is None:
            pi_id = _pi_ref(o["charge"].get("payment_intent"))
            if pi_id:
                o["payment_intent"] = normalize(r.retrieve_payment_intent(pi_id))
        pi_id = self._pi_id()
        if o["invoice"] is None:
            invoice_id = self._linked_invoice_id(pi_id)
            if invoice_id is None and o["checkout_session"] is None and pi_id:
                session = r.find_session_by_payment_intent(pi_id)
                if session is not None:
                    found = normalize(session)
                    o["checkout_session"] = found
                    invoice_id = ref_id(found.get("invoice"))
            if invoice_id is not None:
                o["invoice"] = normalize(r.retrieve_invoice(invoice_id))

    def _pi_id(self) -> str | None:
        o = self.objects
        if o["payment_intent"] is not None:
            return ref_id(o["payment_intent"])
        if o["checkout_session"] is not None:
            return _pi_ref(o["checkout_session"].get("payment_intent"))
        return None

    def _linked_invoice_id(self, pi_id: str | None) -> str | None:
        """An invoice named by the payload (session, pre-basil PI/charge), else found by
        InvoicePayment unless the session rules one out (``intake/links.py``)."""
        o = self.objects
        named = links.named_invoice(o)
        if named is not None:
            return named
        if links.session_has_no_invoice(o["checkout_session"]):
            return None
        if pi_id and self.reader is not None:
            found = self.reader.find_invoice_payment_by_payment_intent(pi_id)
            if found is not None:
                return ref_id(found.get("invoice"))
        return None

    def _full_invoice(self) -> Sale:
        r, o = self.reader, self.objects
        assert r is not None
        inv = o["invoice"]
        lines = as_dict(inv.get("lines"))
        if lines.get("has_more"):
            o["invoice_lines"] = [normalize(x) for x in r.list_invoice_lines(inv["id"])]
        else:
            o["invoice_lines"] = [dict(x) for x in as_list(lines) if isinstance(x, dict)]
        refs = invoice_payment_refs(inv)
        if not refs:
            fake = {"payments": {"data": r.list_invoice_payments(inv["id"])}}
            refs = invoice_payment_refs(fake)
        pi_id = next((pid for t, pid in refs if t == "payment_intent"), None)
        charge_id = next((pid for t, pid in refs if t == "charge"), None)
        if pi_id and ref_id(o["payment_intent"]) != pi_id:
            # The invoice's own (default, paid) payment decides, not the event that led here.
            o["payment_intent"] = normalize(r.retrieve_payment_intent(pi_id))
            o["charge"] = None
        self._fetch_charge(charge_id)
        self._fetch_customer(inv.get("customer"))
        self._invoice_tax_rates_and_products()
        return self._finish(KIND_INVOICE, inv, pi_id, degraded=False)

    def _full_session(self) -> Sale:
        r, o = self.reader, self.objects
        assert r is not None
        cs = o["checkout_session"]
        pi_id = _pi_ref(cs.get("payment_intent"))
        if o["payment_intent"] is None:
            self._session_contents(cs["id"], pi_id)
        else:
            o["line_items"] = r.list_session_line_items(cs["id"])
        self._fetch_charge(None)
        self._fetch_customer(cs.get("customer"))
        for item in o["line_items"]:
            self._harvest_price(as_dict(item).get("price"))
            for tax in as_list(as_dict(item).get("taxes")):
                self._harvest_tax_rate(as_dict(tax).get("rate"))
        return self._finish(KIND_SESSION, cs, pi_id, degraded=False)

    def _session_contents(self, session_id: str, pi_id: str | None) -> None:
        """The line items and the PaymentIntent (with its charge) of a session whose
        PaymentIntent is not read yet: one request for both, unless the session has more
        line items than it embeds (then they are listed, every page) or its PaymentIntent
        came back unexpanded or another than the one the trigger names (then it is read)."""
        r, o = self.reader, self.objects
        assert r is not None
        read = r.retrieve_session_contents(session_id)
        embedded = as_dict(read.get("line_items"))
        if isinstance(embedded.get("data"), list) and not embedded.get("has_more"):
            o["line_items"] = [dict(x) for x in embedded["data"] if isinstance(x, dict)]
        else:
            o["line_items"] = r.list_session_line_items(session_id)
        if not pi_id:
            return
        pi = read.get("payment_intent")
        if isinstance(pi, dict) and pi.get("id") == pi_id:
            o["payment_intent"] = normalize(pi)
        else:
            o["payment_intent"] = normalize(r.retrieve_payment_intent(pi_id))

    def _full_payment_intent(self) -> Sale:
        r, o = self.reader, self.objects
        assert r is not None
        pi = o["payment_intent"]
        self._fetch_charge(None)
        self._fetch_customer(pi.get("customer"))
        try:
            o["amount_details_line_items"] = r.list_pi_amount_details_line_items(pi["id"])
        except StripeApiError as exc:
            if not exc.permanent:
                raise
            o["amount_details_line_items"] = []
        return self._finish(KIND_PAYMENT_INTENT, pi, ref_id(pi), degraded=False)

    def _fetch_charge(self, charge_id: str | None) -> None:
        r, o = self.reader, self.objects
        assert r is not None
        if o["charge"] is not None:
            return
        pi = o["payment_intent"]
        latest = pi.get("latest_charge") if pi is not None else None
        if isinstance(latest, dict):
            o["charge"] = normalize(latest)
            return
        cid = ref_id(latest) or charge_id
        if cid:
            o["charge"] = normalize(r.retrieve_charge(cid))

    def _fetch_customer(self, customer: object) -> None:
        r = self.reader
        assert r is not None
        if isinstance(customer, dict):
            self.objects["customer"] = customer
        elif isinstance(customer, str) and customer:
            self.objects["customer"] = r.retrieve_customer(customer)

    def _invoice_tax_rates_and_products(self) -> None:
        r, o = self.reader, self.objects
        assert r is not None
        self._harvest_invoice_embedded()
        for rate_id in invoice_tax_rate_ids(o["invoice"], o["invoice_lines"]):
            if rate_id not in o["tax_rates"]:
                o["tax_rates"][rate_id] = r.retrieve_tax_rate(rate_id)
        for product_id in invoice_product_ids(o["invoice_lines"]):
            if product_id not in o["products"]:
                o["products"][product_id] = r.retrieve_product(product_id)

    # -- without the API -----------------------------------------------------------------

    def degraded(self) -> Sale:
        o = self.objects
        if o["invoice"] is not None:
            inv = o["invoice"]
            o["invoice_lines"] = [dict(x) for x in as_list(inv.get("lines")) if isinstance(x, dict)]
            self._harvest_invoice_embedded()
            for role, field in (("payment_intent", "payment_intent"), ("charge", "charge")):
                if isinstance(inv.get(field), dict):
                    o[role] = normalize(inv[field])
            pi_id = next((p for t, p in invoice_payment_refs(inv) if t == "payment_intent"), None)
            return self._finish(KIND_INVOICE, inv, pi_id, degraded=True)
        if o["checkout_session"] is not None:
            cs = o["checkout_session"]
            o["line_items"] = [dict(x) for x in as_list(cs.get("line_items"))]
            for item in o["line_items"]:
                self._harvest_price(as_dict(item).get("price"))
            if isinstance(cs.get("payment_intent"), dict):
                o["payment_intent"] = normalize(cs["payment_intent"])
            pi_id = _pi_ref(cs.get("payment_intent"))
            return self._finish(KIND_SESSION, cs, pi_id, degraded=True)
        if o["payment_intent"] is not None:
            pi = o["payment_intent"]
            latest = ref_id(pi.get("latest_charge"))
            for ch in as_list(pi.get("charges")):
                if isinstance(ch, dict) and ref_id(ch) == latest:
                    o["charge"] = normalize(ch)
            if isinstance(pi.get("latest_charge"), dict):
                o["charge"] = normalize(pi["latest_charge"])
            return self._finish(KIND_PAYMENT_INTENT, pi, ref_id(pi), degraded=True)
        ch = o["charge"]
        return self._finish(KIND_CHARGE, ch, _pi_ref(ch.get("payment_intent")), degraded=True)

    # -- shared --------------------------------------------------------------------------

    def _harvest_invoice_embedded(self) -> None:
        """Tax rates and products already expanded in the invoice or its lines."""
        o = self.objects
        inv = o["invoice"]
        for rate in as_list(inv.get("default_tax_rates")):
            self._harvest_tax_rate(rate)
        for amount in as_list(inv.get("total_tax_amounts")):
            self._harvest_tax_rate(as_dict(amount).get("tax_rate"))
        for line in o["invoice_lines"]:
            for rate in as_list(as_dict(line).get("tax_rates")):
                self._harvest_tax_rate(rate)
            for amount in as_list(as_dict(line).get("tax_amounts")):
                self._harvest_tax_rate(as_dict(amount).get("tax_rate"))
            self._harvest_price(as_dict(line).get("price"))

    def _harvest_tax_rate(self, rate: object) -> None:
        if isinstance(rate, dict) and isinstance(rate.get("id"), str):
            self.objects["tax_rates"].setdefault(rate["id"], rate)

    def _harvest_price(self, price: object) -> None:
        product = as_dict(price).get("product")
        if isinstance(product, dict) and isinstance(product.get("id"), str):
            self.objects["products"].setdefault(product["id"], product)

    def _finish(
        self, owner_type: str, owner: Mapping[str, Any], pi_id: str | None, *, degraded: bool
    ) -> Sale:
        o = self.objects
        inv, cs, pi, ch = o["invoice"], o["checkout_session"], o["payment_intent"], o["charge"]
        owner_id = str(owner["id"])
        invoice_id = ref_id(inv) if inv is not None else None
        if invoice_id is None and cs is not None:
            invoice_id = ref_id(cs.get("invoice"))
        charge_id = owner_id if owner_type == KIND_CHARGE else None
        key = _key(pi_id, invoice_id, charge_id, owner_id)
        amount = owner_amount(owner_type, owner)
        currency = owner.get("currency")
        paid = paid_at(inv, ch, pi, cs, self.trigger.created)
        if amount is None or not isinstance(currency, str) or paid is None:
            raise EfacturaError(
                f"{owner_type} {owner_id} has no usable amount, currency or payment date",
                code="E-SALE-INCOMPLETE",
            )
        return Sale(
            payment_key=key,
            owner_type=owner_type,
            owner_id=owner_id,
            currency=currency.upper(),
            amount=amount,
            paid_at=paid,
            livemode=self.trigger.livemode,
            objects=o,
            degraded=degraded,
            api_version=self.trigger.api_version,
        )
