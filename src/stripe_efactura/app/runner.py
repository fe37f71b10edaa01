"""The one way into the application layer: open a context, check or migrate the schema,
run a use case, close.

Every adapter (the command line, the web app, the worker, the demo) goes through
:func:`session` or :func:`run`. Two kinds of work:

- ``Access.READ``: listings, ``invoices show``, exports. The database must already have this
  version's schema; it is never migrated (a missing or older schema is a one-line
  :class:`~stripe_efactura.errors.SchemaError`, ``E-DB-SCHEMA``).
- ``Access.WRITE``: everything that changes state. The schema is brought up to date and the
  periodic job schedules are registered first (:func:`prepare`).

Use cases open their own transactions (``store.db.read`` / ``store.db.write``) around the
smallest unit of work that must commit together; nothing here holds a transaction open
across a use case (a use case may call ANAF, SMTP or Stripe between two of them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import TypeVar

from ..config import Settings
from ..files import private_dir
from ..jobs import queue
from ..store import db
from ..store.migrate import check_schema, current_revision, ensure_schema
from .context import AppContext, build_context

T = TypeVar("T")

PERIODIC: list[tuple[str, str, int]] = [
    ("anaf_sweep", "anaf_sweep", 600),
    ("anaf_deadlines", "anaf_deadlines", 3600),
    # notices recorded after their window's digest ran, or whose digest job died while SMTP
    # was down, go out with this sweep (app/mailing.py)
    ("merchant_digest", "send_merchant_digest", 300),
]
"""(schedule name, task, interval seconds) registered at start-up."""


class Access(StrEnum):
    READ = "read"
    """Never migrates; the schema must be current."""
    WRITE = "write"
    """Migrates the schema and registers the periodic schedules first."""


def periodic(settings: Settings) -> list[tuple[str, str, int]]:
    """:data:`PERIODIC` plus the schedules the settings turn on (``[audit] every_hours``)."""
    hours = settings.audit.every_hours
    return PERIODIC + ([("period_audit", "period_audit", hours * 3600)] if hours > 0 else [])


def prepare(ctx: AppContext) -> None:
    """Make the data directory private (0700), bring the schema up to date and register the
    periodic schedules."""
    private_dir(ctx.settings.data_dir)
    ensure_schema(ctx.engine)
    with db.write(ctx.engine) as conn:
        for name, task, interval in periodic(ctx.settings):
            # the audit's first run waits one interval: not at every first start-up
            first_in = interval if task == "period_audit" else 0
            queue.ensure_schedule(conn, name, task, interval, first_in=first_in)


def open_context(ctx: AppContext, access: Access) -> AppContext:
    """Make an already built context ready for ``access`` work (see the module docstring)."""
    if access is Access.WRITE:
        prepare(ctx)
    else:
        check_schema(ctx.engine)
    return ctx


@contextmanager
def session(settings: Settings, access: Access) -> Iterator[AppContext]:
    """A context built from ``settings``, ready for ``access`` work, closed afterwards."""
    ctx = build_context(settings)
    try:
        yield open_context(ctx, access)
    finally:
        ctx.close()


def run(settings: Settings, access: Access, use_case: Callable[[AppContext], T]) -> T:
    """Run one use case in its own session and return its (typed) result."""
    with session(settings, access) as ctx:
        return use_case(ctx)


def upgrade_schema(settings: Settings) -> str | None:
    """``db upgrade``: migrate to this version's schema; the revision reached."""
    ctx = build_context(settings)
    try:
        ensure_schema(ctx.engine)
        return current_revision(ctx.engine)
    finally:
        ctx.close()
