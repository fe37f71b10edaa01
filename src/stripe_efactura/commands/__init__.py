"""The command tree of ``stripe-efactura``; each module of this package adds its commands.

Commands stay thin: parse arguments, load settings, call a use-case, print. Every listing
has ``--json``.
"""

from __future__ import annotations

import os

import typer

from ..config import Settings, load_settings

app = typer.Typer(
    name="stripe-efactura",
    help="Stripe payments -> Romanian invoices -> ANAF RO e-Factura.",
    no_args_is_help=True,
    add_completion=False,
)
invoices_app = typer.Typer(help="Issued invoices: list, show, export, retry, resend-email.")
payments_app = typer.Typer(help="Stripe payments: list, retry.")
validation_app = typer.Typer(help="Official UBL 2.1 XSD and ANAF CIUS-RO schematron.")
anaf_app = typer.Typer(help="ANAF authorisation: login, token import, status.")
anaf_token_app = typer.Typer(help="ANAF tokens obtained elsewhere.")
db_app = typer.Typer(help="Database migrations.")
app.add_typer(invoices_app, name="invoices")
app.add_typer(payments_app, name="payments")
app.add_typer(validation_app, name="validation")
app.add_typer(anaf_app, name="anaf")
anaf_app.add_typer(anaf_token_app, name="token")
app.add_typer(db_app, name="db")


def settings(*, create: bool = False) -> Settings:
    """Load settings for a command, turning configuration errors into a clean exit."""
    from ..errors import ConfigError

    try:
        return load_settings(os.environ, create=create)
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
