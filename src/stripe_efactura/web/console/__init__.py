"""The merchant console: server-rendered pages (Jinja2) over the application layer.

Mounted last by ``web/app.py`` (every other route wins). Romanian first with an English
switch; our own stylesheet and a few lines of our own JavaScript; see ``docs/console.md``.
"""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from ...app.context import AppContext
from . import operations as ops
from . import views_actions as act
from . import views_admin as adm
from . import views_auth as auth_views
from . import views_corrections as cor
from . import views_month as month
from . import views_read as read
from .auth import setup_needed, setup_token
from .base import Console
from .security import SecurityHeaders, csp

__all__ = ["console_app", "setup_link"]

STATIC = Path(__file__).resolve().parents[2] / "static" / "console"


def setup_link(ctx: AppContext, base_url: str) -> str | None:
    """The one-time first-run link ``serve`` prints while no account exists (None after)."""
    if not setup_needed(ctx):
        return None
    return f"{base_url.rstrip('/')}/setup?token={setup_token(ctx)}"


async def favicon(_request: Request) -> Response:
    """``/favicon.ico``, which browsers ask for whatever the page links: our own SVG icon."""
    return Response(
        (STATIC / "favicon.svg").read_bytes(),
        media_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=86400"},
    )


def _routes(c: Console) -> list[Route | Mount]:
    page = c.page
    get, post = ["GET"], ["POST"]
    return [
        Route("/setup", page(None, setup=True)(auth_views.setup_form), methods=get),
        Route("/setup", page(None, setup=True)(auth_views.setup_submit), methods=post),
        Route("/login", page(None)(auth_views.login_form), methods=get),
        Route("/login", page(None)(auth_views.login_submit), methods=post),
        Route("/logout", page("viewer")(auth_views.logout), methods=post),
        Route("/lang", page(None)(act.switch_language), methods=post),
        Route("/", page("viewer")(read.home), methods=get),
        Route("/inbox", page("viewer")(read.inbox), methods=get),
        Route("/payments", page("viewer")(read.payments_list), methods=get),
        Route("/payments/{key}", page("viewer")(read.payment_show), methods=get),
        Route("/payments/{key}/retry", page("accountant")(act.payment_retry), methods=post),
        Route("/payments/{key}/override", page("accountant")(act.payment_override), methods=post),
        Route("/payments/{key}/dispute", page("accountant")(act.payment_dispute), methods=post),
        Route("/invoices", page("viewer")(read.invoices_list), methods=get),
        Route("/invoices/{number}", page("viewer")(read.invoice_show), methods=get),
        Route("/invoices/{number}/storno", page("accountant")(cor.storno_form), methods=get),
        Route("/invoices/{number}/storno", page("accountant")(cor.storno_submit), methods=post),
        Route("/invoices/{number}/reissue", page("accountant")(cor.reissue_form), methods=get),
        Route("/invoices/{number}/reissue", page("accountant")(cor.reissue_submit), methods=post),
        Route(
            "/invoices/{number}/{kind:str}",
            page("accountant")(read.invoice_download),
            methods=get,
        ),
        Route("/invoices/{number}/resend", page("accountant")(act.invoice_resend), methods=post),
        Route("/invoices/{number}/retry", page("accountant")(act.invoice_retry), methods=post),
        Route("/anaf", page("viewer")(read.anaf_page), methods=get),
        Route("/anaf/authorise", page("accountant")(act.anaf_authorise), methods=post),
        Route("/settings", page("viewer")(read.settings_page), methods=get),
        Route("/users", page("admin")(adm.users_page), methods=get),
        Route("/users", page("admin")(adm.user_add), methods=post),
        Route("/users/{user_id}/disable", page("admin")(adm.user_disable), methods=post),
        Route("/tokens", page("admin")(adm.token_create), methods=post),
        Route("/tokens/{token_id}/revoke", page("admin")(adm.token_revoke), methods=post),
        Route("/audit", page("accountant")(adm.audit_page), methods=get),
        Route("/month", page("accountant")(month.month_page), methods=get),
        Route("/month/audit", page("accountant")(month.start_audit), methods=post),
        Route("/month/audits/{run_id}", page("accountant")(month.audit_show), methods=get),
        Route("/month/journal.{fmt}", page("accountant")(month.journal_download), methods=get),
        Route("/month/archive.zip", page("accountant")(month.archive_download), methods=get),
        Route("/operations/reconcile", page("accountant")(ops.start_reconcile), methods=post),
        Route("/operations/{op_id}", page("accountant")(ops.show), methods=get),
        Route("/favicon.ico", favicon, methods=["GET", "HEAD"]),
        Mount("/static/console", app=StaticFiles(directory=STATIC), name="console-static"),
    ]


def console_app(ctx: AppContext) -> ASGIApp:
    """The console as an ASGI app with its security headers (mount it at ``/``)."""
    c = Console(ctx)

    async def not_found(_request: Request, _exc: Exception) -> Response:
        return HTMLResponse("<!doctype html><title>404</title><h1>404 Not Found</h1>", 404)

    app = Starlette(routes=_routes(c), exception_handlers={404: not_found})
    app.state.console = c
    return SecurityHeaders(app, csp(ctx.settings.anaf_oauth_base))
