"""`payments list|retry|dispute`."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from . import Access, payments_app, session


@payments_app.command("list")
def list_payments(
    as_json: bool = typer.Option(False, "--json", help="JSON output."),
    search: str | None = typer.Option(
        None,
        "--search",
        help="Only payments whose key, owner, buyer name or e-mail contains this text (as the "
        "API's q); the ignored events are then left out.",
    ),
) -> None:
    """Payments (status, key, amount, mode, owner; why a pending one waits, what a payment
    that needs attention lacks), then the ignored events with their reason."""
    from .. import app as use_cases
    from ..money import format_amount, from_minor

    with session(Access.READ) as ctx:
        rows = use_cases.payments_listing(ctx, search=search)
    if as_json:
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not rows:
        typer.echo(
            f"no payment matches {search!r} / nicio plată nu conține {search!r}"
            if search
            else "no payments yet / nicio plată încă"
        )
        return
    typer.echo(f"{'STATUS':<16} {'PAYMENT':<32} {'AMOUNT':>16}  MODE  OWNER / REASON")
    for r in rows:
        live = "live" if r["livemode"] else "test"
        if r["kind"] == "event":
            event_id = r["event_ids"][0]  # type: ignore[index]
            typer.echo(f"{r['status']:<16} {event_id:<32} {'-':>16}  {live}  {r['reason']}")
            continue
        amount = format_amount(from_minor(int(r["amount"]), str(r["currency"])), str(r["currency"]))  # type: ignore[call-overload]
        typer.echo(f"{r['status']:<16} {r['payment_key']:<32} {amount:>16}  {live}  {r['owner']}")
        waiting: dict[str, str] | None = r["waiting"]  # type: ignore[assignment]
        if waiting:
            typer.echo(f"{'':<16} waiting: {waiting['code']} {waiting['message_en']}")
        problems: list[dict[str, str]] = r["problems"]  # type: ignore[assignment]
        for p in problems:
            typer.echo(f"{'':<16} {p['code']} ({p['field']}): {p['message_en']}")


@payments_app.command("retry")
def retry(
    key: str = typer.Argument(..., help="Payment key (pi_…, in_…, ch_…) or a failed event id."),
    buyer: Path = typer.Option(
        None, "--buyer", help="JSON file with buyer overrides (see `payments override`)."
    ),
) -> None:
    """Re-read a payment that needs attention and issue its invoice again (audited)."""
    from .. import app as use_cases
    from ..app import overrides
    from ..app.audit_log import Actor
    from .corrections import buyer_overrides, explained

    message = ""
    with explained(), session(Access.WRITE) as ctx:
        if buyer is not None:
            outcome = overrides.override_buyer(ctx, Actor.cli(), key, buyer_overrides({}, buyer))
        else:
            retried = overrides.retry(ctx, Actor.cli(), key)
            outcome, message = retried, retried["message"]
        use_cases.make_worker(ctx).drain()
    if message:
        typer.echo(message)
    typer.echo(f"status: {outcome['status']}")
    if outcome["invoice"]:
        typer.echo(f"invoice: {outcome['invoice']}")
    for p in outcome["problems"]:
        typer.echo(f"  {p['code']} ({p['field']}): {p['message_en']} -> {p['hint']}")


@payments_app.command("dispute")
def dispute(
    key: str = typer.Argument(..., help="The lost dispute's id (dp_…)."),
    storno: bool = typer.Option(
        ..., "--storno/--no-storno", help="Reverse the invoice (storno) or close without one."
    ),
) -> None:
    """Decide a lost dispute: issue its storno or not (docs/storno.md, "Lost disputes")."""
    from .. import app as use_cases
    from ..app.audit_log import Actor
    from ..app.disputes import decide

    with session(Access.WRITE) as ctx:
        typer.echo(decide(ctx, Actor.cli(), key, storno=storno))
        use_cases.make_worker(ctx).drain()
        rows = {r["payment_key"]: r for r in use_cases.payments_listing(ctx)}
    row = rows.get(key)
    if row is not None:
        typer.echo(f"status: {row['status']}")


@payments_app.command("timeline")
def timeline(
    key: str = typer.Argument(..., help="Payment key (pi_…, in_…, ch_…)."),
    as_json: bool = typer.Option(False, "--json", help="JSON output."),
) -> None:
    """A payment's timeline: registry (ANAF, VIES) lookups, their answers and waits."""
    from ..app import lookups

    with session(Access.READ) as ctx:
        events = lookups.timeline(ctx, key)
    if as_json:
        typer.echo(json.dumps(events, indent=2, ensure_ascii=False))
        return
    for e in events:
        text = " ".join(f"{k}={v}" for k, v in sorted(e["detail"].items()) if v not in (None, ""))
        typer.echo(f"{e['at']}  {e['event']:<22} {text}")
