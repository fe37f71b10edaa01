"""`init`, `serve`, `worker`, `db upgrade`, `ingest`: the service itself."""

from __future__ import annotations

import json
import logging
import signal
import threading
from pathlib import Path

import typer

from ..config import Settings
from ..store.checkpoints import Checkpointer
from . import Access, app, db_app, read_input, session, settings


def _logging(s: Settings) -> None:
    logging.basicConfig(
        level=s.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@app.command()
def init(
    cui: str = typer.Option(
        None, "--cui", help="Fill [company] from ANAF's taxpayer registry for this CUI."
    ),
) -> None:
    """Create a starter efactura.toml (if none exists) and the database; with --cui, fill the
    company block (name, address, VAT status, trade register) from ANAF's registry."""
    from .. import app as use_cases
    from ..app import lookups

    with use_cases.session(settings(create=True, create_named=True), Access.WRITE) as ctx:
        template = ctx.settings.template
        if cui is not None:
            record = lookups.fill_company_profile(ctx, cui)
            vat = "VAT payer" if record.vat_payer else "not a VAT payer"
            typer.echo(f"company: {record.name} (CUI {record.cui}, {vat}) from ANAF's registry")
            template = False
        typer.echo(f"config: {ctx.settings.config_path}")
        typer.echo(f"database: {ctx.engine.url.render_as_string(hide_password=True)}")
    if template:
        typer.echo(
            f"{ctx.settings.config_path} is the starter template (placeholder company): live "
            "payments wait unnumbered until you fill in [company] and delete the `template = "
            "true` line, or run `stripe-efactura init --cui YOUR_CUI`. Test-mode payments are "
            "invoiced in the TEST series meanwhile.",
            err=True,
        )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations (SQLite or PostgreSQL)."""
    from ..app.runner import upgrade_schema

    typer.echo(f"database at revision {upgrade_schema(settings(create=False))}")


@app.command()
def serve(
    host: str = typer.Option(None, help="Listen address (default EFACTURA_HOST or 127.0.0.1)."),
    port: int = typer.Option(None, help="Port (default EFACTURA_PORT or 8000)."),
    no_worker: bool = typer.Option(False, "--no-worker", help="Web only; run `worker` apart."),
) -> None:
    """Run the web app (webhooks, health, metrics, ANAF callback, the merchant console at /)
    and, unless --no-worker, one worker. While no account exists it prints the console's
    one-time set-up link."""
    import uvicorn

    from .. import app as use_cases
    from ..app.supervision import SupervisedWorker
    from ..web.app import create_app
    from ..web.console import setup_link
    from .system import print_summary

    s = settings(create=True)
    _logging(s)
    with use_cases.session(s, Access.WRITE) as ctx:
        from ..app.lookups import warn_seller_profile

        warn_seller_profile(ctx)
        url = f"http://{host or s.web_host}:{port or s.web_port}"
        print_summary(ctx, url, with_worker=not no_worker)
        link = setup_link(ctx, url)
        if link is not None:
            typer.echo(f"First run: create the admin account at / Prima pornire: {link}", err=True)
        checkpointer = Checkpointer(ctx.engine).start()
        supervised = None
        if not no_worker:  # restarted whenever its loop dies (app/supervision.py)
            supervised = SupervisedWorker(use_cases.make_worker(ctx)).start()
        try:
            uvicorn.run(
                create_app(ctx, freeze_heap=True, with_worker=not no_worker),
                host=host or s.web_host,
                port=port or s.web_port,
                log_level="warning",
                access_log=False,
                forwarded_allow_ips=list(s.trusted_proxies),  # the console trusts the same
            )
        finally:
            if supervised is not None:
                supervised.stop(timeout=10)
            checkpointer.stop()


@app.command()
def worker(
    once: bool = typer.Option(False, "--once", help="Run until no job is due, then exit."),
    validator: str = typer.Option(
        "shared",
        "--validator",
        help="shared: validate in the host's one validator process (started on demand, "
        "<data dir>/validator.sock); in-process: load the validator into this worker.",
    ),
) -> None:
    """Run a worker (many may run at once, on SQLite or PostgreSQL)."""
    from .. import app as use_cases

    if validator not in ("shared", "in-process"):
        raise typer.BadParameter("--validator is shared or in-process")
    s = settings(create=False)
    _logging(s)
    with use_cases.session(s, Access.WRITE) as ctx:
        if validator == "shared":
            use_cases.use_shared_validator(ctx)
        w = use_cases.make_worker(ctx)
        if not once:
            from ..app.lookups import warn_seller_profile

            warn_seller_profile(ctx)
        if once:
            typer.echo(f"ran {w.drain()} jobs")
            return
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        checkpointer = Checkpointer(ctx.engine).start()
        try:
            w.run(stop)
        finally:
            checkpointer.stop()


@app.command()
def ingest(
    files: list[Path] = typer.Argument(..., help="Saved Stripe event JSON files."),
    process: bool = typer.Option(True, help="Process the events right away."),
) -> None:
    """Feed saved events through the same path as webhooks (idempotent)."""
    from .. import app as use_cases
    from ..errors import UserInputError

    raws = [(path, read_input(path)) for path in files]  # every file readable before storing
    new = dup = 0
    with session(Access.WRITE) as ctx:
        for path, raw in raws:
            try:
                created, event_id = use_cases.accept_event(ctx, raw, source="ingest")
            except ValueError as exc:
                raise UserInputError(
                    f"{path}: not a Stripe event ({exc})",
                    code="E-EVENT-MALFORMED",
                    message_ro=f"{path}: nu este un eveniment Stripe",
                ) from exc
            new += created
            dup += not created
            typer.echo(f"{event_id}: {'stored' if created else 'already stored'}")
        if process:
            use_cases.make_worker(ctx).drain()
    typer.echo(json.dumps({"stored": new, "duplicates": dup}))


@app.command()
def reconcile(
    since: str = typer.Option(..., "--since", help="YYYY-MM-DD (Stripe keeps 30 days of events)."),
) -> None:
    """Fetch Stripe's events since DATE and feed whatever was missed (idempotent)."""
    from datetime import UTC, datetime

    from rich.progress import Progress, SpinnerColumn, TextColumn

    from .. import app as use_cases
    from ..app.repair import reconcile as run

    try:
        start = datetime.strptime(since, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError as exc:
        raise typer.BadParameter("use YYYY-MM-DD") from exc
    with session(Access.WRITE) as ctx:
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), transient=True) as bar:
            task = bar.add_task("reading Stripe events…")

            def tick(seen: int, new: int) -> None:
                bar.update(task, description=f"{seen} events read, {new} new")

            counts = run(ctx, start, progress=tick)
        use_cases.make_worker(ctx).drain()
    typer.echo(json.dumps(counts))
