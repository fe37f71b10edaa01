"""`payments list|retry`."""

from __future__ import annotations

import json

import typer

from . import payments_app, settings


@payments_app.command("list")
def list_payments(as_json: bool = typer.Option(False, "--json", help="JSON output.")) -> None:
    """Payments (key, owner, status, amount, currency, livemode, events, reason)."""
    from .. import app as use_cases
    from ..money import format_amount, from_minor

    ctx = use_cases.build_context(settings(create=False))
    use_cases.prepare(ctx)
    rows = use_cases.payments_listing(ctx)
    if as_json:
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for r in rows:
        if r["kind"] == "event":
            typer.echo(f"{r['status']:<16} {r['event_ids'][0]:<32} {r['reason']}")  # type: ignore[index]
            continue
        amount = format_amount(from_minor(int(r["amount"]), str(r["currency"])), str(r["currency"]))  # type: ignore[call-overload]
        live = "live" if r["livemode"] else "test"
        typer.echo(f"{r['status']:<16} {r['payment_key']:<32} {amount:>16} {live} {r['owner']}")
