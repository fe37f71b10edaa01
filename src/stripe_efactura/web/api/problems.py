"""Errors of the REST API as RFC 9457 ``application/problem+json``.

Every error carries the project's code (``E-…``; the invoice problems ``P-…``/``V-…`` are in
``problems``), the English and Romanian messages, and the HTTP status that means it: 401 no
valid credentials, 403 the role or the token scope does not allow it, 404 no such object, 409
the object's state does not allow it (a storno of a storno, an invoice ANAF accepted), 422 the
input breaks a rule, 429 too many failed attempts (with ``Retry-After``). Errors of the service
itself are 502/503; a bug is a 500 with ``E-INTERNAL`` and no traceback (it goes to the log).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ...app import anaf_admin, documents, mailing
from ...app.corrections import ProblemsRefusal
from ...app.periods import PeriodError
from ...app.refusals import Refusal, TooManyAttempts
from ...errors import (
    AnafError,
    ConfigError,
    EfacturaError,
    InvoiceProblems,
    StorageError,
    StripeApiError,
    ValidationArtifactsMissing,
)
from ...jsontypes import JsonObject
from ...mail.compose import MailAddressError
from .auth import NO_CREDENTIALS, is_authenticated

log = logging.getLogger("stripe_efactura.api")
MEDIA = "application/problem+json"
TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}
_BY_CLASS: list[tuple[type[EfacturaError], int]] = [
    (anaf_admin.InvoiceNotFound, 404),
    (documents.InvoiceNotFound, 404),
    (anaf_admin.RetryRefused, 409),
    (mailing.EmailBusy, 409),
    (MailAddressError, 422),
    (PeriodError, 422),
    (InvoiceProblems, 422),
    (ValidationArtifactsMissing, 409),
    (ConfigError, 409),
    (StorageError, 503),
    (StripeApiError, 502),
    (AnafError, 502),
]
_BY_CODE = {
    "E-RETRY-UNKNOWN": 404,
    "E-RETRY-INVOICED": 409,
    "E-ANAF-NOT-AUTHORISED": 409,
    "E-DISPUTE-UNKNOWN": 404,
}


def problem_response(
    status: int,
    code: str,
    message_en: str,
    message_ro: str,
    *,
    instance: str | None = None,
    field: str | None = None,
    problems: list[JsonObject] | None = None,
    retry_after: int | None = None,
) -> JSONResponse:
    body = {
        "type": "about:blank",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": message_en,
        "instance": instance,
        "code": code,
        "message_en": message_en,
        "message_ro": message_ro,
        "field": field,
        "problems": problems or [],
        "retry_after": retry_after,
    }
    headers = {"Retry-After": str(retry_after)} if retry_after else None
    if status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": 'Bearer realm="stripe-efactura"'}
    return JSONResponse(body, status_code=status, media_type=MEDIA, headers=headers)


def status_of(exc: EfacturaError) -> int:
    if isinstance(exc, Refusal):
        return exc.status
    if exc.code in _BY_CODE:
        return _BY_CODE[exc.code]
    for cls, status in _BY_CLASS:
        if isinstance(exc, cls):
            return status
    return 409


def _efactura(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, EfacturaError)
    status = status_of(exc)
    problems: list[JsonObject] = []
    if isinstance(exc, InvoiceProblems | ProblemsRefusal):
        problems = [p.to_dict() for p in exc.problems]
    retry = exc.retry_after if isinstance(exc, TooManyAttempts) else None
    if status >= 500:
        log.warning("%s %s: %s", request.method, request.url.path, exc)
    return problem_response(
        status,
        exc.code,
        exc.message,
        exc.message_ro or exc.message,
        instance=request.url.path,
        field=str(exc.field) if isinstance(exc, Refusal) and exc.field else None,
        problems=problems,
        retry_after=retry,
    )


def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    items: list[JsonObject] = []
    for err in exc.errors()[:20]:
        where = ".".join(str(p) for p in err.get("loc", ()))
        items.append(
            {
                "code": "E-API-INPUT",
                "field": where,
                "message_en": str(err.get("msg", "")),
                "message_ro": "Valoare nevalidă.",
                "hint": "",
                "hint_ro": "",
                "fatal": True,
                "context": {},
            }
        )
    first = str(items[0]["field"]) if items else None
    return problem_response(
        422,
        "E-API-INPUT",
        f"The request is not valid ({first})." if first else "The request is not valid.",
        f"Cererea nu este validă ({first})." if first else "Cererea nu este validă.",
        instance=request.url.path,
        field=first,
        problems=items,
    )


def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    if status in (404, 405) and not is_authenticated(request):
        return _efactura(request, NO_CREDENTIALS)
    ro = {404: "Nu există.", 405: "Metoda nu este permisă."}.get(status, "Cerere refuzată.")
    return problem_response(
        status,
        f"E-HTTP-{status}",
        str(exc.detail),
        ro,
        instance=request.url.path,
    )


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return problem_response(
        500,
        "E-INTERNAL",
        "Unexpected error; it is in the service log.",
        "Eroare neașteptată; detaliile sunt în jurnalul serviciului.",
        instance=request.url.path,
    )


def install(api: FastAPI) -> None:
    api.add_exception_handler(EfacturaError, _efactura)
    api.add_exception_handler(RequestValidationError, _validation)
    api.add_exception_handler(HTTPException, _http)
    api.add_exception_handler(Exception, _unexpected)
