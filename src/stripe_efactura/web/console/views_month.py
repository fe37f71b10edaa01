"""The accountant's month (``/month``): pick a period, run the three-way audit with its
progress, read the findings (each with the page where it is fixed) and the payouts, download
the sales journal and the period archive. The same use cases as ``stripe-efactura audit``,
``journal`` and ``export-period`` (``app.audit_runs``, ``app.month_files``)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from starlette.background import BackgroundTask
from starlette.responses import FileResponse, Response

from ...app import audit_log, audit_runs, month_files, periods
from ...app.periods import Period
from ...errors import EfacturaError
from .base import View


def _default_month(v: View) -> str:
    """The previous calendar month (the one an accountant closes)."""
    first = periods.ro_day(v.ctx.clock()).replace(day=1)
    return (first - timedelta(days=1)).strftime("%Y-%m")


def _choice(v: View, source: dict[str, str]) -> dict[str, str]:
    picked = {k: source.get(k, "").strip() for k in ("period", "from", "to", "test", "spv")}
    if not (picked["period"] or picked["from"] or picked["to"]):
        picked["period"] = _default_month(v)
    return picked


def _period(picked: dict[str, str]) -> Period:
    if picked["from"] or picked["to"]:
        return periods.resolve(None, picked["from"] or None, picked["to"] or None)
    return periods.resolve(picked["period"] or None, None, None)


def _query(picked: dict[str, str]) -> str:
    keep = {k: val for k, val in picked.items() if val and k != "spv"}
    if keep.get("from") or keep.get("to"):
        keep.pop("period", None)
    return urlencode(keep)


def month_page(v: View, *, error: str | None = None, status: int = 200) -> Response:
    picked = _choice(v, dict(v.request.query_params) if not v.form else v.form)
    runs = sorted(v.ctx.caches.audit_runs.values(), key=lambda r: r.started_at, reverse=True)
    try:
        label = _period(picked).label
    except EfacturaError as exc:
        error, status, label = error or f"{exc.code}: {exc.message}", 422, ""
    return v.render(
        "month.html",
        picked=picked,
        label=label,
        query=_query(picked) if label else "",
        runs=runs,
        error=error,
        status=status,
    )


def start_audit(v: View) -> Response:
    assert v.user is not None
    picked = _choice(v, v.form)
    try:
        period = _period(picked)
    except EfacturaError as exc:
        return month_page(v, error=f"{exc.code}: {exc.message}", status=422)
    run = audit_runs.start(
        v.ctx,
        v.user.actor(),
        period,
        livemode=picked["test"] != "1",
        check_spv=picked["spv"] != "0",
    )
    return v.redirect(f"/month/audits/{run.id}")


def audit_show(v: View) -> Response:
    try:
        run = audit_runs.get(v.ctx, v.param("run_id"))
    except EfacturaError:
        return v.refuse(v.t("not_found"), 404)
    picked = {"period": "", "from": run.period.start.isoformat(), "to": "", "test": ""}
    picked["to"] = run.period.last_day.isoformat()
    if not run.livemode:
        picked["test"] = "1"
    return v.render("month_audit.html", run=run, query=_query(picked))


def _picked_period(v: View) -> tuple[Period, bool] | Response:
    picked = _choice(v, dict(v.request.query_params))
    try:
        return _period(picked), picked["test"] != "1"
    except EfacturaError as exc:
        return month_page(v, error=f"{exc.code}: {exc.message}", status=422)


def journal_download(v: View) -> Response:
    chosen = _picked_period(v)
    if isinstance(chosen, Response):
        return chosen
    fmt = v.param("fmt")
    if fmt not in month_files.MEDIA:
        return v.refuse(v.t("not_found"), 404)
    data, media, name = month_files.journal_file(
        v.ctx, chosen[0], "csv" if fmt == "csv" else "xlsx", livemode=chosen[1]
    )
    disposition = f'attachment; filename="{name}"'
    return Response(data, media_type=media, headers={"Content-Disposition": disposition})


def archive_download(v: View) -> Response:
    assert v.user is not None
    chosen = _picked_period(v)
    if isinstance(chosen, Response):
        return chosen
    period, livemode = chosen
    result, name = month_files.archive_file(v.ctx, period, livemode=livemode)
    after = {"documents": result.invoices, "files": result.files, "livemode": livemode}
    audit_log.record_now(
        v.ctx, v.user.actor(), "period.export", "period", period.label, after=after
    )
    return FileResponse(
        result.path,
        media_type="application/zip",
        filename=name,
        background=BackgroundTask(result.path.unlink, missing_ok=True),
    )
