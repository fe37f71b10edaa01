"""``/payments`` and ``/invoices``: listings, detail, downloads and the actions on them."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.responses import Response

from ...app import browse, corrections, disputes, invoice_actions, overrides
from ...app.accounts import Principal
from ...app.browse import InvoiceFilter
from ...app.browse_views import InvoiceDetail, PaymentDetail
from ...app.corrections import ReissueOutcome, StornoOutcome
from ...app.overrides import IssueOutcome, RetryOutcome
from . import models as m
from .auth import DOWNLOAD, OPERATE, READ, context
from .common import PROBLEMS

router = APIRouter(responses=PROBLEMS)
Key = Annotated[str, Path(min_length=1, max_length=255, description="pi_…, in_…, ch_…, re_…")]
Number = Annotated[str, Path(min_length=1, max_length=200, description="Invoice number.")]
Cursor = Annotated[str | None, Query(max_length=500, description="`next_cursor` of a page.")]
Limit = Annotated[int, Query(ge=1, le=200)]


@router.get("/payments", response_model=m.PaymentPage, tags=["payments"])
def list_payments(
    request: Request,
    _who: Principal = Depends(READ),
    status: Annotated[str | None, Query(max_length=32)] = None,
    kind: Annotated[Literal["payment", "refund", "dispute", "reissue"] | None, Query()] = None,
    livemode: bool | None = None,
    paid_from: Annotated[date | None, Query(description="A Bucharest day.")] = None,
    paid_to: Annotated[date | None, Query(description="A Bucharest day, inclusive.")] = None,
    q: Annotated[
        str | None, Query(max_length=200, description="Key, owner, buyer, e-mail.")
    ] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> dict[str, object]:
    """Payments, newest first (filters combine; cursor pagination); each waiting payment with
    its reason (`waiting`)."""
    flt = browse.payment_filter(
        status=status,
        kind=kind,
        livemode=livemode,
        paid_from=paid_from,
        paid_to=paid_to,
        text=q,
    )
    page = browse.list_payments(context(request), flt, cursor=cursor, limit=limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get("/payments/{payment_key}", response_model=m.PaymentDetail, tags=["payments"])
def get_payment(
    request: Request, payment_key: Key, _who: Principal = Depends(READ)
) -> PaymentDetail:
    """A payment with its Stripe events, problems (with their fix), invoices and timeline."""
    return browse.payment_detail(context(request), payment_key)


@router.post("/payments/{payment_key}/retry", response_model=m.IssueOutcome, tags=["payments"])
def retry_payment(
    request: Request, payment_key: Key, who: Principal = Depends(OPERATE)
) -> RetryOutcome:
    """Re-read a payment that needs attention (from Stripe when a key is set) and issue it."""
    return overrides.retry(context(request), who.actor(), payment_key)


@router.put("/payments/{payment_key}/buyer", response_model=m.IssueOutcome, tags=["payments"])
def override_buyer(
    request: Request,
    payment_key: Key,
    body: m.BuyerOverride,
    who: Principal = Depends(OPERATE),
) -> IssueOutcome:
    """Buyer override: checked with the rules of Stripe's data, audited, then the payment is
    issued again (an invoice ANAF rejected is rebuilt and sent again with its number)."""
    buyer = overrides.buyer_from_fields(body.model_dump(exclude_none=True))
    return overrides.override_buyer(context(request), who.actor(), payment_key, buyer)


@router.post(
    "/payments/{payment_key}/dispute-decision", response_model=m.ActionResult, tags=["payments"]
)
def dispute_decision(
    request: Request, payment_key: Key, body: m.DisputeDecision, who: Principal = Depends(OPERATE)
) -> dict[str, object]:
    """Decide a lost dispute (`P-DISPUTE-DECISION`): its storno (`storno: true`) or none;
    audited. Anything but a lost dispute is 404 `E-DISPUTE-UNKNOWN`; one that already has its
    storno is 409 `E-DISPUTE-DECIDED`."""
    ctx = context(request)
    message = disputes.decide(ctx, who.actor(), payment_key, storno=body.storno)
    return {
        "message": message,
        "detail": {"status": browse.payment_detail(ctx, payment_key)["status"]},
    }


@router.get("/invoices", response_model=m.InvoicePage, tags=["invoices"])
def list_invoices(
    request: Request,
    _who: Principal = Depends(READ),
    series: Annotated[str | None, Query(max_length=100)] = None,
    number_from: Annotated[int | None, Query(ge=0, le=10**15)] = None,
    number_to: Annotated[int | None, Query(ge=0, le=10**15)] = None,
    issued_from: date | None = None,
    issued_to: date | None = None,
    anaf_state: Annotated[str | None, Query(max_length=32)] = None,
    kind: Literal["invoice", "storno"] | None = None,
    overdue: bool = False,
    payment_key: Annotated[str | None, Query(max_length=255)] = None,
    q: Annotated[
        str | None,
        Query(
            max_length=200,
            description="Number (or part of it), payment key, buyer name, CUI / CNP, VAT id, "
            "e-mail.",
        ),
    ] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> dict[str, object]:
    """Invoices, newest first (`overdue`: past the 5-working-day deadline, not accepted)."""
    ctx = context(request)
    flt = InvoiceFilter(
        series=series,
        number_from=number_from,
        number_to=number_to,
        issued_from=issued_from,
        issued_to=issued_to,
        anaf_state=anaf_state,
        kind=kind,
        overdue_on=browse.today(ctx) if overdue else None,
        payment_key=payment_key,
        text=q or None,
    )
    page = browse.list_invoices(ctx, flt, cursor=cursor, limit=limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get("/invoices/{number}", response_model=m.InvoiceDetail, tags=["invoices"])
def get_invoice(request: Request, number: Number, _who: Principal = Depends(READ)) -> InvoiceDetail:
    """An invoice with its buyer, stornos, ANAF findings and timeline."""
    return browse.invoice_detail(context(request), number)


_FILES = {
    200: {
        "content": {
            "application/pdf": {"schema": {"type": "string", "format": "binary"}},
            "application/xml": {"schema": {"type": "string", "format": "binary"}},
            "application/zip": {"schema": {"type": "string", "format": "binary"}},
        },
        "description": "The document.",
    }
}


@router.get(
    "/invoices/{number}/{document}",
    response_class=Response,
    responses=_FILES,  # type: ignore[arg-type]
    tags=["invoices"],
)
def download(
    request: Request,
    number: Number,
    document: Literal["pdf", "xml", "zip"],
    _who: Principal = Depends(DOWNLOAD),
) -> Response:
    """The PDF, the UBL XML, or the ANAF-signed ZIP (once ANAF validated the invoice)."""
    content, media, name = browse.document(context(request), number, document)
    return Response(
        content,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.post("/invoices/{number}/resend-email", response_model=m.ActionResult, tags=["invoices"])
def resend_email(
    request: Request,
    number: Number,
    body: Annotated[m.ResendRequest | None, Body()] = None,
    who: Principal = Depends(OPERATE),
) -> dict[str, object]:
    """Send the invoice e-mail again (to the payer, or to `to`)."""
    to = body.to if body else None
    result = invoice_actions.resend_email(context(request), who.actor(), number, to=to)
    detail = {"state": result.state, "to": result.to, "message_id": result.message_id}
    if result.outbox is not None:
        detail["outbox"] = result.outbox
    return {"message": f"e-mail of {number} {result.describe()}", "detail": detail}


@router.post("/invoices/{number}/retry", response_model=m.ActionResult, tags=["invoices"])
def retry_invoice(
    request: Request, number: Number, who: Principal = Depends(OPERATE)
) -> dict[str, object]:
    """Send again, rebuilt from the corrected data with the same number, an invoice ANAF
    rejected (`nok`) or that was never sent; an accepted invoice is refused (409)."""
    result = invoice_actions.retry(context(request), who.actor(), number)
    return {"message": f"invoice {number} queued for ANAF again", "detail": result}


@router.post(
    "/invoices/{number}/storno", response_model=m.StornoOutcome, status_code=201, tags=["invoices"]
)
def storno(
    request: Request, number: Number, body: m.StornoRequest, who: Principal = Depends(OPERATE)
) -> StornoOutcome:
    """A storno on demand, full (no amount) or partial, with a reason."""
    return corrections.storno(
        context(request), who.actor(), number, reason=body.reason, amount=body.amount
    )


@router.post(
    "/invoices/{number}/reissue",
    response_model=m.ReissueOutcome,
    status_code=201,
    tags=["invoices"],
)
def reissue(
    request: Request, number: Number, body: m.ReissueRequest, who: Principal = Depends(OPERATE)
) -> ReissueOutcome:
    """Re-issue to another buyer: a full storno of this invoice and a new invoice of the same
    sale to `buyer`, both or neither."""
    buyer = overrides.buyer_from_fields(body.buyer.model_dump(exclude_none=True))
    return corrections.reissue(context(request), who.actor(), number, buyer, reason=body.reason)
