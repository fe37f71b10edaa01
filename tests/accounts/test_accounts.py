"""Users, passwords, API tokens, sessions and the audit log (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from stripe_efactura import app as use_cases
from stripe_efactura.app import accounts, api_tokens, audit_log, sessions
from stripe_efactura.app.accounts import Permission
from stripe_efactura.app.audit_log import Actor
from stripe_efactura.app.context import AppContext
from stripe_efactura.app.refusals import Conflict, Invalid, TooManyAttempts, Unauthenticated
from stripe_efactura.config import demo_settings
from stripe_efactura.store import db
from stripe_efactura.store.tables import api_tokens as token_table
from stripe_efactura.store.tables import audit_log as audit_table
from stripe_efactura.store.tables import users

CLI = Actor(name="cli:test", via="cli")
PASSWORD = "correct horse battery"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def ctx(tmp_path: Path, db_url: str) -> Iterator[AppContext]:
    context = use_cases.build_context(demo_settings(tmp_path, database_url=db_url))
    context.clock = Clock()
    use_cases.prepare(context)
    yield context
    context.close()


def test_password_is_an_argon2id_hash_and_login_checks_it(ctx: AppContext) -> None:
    user = accounts.add_user(ctx, CLI, " Ana@Example.RO ", PASSWORD, "accountant", "Ana")
    assert (user.email, user.role, user.name, user.active) == (
        "ana@example.ro",
        "accountant",
        "Ana",
        True,
    )
    with db.read(ctx.engine) as conn:
        stored = conn.execute(sa.select(users.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$v=19$")
    assert PASSWORD not in stored
    assert accounts.authenticate_password(ctx, "ANA@example.ro", PASSWORD, "10.0.0.1").id == user.id
    with pytest.raises(Unauthenticated) as wrong:
        accounts.authenticate_password(ctx, "ana@example.ro", "wrong password!", "10.0.0.1")
    with pytest.raises(Unauthenticated) as unknown:
        accounts.authenticate_password(ctx, "nobody@example.ro", PASSWORD, "10.0.0.1")
    assert str(wrong.value) == str(unknown.value)  # reveals nothing
    assert wrong.value.code == "E-AUTH-FAILED"


def test_an_unknown_email_costs_a_check_with_the_parameters_of_a_real_hash() -> None:
    dummy = accounts._DUMMY_HASH
    assert accounts._HASHER.check_needs_rehash(dummy) is False  # same memory, time, lanes
    assert accounts._HASHER.verify(dummy, "no such user: the same work as a real check")
    assert dummy.split("$")[3] == accounts._HASHER.hash(PASSWORD).split("$")[3]


def test_add_user_refuses_bad_input(ctx: AppContext) -> None:
    accounts.add_user(ctx, CLI, "a@example.ro", PASSWORD, "admin")
    cases = [
        (("not-an-email", PASSWORD, "viewer"), Invalid, "E-USER-EMAIL"),
        (("b@example.ro", "short", "viewer"), Invalid, "E-USER-PASSWORD"),
        (("b@example.ro", PASSWORD, "owner"), Invalid, "E-USER-ROLE"),
        (("A@example.ro", PASSWORD, "viewer"), Conflict, "E-USER-EXISTS"),
    ]
    for args, kind, code in cases:
        with pytest.raises(kind) as exc:
            accounts.add_user(ctx, CLI, *args)
        assert exc.value.code == code
    assert [u.email for u in accounts.list_users(ctx)] == ["a@example.ro"]


def test_disabled_user_cannot_log_in_and_last_admin_is_kept(ctx: AppContext) -> None:
    accounts.add_user(ctx, CLI, "boss@example.ro", PASSWORD, "admin")
    accounts.add_user(ctx, CLI, "v@example.ro", PASSWORD, "viewer")
    with pytest.raises(Conflict) as exc:
        accounts.disable_user(ctx, CLI, "boss@example.ro")
    assert exc.value.code == "E-USER-LAST-ADMIN"
    with pytest.raises(Conflict):
        accounts.update_user(ctx, CLI, "boss@example.ro", role="viewer")
    assert accounts.disable_user(ctx, CLI, "v@example.ro").active is False
    with pytest.raises(Unauthenticated):
        accounts.authenticate_password(ctx, "v@example.ro", PASSWORD, None)
    assert accounts.update_user(ctx, CLI, "v@example.ro", active=True).active is True
    assert accounts.authenticate_password(ctx, "v@example.ro", PASSWORD, None).role == "viewer"


def test_token_is_stored_as_a_digest_shown_once_and_revocable(
    ctx: AppContext, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    accounts.add_user(ctx, CLI, "acc@example.ro", PASSWORD, "accountant")
    token, secret = api_tokens.create_token(ctx, CLI, "acc@example.ro", "erp", "write")
    assert secret.startswith("sef_") and len(secret) == 47
    assert token.prefix == secret[:12]
    with db.read(ctx.engine) as conn:
        row = conn.execute(sa.select(token_table)).one()._mapping
        audit_rows = conn.execute(sa.select(audit_table)).all()
    assert row["token_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    stored = json.dumps([str(v) for v in row.values()]) + repr(audit_rows)
    assert secret not in stored and secret[12:] not in stored
    who = api_tokens.authenticate_token(ctx, secret, "10.0.0.2")
    assert (who.user.email, who.scope, who.token_id, who.via) == (
        "acc@example.ro",
        "write",
        token.id,
        "api",
    )
    assert who.permissions == {Permission.READ, Permission.DOWNLOAD, Permission.OPERATE}
    assert api_tokens.get_token(ctx, token.id).last_used_at == datetime(2026, 12, 1, 9, 0)
    api_tokens.revoke_token(ctx, CLI, token.id)
    with pytest.raises(Unauthenticated) as exc:
        api_tokens.authenticate_token(ctx, secret, "10.0.0.2")
    assert exc.value.code == "E-AUTH-TOKEN"
    assert secret not in caplog.text


def test_read_scope_narrows_the_role(ctx: AppContext) -> None:
    accounts.add_user(ctx, CLI, "boss@example.ro", PASSWORD, "admin")
    _, secret = api_tokens.create_token(ctx, CLI, "boss@example.ro", "bi", "read")
    who = api_tokens.authenticate_token(ctx, secret, None)
    assert who.permissions == {Permission.READ, Permission.DOWNLOAD}
    assert not who.can(Permission.OPERATE)
    with pytest.raises(Invalid):
        api_tokens.create_token(ctx, CLI, "boss@example.ro", "x", "everything")


def test_disabling_a_user_revokes_tokens_and_ends_sessions(ctx: AppContext) -> None:
    accounts.add_user(ctx, CLI, "boss@example.ro", PASSWORD, "admin")
    accounts.add_user(ctx, CLI, "v@example.ro", PASSWORD, "viewer")
    _, secret = api_tokens.create_token(ctx, CLI, "v@example.ro", "x", "read")
    session = sessions.login(ctx, "v@example.ro", PASSWORD, ip="10.0.0.3")
    assert sessions.resolve(ctx, session.secret).user.email == "v@example.ro"
    accounts.disable_user(ctx, CLI, "v@example.ro")
    accounts.update_user(ctx, CLI, "v@example.ro", active=True)
    with pytest.raises(Unauthenticated):
        api_tokens.authenticate_token(ctx, secret, None)
    with pytest.raises(Unauthenticated):
        sessions.resolve(ctx, session.secret)


def test_sessions_expire_when_idle_and_end_on_logout_or_new_password(ctx: AppContext) -> None:
    clock = ctx.clock
    assert isinstance(clock, Clock)
    accounts.add_user(ctx, CLI, "a@example.ro", PASSWORD, "admin")
    first = sessions.login(ctx, "a@example.ro", PASSWORD, ip="10.0.0.4", user_agent="pytest")
    clock.now += sessions.IDLE - timedelta(minutes=1)
    assert sessions.resolve(ctx, first.secret).session_id == first.id  # touched: idle resets
    clock.now += sessions.IDLE - timedelta(minutes=1)
    assert sessions.resolve(ctx, first.secret).user.role == "admin"
    clock.now += sessions.IDLE
    with pytest.raises(Unauthenticated):
        sessions.resolve(ctx, first.secret)
    second = sessions.login(ctx, "a@example.ro", PASSWORD)
    sessions.logout(ctx, second.secret)
    with pytest.raises(Unauthenticated):
        sessions.resolve(ctx, second.secret)
    third = sessions.login(ctx, "a@example.ro", PASSWORD)
    accounts.set_password(ctx, CLI, "a@example.ro", "another long password")
    with pytest.raises(Unauthenticated):
        sessions.resolve(ctx, third.secret)
    csrf = sessions.csrf_token(ctx, third.secret)
    assert sessions.check_csrf(ctx, third.secret, csrf)
    assert not sessions.check_csrf(ctx, first.secret, csrf)


def test_failed_logins_are_rate_limited_per_account_and_address(ctx: AppContext) -> None:
    clock = ctx.clock
    assert isinstance(clock, Clock)
    accounts.add_user(ctx, CLI, "a@example.ro", PASSWORD, "admin")
    for _ in range(10):
        with pytest.raises(Unauthenticated):
            accounts.authenticate_password(ctx, "a@example.ro", "wrong password!", "10.0.0.5")
    with pytest.raises(TooManyAttempts) as exc:  # even the right password now
        accounts.authenticate_password(ctx, "a@example.ro", PASSWORD, "10.0.0.6")
    assert (exc.value.code, exc.value.status, exc.value.retry_after) == (
        "E-AUTH-RATE-LIMITED",
        429,
        601,
    )
    for _ in range(10):
        with pytest.raises(Unauthenticated):
            api_tokens.authenticate_token(ctx, "sef_guess", "10.0.0.5")
    with pytest.raises(TooManyAttempts):
        api_tokens.authenticate_token(ctx, "sef_guess", "10.0.0.5")
    clock.now += timedelta(minutes=11)
    assert accounts.authenticate_password(ctx, "a@example.ro", PASSWORD, "10.0.0.5").id == 1


def test_audit_log_records_changes_and_refuses_edits(ctx: AppContext) -> None:
    accounts.add_user(ctx, CLI, "a@example.ro", PASSWORD, "admin")
    accounts.add_user(ctx, CLI, "v@example.ro", PASSWORD, "viewer")
    web = Actor(name="a@example.ro", via="api", user_id=1, token_id=None, ip="10.0.0.7")
    accounts.update_user(ctx, web, "v@example.ro", role="accountant")
    accounts.set_password(ctx, web, "v@example.ro", "a brand new password")
    found = audit_log.entries(ctx)
    assert [(e.action, e.actor, e.via, e.target_id, e.ip) for e in found] == [
        ("user.password", "a@example.ro", "api", "v@example.ro", "10.0.0.7"),
        ("user.update", "a@example.ro", "api", "v@example.ro", "10.0.0.7"),
        ("user.add", "cli:test", "cli", "v@example.ro", None),
        ("user.add", "cli:test", "cli", "a@example.ro", None),
    ]
    assert isinstance(found[1].before, dict) and isinstance(found[1].after, dict)
    assert (found[1].before["role"], found[1].after["role"]) == ("viewer", "accountant")
    assert found[0].after == {"password": "changed"}
    assert [e.id for e in audit_log.entries(ctx, before_id=found[1].id, limit=1)] == [found[2].id]
    for statement in (
        sa.update(audit_table).values(actor="someone else"),
        sa.delete(audit_table),
    ):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), db.write(ctx.engine) as c:
            c.execute(statement)
    assert len(audit_log.entries(ctx)) == 4
