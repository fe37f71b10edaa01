"""Pages that change something (every one a POST with a CSRF token, checked in ``base``)."""

from __future__ import annotations

from starlette.responses import RedirectResponse, Response

from ...app import anaf_login, audit_log, disputes, invoice_actions, overrides
from ...app.corrections import ProblemsRefusal
from ...errors import EfacturaError, InvoiceProblems
from ...jsontypes import JsonObject
from . import security
from .base import View
from .views_read import anaf_page, invoice_show, payment_show

OVERRIDE_FIELDS = (
    "name",
    "cui",
    "cnp",
    "line1",
    "city",
    "state",
    "postal_code",
    "country",
    "email",
)


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


def error_list(exc: EfacturaError) -> list[JsonObject]:
    """A refusal as the list the pages show: its own coded line, then each broken rule."""
    ro = exc.message_ro or exc.message
    first: JsonObject = {"code": exc.code, "message_ro": ro, "message_en": exc.message}
    if isinstance(exc, InvoiceProblems | ProblemsRefusal):
        return [first, *(p.to_dict() for p in exc.problems)]
    return [first]


def _audit(v: View, action: str, kind: str, ref: str, after: object, before: object = None) -> None:
    assert v.user is not None
    audit_log.record_now(v.ctx, v.user.actor(), action, kind, ref, before=before, after=after)


def payment_retry(v: View) -> Response:
    """``app/overrides.retry``: re-read the payment and issue it (audited there)."""
    assert v.user is not None
    key = v.param("key")
    try:
        overrides.retry(v.ctx, v.user.actor(), key)
    except EfacturaError as exc:
        return payment_show(v, error=error_list(exc))
    return v.redirect(f"/payments/{key}", done="payment.retried")


def payment_override(v: View) -> Response:
    """``app/overrides.override_buyer``: checked, stored, audited, issued again."""
    assert v.user is not None
    key = v.param("key")
    buyer = overrides.buyer_from_fields({k: v.form.get(k, "").strip() for k in OVERRIDE_FIELDS})
    try:
        overrides.override_buyer(v.ctx, v.user.actor(), key, buyer)
    except EfacturaError as exc:
        return payment_show(v, error=error_list(exc))
    return v.redirect(f"/payments/{key}", done="override.saved")


def payment_dispute(v: View) -> Response:
    """``app/disputes.decide``: a lost dispute reversed (storno) or closed without one, after
    the confirmation box of the form (audited there)."""
    assert v.user is not None
    key = v.param("key")
    decision = v.form.get("decision")
    if decision not in ("storno", "no_storno") or v.form.get("confirm") != "yes":
        return payment_show(v, error=[_unconfirmed(v)])
    try:
        disputes.decide(v.ctx, v.user.actor(), key, storno=decision == "storno")
    except EfacturaError as exc:
        return payment_show(v, error=error_list(exc))
    return v.redirect(f"/payments/{key}", done=f"dispute.{decision}.done")


def _unconfirmed(v: View) -> dict[str, str]:
    return {
        "code": "E-DISPUTE-CONFIRM",
        "message_ro": "Alegeți stornarea sau nu și bifați confirmarea.",
        "message_en": "Choose storno or not and tick the confirmation.",
    }


def invoice_resend(v: View) -> Response:
    assert v.user is not None
    number = v.param("number")
    try:
        invoice_actions.resend_email(v.ctx, v.user.actor(), number)
    except EfacturaError as exc:
        return invoice_show(v, error=f"{exc.code}: {exc.message}", status=409)
    return v.redirect(f"/invoices/{number}", done="invoice.resent")


def invoice_retry(v: View) -> Response:
    assert v.user is not None
    number = v.param("number")
    try:
        invoice_actions.retry(v.ctx, v.user.actor(), number)
    except EfacturaError as exc:
        return invoice_show(v, error=f"{exc.code}: {exc.message}", status=409)
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
