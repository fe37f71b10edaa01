"""The REST API (``/api/v1``): FastAPI + pydantic v2, mounted inside the Starlette web app.

Every operation calls a use case of the application layer (``src/stripe_efactura/app/``), the
same the command line calls. Everything here needs authentication, the OpenAPI document
(``/api/v1/openapi.json``) and the reference page (``/api/v1/docs``) included. See
``docs/api.md``.
"""

from __future__ import annotations

import re

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.routing import Mount

from ... import __version__
from ...app.accounts import Principal
from ...app.context import AppContext
from ...jsontypes import JsonObject, json_object
from . import problems, reference, routes_month, routes_sales, routes_service
from .auth import principal

DESCRIPTION = (
    "Stripe payments -> Romanian invoices -> ANAF RO e-Factura. Authenticate with "
    "`Authorization: Bearer <API token>` (`stripe-efactura user token create`) or the console "
    "session. Errors are RFC 9457 `application/problem+json` with the project's codes and "
    "messages in English and Romanian."
)


def _object(value: object) -> JsonObject:
    return json_object(value) or {}


def _problem_media(document: JsonObject) -> JsonObject:
    """Error responses are ``application/problem+json`` (FastAPI writes ``application/json``)."""
    for item in _object(document.get("paths")).values():
        for op in _object(item).values():
            for code, answer in _object(_object(op).get("responses")).items():
                content = _object(_object(answer).get("content"))
                if code[0] in "45" and "application/json" in content:
                    content["application/problem+json"] = content.pop("application/json")
    return document


def api_mount(api: FastAPI) -> Mount:
    """``/api/v1`` for the web app. Its path pattern also matches paths holding a decoded
    newline (``%0A``), which Starlette's ``.*`` would leave to the web app's plain 404."""
    mount = Mount("/api/v1", app=api)
    mount.path_regex = re.compile(mount.path_regex.pattern, re.DOTALL)
    return mount


def create_api(ctx: AppContext) -> FastAPI:
    api = FastAPI(
        title="stripe-efactura",
        version=__version__,
        description=DESCRIPTION,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    api.state.ctx = ctx
    problems.install(api)
    api.include_router(routes_sales.router)
    api.include_router(routes_service.router)
    api.include_router(routes_month.router)
    api.include_router(reference.router)
    schema: JsonObject = {}

    def openapi() -> JsonObject:
        if not schema:
            from fastapi.openapi.utils import get_openapi

            schema.update(
                _problem_media(
                    get_openapi(
                        title=api.title,
                        version=api.version,
                        description=api.description,
                        routes=api.routes,
                        servers=[{"url": "/api/v1"}],
                    )
                )
            )
        return schema

    api.openapi = openapi  # type: ignore[method-assign]

    @api.get("/openapi.json", include_in_schema=False)
    def openapi_document(_request: Request, _who: Principal = Depends(principal)) -> JSONResponse:
        return JSONResponse(openapi())

    return api
