"""The pydantic v2 models of the REST API: they validate requests and describe responses in
the generated OpenAPI 3.1 document. Amounts are decimal strings, never floats. Free-form JSON
(a timeline entry's detail, an audit entry's before/after) is ``object``: pydantic treats it
as ``Any`` and describes it the same way (no type), without ``Any`` in the source."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["admin", "accountant", "viewer"]
Scope = Literal["read", "write"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProblemItem(BaseModel):
    code: str
    field: str = ""
    message_ro: str = ""
    message_en: str = ""
    hint: str = ""
    hint_ro: str = ""
    fatal: bool = True
    context: dict[str, str] = {}


class ProblemDetails(BaseModel):
    """RFC 9457 problem details, with the project's code and both languages."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None
    code: str
    message_en: str
    message_ro: str
    field: str | None = None
    problems: list[ProblemItem] = []
    retry_after: int | None = None


class Owner(BaseModel):
    type: str
    id: str


class Waiting(BaseModel):
    """Why a payment or an invoice waits (``docs/errors.md``, ``W-WAIT-*``)."""

    code: str
    message_en: str
    message_ro: str
    fix: str


class Payment(BaseModel):
    payment_key: str
    kind: str
    status: str
    livemode: bool
    currency: str
    amount_minor: int
    amount: str = Field(description="Major units, decimal text (e.g. '121.00').")
    paid_at: str | None
    owner: Owner
    degraded: bool
    problems: list[ProblemItem]
    refers_to: str | None
    created_at: str | None
    updated_at: str | None
    stripe_url: str = Field(description="The payment's owner in the Stripe dashboard.")
    waiting: Waiting | None = Field(None, description="Why it waits (null: nothing waits).")


class Invoice(BaseModel):
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
    deadline_status: Literal["due", "overdue"] | None = Field(
        None, description="Due within one working day, or late (live, not accepted by ANAF)."
    )
    waiting: Waiting | None = Field(None, description="Why it waits (null: nothing waits).")


class TimelineEntry(BaseModel):
    at: str | None
    event: str
    detail: object = None


class PaymentEvent(BaseModel):
    id: str
    type: str
    received_at: str | None
    outcome: str
    reason: str | None
    source: str


class PaymentDetail(Payment):
    overrides: dict[str, object] | None
    events: list[PaymentEvent]
    invoices: list[Invoice]
    reversals: list[Payment] = Field(description="Its refunds and disputes.")
    timeline: list[TimelineEntry]


class Buyer(BaseModel):
    name: str
    kind: str
    legal_id: str | None
    vat_id: str | None
    email: str | None
    city: str | None
    country: str | None


class Documents(BaseModel):
    xml: bool
    pdf: bool
    signed_zip: bool


class InvoiceDetail(Invoice):
    buyer: Buyer
    refers_to: str | None
    stornos: list[str]
    storno_invoices: list[Invoice] = Field(description="The stornos, each as in a listing.")
    findings: list[object]
    anaf: dict[str, object]
    email: dict[str, str] | None = Field(description="The e-mail's state, in words.")
    stripe_url: str = Field(description="The payment in the Stripe dashboard.")
    documents: Documents
    timeline: list[TimelineEntry]


class PaymentPage(BaseModel):
    items: list[Payment]
    next_cursor: str | None


class InvoicePage(BaseModel):
    items: list[Invoice]
    next_cursor: str | None


class BuyerOverride(Strict):
    """Buyer data typed by hand; every given field wins over Stripe's. The same rules apply
    as to Stripe's data (CUI/CNP check digits, VAT id format, county, Bucharest sector)."""

    name: str | None = Field(None, max_length=200)
    cui: str | None = Field(None, max_length=20, description="CUI (18547290) or VAT id (RO…).")
    cnp: str | None = Field(None, max_length=20)
    vat_id: str | None = Field(None, max_length=20, description="Same as cui, for a VAT id.")
    line1: str | None = Field(None, max_length=200)
    line2: str | None = Field(None, max_length=200)
    city: str | None = Field(None, max_length=100)
    state: str | None = Field(None, max_length=100, description="County (Cluj, CJ, RO-CJ).")
    postal_code: str | None = Field(None, max_length=20)
    country: str | None = Field(None, max_length=2, description="ISO 3166 alpha-2.")
    email: str | None = Field(None, max_length=200)
    phone: str | None = Field(None, max_length=50)
    reg_com: str | None = Field(None, max_length=50)
    individual: bool = False


class DisputeDecision(Strict):
    """The merchant's decision on a lost dispute (``P-DISPUTE-DECISION``)."""

    storno: bool = Field(description="true: reverse the invoice (storno); false: no storno.")


class IssueOutcome(BaseModel):
    payment_key: str
    status: str
    invoice: str | None
    anaf_state: str | None
    problems: list[ProblemItem]


class StornoRequest(Strict):
    reason: str = Field(min_length=1, max_length=250)
    amount: str | None = Field(
        None,
        pattern=r"^[0-9]{1,12}(\.[0-9]{1,2})?$",
        description="Major units; omitted: all that is left to reverse (a full storno).",
    )


class StornoOutcome(BaseModel):
    invoice: str
    storno: str
    amount: str
    reason: str


class ReissueRequest(Strict):
    reason: str = Field(min_length=1, max_length=250)
    buyer: BuyerOverride


class ReissueOutcome(BaseModel):
    invoice: str
    storno: str
    new_invoice: str
    reason: str


class ResendRequest(Strict):
    to: str | None = Field(None, max_length=254, description="Another recipient.")


class ActionResult(BaseModel):
    ok: bool = True
    message: str
    detail: dict[str, object] = {}


class Notice(BaseModel):
    id: int
    kind: str
    ref: str
    title: str
    problems: list[ProblemItem]
    created_at: str
    state: Literal["open", "resolved"]
    acknowledged_at: str | None
    acknowledged_by: str | None


class NoticePage(BaseModel):
    items: list[Notice]
    next_cursor: int | None


class ReadinessCheck(BaseModel):
    name: str
    code: str = Field("", description="The E-*/W-* code of what is not ok ('' when ok).")
    status: Literal["ok", "warning", "error"]
    reason_en: str
    reason_ro: str
    fix: str
    fix_ro: str = ""


class Readiness(BaseModel):
    ready: bool
    checks: list[ReadinessCheck]


class AnafOverview(BaseModel):
    authorisation: dict[str, object]
    quota_today: dict[str, int]
    calls_last_minute: int
    deadlines_at_risk: list[Invoice]


class AuthorizeStart(BaseModel):
    url: str


class User(BaseModel):
    id: int
    email: str
    name: str
    role: Role
    active: bool
    created_at: str
    disabled_at: str | None
    last_login_at: str | None


class UserCreate(Strict):
    email: str = Field(max_length=255)
    password: str = Field(min_length=10, max_length=1024)
    role: Role = "viewer"
    name: str = Field("", max_length=255)


class UserUpdate(Strict):
    role: Role | None = None
    active: bool | None = None
    name: str | None = Field(None, max_length=255)
    password: str | None = Field(None, min_length=10, max_length=1024)


class Token(BaseModel):
    id: int
    user_id: int
    name: str
    prefix: str
    scope: Scope
    created_at: str
    last_used_at: str | None
    revoked_at: str | None


class TokenCreate(Strict):
    name: str = Field("api", min_length=1, max_length=255)
    scope: Scope = "read"
    user: str | None = Field(None, max_length=255, description="Admins: another user's e-mail.")


class TokenCreated(Token):
    secret: str = Field(description="Shown once; only its SHA-256 digest is stored.")


class Login(Strict):
    email: str = Field(max_length=255)
    password: str = Field(max_length=1024)


class SessionInfo(BaseModel):
    user: User
    csrf_token: str
    expires_at: str


class Me(BaseModel):
    user: User
    via: str
    scope: Scope | None
    permissions: list[str]


class AuditEntry(BaseModel):
    id: int
    at: str
    actor: str
    actor_user_id: int | None
    via: str
    token_id: int | None
    action: str
    target_type: str
    target_id: str
    before: object = None
    after: object = None
    ip: str | None


class AuditPage(BaseModel):
    items: list[AuditEntry]
    next_cursor: int | None
