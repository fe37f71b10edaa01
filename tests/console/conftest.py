"""Fixtures of the console tests: a console on the demo's data, an empty one, Chromium.

The browser is Debian's ``chromium`` package driven by Playwright (``executable_path``);
no browser is ever downloaded. Without ``/usr/bin/chromium`` the browser tests skip
(``scripts/test`` installs the package when it runs as root).

Screenshots go to ``$EFACTURA_CONSOLE_SHOTS`` when set (``docs/console/`` is made that way,
see docs/console.md), else to a temporary folder.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from factories.console import ADMIN, CHROMIUM, CHROMIUM_ARGS
from factories.demo_run import DemoRun, demo_copy
from stripe_efactura import app as use_cases
from stripe_efactura.app import accounts
from stripe_efactura.app.audit_log import Actor
from stripe_efactura.app.context import build_context
from stripe_efactura.config import demo_settings
from stripe_efactura.demo.console import AsgiServer, ConsoleDemo, start_console


@pytest.fixture(scope="session")
def chromium() -> Path:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api")
    return CHROMIUM


@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[Any]:
    """Chromium for one test module: Playwright's sync API keeps an event loop running in
    this thread while it is open, which other modules' ``asyncio.run`` must not meet."""
    from playwright import sync_api

    with sync_api.sync_playwright() as pw:
        launched = pw.chromium.launch(
            executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def demo_console(
    chromium: Path,
    installed_validation: Path,
    demo_run: DemoRun,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ConsoleDemo]:
    """The demo's four invoices and one payment that needs attention, served with the
    console; one admin account (:data:`ADMIN`). The demo is the run tests/demo checks (a copy
    of its folder)."""
    directory = demo_copy(demo_run, tmp_path_factory.mktemp("console-demo") / "demo")
    console = start_console(directory, installed_validation, admin=False)
    accounts.add_user(console.ctx, Actor(name="test", via="cli"), ADMIN[0], ADMIN[1], "admin")
    yield console
    console.stop()


@pytest.fixture
def empty_console(chromium: Path, tmp_path: Path) -> Iterator[tuple[str, Any]]:
    """A fresh service without any account (first run): (url, context)."""
    from stripe_efactura.web.app import create_app

    ctx = build_context(demo_settings(tmp_path, database_url=f"sqlite:///{tmp_path / 'e.db'}"))
    use_cases.prepare(ctx)
    server = AsgiServer(create_app(ctx)).start()
    yield server.url, ctx
    server.stop()
    ctx.close()


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = os.environ.get("EFACTURA_CONSOLE_SHOTS")
    folder = Path(target) if target else tmp_path_factory.mktemp("shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
