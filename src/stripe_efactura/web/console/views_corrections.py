"""Storno on demand and the re-issue to a company, each after a confirmation page, through
``app/corrections.py``."""

from __future__ import annotations

from starlette.responses import Response

from ...app import browse, corrections, overrides
from ...app.refusals import Refusal
from ...errors import EfacturaError
from ...jsontypes import JsonObject
from .base import View


def _message(v: View, exc: Refusal) -> str:
    return f"{exc.code}: {exc.message_ro if v.lang == 'ro' else exc.message}"


def storno_form(v: View, *, error: str | None = None, status: int = 200) -> Response:
    try:
        i = browse.invoice_detail(v.ctx, v.param("number"))
    except Refusal:
        return v.refuse(v.t("not_found"), 404)
    return v.render("storno.html", i=i, error=error, form=v.form, status=status)


def storno_submit(v: View) -> Response:
    assert v.user is not None
    number = v.param("number")
    amount = v.form.get("amount", "").strip().replace(",", ".") or None
    try:
        done = corrections.storno(
            v.ctx, v.user.actor(), number, reason=v.form.get("reason", ""), amount=amount
        )
    except Refusal as exc:
        return storno_form(v, error=_message(v, exc), status=exc.status)
    return v.redirect(f"/invoices/{done['storno']}", done="storno.done")


REISSUE_FIELDS = ("name", "cui", "line1", "city", "state", "postal_code", "country", "email")


def reissue_form(v: View, *, error: list[JsonObject] | None = None, status: int = 200) -> Response:
    try:
        i = browse.invoice_detail(v.ctx, v.param("number"))
    except Refusal:
        return v.refuse(v.t("not_found"), 404)
    return v.render("reissue.html", i=i, error=error, form=v.form, status=status)


def reissue_submit(v: View) -> Response:
    """``app/corrections.reissue``: a full storno and a new invoice to the company typed."""
    from .views_actions import error_list

    assert v.user is not None
    number = v.param("number")
    buyer = overrides.buyer_from_fields({k: v.form.get(k, "").strip() for k in REISSUE_FIELDS})
    try:
        done = corrections.reissue(
            v.ctx, v.user.actor(), number, buyer, reason=v.form.get("reason", "")
        )
    except EfacturaError as exc:
        status = exc.status if isinstance(exc, Refusal) else 409
        return reissue_form(v, error=error_list(exc), status=status)
    return v.redirect(f"/invoices/{done['new_invoice']}", done="reissue.done")
