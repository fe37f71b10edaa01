"""The command tree of ``stripe-efactura``; each module of this package adds its commands.

Commands are thin adapters: parse arguments, open a session of the application layer
(:func:`session`: read-only work never migrates), call a use case, print. Errors are not
handled here: a command raises a coded :class:`~stripe_efactura.errors.EfacturaError` and the
entry point (:mod:`stripe_efactura.cli`) prints its one line and exits with its code. Every
listing has ``--json``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from .. import __version__
from ..app.context import AppContext
from ..app.runner import Access
from ..config import Settings, load_settings
from ..errors import UserInputError

app = typer.Typer(
    name="stripe-efactura",
    help="Stripe payments -> Romanian invoices -> ANAF RO e-Factura.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
invoices_app = typer.Typer(
    help="Issued invoices: list, show, export, retry, resend-email, storno, reissue."
)
payments_app = typer.Typer(help="Stripe payments: list, retry, override, timeline.")
validation_app = typer.Typer(help="Official UBL 2.1 XSD and ANAF CIUS-RO schematron.")
anaf_app = typer.Typer(help="ANAF authorisation: login, token import, status.")
anaf_token_app = typer.Typer(help="ANAF tokens obtained elsewhere.")
db_app = typer.Typer(help="Database migrations.")
system_app = typer.Typer(help="The service itself: readiness of every component.")
app.add_typer(invoices_app, name="invoices")
app.add_typer(payments_app, name="payments")
app.add_typer(validation_app, name="validation")
app.add_typer(anaf_app, name="anaf")
anaf_app.add_typer(anaf_token_app, name="token")
app.add_typer(db_app, name="db")
app.add_typer(system_app, name="system")

__all__ = ["Access", "RunState", "app", "read_input", "session", "settings", "state"]


@dataclass
class RunState:
    """What the entry point needs to know about this run when a command fails."""

    debug: bool = False
    data_dir: Path | None = None


state = RunState()


def _version(value: bool) -> None:
    if value:
        typer.echo(f"stripe-efactura {__version__}")
        raise typer.Exit(0)


@app.callback()
def _options(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the full traceback of an unexpected error.")
    ] = False,
    _show_version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Stripe payments -> Romanian invoices -> ANAF RO e-Factura."""
    state.debug = debug


def settings(*, create: bool = False, create_named: bool = False) -> Settings:
    """Load (and check) the settings for a command; a wrong setting raises ``ConfigError``."""
    loaded = load_settings(create=create, create_named=create_named)
    state.data_dir = loaded.data_dir
    return loaded


@contextmanager
def session(access: Access, *, create: bool = False) -> Iterator[AppContext]:
    """The application layer's session for one command (see ``app.runner``)."""
    from ..app.runner import session as app_session

    with app_session(settings(create=create), access) as ctx:
        yield ctx


def read_input(path: Path) -> bytes:
    """A file named on the command line; a missing or unreadable one is a coded error."""
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise UserInputError(
            f"{path}: no such file",
            code="E-INPUT-MISSING",
            message_ro=f"{path}: fișierul nu există",
        ) from exc
    except OSError as exc:
        raise UserInputError(
            f"{path}: cannot be read ({exc.strerror})",
            code="E-INPUT-UNREADABLE",
            message_ro=f"{path}: fișierul nu poate fi citit",
        ) from exc
