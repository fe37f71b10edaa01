"""What both registry clients share: the error tree, a call throttle and retries with backoff.

A registry answer is read by its content, not its status: ANAF's firewall answers an HTML page
with HTTP 200, VIES reports a member state being down in a JSON body. Every answer that is not
the documented JSON is :class:`RegistryUnavailable` (retryable): the caller never takes a
half-read answer for "not found" or "invalid".
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Protocol, TypeVar

import httpx

from ..errors import EfacturaError
from ..jsontypes import JsonValue

T = TypeVar("T")
C = TypeVar("C", bound="RetryingClient")
Clock = Callable[[], float]
Sleep = Callable[[float], None]


class RegistryError(EfacturaError):
    """A registry (ANAF's taxpayer registry, VIES) could not give an answer."""

    code = "E-REGISTRY"
    retryable = False


class RegistryUnavailable(RegistryError):
    """No usable answer: network error, timeout, 5xx, 429, HTML or malformed JSON, or a
    service-side error such as VIES ``MS_UNAVAILABLE``. Retrying later may help."""

    code = "E-REGISTRY-UNAVAILABLE"
    retryable = True

    def __init__(self, message: str, *, reason: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        """A short machine word: ``network``, ``timeout``, ``http_503``, ``rate_limited``,
        ``html``, ``malformed``, or the VIES error (``MS_UNAVAILABLE``)."""
        self.retry_after = retry_after


class RegistryRejected(RegistryError):
    """The service refused the request itself (HTTP 4xx other than 429, VIES
    ``INVALID_INPUT``): retrying the same request will not help."""

    code = "E-REGISTRY-REJECTED"


class Throttle:
    """At most one call per ``interval`` seconds in this process (thread-safe).

    ``wait()`` sleeps until the next call may go and reserves that slot. The clock and the
    sleep are injectable so tests run on a fake clock.
    """

    def __init__(
        self, interval: float, *, clock: Clock = time.monotonic, sleep: Sleep = time.sleep
    ) -> None:
        self.interval = interval
        self._clock = clock
        self._sleep = sleep
        self._next: float | None = None
        self._lock = threading.Lock()

    def wait(self) -> float:
        """Block until a call may go; return how long it waited."""
        with self._lock:
            now = self._clock()
            start = now if self._next is None else max(now, self._next)
            self._next = start + self.interval
        waited = start - now
        if waited > 0:
            self._sleep(waited)
        return waited


def backoff_delay(attempt: int, base: float, cap: float = 30.0) -> float:
    """``base * 2**attempt`` capped: 1 s, 2 s, 4 s … for ``base=1``."""
    return float(min(cap, base * (2**attempt)))


def looks_like_html(response: httpx.Response) -> bool:
    ctype = response.headers.get("content-type", "").lower()
    head = response.content[:200].lstrip().lower()
    return "html" in ctype or head.startswith((b"<!doctype", b"<html", b"<head", b"<body"))


def read_json(response: httpx.Response, service: str) -> JsonValue:
    """The JSON body, or :class:`RegistryUnavailable` for HTML pages and malformed bodies."""
    if looks_like_html(response):
        raise RegistryUnavailable(
            f"{service} answered an HTML page (HTTP {response.status_code}), not JSON: "
            "a firewall or maintenance page",
            reason="html",
        )
    try:
        data: JsonValue = json.loads(response.content)
    except ValueError as exc:
        raise RegistryUnavailable(
            f"{service} answered a body that is not JSON (HTTP {response.status_code})",
            reason="malformed",
        ) from exc
    return data


def status_error(response: httpx.Response, service: str) -> RegistryError | None:
    """The error a non-2xx status means, or None for 2xx."""
    code = response.status_code
    if 200 <= code < 300:
        return None
    if code == 429:
        retry_after = _retry_after(response.headers.get("retry-after"))
        return RegistryUnavailable(
            f"{service} is rate limiting (HTTP 429)", reason="rate_limited", retry_after=retry_after
        )
    if code >= 500 or code in (404, 408):
        return RegistryUnavailable(f"{service} answered HTTP {code}", reason=f"http_{code}")
    return RegistryRejected(f"{service} refused the request (HTTP {code})")


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def transport_error(exc: httpx.HTTPError, service: str) -> RegistryUnavailable:
    if isinstance(exc, httpx.TimeoutException):
        return RegistryUnavailable(f"{service} did not answer in time", reason="timeout")
    return RegistryUnavailable(f"{service} could not be reached: {exc}", reason="network")


def with_retries(
    call: Callable[[], T],
    *,
    retries: int,
    backoff: float,
    sleep: Sleep,
    before: Callable[[], object] | None = None,
) -> T:
    """Run ``call``; on :class:`RegistryUnavailable` try again up to ``retries`` more times,
    sleeping ``backoff * 2**n`` (or the server's ``Retry-After`` when longer) in between.
    ``before`` runs before every attempt (the throttle)."""
    attempt = 0
    while True:
        if before is not None:
            before()
        try:
            return call()
        except RegistryUnavailable as exc:
            if attempt >= retries:
                raise
            delay = backoff_delay(attempt, backoff)
            if exc.retry_after is not None:
                delay = max(delay, min(exc.retry_after, 60.0))
            sleep(delay)
            attempt += 1


class Waiter(Protocol):
    def wait(self) -> float: ...


class RetryingClient:
    """The plumbing both registry clients share: one HTTP client, and every call retried with
    backoff behind a throttle (:func:`with_retries`)."""

    def __init__(
        self,
        *,
        transport: httpx.BaseTransport | None,
        timeout: float,
        retries: int,
        backoff: float,
        throttle: Waiter,
        sleep: Sleep,
    ) -> None:
        self.retries = retries
        self.backoff = backoff
        self.throttle = throttle
        self._sleep = sleep
        self._http = httpx.Client(transport=transport, timeout=httpx.Timeout(timeout))

    def close(self) -> None:
        self._http.close()

    def __enter__(self: C) -> C:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def retrying(self, call: Callable[[], T]) -> T:
        """Run ``call`` with this client's retries, backoff and throttle."""
        return with_retries(
            call,
            retries=self.retries,
            backoff=self.backoff,
            sleep=self._sleep,
            before=self.throttle.wait,
        )
