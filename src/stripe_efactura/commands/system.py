"""`system status` and the start-up summary of `serve`: the readiness of every component
(the same use case as ``/readyz``, ``app.system.readiness_report``)."""

from __future__ import annotations

import json
import logging
from typing import Annotated

import typer

from .. import __version__
from ..app.context import AppContext
from ..app.readiness import Check
from ..app.system import readiness_report
from . import Access, session, system_app

log = logging.getLogger("stripe_efactura.serve")

MARK = {"ok": "ok", "warning": "DEGRADED", "error": "NOT READY"}


def check_line(c: Check) -> str:
    """``  name  STATE  [CODE] reason -> fix`` (one line per component)."""
    if c.status == "ok":
        return f"  {c.name:<22} {MARK[c.status]:<10} {c.reason_en}"
    return f"  {c.name:<22} {MARK[c.status]:<10} [{c.code}] {c.reason_en} -> {c.fix}"


@system_app.command("status")
def status(
    as_json: Annotated[bool, typer.Option("--json", help="JSON output (as /readyz).")] = False,
) -> None:
    """Readiness of every component (database, company profile, worker, validation artifacts,
    webhook secret, Stripe key, ANAF authorisation, SMTP); exit code 1 when not ready."""
    with session(Access.READ) as ctx:
        report = readiness_report(ctx)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        typer.echo(f"  {'COMPONENT':<22} {'STATE':<10} REASON")
        for c in report.checks:
            typer.echo(check_line(c))
        typer.echo("ready" if report.ready else "NOT READY")
    if not report.ready:
        raise typer.Exit(1)


def summary_lines(ctx: AppContext, url: str, *, with_worker: bool) -> list[str]:
    """What ``serve`` says at start: where it listens, what it uses, what is not ready."""
    s = ctx.settings
    live = (
        "WAIT unnumbered (efactura.toml is the starter template)"
        if s.template
        else f"invoiced in series {s.series.invoice.prefix or '(numeric)'}"
    )
    test = f"series {s.series.test.prefix}" if s.intake.process_test_events else "ignored"
    lines = [
        f"stripe-efactura {__version__} listening on {url}",
        f"  database: {ctx.engine.url.render_as_string(hide_password=True)}",
        f"  data dir: {s.data_dir}",
        f"  settings: {s.config_path}",
        f"  company: {s.company.name} (CUI {s.company.cui})",
        f"  live payments: {live}; test-mode payments: {test}; ANAF: {s.anaf_env}",
    ]
    # the worker of this process starts after the summary: its check says nothing yet
    checks = [c for c in readiness_report(ctx).checks if not (with_worker and c.name == "worker")]
    lines += [check_line(c) for c in checks if c.name != "company_profile" or c.status != "ok"]
    return lines


def print_summary(ctx: AppContext, url: str, *, with_worker: bool) -> None:
    lines = summary_lines(ctx, url, with_worker=with_worker)
    for line in lines:
        typer.echo(line)
    report = readiness_report(ctx)
    log.info(
        "start-up: %s; not ready: %s; degraded: %s",
        "; ".join(" ".join(line.split()) for line in lines[:6]),
        ", ".join(c.code for c in report.of("error")) or "-",
        ", ".join(c.code for c in report.of("warning")) or "-",
    )
