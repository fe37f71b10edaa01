"""Coded errors and merchant-facing problems.

Every failure the merchant can act on is a :class:`Problem`: a stable ``code`` (listed in
``docs/errors.md``), the Stripe or invoice ``field`` it concerns, a message in Romanian and in
English, and a ``hint`` saying how to fix it (in English; ``hint_ro`` in Romanian).

Exception tree::

    EfacturaError(code, message)
     ├── ConfigError            settings or efactura.toml are wrong
     ├── UserInputError         a file or argument given on the command line is unusable
     ├── StorageError           the database is unavailable (the webhook answers 503)
     │    └── SchemaError       the database has no schema or an older one (read-only commands)
     ├── SignatureError         Stripe-Signature missing or wrong (the webhook answers 400)
     ├── StripeApiError         the Stripe API failed (retryable unless ``permanent``)
     ├── InvoiceProblems        the payment cannot be invoiced; carries ``problems``
     ├── ValidationArtifactsMissing  the UBL XSD / CIUS-RO schematron are not installed
     ├── AnafError              ANAF answered with an error or could not be reached
     └── RetryLater             transient: the job is retried with backoff (e.g. no BNR rate yet)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from dataclasses import field as dc_field

from .jsontypes import JsonObject


@dataclass(frozen=True)
class Problem:
    """One reason a payment cannot be invoiced (or an invoice was rejected)."""

    code: str
    field: str
    message_ro: str
    message_en: str
    hint: str = ""
    hint_ro: str = ""
    fatal: bool = True
    context: tuple[tuple[str, str], ...] = dc_field(default_factory=tuple)

    def to_dict(self) -> JsonObject:
        return {
            "code": self.code,
            "field": self.field,
            "message_ro": self.message_ro,
            "message_en": self.message_en,
            "hint": self.hint,
            "hint_ro": self.hint_ro,
            "fatal": self.fatal,
            "context": dict(self.context),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Problem:
        """The problem stored by ``to_dict`` (JSON read back: anything but ``code`` may be
        missing)."""
        context = data.get("context")
        pairs = context.items() if isinstance(context, Mapping) else ()
        return cls(
            code=str(data["code"]),
            field=str(data.get("field", "")),
            message_ro=str(data.get("message_ro", "")),
            message_en=str(data.get("message_en", "")),
            hint=str(data.get("hint", "")),
            hint_ro=str(data.get("hint_ro", "")),
            fatal=bool(data.get("fatal", True)),
            context=tuple(sorted((str(k), str(v)) for k, v in pairs)),
        )


class EfacturaError(Exception):
    """Base of every error raised by the project; always carries a code.

    ``str()`` is the one line the command line prints: ``[CODE] message`` and, for what a
    merchant reads, `` / `` and the Romanian ``message_ro``. ``exit_code`` is the command's
    exit status when the error ends it (2: fix the settings or the arguments; 1: otherwise).
    """

    code = "E-GENERIC"
    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        message_ro: str | None = None,
        **context: object,
    ) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message
        self.message_ro = message_ro
        self.context = context

    def __str__(self) -> str:
        ro = f" / {self.message_ro}" if self.message_ro else ""
        return f"[{self.code}] {self.message}{ro}"


class ConfigError(EfacturaError):
    code = "E-CONFIG"
    exit_code = 2


class UserInputError(EfacturaError):
    """A file or argument given on the command line cannot be used (missing, unreadable,
    a destination that cannot be written)."""

    code = "E-INPUT"
    exit_code = 2


class StorageError(EfacturaError):
    code = "E-STORAGE"


class SchemaError(StorageError):
    """The database has no schema, or an older one: ``stripe-efactura db upgrade``."""

    code = "E-DB-SCHEMA"


class SignatureError(EfacturaError):
    code = "E-SIGNATURE"


class StripeApiError(EfacturaError):
    code = "E-STRIPE-API"

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        code: str | None = None,
        message_ro: str | None = None,
        **context: object,
    ) -> None:
        super().__init__(message, code=code, message_ro=message_ro, **context)
        self.permanent = permanent


class InvoiceProblems(EfacturaError):
    code = "E-PROBLEMS"

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(f"{p.code} ({p.field}): {p.message_en}" for p in self.problems))


class ValidationArtifactsMissing(EfacturaError):
    code = "E-VALIDATION-ARTIFACTS"


class AnafError(EfacturaError):
    code = "E-ANAF"


class RetryLater(EfacturaError):
    """A transient condition: the job that raised it runs again later."""

    code = "E-RETRY-LATER"
    count_attempt = True
    """False: waiting is expected (a rate limit slot, a registry answer); the job runs again
    without counting a failed attempt."""

    def __init__(
        self,
        message: str,
        *,
        delay_seconds: float | None = None,
        code: str | None = None,
        message_ro: str | None = None,
        **context: object,
    ) -> None:
        super().__init__(message, code=code, message_ro=message_ro, **context)
        self.delay_seconds = delay_seconds
