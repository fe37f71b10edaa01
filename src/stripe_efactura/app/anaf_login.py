"""Authorising the application at ANAF (OAuth): the signed ``state`` of the authorize URL,
the redirect carrying the authorisation code (``GET /anaf/callback`` and ``anaf login
--listen``), and the bilingual page shown to the certificate holder."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from ..anaf.oauth import OAuthError
from .anaf_tokens import _key_exists, audit, encryption_key, exchange_code, oauth_client
from .context import AppContext

if TYPE_CHECKING:
    import ssl

#: How long an authorisation started by ``anaf login`` stays valid (the ``state`` parameter).
LOGIN_STATE_TTL = 900


# ---- the authorisation's ``state`` parameter (CSRF), stateless --------------------------------


def _mac(ctx: AppContext, payload: str) -> str:
    key = hashlib.sha256(b"anaf-login-state:" + encryption_key(ctx)).digest()
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()[:32]


def login_state(ctx: AppContext) -> str:
    """A signed, time-limited ``state`` for the authorize URL."""
    payload = f"{int(time.time())}.{secrets.token_hex(8)}"
    return f"{payload}.{_mac(ctx, payload)}"


def check_login_state(ctx: AppContext, state: str | None) -> bool:
    if not state or state.count(".") != 2:
        return False
    if not _key_exists(ctx):
        # no authorize URL was ever signed here: a forged state must not create secret.key
        return False
    stamp, nonce, mac = state.split(".")
    if not stamp.isdigit() or not hmac.compare_digest(mac, _mac(ctx, f"{stamp}.{nonce}")):
        return False
    return 0 <= time.time() - int(stamp) <= LOGIN_STATE_TTL


def authorize_url(ctx: AppContext, redirect_uri: str) -> str:
    with oauth_client(ctx) as oauth:
        return oauth.authorize_url(redirect_uri, state=login_state(ctx))


# ---- the OAuth redirect (``GET /anaf/callback`` and ``anaf login --listen``) ----------------


@dataclass(frozen=True)
class CallbackAnswer:
    status: int
    message_ro: str
    message_en: str


def handle_callback(
    ctx: AppContext,
    *,
    code: str | None,
    state: str | None,
    error: str | None,
    redirect_uri: str,
) -> CallbackAnswer:
    """Check the ``state``, exchange the ``code`` at once (it lives 60 s), store the tokens."""
    if error:
        audit.warning("ANAF authorisation refused: %s", error)
        return CallbackAnswer(
            400,
            f"ANAF a refuzat autorizarea ({error}). Folosiți calculatorul cu certificatul "
            "calificat înregistrat în SPV pentru CUI-ul firmei.",
            f"ANAF refused the authorisation ({error}). Use the computer with the qualified "
            "certificate registered in SPV for the company's CUI.",
        )
    if not code or not check_login_state(ctx, state):
        return CallbackAnswer(
            400,
            "Cerere de autorizare necunoscută sau expirată: rulați din nou "
            "`stripe-efactura anaf login`.",
            "Unknown or expired authorisation request: run `stripe-efactura anaf login` again.",
        )
    try:
        tokens = exchange_code(ctx, code, redirect_uri)
    except OAuthError as exc:
        return CallbackAnswer(
            400,
            f"ANAF a refuzat codul de autorizare: {exc.message}",
            f"ANAF refused the authorisation code: {exc.message}",
        )
    ro, en = reauthorise_by(tokens.refresh_exp)
    return CallbackAnswer(
        200,
        f"Autorizare ANAF reușită. Tokenurile sunt salvate criptat; {ro}.",
        f"ANAF authorisation succeeded. The tokens are stored encrypted; {en}.",
    )


def reauthorise_by(refresh_exp: datetime | None) -> tuple[str, str]:
    """When to authorise again (Romanian, English); said plainly when ANAF gave no expiry."""
    if refresh_exp is None:
        return (
            (
                "data de expirare a tokenului de reînnoire nu este cunoscută (ANAF nu a dat-o); "
                "veți fi anunțat când ANAF îl refuză"
            ),
            (
                "the refresh token's expiry is unknown (ANAF did not give one); you will be told "
                "when ANAF refuses it"
            ),
        )
    until = refresh_exp.date().isoformat()
    return f"reautorizare până la {until}", f"authorise again by {until}"


def callback_page(answer: CallbackAnswer) -> str:
    """The small bilingual HTML page shown to the certificate holder after the redirect."""
    import html

    title = "Autorizare ANAF / ANAF authorisation"
    return (
        '<!doctype html><html lang="ro"><head><meta charset="utf-8">'
        f"<title>{title}</title></head><body><h1>{title}</h1>"
        f"<p>{html.escape(answer.message_ro)}</p>"
        f'<p lang="en">{html.escape(answer.message_en)}</p></body></html>'
    )


def _handler(
    ctx: AppContext, redirect_uri: str, outcome: list[CallbackAnswer]
) -> type[BaseHTTPRequestHandler]:
    """A request handler that answers ANAF's redirect on the callback path (404 elsewhere)."""
    path = urlsplit(redirect_uri).path or "/"

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path != path:
                self.send_error(404)
                return
            q = {k: v[0] for k, v in parse_qs(url.query).items()}
            answer = handle_callback(
                ctx,
                code=q.get("code"),
                state=q.get("state"),
                error=q.get("error"),
                redirect_uri=redirect_uri,
            )
            body = callback_page(answer).encode()
            self.send_response(answer.status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            outcome.append(answer)

        def log_message(self, format: str, *args: object) -> None:
            return

    return Handler


def listen_once(
    ctx: AppContext,
    *,
    port: int,
    redirect_uri: str,
    host: str = "127.0.0.1",
    timeout: float = 600.0,
    tls: bool = False,
    ready: Callable[[int], None] | None = None,
) -> CallbackAnswer:
    """``anaf login --listen PORT``: a one-shot local listener for ANAF's redirect. Serves
    until one request reaches the callback path (or ``timeout``), exchanges its code at once
    and returns the outcome. ``tls``: HTTPS with a throw-away self-signed certificate for
    ``localhost`` (ANAF accepts only ``https://`` callback URLs, ``https://localhost`` too)."""
    outcome: list[CallbackAnswer] = []
    server = HTTPServer((host, port), _handler(ctx, redirect_uri, outcome))
    server.timeout = 0.5
    try:
        if tls:
            server.socket = _tls_context().wrap_socket(server.socket, server_side=True)
        if ready is not None:
            ready(int(server.server_address[1]))
        deadline = time.monotonic() + timeout
        while not outcome and time.monotonic() < deadline:
            server.handle_request()
    finally:
        server.server_close()
    if outcome:
        return outcome[0]
    return CallbackAnswer(
        408,
        "Nu a sosit niciun răspuns de la ANAF în timpul alocat.",
        "No answer from ANAF arrived in time.",
    )


def _tls_context() -> ssl.SSLContext:
    """An SSL context with a fresh self-signed certificate for localhost (kept in memory and a
    private temporary directory that is removed at once)."""
    import ipaddress
    import ssl
    import tempfile
    from pathlib import Path

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as tmp:
        cert_file, key_file = Path(tmp) / "cert.pem", Path(tmp) / "key.pem"
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        key_file.chmod(0o600)
        context.load_cert_chain(cert_file, key_file)
    return context
