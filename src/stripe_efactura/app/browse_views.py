"""The shapes of the read path (``app/browse.py``): what the REST API returns (its pydantic
models in ``web/api/models.py`` describe the same keys), what the console renders and what
``--json`` prints. Every value is JSON already (amounts are decimal text or minor units)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Generic, TypedDict, TypeVar

from ..jsontypes import JsonObject
from ..store.listings import Counts
from .anaf_deadlines import DeadlineStatus
from .email_state import EmailSummary

_Item = TypeVar("_Item")


class ProblemJson(TypedDict):
    """A stored problem (``errors.Problem.to_dict``)."""

    code: str
    field: str
    message_ro: str
    message_en: str
    hint: str
    hint_ro: str
    fatal: bool
    context: dict[str, str]


class Owner(TypedDict):
    type: str
    id: str


class PaymentView(TypedDict):
    payment_key: str
    kind: str
    status: str
    livemode: bool
    currency: str
    amount_minor: int
    amount: str
    paid_at: str | None
    owner: Owner
    degraded: bool
    problems: list[ProblemJson]
    refers_to: str | None
    created_at: str | None
    updated_at: str | None
    stripe_url: str


class PaymentItem(PaymentView):
    """A payment as listed: with why it waits (None: nothing waits)."""

    waiting: dict[str, str] | None


class PaymentEventView(TypedDict):
    id: str
    type: str
    received_at: str | None
    outcome: str
    reason: str | None
    source: str


class InvoiceView(TypedDict):
    id: int
    number: str
    series: str
    seq: int
    kind: str
    payment_key: str
    refers_to_id: int | None
    issue_date: str | None
    currency: str
    total: str
    livemode: bool
    anaf_state: str
    upload_index: str | None
    download_id: str | None
    deadline: str | None
    overdue: bool
    email_state: str
    created_at: str | None
    deadline_status: DeadlineStatus | None


class InvoiceItem(InvoiceView):
    """An invoice as listed: with why it waits (None: nothing waits)."""

    waiting: dict[str, str] | None


class PaymentDetail(PaymentItem):
    """A payment with its overrides, Stripe events, invoices, reversals and timeline."""

    overrides: JsonObject | None
    events: list[PaymentEventView]
    invoices: list[InvoiceItem]
    reversals: list[PaymentItem]
    timeline: list[JsonObject]


class BuyerView(TypedDict):
    name: str
    kind: str
    legal_id: str | None
    vat_id: str | None
    email: str | None
    city: str | None
    country: str | None


class DocumentFlags(TypedDict):
    """Which documents an invoice has (the XML always)."""

    xml: bool
    pdf: bool
    signed_zip: bool


class InvoiceDetail(InvoiceView):
    """An invoice with its buyer, what refers to it, ANAF findings and its timeline."""

    buyer: BuyerView
    refers_to: str | None
    stornos: list[str]
    storno_invoices: list[InvoiceItem]
    email: EmailSummary | None
    stripe_url: str
    findings: list[JsonObject]
    anaf: JsonObject
    documents: DocumentFlags
    timeline: list[JsonObject]
    waiting: dict[str, str] | None


class Overview(TypedDict):
    """The console's home counts: today's and this month's (Europe/Bucharest days)."""

    day: date
    today: Counts
    month: Counts
    attention: int


@dataclass(frozen=True)
class Page(Generic[_Item]):
    """One page of a listing and the cursor of the next (None: the last page)."""

    items: list[_Item]
    next_cursor: str | None
