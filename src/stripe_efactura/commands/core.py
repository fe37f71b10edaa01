"""`init`, `serve`, `worker`, `db upgrade`, `ingest`: the service itself."""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
from pathlib import Path

import typer

from ..store.db import Checkpointer
from . import app, db_app, settings


def _logging() -> None:
    logging.basicConfig(
        level=os.environ.get("EFACTURA_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@app.command()
def init() -> None:
    """Create a starter efactura.toml (if none exists) and the database."""
    from .. import app as use_cases

    s = settings(create=True)
    ctx = use_cases.build_context(s)
    use_cases.prepare(ctx)
    typer.echo(f"config: {s.config_path}")
    typer.echo(f"database: {ctx.engine.url.render_as_string(hide_password=True)}")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations (SQLite or PostgreSQL)."""
    from ..store.db import make_engine
    from ..store.migrate import current_revision, upgrade

    s = settings(create=False)
    engine = make_engine(s.database_url)
    upgrade(engine)
    typer.echo(f"database at revision {current_revision(engine)}")


@app.command()
def serve(
    host: str = typer.Option(None, help="Listen address (default EFACTURA_HOST or 127.0.0.1)."),
    port: int = typer.Option(None, help="Port (default EFACTURA_PORT or 8000)."),
    no_worker: bool = typer.Option(False, "--no-worker", help="Web only; run `worker` apart."),
) -> None:
    """Run the web app (webhooks, health, metrics, ANAF callback) and, unless --no-worker, one
    worker."""
    import uvicorn

    from .. import app as use_cases
    from ..web.app import create_app

    _logging()
    s = settings(create=True)
    ctx = use_cases.build_context(s)
    use_cases.prepare(ctx)
    checkpointer = Checkpointer(ctx.engine).start()
    stop = threading.Event()
    thread = None
    if not no_worker:
        worker = use_cases.make_worker(ctx)
        thread = threading.Thread(target=worker.run, args=(stop,), name="worker", daemon=True)
        thread.start()
    try:
        uvicorn.run(
            create_app(ctx, freeze_heap=True),
            host=host or s.web_host,
            port=port or s.web_port,
            log_level="warning",
            access_log=False,
        )
    finally:
        stop.set()
        if thread is not None:
            thread.join(timeout=10)
        checkpointer.stop()


@app.command()
def worker(
    once: bool = typer.Option(False, "--once", help="Run until no job is due, then exit."),
) -> None:
    """Run a worker (many may run at once, on SQLite or PostgreSQL)."""
    from .. import app as use_cases

    _logging()
    s = settings(create=False)
    ctx = use_cases.build_context(s)
    use_cases.prepare(ctx)
    w = use_cases.make_worker(ctx)
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

    s = settings(create=False)
    ctx = use_cases.build_context(s)
    use_cases.prepare(ctx)
    new = dup = 0
    for path in files:
        raw = path.read_bytes()
        try:
            created, event_id = use_cases.accept_event(ctx, raw, source="ingest")
        except ValueError as exc:
            typer.echo(f"{path}: not a Stripe event ({exc})", err=True)
            raise typer.Exit(1) from exc
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
    from ..errors import EfacturaError

    try:
        start = datetime.strptime(since, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError as exc:
        raise typer.BadParameter("use YYYY-MM-DD") from exc
    ctx = use_cases.build_context(settings(create=False))
    use_cases.prepare(ctx)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), transient=True) as bar:
        task = bar.add_task("reading Stripe events…")

        def tick(seen: int, new: int) -> None:
            bar.update(task, description=f"{seen} events read, {new} new")

        try:
            counts = run(ctx, start, progress=tick)
        except EfacturaError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(1) from exc
    use_cases.make_worker(ctx).drain()
    typer.echo(json.dumps(counts))
