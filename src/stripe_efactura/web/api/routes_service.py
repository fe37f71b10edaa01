"""``/notices``, ``/anaf``, ``/system``, and the accounts: ``/me``, ``/users``, ``/tokens``,
``/audit-log``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request

from ...app import accounts, anaf_login, api_tokens, audit_log, notices, readiness
from ...app.accounts import Permission, Principal
from ...app.refusals import Forbidden
from . import models as m
from .auth import ADMIN, OPERATE, READ, context, principal
from .common import PROBLEMS

router = APIRouter(responses=PROBLEMS)
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/notices", response_model=m.NoticePage, tags=["notices"])
def list_notices(
    request: Request,
    _who: Principal = Depends(READ),
    state: Literal["open", "resolved"] | None = None,
    cursor: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, object]:
    """The needs-attention inbox: open (neither acknowledged nor fixed) or resolved."""
    items, nxt = notices.inbox(context(request), state=state, cursor=cursor, limit=limit)
    return {"items": items, "next_cursor": nxt}


@router.post("/notices/{notice_id}/acknowledge", response_model=m.Notice, tags=["notices"])
def acknowledge(
    request: Request, notice_id: Id, who: Principal = Depends(OPERATE)
) -> Mapping[str, object]:
    """Mark a notice as seen (audited); acknowledging twice changes nothing."""
    return notices.acknowledge(context(request), who.actor(), notice_id)


@router.get("/anaf", response_model=m.AnafOverview, tags=["anaf"])
def anaf_overview(request: Request, _who: Principal = Depends(READ)) -> readiness.AnafOverview:
    """ANAF authorisation and its expiry, calls counted today, deadlines at risk."""
    return readiness.anaf_overview(context(request))


@router.post("/anaf/authorize", response_model=m.AuthorizeStart, tags=["anaf"])
def anaf_authorize(request: Request, who: Principal = Depends(OPERATE)) -> dict[str, str]:
    """Start the OAuth authorisation: open the returned URL in a browser holding the
    qualified certificate; ANAF comes back to `/anaf/callback`."""
    ctx = context(request)
    redirect = (
        ctx.settings.anaf_redirect_uri
        or str(request.base_url).rstrip("/").removesuffix("/api/v1") + "/anaf/callback"
    )
    url = anaf_login.authorize_url(ctx, redirect)
    audit_log.record_now(
        ctx, who.actor(), "anaf.authorize", "anaf", "oauth", after={"redirect_uri": redirect}
    )
    return {"url": url}


@router.get("/system/readiness", response_model=m.Readiness, tags=["system"])
def system_readiness(request: Request, _who: Principal = Depends(READ)) -> dict[str, object]:
    """Each component with its state, the reason and the fix."""
    checks = [{**c.to_dict(), "fix_ro": c.fix_ro} for c in readiness.readiness(context(request))]
    return {"ready": all(c["status"] != "error" for c in checks), "checks": checks}


# -- accounts ---------------------------------------------------------------------------


@router.get("/me", response_model=m.Me, tags=["accounts"])
def me(who: Principal = Depends(principal)) -> dict[str, object]:
    """The caller: user, how authenticated, and what they may do."""
    return {
        "user": who.user.to_dict(),
        "via": who.via,
        "scope": who.scope,
        "permissions": sorted(p.value for p in who.permissions),
    }


@router.get("/users", response_model=list[m.User], tags=["accounts"])
def list_users(request: Request, _who: Principal = Depends(ADMIN)) -> list[dict[str, object]]:
    return [u.to_dict() for u in accounts.list_users(context(request))]


@router.post("/users", response_model=m.User, status_code=201, tags=["accounts"])
def add_user(
    request: Request, body: m.UserCreate, who: Principal = Depends(ADMIN)
) -> dict[str, object]:
    user = accounts.add_user(
        context(request), who.actor(), body.email, body.password, body.role, body.name
    )
    return user.to_dict()


@router.get("/users/{user_id}", response_model=m.User, tags=["accounts"])
def get_user(request: Request, user_id: Id, _who: Principal = Depends(ADMIN)) -> dict[str, object]:
    return accounts.get_user(context(request), user_id).to_dict()


@router.patch("/users/{user_id}", response_model=m.User, tags=["accounts"])
def update_user(
    request: Request, user_id: Id, body: m.UserUpdate, who: Principal = Depends(ADMIN)
) -> dict[str, object]:
    """Role, name, active (disabling ends sessions and revokes tokens), password."""
    ctx = context(request)
    if body.password is not None:
        accounts.set_password(ctx, who.actor(), user_id, body.password)
    user = accounts.update_user(
        ctx, who.actor(), user_id, role=body.role, active=body.active, name=body.name
    )
    return user.to_dict()


def _no_read_token(who: Principal) -> None:
    if who.scope == "read":
        raise Forbidden(
            "E-FORBIDDEN",
            "A read-scoped token cannot manage tokens.",
            "Un token cu domeniul read nu poate gestiona tokenuri.",
        )


@router.get("/tokens", response_model=list[m.Token], tags=["accounts"])
def list_tokens(request: Request, who: Principal = Depends(principal)) -> list[dict[str, object]]:
    """The caller's API tokens (admins: everyone's)."""
    mine = None if who.can(Permission.ADMIN) else who.user.id
    return [t.to_dict() for t in api_tokens.list_tokens(context(request), mine)]


@router.post("/tokens", response_model=m.TokenCreated, status_code=201, tags=["accounts"])
def create_token(
    request: Request, body: m.TokenCreate, who: Principal = Depends(principal)
) -> dict[str, object]:
    """A new API token for the caller (admins: for `user`); its secret is shown only here."""
    _no_read_token(who)
    owner: str | int = who.user.id
    if body.user and body.user.strip().lower() != who.user.email:
        who.require(Permission.ADMIN)
        owner = body.user
    token, secret = api_tokens.create_token(
        context(request), who.actor(), owner, body.name, body.scope
    )
    return {**token.to_dict(), "secret": secret}


@router.delete("/tokens/{token_id}", response_model=m.Token, tags=["accounts"])
def revoke_token(
    request: Request, token_id: Id, who: Principal = Depends(principal)
) -> dict[str, object]:
    """Revoke a token (the caller's own; admins: anyone's)."""
    _no_read_token(who)
    ctx = context(request)
    token = api_tokens.get_token(ctx, token_id)
    if token.user_id != who.user.id:
        who.require(Permission.ADMIN)
    return api_tokens.revoke_token(ctx, who.actor(), token_id).to_dict()


@router.get("/audit-log", response_model=m.AuditPage, tags=["accounts"])
def audit(
    request: Request,
    _who: Principal = Depends(ADMIN),
    cursor: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    action: Annotated[str | None, Query(max_length=64)] = None,
    target_type: Annotated[str | None, Query(max_length=32)] = None,
    target_id: Annotated[str | None, Query(max_length=255)] = None,
) -> dict[str, object]:
    """Every change made by a person, newest first."""
    found = audit_log.entries(
        context(request),
        before_id=cursor,
        limit=limit + 1,
        action=action,
        target_type=target_type,
        target_id=target_id,
    )
    items = [e.to_dict() for e in found[:limit]]
    return {"items": items, "next_cursor": found[limit - 1].id if len(found) > limit else None}
