"""Storno on demand, after a confirmation page, through ``app/corrections.py``."""

from __future__ import annotations

from starlette.responses import Response

from ...app import corrections, listings
from ...app.refusals import Refusal
from .base import View


def _message(v: View, exc: Refusal) -> str:
    return f"{exc.code}: {exc.message_ro if v.lang == 'ro' else exc.message}"


def storno_form(v: View, *, error: str | None = None, status: int = 200) -> Response:
    i = listings.invoice_detail(v.ctx, v.param("number"))
    if i is None:
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
