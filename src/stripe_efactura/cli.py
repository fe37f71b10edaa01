"""``stripe-efactura`` entry point: thin, argv -> app use-cases (see ``commands/``)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from . import commands
from .commands import (  # noqa: F401  (each module registers its commands)
    anaf,
    core,
    demo,
    invoices,
    payments,
    preview,
    validation,
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        # With standalone_mode=False, typer returns the code of a typer.Exit instead of raising.
        rc = commands.app(args=args, prog_name="stripe-efactura", standalone_mode=False)
    except SystemExit as exc:  # typer.Exit / click exits
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    except Exception as exc:
        import click
        import typer
        from typer._click import exceptions as typer_click  # typer >= 0.29 vendors click

        if isinstance(exc, click.exceptions.Exit | typer.Exit):
            return int(exc.exit_code)
        if isinstance(exc, click.ClickException | typer_click.ClickException):
            exc.show()
            return int(exc.exit_code)
        if isinstance(exc, click.exceptions.Abort | typer.Abort):
            return 130
        raise
    return rc if isinstance(rc, int) else 0


if __name__ == "__main__":
    raise SystemExit(main())
