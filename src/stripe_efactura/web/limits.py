"""Request limits, applied before any route reads a byte of the body (ASGI middleware).

Issue 16: unsigned 50 MB bodies, 32 at a time, took the web process from 91 MB to 1.75 GB,
because the webhook handler read the whole body before looking at anything. Now:

- a ``POST`` to a signed path (``/webhooks/stripe``) without its signature header is answered
  ``400 E-SIG-MISSING`` from the headers alone: the body is never read;
- a declared ``Content-Length`` above ``max_bytes`` is answered ``413 E-BODY-TOO-LARGE`` from
  the headers alone;
- any other body is read here, chunk by chunk, and refused with ``413 E-BODY-TOO-LARGE`` as
  soon as it passes ``max_bytes`` (chunked uploads, lying lengths): at most ``max_bytes`` plus
  one chunk is ever held for one request. The route then receives the body in one piece.

``max_bytes`` is ``EFACTURA_WEBHOOK_MAX_BYTES`` (default 1 MiB, see ``docs/security.md``).
Memory held by bodies is therefore at most ``max_bytes`` times the number of requests in
flight.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

audit = logging.getLogger("stripe_efactura.audit")

SIGNED_PATHS: Mapping[str, str] = {"/webhooks/stripe": "stripe-signature"}
"""Path -> the header without which a POST there is refused unread."""

_NO_BODY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class BodyLimit:
    """Refuse unsigned webhook posts and oversized bodies before reading them."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        signed_paths: Mapping[str, str] = SIGNED_PATHS,
    ) -> None:
        if max_bytes < 1:
            raise ValueError("max_bytes must be positive")
        self.app = app
        self.max_bytes = max_bytes
        self.signed_paths = dict(signed_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        refusal = self._refuse_from_headers(scope, headers)
        if refusal is not None:
            await _answer(send, *refusal)
            return
        if scope["method"] in _NO_BODY_METHODS and "content-length" not in headers:
            await self.app(scope, receive, send)
            return
        body = await self._read_capped(receive)
        if body is None:
            return  # the client went away
        if isinstance(body, int):
            audit.warning(
                "request refused: E-BODY-TOO-LARGE (%s, over %d bytes)", body, self.max_bytes
            )
            await _answer(send, *_too_large(self.max_bytes))
            return
        await self.app(scope, _replay(body, receive), send)

    def _refuse_from_headers(self, scope: Scope, headers: Headers) -> tuple[int, str, str] | None:
        path = str(scope.get("path", ""))
        needed = self.signed_paths.get(path)
        if needed and scope["method"] == "POST" and not headers.get(needed, "").strip():
            audit.warning("webhook rejected: E-SIG-MISSING (body not read)")
            return 400, "E-SIG-MISSING", "The Stripe-Signature header is missing"
        declared = headers.get("content-length")
        if declared is None:
            return None
        if not (declared.isascii() and declared.isdigit()):
            return 400, "E-HTTP-LENGTH", "Content-Length is not a number"
        if int(declared) > self.max_bytes:
            audit.warning("request refused: E-BODY-TOO-LARGE (Content-Length %s)", declared)
            return _too_large(self.max_bytes)
        return None

    async def _read_capped(self, receive: Receive) -> bytes | int | None:
        """The whole body; the byte count read so far once it passes the cap; None on a
        disconnect."""
        chunks: list[bytes] = []
        total = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > self.max_bytes:
                return total
            if chunk:
                chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def _too_large(max_bytes: int) -> tuple[int, str, str]:
    return 413, "E-BODY-TOO-LARGE", f"The request body is larger than {max_bytes} bytes"


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that yields the buffered body once, then waits on the real one (so a
    route still sees the client disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _answer(send: Send, status: int, code: str, message: str) -> None:
    payload = json.dumps({"error": code, "message": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
