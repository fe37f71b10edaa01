"""The application layer: the use cases that the CLI, the worker and the web call.

``context`` holds what every use case needs (settings, engine, typed ports); ``runner`` is
the one way in (open a context, check or migrate the schema, run a use case); ``handlers``
wires the use cases into job handlers for the worker.
"""

from __future__ import annotations

from .context import AppContext, build_context
from .handlers import (
    PERIODIC,
    accept_event,
    handlers,
    issue_invoice,
    make_worker,
    payments_listing,
    prepare,
    process_event,
    use_shared_validator,
)
from .runner import Access, open_context, run, session

__all__ = [
    "PERIODIC",
    "Access",
    "AppContext",
    "accept_event",
    "build_context",
    "handlers",
    "issue_invoice",
    "make_worker",
    "open_context",
    "payments_listing",
    "prepare",
    "process_event",
    "run",
    "session",
    "use_shared_validator",
]
