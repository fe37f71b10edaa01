"""The ANAF API error tree. Every error is a :class:`stripe_efactura.errors.AnafError`;
``retryable`` says whether the same call may simply be made again later.

Error tree::

    AnafApiError            E-ANAF            base: code, retryable, http_status, messages
    ├── AnafWafRejected     E-ANAF-WAF        F5 "Request Rejected" HTML page
    ├── AnafQuotaExceeded   E-ANAF-QUOTA      HTTP 429/204, "S-au facut deja N ..." (retryable)
    ├── AnafServerError     E-ANAF-5XX        HTTP 5xx (retryable)
    ├── AnafTechnicalError  E-ANAF-TECHNICAL  "A aparut o eroare tehnica" (retryable)
    ├── AnafTimeout         E-ANAF-TIMEOUT    no answer in time (retryable; not upload)
    ├── AnafNetworkError    E-ANAF-NETWORK    connection failed (retryable)
    ├── AnafProtocolError   E-ANAF-PROTOCOL   an answer we cannot read (retryable)
    ├── AnafAuthError       E-ANAF-AUTH       HTTP 401/403: token missing/expired/revoked
    │   └── AnafNoRights    E-ANAF-NO-RIGHTS  "Nu aveti drept in SPV pentru CIF=..." and kin
    ├── AnafRejected        E-ANAF-REJECTED   ANAF refused the request (HTTP 400,
    │   │                                     ExecutionStatus=1, JSON "eroare"): fix the input
    │   ├── AnafNotFound    E-ANAF-NOT-FOUND  unknown upload index / download id
    │   └── AnafDownloadExpired  E-ANAF-EXPIRED  past ANAF's 60-day retention
    └── UploadOutcomeUnknown  E-ANAF-UPLOAD-UNKNOWN  the upload may or may not have been
                                  taken (timeout, dropped answer, 5xx, technical error):
                                  reconcile via the message list, never re-upload blindly;
                                  ``cause_code`` tells why.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from stripe_efactura.errors import AnafError


class AnafApiError(AnafError):
    """An answer (or a missing answer) from the ANAF API that is not the expected result."""

    code = "E-ANAF"
    retryable = False

    def __init__(
        self,
        message: str,
        *,
        http_status: int | None = None,
        messages: Sequence[str] = (),
        code: str | None = None,
        **context: Any,
    ) -> None:
        super().__init__(message, code=code, **context)
        self.http_status = http_status
        self.messages: tuple[str, ...] = tuple(messages)


class AnafWafRejected(AnafApiError):
    """The F5 firewall in front of ANAF answered its HTML "Request Rejected" page (HTTP 200).

    The content of the request triggered it (e.g. a relative ``xsi:schemaLocation`` or ``;CP ``
    in an address), so sending the same bytes again gives the same page.
    """

    code = "E-ANAF-WAF"
    retryable = False

    def __init__(self, message: str, *, support_id: str | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.support_id = support_id


class AnafQuotaExceeded(AnafApiError):
    """A rate limit answered: ``scope`` is ``"global"`` (HTTP 429/204, per minute) or ``"daily"``
    ("S-au facut deja N ... in cursul zilei"); ``limit`` is N when ANAF said it."""

    code = "E-ANAF-QUOTA"
    retryable = True

    def __init__(self, message: str, *, scope: str, limit: int | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.scope = scope
        self.limit = limit


class AnafServerError(AnafApiError):
    code = "E-ANAF-5XX"
    retryable = True


class AnafTechnicalError(AnafApiError):
    """ANAF's "A aparut o eroare tehnica. Cod: ..." on HTTP 200."""

    code = "E-ANAF-TECHNICAL"
    retryable = True


class AnafTimeout(AnafApiError):
    code = "E-ANAF-TIMEOUT"
    retryable = True


class AnafNetworkError(AnafApiError):
    code = "E-ANAF-NETWORK"
    retryable = True


class AnafProtocolError(AnafApiError):
    """The answer could not be understood (unexpected content type or shape)."""

    code = "E-ANAF-PROTOCOL"
    retryable = True


class AnafAuthError(AnafApiError):
    """The access token is missing, expired or revoked (HTTP 401/403): refresh or re-authorise."""

    code = "E-ANAF-AUTH"
    retryable = False


class AnafNoRights(AnafAuthError):
    """The token holder has no SPV rights for the CIF / message ("Nu aveti drept ...")."""

    code = "E-ANAF-NO-RIGHTS"


class AnafRejected(AnafApiError):
    """ANAF refused the request itself (bad parameters, invalid XML at upload, ...)."""

    code = "E-ANAF-REJECTED"
    retryable = False


class AnafNotFound(AnafRejected):
    code = "E-ANAF-NOT-FOUND"


class AnafDownloadExpired(AnafRejected):
    code = "E-ANAF-EXPIRED"


class UploadOutcomeUnknown(AnafApiError):
    """The upload may have been taken by ANAF but its answer was lost.

    The invoice must go to state ``unknown`` and be reconciled from the SPV message list (or a
    later duplicate ``nok``), never re-uploaded blindly. ``cause_code`` is the code of the
    underlying condition (``E-ANAF-TIMEOUT``, ``E-ANAF-NETWORK``, ``E-ANAF-5XX``,
    ``E-ANAF-TECHNICAL``, ``E-ANAF-PROTOCOL``).
    """

    code = "E-ANAF-UPLOAD-UNKNOWN"
    retryable = False

    def __init__(self, message: str, *, cause_code: str, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.cause_code = cause_code
