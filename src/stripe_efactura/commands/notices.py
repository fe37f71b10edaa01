"""`notices list|ack`: the needs-attention inbox of the REST API and the console
(``app/notices.py``)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from . import Access, app, session

notices_app = typer.Typer(help="The needs-attention inbox: list, ack.")
app.add_typer(notices_app, name="notices")


@notices_app.command("list")
def list_command(
    state: Annotated[
        str | None, typer.Option("--state", help="open or resolved (default: both).")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=200, help="How many.")] = 50,
    before: Annotated[int | None, typer.Option("--before", help="Older than this id.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """Notices, newest first: id, state, kind, reference, title, problem codes."""
    from ..app import notices
    from ..errors import UserInputError

    if state not in (None, "open", "resolved"):
        raise UserInputError(
            f"--state {state}: give open or resolved",
            code="E-USAGE",
            message_ro=f"--state {state}: dați open sau resolved",
        )
    with session(Access.READ) as ctx:
        items, _next = notices.inbox(ctx, state=state, cursor=before, limit=limit)
    if as_json:
        typer.echo(json.dumps(items, indent=2, ensure_ascii=False))
        return
    for n in items:
        codes = " ".join(str(p.get("code", "")) for p in n["problems"])
        typer.echo(f"{n['id']}  {n['state']:<8} {n['kind']:<16} {n['ref']}  {n['title']}  {codes}")


@notices_app.command("ack")
def ack_command(notice_id: Annotated[int, typer.Argument(help="The notice's id.")]) -> None:
    """Acknowledge a notice (audited; again changes nothing)."""
    from ..app import notices
    from ..app.audit_log import Actor

    with session(Access.WRITE) as ctx:
        n = notices.acknowledge(ctx, Actor.cli(), notice_id)
    typer.echo(f"{n['id']}: {n['state']} (by {n['acknowledged_by']})")
