"""First run, log-in and log-out.

A failed log-in always answers the same words whatever was wrong (unknown address, wrong
password, disabled account); failures are limited per address and per account by the
accounts use case (``app/accounts.py``).
"""

from __future__ import annotations

from starlette.responses import RedirectResponse, Response

from ...app import accounts, sessions
from ...app.audit_log import Actor
from ...app.refusals import Refusal, TooManyAttempts
from . import auth, security
from .base import View
from .views_actions import safe_next


def _open(v: View, new: sessions.NewSession, target: str) -> Response:
    response = RedirectResponse(safe_next(target), status_code=303)
    lifetime = int(sessions.LIFETIME.total_seconds())
    security.set_cookie(
        response,
        security.SESSION_COOKIE,
        new.secret,
        secure=v.console.secure(v.request),
        max_age=lifetime,
    )
    return response


def _ip(v: View) -> str:
    return security.client_ip(v.request, v.console.trusted_proxies)


def setup_form(v: View) -> Response:
    token = v.query("token")
    return v.render(
        "setup.html", token=token, token_ok=auth.setup_token_ok(v.ctx, token), form={}, error=None
    )


def setup_submit(v: View) -> Response:
    token = v.form.get("token", "")
    if not auth.setup_token_ok(v.ctx, token):
        return v.render("setup.html", token="", token_ok=False, form={}, error=None, status=403)
    email, password = v.form.get("email", ""), v.form.get("password", "")
    error = None
    if password != v.form.get("password2", ""):
        error = v.t("password.mismatch")
    else:
        actor = Actor(name=f"setup:{email.strip().lower()}", via="console", ip=_ip(v))
        try:
            accounts.add_user(v.ctx, actor, email, password, "admin", v.form.get("name", ""))
        except Refusal as exc:
            error = exc.message_ro if v.lang == "ro" else exc.message
    if error is not None:
        form = {"email": email, "name": v.form.get("name", "")}
        return v.render(
            "setup.html", token=token, token_ok=True, form=form, error=error, status=422
        )
    v.console.has_users = True
    new = sessions.login(v.ctx, email, password, ip=_ip(v), user_agent=_agent(v))
    return _open(v, new, "/?done=setup.done")


def _agent(v: View) -> str:
    return v.request.headers.get("user-agent", "")[:255]


def login_form(v: View) -> Response:
    if v.user is not None:
        return RedirectResponse("/", status_code=303)
    info = v.t("login.expired") if v.query("expired") else ""
    if v.query("bye"):
        info = v.t("logged_out")
    return v.render("login.html", next=safe_next(v.query("next")), email="", error=None, info=info)


def login_submit(v: View) -> Response:
    email = v.form.get("email", "")
    target = safe_next(v.form.get("next"))
    try:
        new = sessions.login(
            v.ctx, email, v.form.get("password", ""), ip=_ip(v), user_agent=_agent(v)
        )
    except TooManyAttempts as exc:
        minutes = max(1, -(-exc.retry_after // 60))
        error = v.t("login.throttled", minutes=minutes)
        return v.render("login.html", next=target, email=email, error=error, info="", status=429)
    except Refusal:
        error = v.t("login.failed")
        return v.render("login.html", next=target, email=email, error=error, info="", status=401)
    return _open(v, new, target)


def logout(v: View) -> Response:
    if v.user is not None:
        sessions.logout(v.ctx, v.user.session)
    response = RedirectResponse("/login?bye=1", status_code=303)
    response.delete_cookie(security.SESSION_COOKIE, path="/")
    return response
