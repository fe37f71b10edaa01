"""Client of VIES, the European Commission's VAT number check (REST API, no authentication).

``POST {EFACTURA_VIES_URL}/check-vat-number`` with ``{"countryCode": "DE", "vatNumber":
"268519733"}`` (default base ``https://ec.europa.eu/taxation_customs/vies/rest-api``). A
checked number answers (HTTP 200)::

    {"countryCode": "DE", "vatNumber": "268519733", "requestDate": "2026-12-01T10:00:00.000Z",
     "valid": true, "requestIdentifier": "", "name": "…", "address": "…", …}

VIES writes ``"---"`` for a name or address the member state does not give. When VIES cannot
check the number it answers a JSON error instead, often with HTTP 200::

    {"actionSucceed": false, "errorWrappers": [{"error": "MS_UNAVAILABLE", "message": "…"}]}

The per-number endpoint (``GET …/ms/{cc}/vat/{number}``) carries the same codes in
``userError`` next to ``isValid``; both shapes are read. ``MS_UNAVAILABLE``,
``MS_MAX_CONCURRENT_REQ``, ``GLOBAL_MAX_CONCURRENT_REQ``, ``SERVICE_UNAVAILABLE``, ``TIMEOUT``
and ``IP_BLOCKED`` mean "not checked, try later" (:class:`~.http.RegistryUnavailable`), never
"invalid"; ``INVALID_INPUT`` means the number cannot be a VAT number (``valid=False``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import httpx

from ..jsontypes import JsonObject
from .http import (
    Clock,
    RegistryRejected,
    RegistryUnavailable,
    RetryingClient,
    Sleep,
    Throttle,
    read_json,
    status_error,
    transport_error,
)

DEFAULT_VIES_URL = "https://ec.europa.eu/taxation_customs/vies/rest-api"
SERVICE = "VIES"
TRANSIENT = frozenset(
    {
        "MS_UNAVAILABLE",
        "MS_MAX_CONCURRENT_REQ",
        "GLOBAL_MAX_CONCURRENT_REQ",
        "SERVICE_UNAVAILABLE",
        "TIMEOUT",
        "IP_BLOCKED",
    }
)
NOT_A_NUMBER = frozenset({"INVALID_INPUT"})
#: VIES has no published call rate; one call per 0.2 s keeps us far from its concurrency caps.
MIN_INTERVAL_SECONDS = 0.2


@dataclass(frozen=True)
class VatCheck:
    vat_id: str
    """As asked, with the prefix (``DE268519733``; Greece ``EL…``)."""
    valid: bool
    name: str | None = None
    address: str | None = None
    request_date: str | None = None
    request_identifier: str | None = None
    user_error: str | None = None
    """``INVALID_INPUT`` when VIES refused the number's format."""

    def to_json(self) -> JsonObject:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> VatCheck:
        return cls(**dict(data))


def split_vat_id(vat_id: str) -> tuple[str, str]:
    """``'DE268519733'`` -> ``('DE', '268519733')``; Greece is ``EL`` (``GR`` accepted)."""
    compact = "".join(vat_id.split()).upper()
    country, number = compact[:2], compact[2:]
    return ("EL" if country == "GR" else country), number


def _text(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    text = " ".join(value.split())
    return None if text in ("", "---") else text


def _error_code(data: Mapping[str, object]) -> str | None:
    wrappers = data.get("errorWrappers")
    if isinstance(wrappers, list) and wrappers:
        first = wrappers[0]
        if isinstance(first, Mapping) and isinstance(first.get("error"), str):
            return str(first["error"])
        return "UNKNOWN"
    if data.get("actionSucceed") is False:
        return "UNKNOWN"
    user_error = data.get("userError")
    if isinstance(user_error, str) and user_error not in ("VALID", "INVALID"):
        return user_error
    return None


def parse_check(vat_id: str, data: object) -> VatCheck:
    """A :class:`VatCheck` from a VIES answer, or the error it says."""
    if not isinstance(data, Mapping):
        raise RegistryUnavailable(
            f"{SERVICE} answered JSON that is not an object", reason="malformed"
        )
    error = _error_code(data)
    if error in NOT_A_NUMBER:
        return VatCheck(vat_id=vat_id, valid=False, user_error=error)
    if error in TRANSIENT or error == "UNKNOWN":
        raise RegistryUnavailable(f"{SERVICE} could not check {vat_id}: {error}", reason=error)
    if error is not None:
        raise RegistryRejected(f"{SERVICE} refused to check {vat_id}: {error}")
    valid = data.get("valid", data.get("isValid"))
    if not isinstance(valid, bool):
        raise RegistryUnavailable(f"{SERVICE} answered without 'valid'", reason="malformed")
    ident = data.get("requestIdentifier")
    return VatCheck(
        vat_id=vat_id,
        valid=valid,
        name=_text(data.get("name")),
        address=_text(data.get("address")),
        request_date=_text(data.get("requestDate")),
        request_identifier=ident if isinstance(ident, str) and ident else None,
    )


class ViesClient(RetryingClient):
    """Synchronous client: :meth:`check` one VAT id, retried with backoff while VIES (or the
    member state behind it) is unavailable."""

    def __init__(
        self,
        base: str = DEFAULT_VIES_URL,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 15.0,
        retries: int = 2,
        backoff: float = 1.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        self.url = base.rstrip("/") + "/check-vat-number"
        super().__init__(
            transport=transport,
            timeout=timeout,
            retries=retries,
            backoff=backoff,
            throttle=Throttle(MIN_INTERVAL_SECONDS, clock=clock, sleep=sleep),
            sleep=sleep,
        )

    def check(self, vat_id: str) -> VatCheck:
        country, number = split_vat_id(vat_id)
        asked = country + number
        return self.retrying(lambda: self._call(asked, country, number))

    def _call(self, asked: str, country: str, number: str) -> VatCheck:
        try:
            response = self._http.post(self.url, json={"countryCode": country, "vatNumber": number})
        except httpx.HTTPError as exc:
            raise transport_error(exc, SERVICE) from exc
        error = status_error(response, SERVICE)
        if error is not None and response.status_code not in (400, 500):
            raise error
        try:
            data = read_json(response, SERVICE)
        except RegistryUnavailable:
            if error is not None:
                raise error from None
            raise
        if error is not None and not (isinstance(data, Mapping) and _error_code(data)):
            raise error
        return parse_check(asked, data)
