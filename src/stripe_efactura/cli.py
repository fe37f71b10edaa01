"""``stripe-efactura`` entry point: thin, argv -> app use cases (see ``commands/``).

This is where a command's failure becomes what the user sees: a coded
:class:`~stripe_efactura.errors.EfacturaError` prints its one line (``[E-…] English /
Romanian``) and exits with its ``exit_code``; any other exception prints one line naming a log
file that holds the traceback (``--debug`` prints the traceback instead). Never a traceback
on the terminal otherwise.
"""

from __future__ import annotations

import sys
import tempfile
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from . import commands
from .commands import (  # noqa: F401  (each module registers its commands)
    accounting,
    anaf,
    core,
    corrections,
    demo,
    invoices,
    notices,
    payments,
    preview,
    system,
    users,
    validation,
)
from .errors import EfacturaError

INTERNAL_EXIT = 70
"""Exit status of an unexpected error (``EX_SOFTWARE``)."""


def _say(line: str) -> None:
    print(" ".join(line.split()), file=sys.stderr)


def crash_log(exc: BaseException, data_dir: Path | None) -> Path:
    """Write ``exc``'s traceback to ``<data_dir>/logs/`` (else the temp folder); its path."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    text = "".join(traceback.format_exception(exc))
    for folder in ([data_dir / "logs"] if data_dir else []) + [Path(tempfile.gettempdir())]:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"stripe-efactura-error-{stamp}.log"
            path.write_text(text, encoding="utf-8")
            return path
        except OSError:
            continue
    return Path("-")  # nowhere writable: the one line is all there is


def _unexpected(exc: Exception) -> int:
    if commands.state.debug:
        traceback.print_exception(exc, file=sys.stderr)
    path = crash_log(exc, commands.state.data_dir)
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    what = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    _say(
        f"[E-INTERNAL] unexpected error ({what}); details in {path} "
        f"/ eroare neașteptată; detaliile sunt în {path}"
    )
    return INTERNAL_EXIT


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    import click
    import typer
    from typer._click import exceptions as typer_click  # typer >= 0.29 vendors click

    args = list(sys.argv[1:] if argv is None else argv)
    commands.state.debug = "--debug" in args
    commands.state.data_dir = None
    try:
        # With standalone_mode=False, typer returns the code of a typer.Exit instead of raising.
        rc = commands.app(args=args, prog_name="stripe-efactura", standalone_mode=False)
    except SystemExit as exc:  # typer.Exit / click exits
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    except EfacturaError as exc:
        if commands.state.debug:
            traceback.print_exception(exc, file=sys.stderr)
        for line in str(exc).splitlines():  # one line per finding (settings checks)
            _say(line)
        return exc.exit_code
    except Exception as exc:
        if isinstance(exc, click.exceptions.Exit | typer.Exit):
            return int(exc.exit_code)
        if isinstance(exc, click.ClickException | typer_click.ClickException):
            exc.show()
            return int(exc.exit_code)
        if isinstance(exc, click.exceptions.Abort | typer.Abort):
            return 130
        return _unexpected(exc)
    return rc if isinstance(rc, int) else 0


if __name__ == "__main__":
    raise SystemExit(main())
