"""A real SMTP server (aiosmtpd) on 127.0.0.1 for the mail tests, plus a self-signed TLS cert."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import support

USER = "facturi@firma-mea.ro"
PASSWORD = "s3cret-Pass"


def _load_factory() -> ModuleType:
    return support.invoice_factory()


@pytest.fixture(scope="session")
def factory() -> ModuleType:
    return _load_factory()


_free_port = support.free_port


@pytest.fixture
def free_port() -> Callable[[], int]:
    """A TCP port on 127.0.0.1 nobody listens on (right now)."""
    return _free_port


@pytest.fixture(scope="session")
def smtp_credentials() -> tuple[str, str]:
    """(user, password) the test servers started with ``auth=True`` accept."""
    return USER, PASSWORD


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    tls: bool
    login: bytes | None


@dataclass
class Collector:
    """aiosmtpd handler: keeps every message; optional canned RCPT / DATA replies."""

    rcpt_reply: dict[str, str] = field(default_factory=dict)
    data_reply: str | None = None
    messages: list[Received] = field(default_factory=list)
    greetings: int = 0
    """EHLO commands received (one per plain connection, two with STARTTLS)."""

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        self.greetings += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        reply = self.rcpt_reply.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_reply:
            return self.data_reply
        login = session.auth_data.login if isinstance(session.auth_data, LoginPassword) else None
        self.messages.append(
            Received(
                mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos),
                data=envelope.original_content or envelope.content,
                # STARTTLS sets session.ssl; implicit TLS only shows on the transport
                tls=session.ssl is not None
                or server.transport.get_extra_info("ssl_object") is not None,
                login=login,
            )
        )
        return "250 Message accepted for delivery"


def make_authenticator(password: str) -> Callable[..., AuthResult]:
    def authenticator(
        server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == USER.encode()
            and auth_data.password == password.encode("utf-8")
        )
        return AuthResult(success=ok, auth_data=auth_data if ok else None, handled=False)

    return authenticator


@dataclass
class SmtpServer:
    handler: Collector
    port: int
    controller: Controller

    @property
    def messages(self) -> list[Received]:
        return self.handler.messages


StartServer = Callable[..., SmtpServer]


@pytest.fixture
def smtp_server() -> Iterator[StartServer]:
    """``start(port=None, *, auth=False, rcpt_reply=None, data_reply=None, **smtp_kwargs)``.

    Starts an aiosmtpd server on 127.0.0.1 that collects messages; ``auth=True`` requires
    AUTH with ``smtp_credentials`` (or ``password=``); ``rcpt_reply`` maps a recipient to a
    canned RCPT reply, ``data_reply`` replaces the DATA reply. Every server is stopped at the
    end of the test.
    """
    started: list[Controller] = []

    def start(
        port: int | None = None,
        *,
        auth: bool = False,
        rcpt_reply: dict[str, str] | None = None,
        data_reply: str | None = None,
        password: str = PASSWORD,
        **kwargs: Any,
    ) -> SmtpServer:
        handler = Collector(rcpt_reply=dict(rcpt_reply or {}), data_reply=data_reply)
        if auth:
            kwargs.setdefault("authenticator", make_authenticator(password))
            kwargs.setdefault("auth_required", True)
        port = port or _free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
        controller.start()
        started.append(controller)
        return SmtpServer(handler=handler, port=port, controller=controller)

    yield start
    for controller in started:
        if controller._thread is not None:  # a test may have stopped it already
            controller.stop()


@dataclass(frozen=True)
class Tls:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.cert, self.key)
        return ctx

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    """A self-signed certificate for 127.0.0.1 / localhost, made for this test run."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "stripe-efactura test SMTP")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    directory = tmp_path_factory.mktemp("tls")
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Tls(cert=cert_path, key=key_path)
