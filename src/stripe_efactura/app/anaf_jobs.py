"""ANAF jobs: one chain of ``anaf_step`` jobs per invoice, the shared message-list sweep
(:mod:`app.anaf_status_list`) and a periodic sweep for stalled chains."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import timedelta

from sqlalchemy.engine import Connection

from ..jobs import queue
from ..jsontypes import ReadJsonValue
from ..store import anaf_invoices, anaf_quota, db
from ..store.anaf_work import AnafState
from . import anaf_lifecycle, anaf_port, anaf_status_list
from .anaf_port import Step
from .context import AppContext

STEP_TASK = "anaf_step"
SWEEP_AFTER = timedelta(minutes=30)
IN_LINE = "in line for the global ANAF quota window"
"""The reason (``jobs.last_error``) of a job queued by :func:`in_line`."""
LINE_AFTER = 1.0
"""Seconds after its boundary a job in line wakes: a job that was in line and lost its slot
(to a fresh upload, the list sweep, a poll) retries at the boundary itself, before them."""
QUEUE_HORIZON = timedelta(minutes=15)
"""How far past the window's opening the jobs ahead are counted, and the most a job waits
beyond it for its turn (a backlog of some 11,000 calls at the default 900 a minute)."""


def _int(value: object) -> int:
    if isinstance(value, int | str):
        return int(value)
    raise TypeError(f"a job argument is not a number: {value!r}")


def run_step_job(ctx: AppContext, args: Mapping[str, object]) -> Step:
    """Jobs ``submit_anaf`` and ``anaf_step``: one :func:`anaf_lifecycle.advance`, then the
    next job of the chain (deduplicated by chain and step number, so a job that runs twice
    after a crash does not fork the chain) and the job's completion, in the step's own last
    transaction where it has one (an upload) or else in one transaction. Just uploaded in a
    burst: the answer is first awaited from the shared list sweep, the chain's own polls start
    :attr:`Tuning.list_status_seconds` later (the fallback); outside a burst it polls. Out of
    global quota, the next job waits for its turn behind the others (:func:`in_line`)."""
    invoice_id = _int(args["invoice_id"])
    gen = str(args.get("gen", "0"))
    number = _int(args.get("step", 0)) + 1
    lined = bool(args.get("lined"))

    def then(conn: Connection, step: Step) -> None:
        _next_step(ctx, conn, step, invoice_id, gen=gen, number=number, lined=lined)

    step = anaf_lifecycle.advance(ctx, invoice_id, then=then)
    if step.delay is None or step.followed:
        return step
    with db.write(ctx.engine) as conn:
        then(conn, step)
    return step


def _next_step(
    ctx: AppContext,
    conn: Connection,
    step: Step,
    invoice_id: int,
    *,
    gen: str,
    number: int,
    lined: bool = False,
) -> None:
    """In the caller's write transaction: the chain's next job (when the step has a delay),
    then this job's completion (:func:`queue.finish_in`, last). A job that was in line and
    still found the window full retries at its opening, ahead of the line (``lined``)."""
    if step.delay is not None:
        delay, reason = step.delay, None
        if step.quota is not None:
            delay = step.delay if lined else in_line(conn, step.quota, delay)
            reason = IN_LINE
        if step.state is AnafState.UPLOADED and anaf_status_list.join_burst(conn, ctx):
            delay = max(delay, anaf_port.tuning(ctx).list_status_seconds)
        enqueue_step(conn, invoice_id, delay, gen=gen, step=number, reason=reason)
    for task in ("submit_anaf", STEP_TASK):  # whichever of the two this job is
        queue.finish_in(conn, task)


def in_line(conn: Connection, wait: anaf_quota.QuotaWait, delay: float) -> float:
    """The delay of a job that waits ``delay`` seconds for the global window (``wait``): behind
    the jobs already in line for it (:data:`IN_LINE`) from that opening on, at the boundary
    where the window has room for it too (:func:`anaf_quota.turn`), so that a backlog wakes a
    bucket's worth at a time instead of all at each boundary; at most :data:`QUEUE_HORIZON`
    past the opening. Only jobs in line are counted: a poll that wakes meanwhile may find the
    list has answered and make no call, and a slot counted for it would stay unused. Counted
    in the caller's write transaction, on the queue's clock."""
    opening = db.db_now(conn) + timedelta(seconds=delay)
    slack = timedelta(seconds=anaf_quota.GLOBAL_BUCKET_SECONDS / 2)  # the clocks' drift
    ahead = anaf_invoices.in_line(conn, IN_LINE, opening - slack, opening + QUEUE_HORIZON)
    later = anaf_quota.turn(wait, ahead) - wait.until
    return delay + min(later, QUEUE_HORIZON).total_seconds() + LINE_AFTER


def schedule(
    ctx: AppContext, invoice_id: int, delay: float = 0.0, *, gen: str | None = None, step: int = 0
) -> None:
    """Enqueue the next ``anaf_step`` of an invoice (a new chain when ``gen`` is None)."""
    chain = gen if gen is not None else uuid.uuid4().hex[:12]
    with db.write(ctx.engine) as conn:
        enqueue_step(conn, invoice_id, delay, gen=chain, step=step)


def enqueue_step(
    conn: Connection,
    invoice_id: int,
    delay: float,
    *,
    gen: str,
    step: int = 0,
    reason: str | None = None,
) -> None:
    args: dict[str, ReadJsonValue] = {"invoice_id": invoice_id, "gen": gen, "step": step}
    if reason == IN_LINE:
        args["lined"] = True
    queue.enqueue(
        conn,
        STEP_TASK,
        args,
        delay=delay,
        dedupe_key=f"anaf:{invoice_id}:{gen}:{step}",
        max_attempts=20,
        reason=reason,
    )


def sweep(ctx: AppContext) -> list[int]:
    """Periodic ``anaf_sweep``: restart the chain of every invoice with ANAF work left and no
    live job (e.g. after its jobs died), and prune old quota buckets."""
    anaf_port.prune_quota(ctx)
    with db.write(ctx.engine) as conn:
        started = anaf_invoices.stalled(conn, SWEEP_AFTER)
        for invoice_id in started:
            enqueue_step(conn, invoice_id, 0.0, gen=f"sweep-{uuid.uuid4().hex[:8]}")
    return started
