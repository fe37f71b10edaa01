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
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route

from ..app import intake, system
from ..app.context import AppContext
from ..app.refusals import TooManyAttempts, Unauthenticated
from ..errors import StorageError
from .anaf_callback import anaf_callback_route
from .api import api_mount, create_api
from .api.problems import problem_response
from .batching import BatchWriter
from .console import console_app
from .limits import BodyLimit

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
    routes = [
        *_service_routes(ctx, writer, with_worker),
        api_mount(create_api(ctx)),
        anaf_callback_route(ctx),
        Mount("/", app=console_app(ctx)),  # the merchant console: last, every route above wins
    ]
    app = Starlette(routes=routes, lifespan=_lifespan(writer, freeze_heap))
    app.add_middleware(BodyLimit, max_bytes=ctx.settings.webhook_max_bytes)
    app.state.ctx = ctx
    return app


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


def _service_routes(ctx: AppContext, writer: BatchWriter, with_worker: bool) -> list[Route]:
    """The webhook endpoint and the unauthenticated health routes."""

    async def stripe_webhook(request: Request) -> Response:
        raw = await request.body()
        checked = intake.check_webhook(ctx, raw, request.headers.get("stripe-signature"))
        if isinstance(checked, intake.WebhookAnswer):
            return JSONResponse(checked.body, status_code=checked.status)
        try:
            created = await writer.store(checked, raw)
        except StorageError:
            return JSONResponse(intake.STORAGE_DOWN.body, status_code=intake.STORAGE_DOWN.status)
        # the bytes JSONResponse would render (compact, UTF-8), by orjson: the hot path
        answer = intake.stored_answer(checked.id, created)
        return Response(orjson.dumps(answer.body), answer.status, media_type="application/json")

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
        Route("/webhooks/stripe", stripe_webhook, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/livez", livez, methods=["GET", "POST"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
