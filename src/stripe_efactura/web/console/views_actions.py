"""Pages that change something (every one a POST with a CSRF token, checked in ``base``)."""

from __future__ import annotations

import json

from starlette.responses import RedirectResponse, Response

from ...app import anaf_admin, anaf_login, audit_log, listings, mailing, repair
from ...errors import EfacturaError, InvoiceProblems
from ...invoicing.buyer import BuyerOverrides
from . import security
from .base import View
from .views_read import anaf_page, invoice_show, payment_show

OVERRIDE_FIELDS = ("name", "cui", "line1", "city", "state", "postal_code", "country", "email")


def safe_next(target: str | None, default: str = "/") -> str:
    """A local path to go back to (never another site: no ``//host`` or ``/\\host``)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    return target


def switch_language(v: View) -> Response:
    lang = v.form.get("lang", "ro")
    response = RedirectResponse(safe_next(v.form.get("next")), status_code=303)
    security.set_cookie(
        response,
        security.LANG_COOKIE,
        lang if lang in ("ro", "en") else "ro",
        secure=v.console.secure(v.request),
        max_age=365 * 86400,
    )
    return response


def _error_list(exc: EfacturaError) -> list[dict[str, str]]:
    if isinstance(exc, InvoiceProblems):
        return [p.to_dict() for p in exc.problems]
    return [{"code": exc.code, "message_ro": exc.message, "message_en": exc.message}]


def _audit(v: View, action: str, kind: str, ref: str, after: object, before: object = None) -> None:
    assert v.user is not None
    audit_log.record_now(v.ctx, v.user.actor(), action, kind, ref, before=before, after=after)


def payment_retry(v: View) -> Response:
    key = v.param("key")
    try:
        outcome = repair.retry_payment(v.ctx, key)
    except EfacturaError as exc:
        return payment_show(v, error=_error_list(exc))
    _audit(v, "payment.retry", "payment", key, {"outcome": outcome})
    return v.redirect(f"/payments/{key}", done="payment.retried")


def payment_override(v: View) -> Response:
    key = v.param("key")
    given = {k: v.form.get(k, "").strip() for k in OVERRIDE_FIELDS}
    overrides = BuyerOverrides.from_json({k: val for k, val in given.items() if val})
    before = listings.payment_detail(v.ctx, key)
    try:
        repair.retry_payment(v.ctx, key, overrides=overrides)
    except EfacturaError as exc:
        return payment_show(v, error=_error_list(exc))
    previous = before["overrides"] if before else None
    _audit(v, "payment.override", "payment", key, json.loads(overrides.to_json()), previous)
    return v.redirect(f"/payments/{key}", done="override.saved")


def invoice_resend(v: View) -> Response:
    number = v.param("number")
    try:
        sent = mailing.resend_email(v.ctx, number)
    except EfacturaError as exc:
        return invoice_show(v, error=f"{exc.code}: {exc.message}", status=409)
    _audit(v, "invoice.resend_email", "invoice", number, {"message_id": sent.message_id})
    done = "invoice.outbox" if sent.state == "outbox" else "invoice.resent"
    return v.redirect(f"/invoices/{number}", done=done)


def invoice_retry(v: View) -> Response:
    number = v.param("number")
    try:
        result = anaf_admin.retry_invoice(v.ctx, number)
    except EfacturaError as exc:
        return invoice_show(v, error=f"{exc.code}: {exc.message}", status=409)
    state = {"anaf_state": result["previous_state"]}
    _audit(v, "invoice.retry", "invoice", number, {"anaf_state": result["anaf_state"]}, state)
    return v.redirect(f"/invoices/{number}", done="invoice.retried")


def anaf_authorise(v: View) -> Response:
    """Start the OAuth authorization-code flow: 303 to ANAF's authorize URL, which sends the
    browser back to ``/anaf/callback`` (``EFACTURA_ANAF_REDIRECT_URI``, else this host's)."""
    redirect_uri = v.ctx.settings.anaf_redirect_uri or str(
        v.request.url.replace(path="/anaf/callback", query="")
    )
    try:
        url = anaf_login.authorize_url(v.ctx, redirect_uri)
    except EfacturaError as exc:
        return anaf_page(v, error=v.t("anaf.error", error=exc.message))
    _audit(
        v, "anaf.authorise_start", "anaf", v.ctx.settings.company.cui, {"redirect": redirect_uri}
    )
    return RedirectResponse(url, status_code=303)
