"""The accountant's month: ``/audits`` (the three-way audit, run in the background, with its
payout reconciliation), ``/journal`` (the sales journal) and ``/period-archive`` (the ZIP).
The same use cases as ``stripe-efactura audit``, ``journal`` and ``export-period``."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.background import BackgroundTask

from ...app import audit_log, audit_runs, month_files, periods
from ...app.accounts import Principal
from ...app.periods import Period
from . import models_month as mm
from .auth import DOWNLOAD, OPERATE, READ, context
from .common import PROBLEMS

router = APIRouter(responses=PROBLEMS)
_BINARY = {"type": "string", "format": "binary"}
RunId = Annotated[str, Path(min_length=1, max_length=64)]
PeriodQ = Annotated[
    str | None, Query(pattern=mm.MONTH, description="A month, YYYY-MM (or `from` and `to`).")
]
FromQ = Annotated[date | None, Query(alias="from", description="First day.")]
ToQ = Annotated[date | None, Query(description="Last day, included.")]
TestQ = Annotated[bool, Query(description="The test-mode books (TEST series).")]


def _period(period: str | None, first: date | None, last: date | None) -> Period:
    return periods.resolve(
        period, first.isoformat() if first else None, last.isoformat() if last else None
    )


@router.post(
    "/audits",
    response_model=mm.AuditRun,
    status_code=202,
    tags=["month"],
    responses={202: {"description": "Started (or already running): poll `GET /audits/{id}`."}},
)
def start_audit(
    request: Request, body: mm.AuditStart, who: Principal = Depends(OPERATE)
) -> JSONResponse:
    """Audit a period three ways (Stripe's money, the invoices, ANAF's SPV) in the background.
    Poll the run for its progress; once `done`, it holds the findings (each with its fix and
    console link, amounts per currency and in RON) and the payout reconciliation."""
    period = _period(body.period, body.from_, body.to)
    run = audit_runs.start(
        context(request), who.actor(), period, livemode=not body.test, check_spv=body.spv
    )
    return JSONResponse(
        mm.AuditRun.model_validate(run.to_json()).model_dump(mode="json", by_alias=True),
        status_code=202,
        headers={"Location": f"/api/v1/audits/{run.id}"},
    )


@router.get("/audits/{run_id}", response_model=mm.AuditRun, tags=["month"])
def get_audit(
    request: Request, run_id: RunId, _who: Principal = Depends(READ)
) -> audit_runs.AuditRunJson:
    """An audit run: its progress per stage, then its report (or its coded error)."""
    return audit_runs.get(context(request), run_id).to_json()


@router.get("/journal", response_model=mm.Journal, tags=["month"])
def journal(
    request: Request,
    _who: Principal = Depends(DOWNLOAD),
    period: PeriodQ = None,
    first: FromQ = None,
    to: ToQ = None,
    test: TestQ = False,
) -> month_files.JournalJson:
    """The sales journal (jurnal de vânzări) of a period in RON: columns, one row per invoice
    and storno (stornos negative), the totals row, and its sums."""
    return month_files.journal_json(context(request), _period(period, first, to), livemode=not test)


@router.get(
    "/journal/{fmt}",
    response_class=Response,
    responses={
        200: {
            "content": {m: {"schema": _BINARY} for m in month_files.MEDIA.values()},
            "description": "The journal as a file.",
        }
    },
    tags=["month"],
)
def journal_download(
    request: Request,
    fmt: Literal["csv", "xlsx"],
    _who: Principal = Depends(DOWNLOAD),
    period: PeriodQ = None,
    first: FromQ = None,
    to: ToQ = None,
    test: TestQ = False,
) -> Response:
    """The sales journal as CSV (UTF-8 with BOM, for Excel) or XLSX."""
    data, media, name = month_files.journal_file(
        context(request), _period(period, first, to), fmt, livemode=not test
    )
    return Response(
        data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.get(
    "/period-archive",
    response_class=FileResponse,
    responses={
        200: {
            "content": {"application/zip": {"schema": _BINARY}},
            "description": "The archive: every document's XML, PDF and ANAF-signed ZIP, the "
            "journal, `manifest.json` and `SHA256SUMS`.",
        }
    },
    tags=["month"],
)
def period_archive(
    request: Request,
    who: Principal = Depends(DOWNLOAD),
    period: PeriodQ = None,
    first: FromQ = None,
    to: ToQ = None,
    test: TestQ = False,
) -> FileResponse:
    """The period archive for the accountant (`stripe-efactura verify-export` checks it).
    Documents lacking their signed ZIP are named in `X-Missing-Documents`."""
    ctx = context(request)
    span = _period(period, first, to)
    result, name = month_files.archive_file(ctx, span, livemode=not test)
    audit_log.record_now(
        ctx,
        who.actor(),
        "period.export",
        "period",
        span.label,
        after={"documents": result.invoices, "files": result.files, "livemode": not test},
    )
    missing = ",".join(sorted(result.missing))
    return FileResponse(
        result.path,
        media_type="application/zip",
        filename=name,
        headers={"X-Missing-Documents": missing} if missing else None,
        background=BackgroundTask(result.path.unlink, missing_ok=True),
    )
