"""Pages that only read: home, inbox, payments, invoices, downloads, ANAF, settings."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response

from ...anaf.quotas import QuotaKind
from ...app import anaf_admin, anaf_port, anaf_tokens, banners, configuration, listings
from ...errors import EfacturaError
from ...store.listings import InvoiceFilter, PaymentFilter
from ...tz import BUCHAREST
from .base import View


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _page_number(v: View) -> int:
    raw = v.query("page")
    return max(1, min(int(raw), 100_000)) if raw.isdigit() else 1


def _query(values: dict[str, str]) -> str:
    """The filters as a query string prefix for the pager links (``a=1&b=2&``)."""
    kept = {k: val for k, val in values.items() if val}
    return urlencode(kept) + "&" if kept else ""


def home(v: View) -> Response:
    return v.render("home.html", banners=banners.banners(v.ctx), stats=listings.overview(v.ctx))


def inbox(v: View) -> Response:
    page = listings.payments_page(v.ctx, PaymentFilter(status="needs_attention"), 1, 100)
    rejected = listings.invoices_page(v.ctx, InvoiceFilter(anaf_state="nok"), 1, 100).items
    rejected += listings.invoices_page(
        v.ctx, InvoiceFilter(anaf_state="rejected_at_upload"), 1, 100
    ).items
    return v.render("inbox.html", items=page.items, rejected=rejected)


def _moment(day: date | None, *, end: bool = False) -> datetime | None:
    if day is None:
        return None
    if end:
        day += timedelta(days=1)
    local = datetime.combine(day, time(0), tzinfo=BUCHAREST)
    return local.astimezone(UTC).replace(tzinfo=None)


def payments_list(v: View) -> Response:
    f = {k: v.query(k) for k in ("q", "status", "kind", "mode", "from", "to")}
    mode = {"live": True, "test": False}.get(f["mode"])
    flt = PaymentFilter(
        status=f["status"] or None,
        kind=f["kind"] or None,
        live=mode,
        text=f["q"] or None,
        since=_moment(_date(f["from"])),
        until=_moment(_date(f["to"]), end=True),
    )
    page = listings.payments_page(v.ctx, flt, _page_number(v))
    return v.render("payments.html", page=page, f=f, query=_query(f))


def payment_show(v: View, *, error: list[dict[str, Any]] | None = None) -> Response:
    p = listings.payment_detail(v.ctx, v.param("key"))
    if p is None:
        return v.refuse(v.t("not_found"), 404)
    return v.render("payment.html", p=p, error=error, form=v.form, status=422 if error else 200)


def invoices_list(v: View) -> Response:
    f = {k: v.query(k) for k in ("q", "kind", "anaf", "from", "to")}
    flt = InvoiceFilter(
        kind=f["kind"] or None,
        anaf_state=f["anaf"] or None,
        text=f["q"] or None,
        since=_date(f["from"]),
        until=_date(f["to"]),
    )
    page = listings.invoices_page(v.ctx, flt, _page_number(v))
    return v.render("invoices.html", page=page, f=f, query=_query(f))


def invoice_show(v: View, *, error: str | None = None, status: int = 200) -> Response:
    i = listings.invoice_detail(v.ctx, v.param("number"))
    if i is None:
        return v.refuse(v.t("not_found"), 404)
    return v.render(
        "invoice.html", i=i, error=error, storno_allowed=i["kind"] == "invoice", status=status
    )


def invoice_download(v: View) -> Response:
    try:
        data, media, name = listings.invoice_file(v.ctx, v.param("number"), v.param("kind"))
    except EfacturaError:
        return v.refuse(v.t("not_found"), 404)
    return Response(
        data,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _quota(v: View) -> list[dict[str, Any]]:
    policy = anaf_port.tuning(v.ctx).policy
    day = listings.today(v.ctx).isoformat()
    out = []
    for bucket, count in listings.quota_today(v.ctx, day):
        kind, _, rest = bucket.partition(":")
        key = rest.rsplit(":", 1)[0]
        try:
            limit = policy.limit(QuotaKind(kind)).max_calls
        except ValueError:
            continue
        out.append({"kind": kind, "key": key, "used": count, "limit": limit})
    return out


def anaf_page(v: View, *, error: str | None = None) -> Response:
    tok = None
    try:
        tok = anaf_tokens.token_status(v.ctx)
    except EfacturaError as exc:
        error = error or exc.message
    return v.render(
        "anaf.html",
        tok=tok,
        env=v.ctx.settings.anaf_env,
        quota=_quota(v),
        deadlines=anaf_admin.invoices_listing(v.ctx, overdue=True),
        error=error,
    )


def settings_page(v: View) -> Response:
    return v.render(
        "settings.html",
        rows=configuration.effective(v.ctx.settings),
        findings=banners.banners(v.ctx),
    )
