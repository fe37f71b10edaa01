"""What intake hands to the builder: a typed, frozen, Stripe-free draft of one sale (pure).

``intake/`` reads Stripe's objects (metadata conventions, custom fields, API-version eras) and
fills a :class:`SaleDraft`; the builder (:mod:`.build`) sees nothing else. Every value keeps the
place it was read from (``source``, e.g. ``checkout_session.customer_details.name``) so the
preview can say where a buyer field came from, and another source (a registry lookup, a
merchant's override) can add its own layer with its own recorded source.

Money is ``Decimal`` in major units of the sale currency, except :attr:`SaleDraft.amount`
(integer minor units, as collected).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from ..errors import Problem
from .model import Period

# --- the buyer -------------------------------------------------------------------------------


class BuyerField(StrEnum):
    """The buyer's text fields a source may supply."""

    NAME = "name"
    BUSINESS_NAME = "business_name"
    INDIVIDUAL_NAME = "individual_name"
    EMAIL = "email"
    PHONE = "phone"
    REG_COM = "reg_com"
    TAX_EXEMPT = "tax_exempt"
    """``none`` / ``exempt`` / ``reverse`` (Stripe's customer ``tax_exempt`` vocabulary)."""


@dataclass(frozen=True)
class Sourced:
    """A text value and where it was read."""

    value: str
    source: str


@dataclass(frozen=True)
class BuyerId:
    """A fiscal identifier as found, not yet checked."""

    kind: str
    """``text`` (a CUI or VAT id as typed), ``eu_vat``, ``ro_tin``, ``cnp``, ``vat`` (a VAT id
    of a country outside the EU: BT-48) or ``legal`` (any other company, business or tax
    registration number: BT-47, never a VAT id). Intake maps Stripe's tax id types to these
    (:mod:`stripe_efactura.intake.tax_ids`)."""
    value: str
    source: str
    country: str | None = None
    """ISO code of the country that issued the id, when its type says so (``US`` for a US
    EIN)."""


@dataclass(frozen=True)
class AddressDraft:
    """One address as found (whitespace-normalised, empty parts ``None``)."""

    source: str
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    state: str | None = None
    """County or region as typed (``Cluj``, ``CJ``, ``RO-CJ``)."""
    postal_code: str | None = None
    country: str | None = None
    """As typed: an ISO code or a country name."""


@dataclass(frozen=True)
class BuyerLayer:
    """What one source says about the buyer; layers are consulted in precedence order."""

    name: str
    fields: Mapping[BuyerField, Sourced] = field(default_factory=dict)
    ids: tuple[BuyerId, ...] = ()
    addresses: tuple[AddressDraft, ...] = ()


@dataclass(frozen=True)
class BuyerDraft:
    """The buyer candidates of a sale, highest precedence first, with the problems met while
    reading them (a malformed metadata value)."""

    layers: tuple[BuyerLayer, ...] = ()
    problems: tuple[Problem, ...] = ()

    def with_fallback(self, layer: BuyerLayer) -> BuyerDraft:
        """This draft with ``layer`` consulted last: it fills only what no source gave."""
        return replace(self, layers=(*self.layers, layer))


# --- the lines -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RawLine:
    """A line as found in Stripe or the metadata, before VAT is worked out.

    ``amount`` is in major units of the sale currency: VAT-inclusive when
    ``amount_includes_tax`` is true, net when false, per ``[vat] prices_include_vat`` when
    ``None``. ``tax_amount`` is Stripe's computed tax for the line (``None`` = Stripe computed
    none), ``tax_rate`` its percentage when known.
    """

    name: str
    quantity: Decimal
    amount: Decimal
    amount_includes_tax: bool | None = True
    tax_amount: Decimal | None = None
    tax_rate: Decimal | None = None
    tax_rate_ids: tuple[str, ...] = ()
    taxability_reason: str | None = None
    """Stripe Tax's classification of the line (``not_collecting``, ``reverse_charge``, …)."""
    tax_count: int = 0
    """How many distinct taxes Stripe put on the line (more than one is a problem)."""
    tax_country: str | None = None
    """The country of Stripe's tax rate (its ``country``), when Stripe said: a member state
    other than Romania means another state's VAT charged through the One-Stop-Shop."""
    item_id: str | None = None
    description: str | None = None
    unit_code: str = "H87"
    kind: str = "item"
    """``item`` or ``shipping``."""
    goods: bool = False
    """A physical good: decides K (intra-Community supply) over AE and G (export) over Z/O."""
    period: Period | None = None
    """The service period the line covers (subscription invoice lines)."""


@dataclass(frozen=True)
class LineAdjustments:
    """Shipping and discount charged beside merchant-written lines: the builder adds the one and
    spreads the other only when that makes the lines add up to what was collected."""

    shipping: RawLine | None = None
    """The shipping line (gross), when shipping was charged."""
    discount: Decimal = Decimal(0)
    """An order-level discount (major units, positive)."""


@dataclass(frozen=True)
class LinesDraft:
    """The lines of a sale from ONE source."""

    lines: tuple[RawLine, ...]
    source: str
    """``metadata.<object>.<format>``, ``invoice_lines``, ``line_items``,
    ``amount_details_line_items`` or ``single_line``."""
    problems: tuple[Problem, ...] = ()
    adjustments: LineAdjustments | None = None
    """Set for merchant-written (metadata) lines that parsed cleanly."""


# --- the sale --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentFacts:
    """How the buyer paid (BG-16)."""

    means_code: str
    """UNCL4461: 48 bank card, 49 direct debit, 59 SEPA direct debit, 42 payment to a bank
    account (a Stripe bank transfer), 1 other."""
    method_label: str | None = None
    """Human text (``Card Visa •••• 4242``, ``Debit direct SEPA •••• 3000``)."""
    paid_into_stripe: bool = False
    """The buyer sent the money to an account held by Stripe (a bank transfer to Stripe's
    virtual IBAN): the seller's IBAN is not the payee account (BT-84)."""


@dataclass(frozen=True)
class DeliveryDraft:
    """Where and when the goods were delivered, as the sale says (BG-13/BG-15)."""

    address: AddressDraft | None = None
    """The shipping address (Stripe's shipping details), not the billing address."""
    on: date | None = None
    """The delivery (dispatch) date when the merchant gave one (metadata ``delivery_date``)."""


@dataclass(frozen=True)
class SaleDraft:
    """One confirmed payment, neutral of where it came from: all the builder reads."""

    payment_key: str
    """The payment's identity (``pi_…``, ``in_…``, ``ch_…``)."""
    currency: str
    """ISO 4217 as collected (upper case when valid)."""
    amount: int
    """Amount collected, in minor units."""
    paid_at: datetime
    livemode: bool
    buyer: BuyerDraft
    lines: LinesDraft
    payment: PaymentFacts
    order_reference: str | None = None
    """BT-13 (at most 200 characters)."""
    degraded: bool = False
    """True when read from the webhook payload alone (the lines may be incomplete)."""
    delivery: DeliveryDraft | None = None
    """The shipping address and date, when the sale has them."""
