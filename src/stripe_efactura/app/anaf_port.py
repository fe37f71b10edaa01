"""The ANAF edge of the application: the lifecycle's knobs (:mod:`.anaf_tuning`), the client
of a context, call quotas, and what every lifecycle step does after a failed call."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from sqlalchemy.engine import Connection

from ..anaf.client import AnafClient
from ..anaf.errors import AnafApiError, AnafAuthError, AnafNoRights, AnafQuotaExceeded
from ..anaf.quotas import QuotaKind, next_ro_midnight, retry_at
from ..errors import Problem
from ..store import anaf_quota, db, repo
from ..store.anaf_work import AnafState
from ..store.invoices import InvoiceHead
from . import anaf_tokens, notices
from .anaf_tuning import Tuning
from .context import AppContext

log = logging.getLogger("stripe_efactura.anaf")


@dataclass(frozen=True)
class Step:
    """What one lifecycle step did: the state afterwards (None: no such invoice) and when to
    come back (``delay`` seconds; None: nothing left to do)."""

    state: AnafState | None
    delay: float | None
    note: str = ""
    followed: bool = False
    """The ``then`` hook of :func:`.anaf_lifecycle.advance` already ran, inside the step's own
    last write transaction (the caller has nothing left to write)."""
    quota: anaf_quota.QuotaWait | None = None
    """The global window's wait the step ended in (``delay`` runs to its opening): a job
    queues behind the others that wait for it (:func:`.anaf_jobs.run_step_job`)."""


Then = Callable[[Connection, Step], None]
"""What the caller of a lifecycle step writes after it (the chain's next job, the job's
completion): run inside the step's last write transaction when it ends in one."""


def tuning(ctx: AppContext) -> Tuning:
    return ctx.anaf_tuning if ctx.anaf_tuning is not None else Tuning()


def now(ctx: AppContext) -> datetime:
    moment = ctx.clock()
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def seconds_until(ctx: AppContext, moment: datetime) -> float:
    return max(0.0, (moment - now(ctx)).total_seconds())


def today(ctx: AppContext) -> date:
    """The calendar day in Romania."""
    moment = now(ctx)
    return moment.astimezone(next_ro_midnight(moment).tzinfo).date()


def client(ctx: AppContext) -> AnafClient:
    """The ANAF client of this context (built once; tokens come from :mod:`anaf_tokens`)."""
    if ctx.anaf_client is not None:
        return ctx.anaf_client
    s = ctx.settings
    env: Literal["test", "prod"] = "prod" if s.anaf_env == "prod" else "test"
    tune = tuning(ctx)
    ctx.anaf_client = AnafClient(
        s.anaf_api_base,
        env,
        lambda: anaf_tokens.access_token(ctx),
        transport=ctx.anaf_transport,
        timeout=tune.timeout,
        upload_timeout=tune.upload_timeout,
        public_base=s.anaf_public_base,
    )
    return ctx.anaf_client


def take_quota(ctx: AppContext, kind: QuotaKind, key: str = "") -> None:
    """Take a call slot in its own short transaction (raises ``anaf_quota.QuotaWait`` once
    the transaction, which then wrote nothing, has ended: ``anaf_quota.slot``)."""
    with db.write(ctx.engine) as conn:
        wait = anaf_quota.slot(conn, tuning(ctx).policy, now(ctx), kind, key)
    if wait is not None:
        raise wait


def prune_quota(ctx: AppContext, *, keep: timedelta = timedelta(days=2)) -> int:
    """Delete quota buckets older than ``keep``."""
    with db.write(ctx.engine) as conn:
        return anaf_quota.prune(conn, now(ctx) - keep)


def wait_after(ctx: AppContext, exc: AnafApiError, state: AnafState) -> Step:
    """The step after a retryable failure of a call that changed nothing at ANAF."""
    if isinstance(exc, AnafQuotaExceeded):
        return Step(state, max(1.0, seconds_until(ctx, retry_at(exc.scope, now(ctx)))), exc.code)
    if isinstance(exc, AnafAuthError) and not isinstance(exc, AnafNoRights):
        cached = ctx.caches.anaf_tokens
        anaf_tokens.refresh(ctx, rejected=cached.access if cached else None)
        return Step(state, 1.0, exc.code)
    if isinstance(exc, AnafNoRights):
        no_rights_notice(ctx, exc)
        return Step(state, 3600.0, exc.code)
    return Step(state, tuning(ctx).retry_seconds, exc.code)


def no_rights_notice(ctx: AppContext, exc: AnafNoRights) -> None:
    """ANAF says the authorised certificate has no SPV rights for the CUI: tell the merchant
    (once a day); invoices wait and try again hourly."""
    cui = anaf_tokens.company_cui(ctx)
    text = " ".join(exc.messages) or exc.message
    problem = Problem(
        code=exc.code,
        field="anaf",
        message_ro=f"ANAF: {text}. Certificatul autorizat nu are drepturi SPV pentru CUI {cui}.",
        message_en=f"ANAF: {text}. The authorised certificate has no SPV rights for CUI {cui}.",
        hint="Give the certificate holder SPV rights for the company (form 150/151 at ANAF) "
        "or authorise again with a certificate that has them (`stripe-efactura anaf login`).",
        hint_ro="Acordați titularului certificatului drepturi SPV pentru firmă sau autorizați "
        "din nou cu un certificat care le are (`stripe-efactura anaf login`).",
    )
    with db.write(ctx.engine) as conn:
        anaf_tokens.notice_once(
            conn,
            "auth_expiry",
            f"{cui}:no-rights:{today(ctx).isoformat()}",
            f"ANAF: fără drepturi SPV pentru CUI {cui} / no SPV rights for CUI {cui}",
            [problem],
        )


def rejected(conn: Connection, row: InvoiceHead, problems: tuple[Problem, ...]) -> None:
    """ANAF rejected the invoice: its payment needs attention and the merchant a notice."""
    number = str(row.number)
    repo.set_payment_status(conn, str(row.payment_key), "needs_attention", problems)
    notices.record(
        conn,
        "anaf_rejected",
        number,
        f"ANAF a respins factura {number} / ANAF rejected invoice {number}",
        problems,
        invoice=number,
    )
