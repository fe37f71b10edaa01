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
flight. The webhook endpoint, which the app answers in front of this middleware (issue 17,
``web/webhook.py``), reads its body through :func:`read_body`: the same refusals, in the same
order, with the same answers.
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
        signed_by = self.signed_paths.get(str(scope.get("path", "")))
        refusal = header_refusal(scope, headers, self.max_bytes, signed_by)
        if refusal is not None:
            await answer(send, *refusal)
            return
        if scope["method"] in _NO_BODY_METHODS and "content-length" not in headers:
            await self.app(scope, receive, send)
            return
        body = await read_capped(receive, send, self.max_bytes)
        if body is not None:
            await self.app(scope, _replay(body, receive), send)


async def read_body(
    scope: Scope, receive: Receive, send: Send, headers: Headers, max_bytes: int, signed_by: str
) -> bytes | None:
    """What :class:`BodyLimit` does before a route of a signed path, for a route in front of
    it: the whole body, or None once the request is answered (a refusal) or the client went
    away. ``signed_by`` is the header without which a POST is refused unread."""
    refusal = header_refusal(scope, headers, max_bytes, signed_by)
    if refusal is not None:
        await answer(send, *refusal)
        return None
    return await read_capped(receive, send, max_bytes)


def header_refusal(
    scope: Scope, headers: Headers, max_bytes: int, signed_by: str | None
) -> tuple[int, str, str] | None:
    """The answer a request gets from its headers alone (E-SIG-MISSING when a POST lacks the
    ``signed_by`` header, E-HTTP-LENGTH, 413), or None when its body may be read."""
    if signed_by and scope["method"] == "POST" and not headers.get(signed_by, "").strip():
        audit.warning("webhook rejected: E-SIG-MISSING (body not read)")
        return 400, "E-SIG-MISSING", "The Stripe-Signature header is missing"
    declared = headers.get("content-length")
    if declared is None:
        return None
    if not (declared.isascii() and declared.isdigit()):
        return 400, "E-HTTP-LENGTH", "Content-Length is not a number"
    if int(declared) > max_bytes:
        audit.warning("request refused: E-BODY-TOO-LARGE (Content-Length %s)", declared)
        return _too_large(max_bytes)
    return None


async def read_capped(receive: Receive, send: Send, max_bytes: int) -> bytes | None:
    """The whole body; None when the client went away, or once the body passed
    ``max_bytes`` (then answered 413 here)."""
    chunks: list[bytes] = []
    total = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        total += len(chunk)
        if total > max_bytes:
            audit.warning("request refused: E-BODY-TOO-LARGE (%s, over %d bytes)", total, max_bytes)
            await answer(send, *_too_large(max_bytes))
            return None
        if chunk:
            chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


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


async def answer(send: Send, status: int, code: str, message: str) -> None:
    """A refusal of this module: JSON ``{"error", "message"}``, and the connection closed."""
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
