"""`validate FILE.xml` and `validation fetch`: the official UBL 2.1 XSD + CIUS-RO schematron.

Exit codes of ``validate``: 0 no blocking finding (warnings allowed), 1 blocking findings,
2 usage error, unreadable file or artifacts not installed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

import typer

from ..errors import ValidationArtifactsMissing
from . import app, settings, validation_app

DirOption = Annotated[
    Path | None,
    typer.Option(
        "--dir",
        help="Artifacts folder (default: settings validation_dir, EFACTURA_VALIDATION_DIR).",
    ),
]


def _validation_dir(override: Path | None) -> Path:
    return override if override is not None else settings(create=False).validation_dir


def _print_findings(
    path: Path, report_dict: Mapping[str, object], findings: list[dict[str, str]]
) -> None:
    for f in findings:
        typer.echo(f"{f['flag']:<7} {f['rule_id']}  {f['short_location']}")
        if f["message_ro"]:
            typer.echo(f"        ro: {f['message_ro']}")
        typer.echo(f"        en: {f['message_en']}")
    verdict = "VALID" if report_dict["ok"] else "INVALID"
    typer.echo(
        f"{path}: {verdict} ({report_dict['fatal']} fatal, {report_dict['warnings']} warnings; "
        f"{report_dict['artifacts']})"
    )


@app.command("validate")
def validate_command(
    file: Annotated[Path, typer.Argument(help="UBL 2.1 Invoice or CreditNote XML file.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    directory: DirOption = None,
) -> None:
    """Validate a UBL XML file with the official UBL 2.1 XSD and ANAF CIUS-RO 1.0.9 rules."""
    from ..ubl.validate import get_validator

    try:
        data = file.read_bytes()
    except OSError as exc:
        typer.echo(f"cannot read {file}: {exc.strerror}", err=True)
        raise typer.Exit(2) from exc
    try:
        report = get_validator(_validation_dir(directory)).validate(data)
    except ValidationArtifactsMissing as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    body = report.to_dict()
    if as_json:
        typer.echo(json.dumps({"file": str(file), **body}, ensure_ascii=False, indent=2))
    else:
        _print_findings(file, body, [f.to_dict() for f in report.findings])
    raise typer.Exit(0 if report.ok else 1)


@validation_app.command("fetch")
def fetch_command(
    source: Annotated[
        Path | None,
        typer.Option(
            "--from",
            help="Install from a local folder (laid out like ubl-2.1/, cius-ro-1.0.9/, or "
            "holding the two official zips) instead of downloading.",
        ),
    ] = None,
    directory: DirOption = None,
    anaf_url: Annotated[
        str | None, typer.Option("--anaf-url", help="Override the ANAF CIUS-RO zip URL.")
    ] = None,
    oasis_url: Annotated[
        str | None, typer.Option("--oasis-url", help="Override the OASIS UBL 2.1 zip URL.")
    ] = None,
    if_missing: Annotated[
        bool, typer.Option("--if-missing", help="Do nothing when they are installed already.")
    ] = False,
) -> None:
    """Install the official validation artifacts (every file checked against its SHA-256)."""
    from ..ubl import artifacts, schematron

    dest = _validation_dir(directory)
    if if_missing and artifacts.is_installed(dest):
        typer.echo(f"validation artifacts already installed in {dest}")
        return
    try:
        if source is not None:
            installed = artifacts.install_from(source, dest)
        else:
            installed = artifacts.fetch(
                dest,
                anaf_url=anaf_url or artifacts.ANAF_ZIP_URL,
                oasis_url=oasis_url or artifacts.OASIS_ZIP_URL,
            )
    except ValidationArtifactsMissing as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    schematron.compiled_xslt(installed)  # compile now so the first invoice does not wait
    typer.echo(
        f"installed {len(artifacts.PINS)} files (UBL 2.1 XSD + CIUS-RO 1.0.9 schematron) "
        f"in {installed.root}, SHA-256 verified; schematron compiled"
    )
