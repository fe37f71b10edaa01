"""Users and API tokens (admin), the audit log."""

from __future__ import annotations

from starlette.responses import Response

from ...app import accounts, api_tokens, audit_log
from ...app.refusals import Refusal
from .base import View

AUDIT_PAGE = 50


def _message(v: View, exc: Refusal) -> str:
    return f"{exc.code}: {exc.message_ro if v.lang == 'ro' else exc.message}"


def users_page(
    v: View, *, error: str | None = None, secret: str | None = None, status: int = 200
) -> Response:
    users = accounts.list_users(v.ctx)
    tokens = api_tokens.list_tokens(v.ctx)
    emails = {u.id: u.email for u in users}
    return v.render(
        "users.html",
        users=users,
        tokens=tokens,
        emails=emails,
        roles=list(accounts.ROLES),
        scopes=list(accounts.SCOPES),
        error=error,
        secret=secret,
        form=v.form,
        status=status,
    )


def user_add(v: View) -> Response:
    assert v.user is not None
    try:
        accounts.add_user(
            v.ctx,
            v.user.actor(),
            v.form.get("email", ""),
            v.form.get("password", ""),
            v.form.get("role", "viewer"),
            v.form.get("name", ""),
        )
    except Refusal as exc:
        return users_page(v, error=_message(v, exc), status=422)
    return v.redirect("/users")


def user_disable(v: View) -> Response:
    assert v.user is not None
    raw = v.param("user_id")
    try:
        accounts.disable_user(v.ctx, v.user.actor(), int(raw))
    except (Refusal, ValueError) as exc:
        text = _message(v, exc) if isinstance(exc, Refusal) else str(exc)
        return users_page(v, error=text, status=409)
    return v.redirect("/users")


def token_create(v: View) -> Response:
    assert v.user is not None
    raw = v.form.get("user_id", "")
    try:
        _token, secret = api_tokens.create_token(
            v.ctx,
            v.user.actor(),
            int(raw) if raw.isdigit() else v.user.id,
            v.form.get("name", ""),
            v.form.get("scope", "read"),
        )
    except Refusal as exc:
        return users_page(v, error=_message(v, exc), status=422)
    v.form = {}
    return users_page(v, secret=secret)


def token_revoke(v: View) -> Response:
    assert v.user is not None
    raw = v.param("token_id")
    try:
        api_tokens.revoke_token(v.ctx, v.user.actor(), int(raw))
    except (Refusal, ValueError) as exc:
        text = _message(v, exc) if isinstance(exc, Refusal) else str(exc)
        return users_page(v, error=text, status=409)
    return v.redirect("/users")


def audit_page(v: View) -> Response:
    raw = v.query("before")
    before = int(raw) if raw.isdigit() else None
    entries = audit_log.entries(v.ctx, before_id=before, limit=AUDIT_PAGE + 1)
    more = len(entries) > AUDIT_PAGE
    entries = entries[:AUDIT_PAGE]
    older = entries[-1].id if more and entries else None
    return v.render("audit.html", entries=entries, older=older)
