"""`user add|list|disable|enable|passwd|role`, `user token create|list|revoke`,
`audit-log list`: accounts from the command line (the same use cases as the REST API).

The person at the command line acts as ``cli:<system user>`` in the audit log: whoever can
run this command can read the database anyway.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import TypeVar

import typer

from . import Access, app, session

T = TypeVar("T")

user_app = typer.Typer(help="Console and API users: add, list, disable, enable, passwd, role.")
token_app = typer.Typer(help="API tokens of a user: create (shown once), list, revoke.")
audit_app = typer.Typer(help="The append-only audit log of every change made by a person.")
app.add_typer(user_app, name="user")
user_app.add_typer(token_app, name="token")
app.add_typer(audit_app, name="audit-log")


def _run(use_case: Callable[..., T], *args: object, **kwargs: object) -> T:
    """Run a use case in a write session (a refusal is one coded line, see ``cli``)."""
    with session(Access.WRITE) as ctx:
        return use_case(ctx, *args, **kwargs)


def _password(stdin: bool) -> str:
    if stdin:
        return sys.stdin.readline().rstrip("\r\n")
    value: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value


def _echo_rows(rows: list[dict[str, object]], as_json: bool, columns: list[str]) -> None:
    if as_json:
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for row in rows:
        typer.echo("  ".join(str(row[c] if row[c] is not None else "-") for c in columns))


@user_app.command("add")
def add(
    email: str = typer.Argument(..., help="E-mail address (the log-in name)."),
    role: str = typer.Option("viewer", "--role", help="admin, accountant or viewer."),
    name: str = typer.Option("", "--name", help="Display name."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from the first line of stdin."
    ),
) -> None:
    """Add a user (the password is asked twice, or read from stdin)."""
    from ..app import accounts
    from ..app.audit_log import Actor

    password = _password(password_stdin)
    user = _run(accounts.add_user, Actor.cli(), email, password, role, name)
    typer.echo(f"added {user.email} ({user.role})")


@user_app.command("list")
def list_users(as_json: bool = typer.Option(False, "--json", help="JSON output.")) -> None:
    """Users: id, e-mail, role, active, last log-in."""
    from ..app import accounts

    rows = [u.to_dict() for u in _run(accounts.list_users)]
    _echo_rows(rows, as_json, ["id", "email", "role", "active", "last_login_at"])


@user_app.command("disable")
def disable(email: str = typer.Argument(..., help="The user's e-mail address.")) -> None:
    """Disable a user: their sessions end and their API tokens are revoked."""
    from ..app import accounts
    from ..app.audit_log import Actor

    user = _run(accounts.disable_user, Actor.cli(), email)
    typer.echo(f"disabled {user.email}")


@user_app.command("enable")
def enable(email: str = typer.Argument(..., help="The user's e-mail address.")) -> None:
    """Enable a disabled user again (their old tokens stay revoked)."""
    from ..app import accounts
    from ..app.audit_log import Actor

    user = _run(accounts.update_user, Actor.cli(), email, active=True)
    typer.echo(f"enabled {user.email}")


@user_app.command("role")
def role(
    email: str = typer.Argument(..., help="The user's e-mail address."),
    new_role: str = typer.Argument(..., help="admin, accountant or viewer."),
) -> None:
    """Change a user's role."""
    from ..app import accounts
    from ..app.audit_log import Actor

    user = _run(accounts.update_user, Actor.cli(), email, role=new_role)
    typer.echo(f"{user.email} is now {user.role}")


@user_app.command("passwd")
def passwd(
    email: str = typer.Argument(..., help="The user's e-mail address."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from the first line of stdin."
    ),
) -> None:
    """Set a user's password; their console sessions end."""
    from ..app import accounts
    from ..app.audit_log import Actor

    password = _password(password_stdin)
    user = _run(accounts.set_password, Actor.cli(), email, password)
    typer.echo(f"password changed for {user.email}")


@token_app.command("create")
def token_create(
    email: str = typer.Argument(..., help="The user the token acts as."),
    name: str = typer.Option("cli", "--name", help="What the token is for."),
    scope: str = typer.Option("read", "--scope", help="read or write."),
) -> None:
    """Create an API token. Its secret is printed once, on stdout; keep it."""
    from ..app import api_tokens
    from ..app.audit_log import Actor

    token, secret = _run(api_tokens.create_token, Actor.cli(), email, name, scope)
    typer.echo(f"token {token.id} ({token.scope}) for {email}; shown once:", err=True)
    typer.echo(secret)


@token_app.command("list")
def token_list(
    email: str = typer.Argument(None, help="Only this user's tokens."),
    as_json: bool = typer.Option(False, "--json", help="JSON output."),
) -> None:
    """API tokens: id, user, name, prefix, scope, last used, revoked."""
    from ..app import api_tokens

    rows = [t.to_dict() for t in _run(api_tokens.list_tokens, email)]
    _echo_rows(
        rows, as_json, ["id", "user_id", "name", "prefix", "scope", "last_used_at", "revoked_at"]
    )


@token_app.command("revoke")
def token_revoke(token_id: int = typer.Argument(..., help="The token's id.")) -> None:
    """Revoke an API token (it stops working at once)."""
    from ..app import api_tokens
    from ..app.audit_log import Actor

    token = _run(api_tokens.revoke_token, Actor.cli(), token_id)
    typer.echo(f"revoked token {token.id} ({token.prefix}…)")


@audit_app.command("list")
def audit_list(
    limit: int = typer.Option(50, "--limit", min=1, max=1000, help="How many entries."),
    before: int = typer.Option(None, "--before", help="Entries older than this id."),
    action: str = typer.Option(None, "--action", help="Only this action, e.g. user.add."),
    target: str = typer.Option(None, "--target", help="Only this target id."),
    as_json: bool = typer.Option(False, "--json", help="JSON output."),
) -> None:
    """The audit log, newest first: when, who, via, action, target, from which address."""
    from ..app import audit_log

    found = _run(audit_log.entries, before_id=before, limit=limit, action=action, target_id=target)
    rows = [e.to_dict() for e in found]
    if as_json:
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for e in found:
        where = e.ip or "-"
        typer.echo(
            f"{e.id}  {e.at:%Y-%m-%d %H:%M:%S}  {e.actor}  {e.via}  {e.action}  "
            f"{e.target_type}:{e.target_id}  {where}"
        )
