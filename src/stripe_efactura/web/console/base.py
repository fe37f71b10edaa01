"""The frame every console page runs in: the signed-in user, the language, CSRF, rendering.

A page is a plain (synchronous) function ``handler(v: View) -> Response`` decorated with
:func:`Console.page`; the decorator reads the session, refuses what the role may not do,
checks the CSRF token of every POST, parses the form and runs the handler in a worker thread
(use cases do blocking database work).
"""

from __future__ import annotations

import functools
import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import anyio
import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from ...app.context import AppContext
from ...money import format_amount, format_ro, from_minor
from . import auth, i18n, security

if TYPE_CHECKING:
    from .operations import Operation

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "console"
ROLE_RANK = {"viewer": 0, "accountant": 1, "admin": 2}

Handler = Callable[["View"], Response]
Endpoint = Callable[[Request], Awaitable[Response]]


def _money(amount: object, currency: object) -> str:
    cur = str(currency or "")
    if isinstance(amount, int):
        return format_amount(from_minor(amount, cur), cur)
    try:
        return format_amount(Decimal(str(amount)), cur)
    except (InvalidOperation, ValueError):
        return f"{amount} {cur}"


def _when(value: object) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and "T" in value:
        return value.replace("T", " ")[:16]
    return "" if value is None else str(value)


def _pairs(value: object, data_dir: str) -> list[tuple[str, str]]:
    """A timeline entry's detail as ``(key, text)`` pairs; paths under the data folder are
    shown relative to it (``DATA_DIR/archive/…``)."""
    if value is None:
        return []
    items = value.items() if isinstance(value, dict) else [("", value)]
    out = []
    for key, item in items:
        text = item if isinstance(item, str) else json.dumps(item, ensure_ascii=False)
        if data_dir and text.startswith(data_dir):
            text = "DATA_DIR" + text[len(data_dir) :]
        out.append((str(key), text))
    return out


def make_env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["money"] = _money
    env.filters["when"] = _when
    env.filters["ro_number"] = format_ro
    env.filters["pairs"] = _pairs
    return env


@dataclass
class View:
    """One request as a page handler sees it."""

    console: Console
    request: Request
    lang: str
    binding: str
    user: auth.SignedIn | None
    form: dict[str, str] = field(default_factory=dict)
    new_pre: str | None = None

    @property
    def ctx(self) -> AppContext:
        return self.console.ctx

    @property
    def csrf(self) -> str:
        return security.csrf_token(self.console.csrf_key, self.binding)

    def t(self, key: str, **values: object) -> str:
        return i18n.t(self.lang, key, **values)

    def param(self, name: str) -> str:
        return str(self.request.path_params.get(name, ""))

    def query(self, name: str) -> str:
        return self.request.query_params.get(name, "").strip()

    def may(self, role: str) -> bool:
        return self.user is not None and ROLE_RANK[self.user.role] >= ROLE_RANK[role]

    def render(self, template: str, *, status: int = 200, **values: object) -> HTMLResponse:
        lang = self.lang
        notice = self.query("done")
        page = self.console.env.get_template(template).render(
            v=self,
            t=self.t,
            state=lambda value: i18n.state(lang, value),
            pick=lambda ro, en: i18n.pick(lang, ro, en),
            lang=lang,
            user=self.user,
            csrf=self.csrf,
            path=self.request.url.path,
            notice=self.t(notice) if notice in i18n.M else "",
            data_dir=str(self.ctx.settings.data_dir.resolve()),
            **values,
        )
        return HTMLResponse(page, status_code=status)

    def redirect(self, path: str, done: str | None = None, **query: str) -> RedirectResponse:
        if done:
            query["done"] = done
        target = path + ("?" + urlencode(query) if query else "")
        return RedirectResponse(target, status_code=303)

    def refuse(self, message: str, status: int = 403) -> HTMLResponse:
        return self.render("message.html", status=status, message=message)


class Console:
    """Shared state of the console: the use-case context, templates, the CSRF key."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.env = make_env()
        secret = auth.console_secret(ctx)
        self.csrf_key = security.derive_key(secret, "csrf")
        self.has_users = False
        self.operations: dict[str, Operation] = {}
        """Long operations started here (``operations.py``), by id."""
        """Accounts are never deleted: once one exists the first-run check is skipped."""
        self.trusted_proxies = ctx.settings.trusted_proxies

    def secure(self, request: Request) -> bool:
        return security.is_https(request, self.trusted_proxies)

    def _lang(self, request: Request) -> str:
        lang = request.cookies.get(security.LANG_COOKIE, "ro")
        return lang if lang in i18n.LANGS else "ro"

    def page(
        self, role: str | None = "viewer", *, setup: bool = False
    ) -> Callable[[Handler], Endpoint]:
        """Wrap a page handler. ``role`` None: reachable without login (login page);
        ``setup``: the first-run page (the only one reachable before an admin exists)."""

        def wrap(handler: Handler) -> Endpoint:
            @functools.wraps(handler)
            async def endpoint(request: Request) -> Response:
                return await self._run(request, handler, role, setup)

            return endpoint

        return wrap

    async def _run(
        self, request: Request, handler: Handler, role: str | None, setup: bool
    ) -> Response:
        needs_setup = not self.has_users and await anyio.to_thread.run_sync(
            auth.setup_needed, self.ctx
        )
        self.has_users = not needs_setup
        if needs_setup and not setup:
            return RedirectResponse("/setup", status_code=303)
        if not needs_setup and setup:
            return RedirectResponse("/login", status_code=303)
        token = request.cookies.get(security.SESSION_COOKIE)
        user = None
        if token and not needs_setup:
            ip = security.client_ip(request, self.trusted_proxies)
            user = await anyio.to_thread.run_sync(auth.session_user, self.ctx, token, ip)
        pre = request.cookies.get(security.PRE_COOKIE)
        new_pre = None
        if not pre:
            pre = new_pre = secrets.token_urlsafe(24)
        binding = user.session if user is not None else pre
        v = View(self, request, self._lang(request), binding, user, new_pre=new_pre)
        if role is not None and user is None:
            response: Response = self._to_login(request, expired=bool(token))
        elif role is not None and not v.may(role):
            response = v.refuse(v.t("forbidden"))
        elif request.method == "POST":
            form = await request.form()
            v.form = {k: str(val) for k, val in form.items() if isinstance(val, str)}
            if not security.csrf_ok(self.csrf_key, binding, v.form.get("csrf")):
                response = v.refuse(v.t("csrf.refused"))
            else:
                response = await anyio.to_thread.run_sync(handler, v)
        else:
            response = await anyio.to_thread.run_sync(handler, v)
        if new_pre is not None:
            security.set_cookie(response, security.PRE_COOKIE, new_pre, secure=self.secure(request))
        return response

    def _to_login(self, request: Request, *, expired: bool) -> Response:
        query = {"next": request.url.path}
        if expired:
            query["expired"] = "1"
        response = RedirectResponse("/login?" + urlencode(query), status_code=303)
        if expired:
            response.delete_cookie(security.SESSION_COOKIE, path="/")
        return response
