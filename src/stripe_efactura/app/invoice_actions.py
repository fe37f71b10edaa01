"""What a person does to an issued invoice, audited: send it again to ANAF after ``nok``
(``anaf_admin.retry_invoice``) and e-mail it again (``mailing.resend_email``). The REST API,
the console and ``stripe-efactura invoices retry|resend-email`` call these, so every one of
them leaves the same audit entry; the worker's own retries are not a person's and are not
audited."""

from __future__ import annotations

from . import anaf_admin, audit_log, mailing
from .audit_log import Actor
from .context import AppContext
from .mailing import ResendResult


def retry(
    ctx: AppContext, actor: Actor, number: str, *, force: bool = False
) -> anaf_admin.RetryResult:
    """Rebuild and send again an invoice ANAF did not validate; audited as ``invoice.retry``."""
    result = anaf_admin.retry_invoice(ctx, number, force=force)
    audit_log.record_now(
        ctx,
        actor,
        "invoice.retry",
        "invoice",
        number,
        before={"anaf_state": str(result.get("previous_state"))},
        after={k: str(v) for k, v in result.items()},
    )
    return result


def resend_email(
    ctx: AppContext, actor: Actor, number: str, *, to: str | None = None
) -> ResendResult:
    """E-mail the invoice again, now (to the payer, or to ``to``); audited as
    ``invoice.resend_email``."""
    sent = mailing.resend_email(ctx, number, to=to)
    audit_log.record_now(
        ctx,
        actor,
        "invoice.resend_email",
        "invoice",
        number,
        after={"to": sent.to, "message_id": sent.message_id, "state": sent.state},
    )
    return sent
