"""What every protected operation of the API documents: its problem responses."""

from __future__ import annotations

from typing import Any

from .models import ProblemDetails

_MEANING = {
    401: "No valid credentials (E-AUTH-REQUIRED, E-AUTH-TOKEN).",
    403: "The role or the token scope does not allow it (E-FORBIDDEN, E-AUTH-CSRF).",
    404: "No such object.",
    409: "The object's state does not allow it.",
    422: "The input breaks a rule (E-API-INPUT and the project's codes).",
    429: "Too many failed attempts (E-AUTH-RATE-LIMITED, Retry-After).",
}
# Any: FastAPI types the ``responses`` of a route and a router as dict[int | str, dict[str, Any]]
PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: {
        "model": ProblemDetails,
        "description": text,
        "content": {"application/problem+json": {}},
    }
    for status, text in _MEANING.items()
}
