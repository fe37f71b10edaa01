"""``GET /anaf/callback``: where ANAF sends the certificate holder's browser after consent.

The ``state`` is checked, the ``code`` exchanged at once (it lives 60 seconds) and both tokens
stored encrypted (``app/anaf_tokens.py``). The redirect URI sent with the exchange must be
the one of the authorize URL: ``EFACTURA_ANAF_REDIRECT_URI``, else this request's own URL.
"""

from __future__ import annotations

import anyio
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from ..app import anaf_login
from ..app.context import AppContext


def anaf_callback_route(ctx: AppContext) -> Route:
    async def anaf_callback(request: Request) -> Response:
        q = request.query_params
        redirect_uri = ctx.settings.anaf_redirect_uri or str(request.url.replace(query=""))

        def run() -> anaf_login.CallbackAnswer:
            return anaf_login.handle_callback(
                ctx,
                code=q.get("code"),
                state=q.get("state"),
                error=q.get("error"),
                redirect_uri=redirect_uri,
            )

        answer = await anyio.to_thread.run_sync(run)
        return HTMLResponse(anaf_login.callback_page(answer), status_code=answer.status)

    return Route("/anaf/callback", anaf_callback, methods=["GET"])
