"""``stripe-efactura`` entry point: thin, argv -> app use-cases (see ``commands/``)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from . import commands
from .commands import (  # noqa: F401  (each module registers its commands)
    anaf,
    core,
    invoices,
    payments,
    validation,
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        commands.app(args=args, prog_name="stripe-efactura", standalone_mode=False)
    except SystemExit as exc:  # typer.Exit / click exits
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    except Exception as exc:
        import click

        if isinstance(exc, click.exceptions.Exit):
            return int(exc.exit_code)
        if isinstance(exc, click.ClickException):
            exc.show()
            return int(exc.exit_code)
        if isinstance(exc, click.exceptions.Abort):
            return 130
        raise
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
