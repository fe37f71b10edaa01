"""The in-process fake registry (:class:`~.fake.FakeRegistry`) served over HTTP, for what
builds its own HTTP client from the settings (a command run as the merchant runs it):
point ``EFACTURA_ANAF_PUBLIC_BASE`` and ``EFACTURA_VIES_URL`` at
:func:`~stripe_efactura.intake.fake_server.run_in_thread` ``(asgi_app(fake))``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio
import httpx
from starlette.types import Receive, Scope, Send

from .fake import FakeRegistry


def asgi_app(fake: FakeRegistry) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """An ASGI app answering every request as ``fake`` does; a fault that is a transport
    error in-process (``down``, a read timeout) is an HTTP 502 with an empty body here."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        query = scope.get("query_string", b"").decode("latin-1")
        url = f"http://{fake_host(scope)}{scope['path']}" + (f"?{query}" if query else "")
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        request = httpx.Request(scope["method"], url, headers=headers, content=body)
        try:
            answer = await anyio.to_thread.run_sync(fake.handle_request, request)
            status, content = answer.status_code, answer.read()
            out = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers.items()]
        except httpx.TransportError:
            status, content, out = 502, b"", []
        out = [(k, v) for k, v in out if k.lower() not in (b"content-length", b"transfer-encoding")]
        out.append((b"content-length", str(len(content)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": out})
        await send({"type": "http.response.body", "body": content})

    return app


def fake_host(scope: Scope) -> str:
    server = scope.get("server") or ("127.0.0.1", 80)
    return f"{server[0]}:{server[1]}"
