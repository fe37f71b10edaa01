"""Pages that only read: home, inbox, payments, invoices, downloads, ANAF, settings.

They call the read use cases of the REST API (``app/browse.py``, ``app/readiness.py``) and
only render what those return."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import TypedDict
from urllib.parse import urlencode

from starlette.responses import Response

from ...anaf.quotas import QuotaKind
from ...app import anaf_port, anaf_tokens, browse, configuration, readiness
from ...app.browse import InvoiceFilter
from ...app.refusals import Refusal
from ...errors import EfacturaError
from . import i18n
from .base import View

PER_PAGE = 25
LINKS = {
    "company_profile": "/settings",
    "webhook_secret": "/settings",
    "stripe_api_key": "/settings",
    "smtp": "/settings",
    "anaf_authorisation": "/anaf",
    "deadlines": "/anaf",
}


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _query(values: dict[str, str]) -> str:
    """The filters as a query string prefix for the pager links (``a=1&b=2&``)."""
    kept = {k: val for k, val in values.items() if val}
    return urlencode(kept) + "&" if kept else ""


def _cursor(v: View) -> str | None:
    return v.query("cursor")[:500] or None


def banners(v: View) -> list[dict[str, str | None]]:
    """The readiness checks that are not ok and the deadlines at risk, the ones that stop
    invoicing first: the same findings as ``/api/v1/system/readiness`` and ``/anaf``."""
    out: list[dict[str, str | None]] = [
        {
            "component": c.name,
            "severity": "bad" if c.status == "error" else "warn",
            "code": c.code,
            "message_ro": c.reason_ro,
            "message_en": c.reason_en,
            "fix_ro": c.fix_ro or c.fix,
            "fix_en": c.fix,
            "link": LINKS.get(c.name),
        }
        for c in readiness.readiness(v.ctx)
        if c.status != "ok"
    ]
    due = readiness.deadlines_at_risk(v.ctx)
    if due:
        numbers = ", ".join(str(r["number"]) for r in due[:5])
        out.append(
            {
                "component": "deadlines",
                "severity": "bad",
                "code": "",
                "message_ro": i18n.t("ro", "banner.deadlines", count=len(due), numbers=numbers),
                "message_en": i18n.t("en", "banner.deadlines", count=len(due), numbers=numbers),
                "fix_ro": i18n.t("ro", "banner.deadlines.fix"),
                "fix_en": i18n.t("en", "banner.deadlines.fix"),
                "link": LINKS["deadlines"],
            }
        )
    return sorted(out, key=lambda b: b["severity"] != "bad")


def home(v: View) -> Response:
    return v.render("home.html", banners=banners(v), stats=browse.overview(v.ctx))


def inbox(v: View) -> Response:
    flt = browse.payment_filter(status="needs_attention")
    items = browse.list_payments(v.ctx, flt, limit=100).items
    rejected = browse.list_invoices(v.ctx, InvoiceFilter(anaf_state="nok"), limit=100).items
    rejected += browse.list_invoices(
        v.ctx, InvoiceFilter(anaf_state="rejected_at_upload"), limit=100
    ).items
    return v.render("inbox.html", items=items, rejected=rejected)


def _refused(v: View, exc: EfacturaError) -> Response:
    if isinstance(exc, Refusal) and exc.status == 404:
        return v.refuse(v.t("not_found"), 404)
    return v.refuse(f"{exc.code}: {exc.message_ro if v.lang == 'ro' else exc.message}", 422)


def payments_list(v: View) -> Response:
    f = {k: v.query(k) for k in ("q", "status", "kind", "mode", "from", "to")}
    flt = browse.payment_filter(
        status=f["status"],
        kind=f["kind"],
        livemode={"live": True, "test": False}.get(f["mode"]),
        paid_from=_date(f["from"]),
        paid_to=_date(f["to"]),
        text=f["q"],
    )
    try:
        page = browse.list_payments(v.ctx, flt, cursor=_cursor(v), limit=PER_PAGE)
    except EfacturaError as exc:
        return _refused(v, exc)
    return v.render("payments.html", page=page, f=f, query=_query(f), first=not _cursor(v))


def payment_show(v: View, *, error: Sequence[Mapping[str, object]] | None = None) -> Response:
    try:
        p = browse.payment_detail(v.ctx, v.param("key"))
    except EfacturaError as exc:
        return _refused(v, exc)
    return v.render("payment.html", p=p, error=error, form=v.form, status=422 if error else 200)


def invoices_list(v: View) -> Response:
    f = {k: v.query(k) for k in ("q", "kind", "anaf", "from", "to")}
    flt = InvoiceFilter(
        kind=f["kind"] or None,
        anaf_state=f["anaf"] or None,
        text=f["q"] or None,
        issued_from=_date(f["from"]),
        issued_to=_date(f["to"]),
    )
    try:
        page = browse.list_invoices(v.ctx, flt, cursor=_cursor(v), limit=PER_PAGE)
    except EfacturaError as exc:
        return _refused(v, exc)
    return v.render("invoices.html", page=page, f=f, query=_query(f), first=not _cursor(v))


def invoice_show(v: View, *, error: str | None = None, status: int = 200) -> Response:
    try:
        i = browse.invoice_detail(v.ctx, v.param("number"))
    except EfacturaError as exc:
        return _refused(v, exc)
    return v.render(
        "invoice.html", i=i, error=error, storno_allowed=i["kind"] == "invoice", status=status
    )


def invoice_download(v: View) -> Response:
    kind = v.param("kind")
    if kind not in ("pdf", "xml", "zip"):
        return v.refuse(v.t("not_found"), 404)
    try:
        data, media, name = browse.document(v.ctx, v.param("number"), kind)
    except EfacturaError:
        return v.refuse(v.t("not_found"), 404)
    return Response(
        data,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


class _QuotaUse(TypedDict):
    kind: str
    used: int
    limit: int


def _quota(v: View, used: dict[str, int]) -> list[_QuotaUse]:
    policy = anaf_port.tuning(v.ctx).policy
    out: list[_QuotaUse] = []
    for kind, count in sorted(used.items()):
        try:
            limit = policy.limit(QuotaKind(kind)).max_calls
        except ValueError:
            continue
        out.append({"kind": kind, "used": count, "limit": limit})
    return out


def anaf_page(v: View, *, error: str | None = None) -> Response:
    tok = None
    try:
        tok = anaf_tokens.token_status(v.ctx)
    except EfacturaError as exc:
        error = error or exc.message
    overview = readiness.anaf_overview(v.ctx)
    return v.render(
        "anaf.html",
        tok=tok,
        env=v.ctx.settings.anaf_env,
        quota=_quota(v, overview["quota_today"]),
        deadlines=overview["deadlines_at_risk"],
        error=error,
    )


def settings_page(v: View) -> Response:
    return v.render(
        "settings.html",
        rows=configuration.effective(v.ctx.settings),
        findings=banners(v),
    )
