"""What the demo runs against, all on loopback: its folder and settings, the validation files,
the demo BNR feed, a local SMTP sink, the web app under uvicorn and the ANAF authorisation."""

from __future__ import annotations

import email
import email.policy
import logging
import re
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Self
from urllib.parse import parse_qs, urlsplit

import httpx

from ..app import anaf_login, anaf_tokens
from ..app.context import AppContext, build_context
from ..config import STARTER_TOML, Settings, demo_settings
from ..errors import EfacturaError
from ..invoicing import deadlines
from ..ubl import artifacts
from .model import (
    ANAF_CLIENT,
    DEMO_EUR_RATE,
    DEMO_USD_RATE,
    FAKE_ANAF_BASE,
    FAKE_VIES_URL,
    REPO_ROOT,
    WEBHOOK_SECRET,
    CapturedMail,
    DemoError,
)

if TYPE_CHECKING:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import SMTP, Envelope, Session
    from starlette.types import ASGIApp

log = logging.getLogger("stripe_efactura.demo")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare_directory(directory: Path | None) -> Path:
    if directory is None:
        return Path(tempfile.mkdtemp(prefix="stripe-efactura-demo-"))
    directory = directory.expanduser().resolve()
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise DemoError(f"{directory} is not an empty folder: give a new or empty --dir")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def find_validation(
    directory: Path, env: Mapping[str, str], *, cwd: Path | None = None
) -> tuple[Path, str]:
    """The official validation files: ``(folder, where they came from)``.

    Order: ``EFACTURA_VALIDATION_DIR`` or ``<EFACTURA_DATA_DIR or efactura-data>/validation``
    when installed there; else installed into ``<directory>/validation`` from a
    ``../shared/validation`` folder (next to the current folder or to the checkout); else
    downloaded (``validation fetch``). Raises :class:`DemoError` when none works.
    """
    cwd = cwd or Path.cwd()
    installed = [
        Path(p)
        for p in (
            env.get("EFACTURA_VALIDATION_DIR"),
            str(Path(env.get("EFACTURA_DATA_DIR") or "efactura-data") / "validation"),
        )
        if p
    ]
    for candidate in installed:
        path = candidate if candidate.is_absolute() else cwd / candidate
        if artifacts.is_installed(path):
            return path, f"installed in {path}"
    dest = directory / "validation"
    for source in (
        cwd.parent / "shared" / "validation",
        REPO_ROOT.parent / "shared" / "validation",
    ):
        if source.is_dir():
            try:
                artifacts.install_from(source, dest)
            except EfacturaError as exc:
                log.warning("validation files in %s are not usable: %s", source, exc)
                continue
            return dest, f"installed from {source.resolve()}"
    try:
        artifacts.fetch(dest, timeout=45.0)
    except (EfacturaError, httpx.HTTPError, OSError) as exc:
        detail = exc.message if isinstance(exc, EfacturaError) else str(exc)
        raise DemoError(
            "The official validation files (UBL 2.1 XSD + ANAF CIUS-RO schematron) are not "
            f"installed and could not be downloaded ({detail}). Run `stripe-efactura validation "
            "fetch --dir efactura-data/validation` (or `... --from DIR` offline) in this folder, "
            "or set EFACTURA_VALIDATION_DIR, then run the demo again."
        ) from exc
    return dest, "downloaded from ANAF and OASIS (`stripe-efactura validation fetch`)"


def check_font(env: Mapping[str, str]) -> None:
    """Fail at once (not after the timeout) when no font with the Romanian letters exists
    (``EFACTURA_PDF_FONT`` in ``env`` names one explicitly)."""
    from ..pdf.fonts import ENV_FONT, ENV_FONT_BOLD, FontNotFound, find_font_files

    try:
        find_font_files(env={k: env[k] for k in (ENV_FONT, ENV_FONT_BOLD) if env.get(k)})
    except FontNotFound as exc:
        raise DemoError(f"the PDF needs a font with the Romanian letters: {exc.message}") from exc


def banking_days_before(issue: date, count: int = 10) -> list[date]:
    """The last ``count`` Romanian banking days before ``issue``, oldest first."""
    holidays = deadlines.romanian_holidays(issue.year) | deadlines.romanian_holidays(issue.year - 1)
    days: list[date] = []
    day = issue - timedelta(days=1)
    while len(days) < count:
        if day.weekday() < 5 and day not in holidays:
            days.append(day)
        day -= timedelta(days=1)
    return sorted(days)


def demo_bnr_xml(days: list[date]) -> bytes:
    """A feed in BNR's format (``nbrfxrates10days.xml`` shape) with the demo rates."""
    cubes = "".join(
        f'<Cube date="{d.isoformat()}"><Rate currency="EUR">{DEMO_EUR_RATE}</Rate>'
        f'<Rate currency="USD">{DEMO_USD_RATE}</Rate></Cube>\n'
        for d in days
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<DataSet xmlns="http://www.bnr.ro/xsd">\n'
        "<Header><Publisher>stripe-efactura DEMO feed - NOT published by the National Bank "
        f"of Romania</Publisher><PublishingDate>{days[-1].isoformat()}</PublishingDate>"
        "<MessageType>DR</MessageType></Header>\n"
        "<Body><Subject>Reference rates (demo values)</Subject><OrigCurrency>RON</OrigCurrency>\n"
        f"{cubes}</Body></DataSet>\n"
    ).encode()


class SmtpSink:
    """A local SMTP server that keeps every message and writes it to ``<folder>/NN-to.eml``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.mails: list[CapturedMail] = []
        self._lock = threading.Lock()
        self.port = _free_port()
        self._controller: Controller | None = None

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content or b""
        raw = content if isinstance(content, bytes) else content.encode("utf-8", "surrogateescape")
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            n = len(self.mails) + 1
            rcpt = re.sub(r"[^A-Za-z0-9@._-]+", "_", ",".join(envelope.rcpt_tos))[:60]
            path = self.folder / f"{n:02d}-{rcpt}.eml"
            self.folder.mkdir(parents=True, exist_ok=True)
            path.write_bytes(raw)
            self.mails.append(CapturedMail(path, message))
        return "250 Message accepted for delivery"

    def start(self) -> SmtpSink:
        from aiosmtpd.controller import Controller

        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


class AsgiServer:
    """Any ASGI app under uvicorn on a free loopback port, in a daemon thread."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        lifespan: Literal["auto", "on", "off"] = "auto",
        name: str = "demo-server",
        what: str = "a demo server",
    ) -> None:
        import uvicorn

        self.app = app
        self.what = what
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan=lifespan)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, name=name, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise DemoError(f"{self.what} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


class WebServer(AsgiServer):
    """The service's web app under uvicorn on a free loopback port, in a thread."""

    def __init__(self, ctx: AppContext) -> None:
        from ..web.app import create_app

        super().__init__(create_app(ctx), lifespan="on", name="demo-web", what="the web app")


@contextmanager
def running(start: Callable[[], object], stop: Callable[[], object]) -> Iterator[None]:
    start()
    try:
        yield
    finally:
        stop()


def authorise_anaf(ctx: AppContext) -> None:
    """``anaf login`` without a browser: the authorization-code flow against the fake ANAF,
    then the tokens are exchanged and stored (encrypted) by ``app.anaf_tokens``."""
    redirect_uri = str(ctx.settings.anaf_redirect_uri)
    url = anaf_login.authorize_url(ctx, redirect_uri)
    with httpx.Client(transport=ctx.anaf_transport, follow_redirects=False) as browser:
        answer = browser.get(url)
    location = answer.headers.get("location", "")
    query = parse_qs(urlsplit(location).query)
    code = (query.get("code") or [""])[0]
    state = (query.get("state") or [None])[0]
    if answer.status_code != 302 or not code or not anaf_login.check_login_state(ctx, state):
        raise DemoError(f"the fake ANAF authorisation failed: {answer.status_code} {location}")
    anaf_tokens.exchange_code(ctx, code, redirect_uri)


def demo_context(directory: Path, validation_dir: Path, smtp_port: int) -> AppContext:
    """Settings and adapters of the demo (the sample Stripe API, the fake ANAF and BNR).

    The starter ``efactura.toml`` the settings come from is written to the folder, so the
    other commands can look at the demo's data afterwards (``docs/demo.md``)."""
    (directory / "efactura.toml").write_text(STARTER_TOML, encoding="utf-8")
    settings: Settings = demo_settings(
        directory,
        database_url=f"sqlite:///{directory / 'efactura.db'}",
        stripe_webhook_secrets=(WEBHOOK_SECRET,),
        anaf_env="test",
        anaf_api_base=FAKE_ANAF_BASE,
        anaf_oauth_base=FAKE_ANAF_BASE,
        anaf_public_base=FAKE_ANAF_BASE,
        vies_url=FAKE_VIES_URL,
        anaf_client_id=ANAF_CLIENT[0],
        anaf_client_secret=ANAF_CLIENT[1],
        anaf_redirect_uri="http://127.0.0.1/anaf/callback",
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        smtp_starttls=False,
        validation_dir=validation_dir,
        config_path=directory / "efactura.toml",
    )
    return build_context(settings)
