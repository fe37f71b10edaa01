"""Long operations started from the console (reconciliation with Stripe) and their progress.

The operation runs the use case (``app.repair.reconcile``) in a thread of this web process;
its page refreshes itself every two seconds (a ``<meta http-equiv="refresh">``, no script)
and shows the events seen and the new ones until it ends. Progress lives in this process:
behind a load balancer, open the page on the machine that started it (or use
``stripe-efactura reconcile``, which prints the same progress).
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from datetime import timedelta

from starlette.responses import Response

from ...app import audit_log, repair
from ...errors import EfacturaError
from .base import View

MAX_DAYS = 30
KEEP = 20


@dataclass
class Operation:
    id: str
    kind: str
    started_by: str
    seen: int = 0
    new: int = 0
    done: bool = False
    error: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def step(self, seen: int, new: int) -> None:
        with self.lock:
            self.seen, self.new = seen, new


def _registry(v: View) -> dict[str, Operation]:
    return v.console.operations


def _run(v: View, op: Operation, days: int) -> None:
    since = v.ctx.clock() - timedelta(days=days)
    try:
        result = repair.reconcile(v.ctx, since, progress=op.step)
        op.step(result["seen"], result["new"])
    except EfacturaError as exc:
        op.error = f"{exc.code}: {exc.message}"
    except Exception as exc:  # shown on the page instead of dying silently in the thread
        op.error = f"E-INTERNAL: {type(exc).__name__}"
    finally:
        op.done = True


def start_reconcile(v: View) -> Response:
    assert v.user is not None
    raw = v.form.get("days", "")
    days = max(1, min(MAX_DAYS, int(raw))) if raw.isdigit() else 3
    op = Operation(secrets.token_urlsafe(8), "reconcile", v.user.email)
    ops = _registry(v)
    ops[op.id] = op
    for old in list(ops)[:-KEEP]:
        del ops[old]
    audit_log.record_now(v.ctx, v.user.actor(), "stripe.reconcile", "stripe", "events",
                         after={"days": days})  # fmt: skip
    threading.Thread(target=_run, args=(v, op, days), name="console-reconcile", daemon=True).start()
    return v.redirect(f"/operations/{op.id}")


def show(v: View) -> Response:
    op = _registry(v).get(v.param("op_id"))
    if op is None:
        return v.refuse(v.t("not_found"), 404)
    return v.render("operation.html", op=op)
