"""The HTTP side: webhook endpoint, health, metrics (dashboard and API come later).

The webhook handler runs its database work on ONE writer thread per process (STACK.md §1:
many SQLite writer threads make p99 explode), verifies the signature on the raw bytes and
answers within milliseconds; processing happens in the worker.
"""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import Receive, Scope, Send

from ..app import system
from ..app.context import AppContext
from ..app.refusals import TooManyAttempts, Unauthenticated
from .anaf_callback import anaf_callback_route
from .api import api_mount, create_api
from .api.problems import problem_response
from .batching import BatchWriter
from .console import console_app
from .limits import BodyLimit
from .webhook import PATH as WEBHOOK_PATH
from .webhook import StripeWebhook

log = logging.getLogger("stripe_efactura.web")


def create_app(
    ctx: AppContext, *, freeze_heap: bool = False, with_worker: bool = False
) -> Starlette:
    """The web app. ``freeze_heap`` (``serve``) moves every object alive at startup out of
    the cyclic garbage collector's reach (:func:`gc.freeze`): the imported modules (the
    ``stripe`` SDK alone is ~100,000 objects) were traversed by every full collection, which
    held the GIL for 50-65 ms about once a second under load and stalled the event loop and
    the webhook writer together (the p99 tail of bench/webhook)."""
    writer = BatchWriter(ctx)
    webhook = StripeWebhook(ctx, writer, max_bytes=ctx.settings.webhook_max_bytes)
    routes = [
        Route(WEBHOOK_PATH, webhook, methods=["POST"]),
        *_service_routes(ctx, with_worker),
        api_mount(create_api(ctx)),
        anaf_callback_route(ctx),
        Mount("/", app=console_app(ctx)),  # the merchant console: last, every route above wins
    ]
    app = WebApp(webhook, routes=routes, lifespan=_lifespan(writer, freeze_heap))
    app.add_middleware(BodyLimit, max_bytes=ctx.settings.webhook_max_bytes)
    app.state.ctx = ctx
    return app


class WebApp(Starlette):
    """Starlette, with ``POST /webhooks/stripe`` handed to its endpoint before the middleware
    and the router (``web/webhook.py``: the endpoint applies the body limits itself)."""

    def __init__(
        self,
        webhook: StripeWebhook,
        *,
        routes: list[BaseRoute],
        lifespan: Callable[[Starlette], contextlib.AbstractAsyncContextManager[None]],
    ) -> None:
        super().__init__(routes=routes, lifespan=lifespan)
        self.webhook = webhook

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["path"] == WEBHOOK_PATH
            and scope["method"] == "POST"
            and not scope.get("root_path")
        ):
            await self.webhook(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


def _lifespan(
    writer: BatchWriter, freeze_heap: bool
) -> Callable[[Starlette], contextlib.AbstractAsyncContextManager[None]]:
    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        if freeze_heap:
            gc.collect()
            gc.freeze()
        writer.start()
        try:
            yield
        finally:
            writer.stop()

    return lifespan


def _metrics_refused(refused: Unauthenticated | TooManyAttempts) -> Response:
    """401 (wrong or missing token) or 429 (too many wrong tokens) as problem+json."""
    retry = refused.retry_after if isinstance(refused, TooManyAttempts) else None
    answer = problem_response(
        refused.status,
        refused.code,
        refused.message,
        refused.message_ro or refused.message,
        instance="/metrics",
        retry_after=retry,
    )
    if refused.status == 401:
        answer.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return answer


def _service_routes(ctx: AppContext, with_worker: bool) -> list[Route]:
    """The unauthenticated health routes."""

    async def healthz(_request: Request) -> Response:
        try:
            down = await anyio.to_thread.run_sync(
                lambda: system.health(ctx, with_worker=with_worker)
            )
        except Exception as exc:  # the driver's text goes to the log, never to the caller
            log.error("healthz: database check failed: %s", exc)
            down = "E-STORAGE"
        if down is not None:
            return JSONResponse({"status": "error", "error": down}, status_code=503)
        return JSONResponse({"status": "ok"})

    async def readyz(_request: Request) -> Response:
        """Readiness: 200 when every component is ready, else 503 with what is not (codes)."""
        try:
            report = await anyio.to_thread.run_sync(system.readiness_report, ctx)
        except Exception as exc:  # the driver's text goes to the log, never to the caller
            log.error("readyz: readiness check failed: %s", exc)
            body = {"ready": False, "not_ready": [{"name": "database", "code": "E-STORAGE"}]}
            return JSONResponse(body, status_code=503)
        return JSONResponse(report.to_dict(), status_code=200 if report.ready else 503)

    async def livez(_request: Request) -> Response:
        """Liveness: the process answers (no database work)."""
        return PlainTextResponse("ok")

    async def metrics(request: Request) -> Response:
        """Counts for Prometheus; with ``EFACTURA_METRICS_TOKEN`` set, only with that bearer."""
        ip = request.client.host if request.client else None
        refused = system.metrics_refusal(ctx, request.headers.get("authorization"), ip)
        if refused is not None:
            return _metrics_refused(refused)
        return PlainTextResponse(await anyio.to_thread.run_sync(system.metrics_text, ctx))

    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/livez", livez, methods=["GET", "POST"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
