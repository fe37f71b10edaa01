"""The application layer: the use cases that the CLI, the worker and the web call.

``context`` opens what every use case needs; ``handlers`` wires the use cases into job
handlers for the worker.
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
    receive_webhook,
)

__all__ = [
    "PERIODIC",
    "AppContext",
    "accept_event",
    "build_context",
    "handlers",
    "issue_invoice",
    "make_worker",
    "payments_listing",
    "prepare",
    "process_event",
    "receive_webhook",
]
