"""Refusals of the application layer: what a merchant asked for cannot be done.

Each carries a stable code (``docs/errors.md``), an English and a Romanian message and the
kind of refusal, which the REST API turns into its HTTP status (401/403/404/409/422/429) and
the command line into its exit code. They are errors of the request, never of the service.
"""

from __future__ import annotations

from ..errors import EfacturaError


class Refusal(EfacturaError):
    """A refused request. ``status`` is the HTTP meaning of the refusal."""

    code = "E-REFUSED"
    status = 422
    exit_code = 1

    def __init__(
        self, code: str, message_en: str, message_ro: str, *, field: str | None = None
    ) -> None:
        super().__init__(message_en, code=code, message_ro=message_ro)
        self.field = field


class Invalid(Refusal):
    """The input breaks a rule (422)."""

    status = 422


class Unauthenticated(Refusal):
    """No valid credentials (401). The message never says which part was wrong."""

    status = 401


class Forbidden(Refusal):
    """Authenticated, but the role or the token scope does not allow it (403)."""

    status = 403


class NotFound(Refusal):
    status = 404


class Conflict(Refusal):
    """The state of the object does not allow it (409), e.g. a storno of a storno."""

    status = 409


class TooManyAttempts(Refusal):
    """Too many failed log-ins or token checks from one place (429)."""

    status = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            "E-AUTH-RATE-LIMITED",
            f"Too many failed attempts; try again in {retry_after} s.",
            f"Prea multe încercări eșuate; încercați din nou peste {retry_after} s.",
        )
        self.retry_after = retry_after
