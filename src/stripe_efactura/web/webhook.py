"""``POST /webhooks/stripe`` as a plain ASGI endpoint, answered in front of Starlette.

Issue 17: every webhook went through Starlette's error middleware, the body-size middleware
(which read the body and replayed it), the exception middleware, the router and a ``Request``
before the signature was looked at: about a third of the event loop's time per event. The
app (``web/app.py``) hands ``POST /webhooks/stripe`` straight to :class:`StripeWebhook`,
which keeps every refusal of the body-size middleware (``web/limits.py``: ``E-SIG-MISSING``
unread, ``E-HTTP-LENGTH``, 413 from the declared length or the capped read, a disconnect
answered with nothing), reads the body once, and answers with the bytes and headers the
Starlette route gave. The same endpoint is also the router's route, for a request the app
does not take in front (under a ``root_path``), where the middleware has read the body first.
"""

from __future__ import annotations

import json

import orjson
from starlette.datastructures import Headers
from starlette.types import Receive, Scope, Send

from ..app import intake
from ..app.context import AppContext
from ..errors import StorageError
from .batching import BatchWriter
from .limits import SIGNED_PATHS, read_body

PATH = "/webhooks/stripe"
SIGNED_BY = SIGNED_PATHS[PATH]

_JSON = b"application/json"
_ERROR_BODY = b"Internal Server Error"
_ERROR_HEADERS = [
    (b"content-length", str(len(_ERROR_BODY)).encode()),
    (b"content-type", b"text/plain; charset=utf-8"),
]


class StripeWebhook:
    """The webhook endpoint: 400 bad signature or body, 200 stored or duplicate, 503 storage
    down, and the refusals of ``web/limits.py`` before the body is read."""

    def __init__(self, ctx: AppContext, writer: BatchWriter, *, max_bytes: int) -> None:
        self.ctx = ctx
        self.writer = writer
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        raw = await read_body(scope, receive, send, headers, self.max_bytes, SIGNED_BY)
        if raw is None:
            return  # answered from the headers or the capped read, or the client went away
        try:
            status, body = await self._answer(raw, headers.get("stripe-signature"))
        except Exception:  # what Starlette's error middleware answered, then raised
            await _send(send, 500, _ERROR_BODY, _ERROR_HEADERS)
            raise
        await _send(
            send,
            status,
            body,
            [(b"content-length", str(len(body)).encode()), (b"content-type", _JSON)],
        )

    async def _answer(self, raw: bytes, header: str | None) -> tuple[int, bytes]:
        """The status and the JSON body for a body read in full."""
        checked = intake.check_webhook(self.ctx, raw, header)
        if isinstance(checked, intake.WebhookAnswer):
            return checked.status, _render(checked.body)
        try:
            created = await self.writer.store(checked, raw)
        except StorageError:
            return intake.STORAGE_DOWN.status, _render(intake.STORAGE_DOWN.body)
        # the bytes _render gives (compact, UTF-8), by orjson: the hot path
        return 200, orjson.dumps(intake.stored_answer(checked.id, created).body)


def _render(content: dict[str, object]) -> bytes:
    """JSON as Starlette's ``JSONResponse`` renders it (compact, non-ASCII kept, UTF-8)."""
    text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.encode("utf-8")


async def _send(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
