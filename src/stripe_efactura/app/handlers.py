"""The worker's job handlers: each job task wired to its use case, and the start-up steps."""

from __future__ import annotations

import logging

from ..errors import EfacturaError
from ..jobs import queue
from ..jobs.worker import Handler, Worker
from . import intake
from .context import AppContext, build_context
from .runner import PERIODIC, prepare

__all__ = [
    "PERIODIC",
    "AppContext",
    "build_context",
    "handlers",
    "make_worker",
    "prepare",
]

log = logging.getLogger("stripe_efactura.worker")

accept_event = intake.accept_event
process_event = intake.process_event
payments_listing = intake.payments_listing


def issue_invoice(ctx: AppContext, payment_key: str) -> str:
    from . import issuing

    return issuing.issue_invoice(ctx, payment_key)


def handlers(ctx: AppContext) -> dict[str, Handler]:
    from . import fx as fx_service
    from . import issuing

    def _process_event(job: queue.Job) -> None:
        last = job.attempts >= job.max_attempts
        intake.process_event(ctx, str(job.args["event_id"]), last_attempt=last)

    def _issue_invoice(job: queue.Job) -> None:
        issuing.issue_invoice(ctx, str(job.args["payment_key"]))

    def _issue_storno(job: queue.Job) -> None:
        from . import storno

        storno.issue_storno(
            ctx, str(job.args["payment_key"]), last_attempt=job.attempts >= job.max_attempts
        )

    def _fetch_bnr(job: queue.Job) -> None:
        fx_service.fetch_bnr(ctx, job.int_arg("year") if job.args.get("year") else None)

    def _period_audit(_job: queue.Job) -> None:
        from . import audit_schedule

        audit_schedule.scheduled_audit(ctx)

    out: dict[str, Handler] = {
        "process_event": _process_event,
        "issue_invoice": _issue_invoice,
        "issue_storno": _issue_storno,
        "fetch_bnr": _fetch_bnr,
        "period_audit": _period_audit,
    }
    out.update(_anaf_handlers(ctx))
    out.update(_mail_handlers(ctx))
    return out


def _anaf_handlers(ctx: AppContext) -> dict[str, Handler]:
    from . import anaf_deadlines, anaf_jobs, anaf_status_list

    def _step(job: queue.Job) -> None:
        anaf_jobs.run_step_job(ctx, job.args)

    def _sweep(_job: queue.Job) -> None:
        anaf_jobs.sweep(ctx)

    def _status_sweep(_job: queue.Job) -> None:
        anaf_status_list.sweep_job(ctx)

    def _deadlines(_job: queue.Job) -> None:
        anaf_deadlines.check_deadlines(ctx)

    return {
        "submit_anaf": _step,
        anaf_jobs.STEP_TASK: _step,
        "anaf_sweep": _sweep,
        anaf_status_list.SWEEP_TASK: _status_sweep,
        "anaf_deadlines": _deadlines,
    }


def _mail_handlers(ctx: AppContext) -> dict[str, Handler]:
    """``render_pdf``, ``email_invoice``, ``send_merchant_digest`` (docs/email-delivery.md)."""
    from . import digest, documents, mailing

    def _render_pdf(job: queue.Job) -> None:
        documents.render_invoice_pdf(ctx, job.int_arg("invoice_id"))

    def _email_invoice(job: queue.Job) -> None:
        mailing.email_invoice_job(ctx, job)

    def _merchant_digest(job: queue.Job) -> None:
        digest.merchant_digest_job(ctx, job)

    return {
        "render_pdf": _render_pdf,
        "email_invoice": _email_invoice,
        "send_merchant_digest": _merchant_digest,
    }


def warm_up(ctx: AppContext) -> None:
    """Load what the first invoice of a process needs before the worker takes jobs: the
    official validator (1-3 s: both XSDs and the compiled schematron) and the PDF fonts, so
    that the first invoice of a burst is not seconds late. What is missing is left to the
    jobs, which wait for it with their own reasons (``waiting.py``)."""
    from ..ubl.validate import get_validator
    from . import documents

    try:
        get_validator(ctx.settings.validation_dir).load()
        documents.pdf_fonts(ctx.settings)
    except EfacturaError as exc:
        log.info("worker warm-up incomplete: %s", exc)


def use_shared_validator(ctx: AppContext) -> None:
    """Validate through the host's shared validator process (``ubl/shared.py``, started on
    demand) instead of loading the validator into this process: what a ``worker`` process
    does. ``serve`` with its worker keeps the validator in its own process."""
    from ..ubl import shared
    from ..ubl.validate import use_validator

    folder = ctx.settings.validation_dir
    socket_file = shared.socket_path(ctx.settings.data_dir)
    use_validator(folder, shared.SharedValidator(folder, socket_file))


FOLLOW_UPS = frozenset(
    {"issue_invoice", "issue_storno", "render_pdf", "email_invoice", "submit_anaf"}
)
"""The jobs a worker runs in the turn of the job that enqueued them (``jobs.worker``): a
payment's invoice, PDF, email and first upload follow its event at once (stream, don't
phase). The later ANAF steps keep their own schedule (polls, quota windows)."""


def make_worker(ctx: AppContext, **kwargs: object) -> Worker:
    """The worker with every handler, running :data:`FOLLOW_UPS` as follow-ups; its loop
    (``run``, not ``drain``) warms up first."""
    kwargs.setdefault("on_start", lambda: warm_up(ctx))
    kwargs.setdefault("follow_ups", FOLLOW_UPS)
    return Worker(ctx.engine, handlers(ctx), **kwargs)  # type: ignore[arg-type]
