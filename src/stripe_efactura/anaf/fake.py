"""A faithful in-process fake of ANAF's RO e-Factura API and OAuth server (ASGI, Starlette).

Used by the tests and by ``stripe-efactura demo``. Paths, parameters, status codes and bodies
follow ANAF's swagger files and the verbatim answers in ``ANAF.md`` §1.3 (XML namespaces
``respUploadFisier``, ``stareMesajFactura``, ``mesajEroriFactuta``; JSON ``eroare``/``titlu``;
HTTP 400 Spring-style JSON). Where ANAF's exact wording is not published the fake says so in a
comment next to the text.

Endpoints (``{env}`` is ``test`` or ``prod``)::

    GET  /anaf-oauth2/v1/authorize           302 to redirect_uri?code=..&state=..
    POST /anaf-oauth2/v1/token               authorization_code | refresh_token (rotating)
    POST /{env}/FCTEL/rest/upload            standard, cif, extern, autofactura, executare
    POST /{env}/FCTEL/rest/uploadb2c         same
    GET  /{env}/FCTEL/rest/stareMesaj        id_incarcare
    GET  /{env}/FCTEL/rest/descarcare        id                     -> real ZIP
    GET  /{env}/FCTEL/rest/listaMesajeFactura            zile, cif, filtru
    GET  /{env}/FCTEL/rest/listaMesajePaginatieFactura   startTime, endTime, cif, pagina, filtru
    POST /prod/FCTEL/rest/validare/{FACT1|FCN}           no auth (public host); test -> 404

Run standalone::

    uvicorn --factory stripe_efactura.anaf.fake:create_fake_anaf --port 8099
    uvicorn stripe_efactura.anaf.fake:app --port 8099          # same, module-level app

In tests, :class:`FakeAnafTransport` runs the app in-process behind a *synchronous* httpx
transport (``httpx.ASGITransport`` is async-only), enforcing the client's read timeout and
turning an injected dropped connection into ``httpx.RemoteProtocolError``.
"""

from __future__ import annotations

import base64
import concurrent.futures
import hashlib
import io
import json
import random
import re
import threading
import uuid
import zipfile
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlencode

import anyio
import httpx
from lxml import etree
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from stripe_efactura.anaf.responses import NS_DSIG, NS_ERRORS, NS_STATUS, NS_UPLOAD
from stripe_efactura.tz import BUCHAREST as RO_TZ

UBL_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
UBL_CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CII = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"

#: The error ANAF's CIUS-RO rules give for a missing seller tax id (verbatim, ``ANAF.md`` §1.3).
BR_RO_065 = (
    "[BR-RO-065]-Identificatorul de înregistrare fiscala a Vanzatorului (BT-32) trebuie sa fie "
    "înscris.\n\t\t#The Seller tax registration identifier (BT-32) shall be present."
)
BR_02 = "[BR-02]-An Invoice shall have an Invoice number (BT-1)."
TECHNICAL_ERROR = "A aparut o eroare tehnica. Cod: XXX"
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_VALIDATE_BYTES = 5 * 1024 * 1024

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


class ConnectionDropped(Exception):
    """Raised by the app to drop the connection without an answer (see FakeAnafTransport)."""


# --------------------------------------------------------------------------------------------
# State
# --------------------------------------------------------------------------------------------


class FakeClock:
    """The fake's clock: fixed at ``start`` (then moved by :meth:`advance`), or the real time
    plus an offset when ``start`` is None."""

    def __init__(self, start: datetime | None = None) -> None:
        if start is not None and start.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime")
        self._start = start
        self._offset = timedelta(0)

    def now(self) -> datetime:
        base = self._start if self._start is not None else datetime.now(UTC)
        return base + self._offset

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        self._offset += (delta or timedelta(0)) + timedelta(**kwargs)
        return self.now()


class FaultKind(StrEnum):
    SERVER_ERROR = "5xx"  # HTTP ``status`` (default 500), HTML body, nothing processed
    SLOW = "slow"  # waits ``delay`` seconds before handling (a short client timeout fires)
    DROP_AFTER_ACCEPT = "drop"  # upload recorded, then the connection drops (no answer)
    TIMEOUT_AFTER_ACCEPT = "hang"  # upload recorded, then no answer for ``delay`` seconds
    WAF = "waf"  # F5 "Request Rejected" HTML page, HTTP 200
    QUOTA_204 = "204"  # HTTP 204, empty body
    QUOTA_429 = "429"  # HTTP 429
    TECHNICAL = "technical"  # "A aparut o eroare tehnica. Cod: XXX" in the endpoint's format
    UNAUTHORIZED = "401"  # HTTP 401 as for a revoked token
    BAD_ZIP = "badzip"  # HTTP 200 application/zip that is no readable ZIP (descarcare)


@dataclass
class Fault:
    """An injected fault for the next ``times`` calls of ``endpoint`` (``"*"`` = any API call).

    Endpoint names: ``upload``, ``uploadb2c``, ``stareMesaj``, ``descarcare``,
    ``listaMesajeFactura``, ``listaMesajePaginatieFactura``, ``validare``, ``token``.
    """

    kind: FaultKind
    endpoint: str = "*"
    times: int = 1
    status: int = 500
    delay: float = 30.0


@dataclass
class FaultRates:
    """Faults drawn at random (seeded) for calls that no queued :class:`Fault` matched.

    ``rates`` maps an endpoint name (``"*"``: every API endpoint without an entry of its own;
    ``token`` only by name) to the chance of each fault kind per call. One seed, one sequence
    of faults for one sequence of calls. ``drawn`` counts what fired, per (endpoint, kind).
    """

    rates: dict[str, dict[FaultKind, float]]
    seed: int = 0
    delay: float = 30.0
    drawn: Counter[tuple[str, FaultKind]] = field(default_factory=Counter)
    rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def draw(self, endpoint: str, *, wildcard: bool) -> Fault | None:
        table = self.rates.get(endpoint)
        if table is None:
            table = self.rates.get("*", {}) if wildcard else {}
        roll, total = self.rng.random(), 0.0
        for kind, chance in table.items():
            total += chance
            if roll < total:
                self.drawn[(endpoint, kind)] += 1
                return Fault(kind, endpoint, delay=self.delay)
        return None


@dataclass
class PlannedOutcome:
    """Force the processing outcome of the next upload (of ``invoice_number`` when given)."""

    state: str  # "nok" or "xml_errors"
    messages: tuple[str, ...] = (BR_RO_065,)
    invoice_number: str | None = None


@dataclass
class FakeMessage:
    """One upload as ANAF keeps it."""

    index: str
    endpoint: str
    cif: str
    standard: str
    params: dict[str, str]
    xml: bytes
    uploaded_at: datetime
    invoice_number: str | None
    issue_date: str | None
    seller_cif: str | None
    buyer_cif: str | None
    outcome: str  # "ok" | "nok" | "xml_errors"
    errors: tuple[str, ...]
    download_id: str | None
    polls: int = 0
    finished_at: datetime | None = None


@dataclass
class FakeOAuthClient:
    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...] = ()  # empty = any redirect_uri accepted


@dataclass
class _Grant:
    client_id: str
    expires_at: datetime
    used: bool = False
    redirect_uri: str = ""


@dataclass
class FakeAnafState:
    """Everything the fake remembers, plus the knobs tests turn.

    ``cifs``: CIFs the token holder has SPV rights for (None = every CIF). ``processing_polls``:
    how many ``stareMesaj`` answers say ``in prelucrare`` before the final state;
    ``processing_delay``: or final after this much clock time (None = polls only).
    """

    clock: FakeClock = field(default_factory=FakeClock)
    cifs: set[str] | None = None
    require_auth: bool = True
    processing_polls: int = 1
    processing_delay: timedelta | None = timedelta(seconds=60)
    list_delay: timedelta = timedelta(0)
    duplicate_window: timedelta | None = None
    rate_limit_per_minute: int = 1000
    status_limit_per_day: int = 100
    download_limit_per_day: int = 10
    list_limit_per_day: int = 1500
    paged_list_limit_per_day: int = 100_000
    rasp_limit_per_day: int = 1000
    page_size: int = 500
    retention: timedelta = timedelta(days=60)
    code_lifetime: timedelta = timedelta(seconds=60)
    access_lifetime: timedelta = timedelta(days=90)
    refresh_lifetime: timedelta = timedelta(days=365)
    cert_serial: str = "1234AA456"
    deny_authorization: bool = False
    tell_expiry: bool = True
    """False: token answers without ``expires_in`` and JWTs without ``exp`` (the tokens still
    expire after ``access_lifetime``; the client cannot know when)."""
    clients: dict[str, FakeOAuthClient] = field(
        default_factory=lambda: {
            "fake-client-id": FakeOAuthClient("fake-client-id", "fake-client-secret")
        }
    )
    messages: dict[str, FakeMessage] = field(default_factory=dict)
    spv_extra: list[tuple[datetime, dict[str, str]]] = field(default_factory=list)
    """SPV list entries not made by an upload of this fake (buyer messages, invoices received
    from suppliers, filings made by other programs): (listed at, the entry as listed)."""
    faults: list[Fault] = field(default_factory=list)
    fault_rates: FaultRates | None = None
    """Random faults for calls no queued fault matched (fault-injection runs)."""
    broken_downloads: set[str] = field(default_factory=set)
    """Download ids whose ZIP is always unreadable (a download the archive step refuses)."""
    planned: list[PlannedOutcome] = field(default_factory=list)
    request_log: list[tuple[datetime, str, str]] = field(default_factory=list)  # API calls
    minute_counts: dict[datetime, int] = field(default_factory=dict)
    counters: dict[tuple[str, str, date], int] = field(default_factory=dict)
    codes: dict[str, _Grant] = field(default_factory=dict)
    access_tokens: dict[str, _Grant] = field(default_factory=dict)
    refresh_tokens: dict[str, _Grant] = field(default_factory=dict)
    next_index: int = 5001130147
    next_download_id: int = 3001474424
    serial_counter: int = 0
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    # ---- test helpers -----------------------------------------------------------------------

    def inject(self, fault: Fault | FaultKind | str, endpoint: str = "*", **kw: Any) -> Fault:
        """Queue a fault; returns it (its ``times`` counts down as it fires)."""
        if not isinstance(fault, Fault):
            fault = Fault(FaultKind(fault), endpoint, **kw)
        with self.lock:
            self.faults.append(fault)
        return fault

    def inject_nok(
        self, *messages: str, invoice_number: str | None = None, state: str = "nok"
    ) -> None:
        """The next upload (of ``invoice_number``) ends ``nok`` with these error messages."""
        with self.lock:
            self.planned.append(PlannedOutcome(state, messages or (BR_RO_065,), invoice_number))

    def uploads(self, invoice_number: str | None = None) -> list[FakeMessage]:
        """Uploads taken (optionally of one BT-1 number), oldest first."""
        with self.lock:
            found = list(self.messages.values())
        if invoice_number is not None:
            found = [m for m in found if m.invoice_number == invoice_number]
        return found

    def upload_count(self, invoice_number: str) -> int:
        return len(self.uploads(invoice_number))

    def add_spv_message(
        self, at: datetime, tip: str, id_solicitare: str, detalii: str, cif: str, id: str = ""
    ) -> dict[str, str]:
        """List an SPV message that no upload here produced (e.g. ``MESAJ CUMPARATOR PRIMIT``
        about an invoice, ``ERORI FACTURA`` of a filing made elsewhere)."""
        entry = {
            "data_creare": _stamp(at),
            "cif": cif,
            "id_solicitare": id_solicitare,
            "detalii": detalii,
            "tip": tip,
            "id": id,
        }
        with self.lock:
            self.spv_extra.append((at, entry))
        return entry

    def mint_tokens(self, client_id: str = "fake-client-id") -> dict[str, Any]:
        """Issue a token pair directly (what the token endpoint would answer)."""
        with self.lock:
            return _issue_tokens(self, client_id, jwt=True)

    def next_serial(self) -> int:
        with self.lock:
            self.serial_counter += 1
            return self.serial_counter

    def take_fault(self, endpoint: str, *, wildcard: bool = True) -> Fault | None:
        """The next queued fault for ``endpoint`` (``"*"`` faults match API calls only)."""
        matches = ("*", endpoint) if wildcard else (endpoint,)
        with self.lock:
            for fault in self.faults:
                if fault.times > 0 and fault.endpoint in matches:
                    fault.times -= 1
                    if fault.times == 0:
                        self.faults.remove(fault)
                    return fault
            if self.fault_rates is not None:
                return self.fault_rates.draw(endpoint, wildcard=wildcard)
        return None

    def count(self, kind: str, key: str) -> int:
        """Increment and return today's (Romania) count of ``kind`` calls for ``key``."""
        day = self.clock.now().astimezone(RO_TZ).date()
        with self.lock:
            value = self.counters.get((kind, key, day), 0) + 1
            self.counters[(kind, key, day)] = value
            return value


# --------------------------------------------------------------------------------------------
# Formatting helpers
# --------------------------------------------------------------------------------------------

_ATTR_ESCAPES = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    '"': "&quot;",
    "\n": "&#xA;",
    "\t": "&#x9;",
}


def _attr(value: str) -> str:
    return "".join(_ATTR_ESCAPES.get(ch, ch) for ch in value)


def _ro(moment: datetime) -> datetime:
    return moment.astimezone(RO_TZ)


def _stamp(moment: datetime) -> str:
    return _ro(moment).strftime("%Y%m%d%H%M")


def _human(moment: datetime) -> str:
    return _ro(moment).strftime("%d-%m-%Y %H:%M:%S")


def _spring_error(now: datetime, status: int, message: str) -> JSONResponse:
    reasons = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 429: "Too Many Requests"}
    return JSONResponse(
        {
            "timestamp": _ro(now).strftime("%d-%m-%Y %H:%M:%S"),
            "status": status,
            "error": reasons.get(status, "Error"),
            "message": message,
        },
        status_code=status,
    )


def _xml(body: str) -> Response:
    return Response(body.encode("utf-8"), media_type="application/xml")


_XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


def _upload_ok(index: str, now: datetime) -> Response:
    return _xml(
        f'{_XML_DECL}<header xmlns="{NS_UPLOAD}" dateResponse="{_stamp(now)}" '
        f'ExecutionStatus="0" index_incarcare="{index}"/>'
    )


def _upload_error(message: str, now: datetime) -> Response:
    return _xml(
        f'{_XML_DECL}<header xmlns="{NS_UPLOAD}" dateResponse="{_stamp(now)}" '
        f'ExecutionStatus="1">\n    <Errors errorMessage="{_attr(message)}"/>\n</header>'
    )


def _status_answer(state: str, download_id: str | None) -> Response:
    extra = f' id_descarcare="{download_id}"' if download_id else ""
    return _xml(f'{_XML_DECL}<header xmlns="{NS_STATUS}" stare="{_attr(state)}"{extra}/>')


def _status_error(message: str) -> Response:
    return _xml(
        f'{_XML_DECL}<header xmlns="{NS_STATUS}">\n'
        f'    <Errors errorMessage="{_attr(message)}"/>\n</header>'
    )


def _eroare(message: str, title: str) -> JSONResponse:
    return JSONResponse({"eroare": message, "titlu": title})


def waf_page(support_id: str) -> str:
    """The F5 ASM blocking page ANAF's firewall serves (HTTP 200)."""
    return (
        "<html><head><title>Request Rejected</title></head><body>The requested URL was "
        "rejected. Please consult with your administrator.<br><br>Your support ID is: "
        f"{support_id}<br><br><a href='javascript:history.back();'>[Go Back]</a></body></html>"
    )


def error_file_xml(message: FakeMessage) -> bytes:
    """The ``nok`` error list, as in the download ZIP."""
    errors = "".join(f'\n  <Error errorMessage="{_attr(m)}"/>' for m in message.errors)
    return (
        f'{_XML_DECL}<header xmlns="{NS_ERRORS}" Index_incarcare="{message.index}" '
        f'Cif_emitent="{message.seller_cif or message.cif}">{errors}\n</header>\n'
    ).encode()


def signature_xml(index: str, document: bytes, serial: int) -> bytes:
    """A detached XML-DSig shaped like the Ministry's ``semnatura_<index>.xml``.

    The digest is the real SHA-256 of the document; the signature value and certificate are
    placeholders (this is a fake: it proves nothing).
    """
    digest = base64.b64encode(hashlib.sha256(document).digest()).decode()
    value = base64.b64encode(hashlib.sha512(b"fake-anaf-signature:" + document).digest() * 4)
    cert = base64.b64encode(b"FAKE ANAF CERTIFICATE " + str(serial).encode() * 8)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<Signature xmlns="{NS_DSIG}" Id="fake-anaf-{serial}">'
        '<SignedInfo><CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>'
        '<SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>'
        f'<Reference URI="{index}.xml"><DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>'
        f"<DigestValue>{digest}</DigestValue></Reference></SignedInfo>"
        f"<SignatureValue>{value.decode()}</SignatureValue>"
        f"<KeyInfo><X509Data><X509Certificate>{cert.decode()}</X509Certificate></X509Data></KeyInfo>"
        "</Signature>\n"
    ).encode()


def build_zip(message: FakeMessage, serial: int) -> bytes:
    """The ``descarcare`` ZIP: ``<index>.xml`` (invoice or error list) and
    ``semnatura_<index>.xml``."""
    document = message.xml if message.outcome == "ok" else error_file_xml(message)
    finished = _ro(message.finished_at or message.uploaded_at)
    stamp = (finished.year, finished.month, finished.day, finished.hour, finished.minute, 0)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in (
            (f"{message.index}.xml", document),
            (f"semnatura_{message.index}.xml", signature_xml(message.index, document, serial)),
        ):
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


# --------------------------------------------------------------------------------------------
# OAuth
# --------------------------------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _jwt(state: FakeAnafState, client_id: str, kind: str, exp: datetime, now: datetime) -> str:
    serial = state.next_serial()
    header = {"alg": "RS512", "typ": "JWT"}
    payload = {
        "iss": "https://logincert.anaf.ro",
        "sub": state.cert_serial,
        "aud": [client_id],
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        **({"exp": int(exp.timestamp())} if state.tell_expiry else {}),
        "jti": str(uuid.UUID(int=serial)),
        "scope": "clientappid info issuer role serial",
        "clientappid": client_id,
        "role": "HELLO@EFACTURA@ETRANSPORT@SRV_EFACTURA",
        "serial": state.cert_serial,
        "token_type": kind,
    }
    signing_input = (
        f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(payload).encode())}"
    )
    signature = hashlib.sha512(f"fake:{signing_input}".encode()).digest() * 4
    return f"{signing_input}.{_b64url(signature)}"


def _issue_tokens(state: FakeAnafState, client_id: str, *, jwt: bool) -> dict[str, Any]:
    now = state.clock.now()
    access_exp = now + state.access_lifetime
    refresh_exp = now + state.refresh_lifetime
    if jwt:
        access = _jwt(state, client_id, "access", access_exp, now)
        refresh = _jwt(state, client_id, "refresh", refresh_exp, now)
    else:
        access = uuid.UUID(int=state.next_serial()).hex
        refresh = uuid.UUID(int=state.next_serial()).hex
    state.access_tokens[access] = _Grant(client_id, access_exp)
    state.refresh_tokens[refresh] = _Grant(client_id, refresh_exp)
    answer = {
        "access_token": access,
        "token_type": "Bearer",
        "refresh_token": refresh,
        "expires_in": int(state.access_lifetime.total_seconds()),
        "scope": "clientappid info issuer role serial",
    }
    if not state.tell_expiry:
        del answer["expires_in"]
    return answer


def _oauth_error(error: str, description: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


def _client_credentials(request: Request, form: dict[str, str]) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:].strip()).decode("utf-8")
        except ValueError:
            return None
        client_id, _, secret = decoded.partition(":")
        return client_id, secret
    if "client_id" in form:
        return form["client_id"], form.get("client_secret", "")
    return None


async def _authorize(request: Request) -> Response:
    state: FakeAnafState = request.app.state.fake
    params = request.query_params
    client = state.clients.get(params.get("client_id", ""))
    redirect_uri = params.get("redirect_uri", "")
    if params.get("response_type") != "code" or client is None or not redirect_uri:
        return Response("Invalid authorization request", status_code=400)
    if client.redirect_uris and redirect_uri not in client.redirect_uris:
        return Response("Invalid redirect_uri", status_code=400)
    query: dict[str, str] = {}
    if state.deny_authorization:
        query["error"] = "access_denied"
    else:
        with state.lock:
            code = uuid.UUID(int=state.next_serial()).hex
            state.codes[code] = _Grant(
                client.client_id, state.clock.now() + state.code_lifetime, redirect_uri=redirect_uri
            )
        query["code"] = code
    if "state" in params:
        query["state"] = params["state"]
    separator = "&" if "?" in redirect_uri else "?"
    return RedirectResponse(f"{redirect_uri}{separator}{urlencode(query)}", status_code=302)


async def _token(request: Request) -> Response:
    state: FakeAnafState = request.app.state.fake
    fault = state.take_fault("token", wildcard=False)
    if fault is not None:
        early = await _fault_answer(state, fault, "token")
        if early is not None:
            return early
    form = {k: str(v) for k, v in (await request.form()).items()}
    creds = _client_credentials(request, form)
    client = state.clients.get(creds[0]) if creds else None
    if creds is None or client is None or client.client_secret != creds[1]:
        return _oauth_error("invalid_client", "Bad client credentials", 401)
    now = state.clock.now()
    jwt = form.get("token_content_type") == "jwt"
    grant_type = form.get("grant_type")
    with state.lock:
        if grant_type == "authorization_code":
            grant = state.codes.get(form.get("code", ""))
            if grant is None or grant.used or grant.client_id != client.client_id:
                return _oauth_error("invalid_grant", "Invalid authorization code")
            grant.used = True
            if now > grant.expires_at:
                return _oauth_error("invalid_grant", "Authorization code expired")
            if form.get("redirect_uri") != grant.redirect_uri:
                return _oauth_error("invalid_grant", "Invalid redirect_uri")
            return JSONResponse(_issue_tokens(state, client.client_id, jwt=jwt))
        if grant_type == "refresh_token":
            grant = state.refresh_tokens.get(form.get("refresh_token", ""))
            if grant is None or grant.used or grant.client_id != client.client_id:
                return _oauth_error("invalid_grant", "Invalid refresh token")
            if now > grant.expires_at:
                return _oauth_error("invalid_grant", "Refresh Token status is expired")
            grant.used = True  # rotation: the old refresh token is dead from now on
            return JSONResponse(_issue_tokens(state, client.client_id, jwt=jwt))
    return _oauth_error("unsupported_grant_type", f"Unsupported grant_type {grant_type}")


# --------------------------------------------------------------------------------------------
# API plumbing: rate limit, auth, faults
# --------------------------------------------------------------------------------------------

Handler = Callable[[Request, FakeAnafState], Awaitable[Response]]


def _technical_answer(endpoint: str, now: datetime) -> Response:
    if endpoint in ("upload", "uploadb2c"):
        return _upload_error(TECHNICAL_ERROR, now)
    if endpoint == "stareMesaj":
        return _status_error(TECHNICAL_ERROR)
    if endpoint == "validare":
        return JSONResponse(
            {"stare": "nok", "Messages": [{"message": TECHNICAL_ERROR}], "trace_id": "technical"}
        )
    if endpoint == "token":
        return _oauth_error("server_error", TECHNICAL_ERROR, 500)
    title = "Descarcare mesaj" if endpoint == "descarcare" else "Lista Mesaje"
    return _eroare(TECHNICAL_ERROR, title)


async def _fault_answer(state: FakeAnafState, fault: Fault, endpoint: str) -> Response | None:
    """The answer for a fault that fires before handling, or None to handle normally."""
    now = state.clock.now()
    kind = fault.kind
    if kind is FaultKind.SLOW:
        await anyio.sleep(fault.delay)
        return None
    if kind is FaultKind.SERVER_ERROR:
        body = f"<html><body><h1>{fault.status} Internal Server Error</h1></body></html>"
        return Response(body, status_code=fault.status, media_type="text/html")
    if kind is FaultKind.WAF:
        support = f"{7_000_000_000_000_000_000 + state.next_serial()}"
        return Response(waf_page(support), media_type="text/html")
    if kind is FaultKind.QUOTA_204:
        return Response(status_code=204)
    if kind is FaultKind.QUOTA_429:
        # ANAF's 429 body is not published; the status is what matters.
        return _spring_error(now, 429, "Limita de apeluri depasita")
    if kind is FaultKind.TECHNICAL:
        return _technical_answer(endpoint, now)
    if kind is FaultKind.UNAUTHORIZED:
        return _spring_error(now, 401, "Unauthorized")
    if kind is FaultKind.BAD_ZIP and endpoint == "descarcare":
        return _unreadable_zip()
    return None  # DROP / HANG act after handling (BAD_ZIP elsewhere: no effect)


def _unreadable_zip() -> Response:
    return Response(b"PK\x03\x04 truncated", media_type="application/zip")


def _over_rate_limit(state: FakeAnafState, request: Request) -> bool:
    """Log the API call and count it against the minute it falls in (fixed windows)."""
    now = state.clock.now()
    minute = now.replace(second=0, microsecond=0)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    with state.lock:
        state.request_log.append((now, request.method, target))
        del state.request_log[: max(0, len(state.request_log) - 10_000)]
        count = state.minute_counts.get(minute, 0) + 1
        state.minute_counts = {minute: count}  # only the current minute matters
    return count > state.rate_limit_per_minute


def _authorised(request: Request, state: FakeAnafState) -> bool:
    if not state.require_auth:
        return True
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer "):
        return False
    grant = state.access_tokens.get(header[7:].strip())
    return grant is not None and state.clock.now() < grant.expires_at


def _api(
    endpoint: str, handler: Handler, *, auth: bool = True
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint_fn(request: Request) -> Response:
        state: FakeAnafState = request.app.state.fake
        if request.path_params.get("env") not in ("test", "prod"):
            return Response("Not Found", status_code=404)
        now = state.clock.now()
        if _over_rate_limit(state, request):
            return _spring_error(now, 429, "Limita de apeluri depasita")
        fault = state.take_fault(endpoint)
        if fault is not None:
            early = await _fault_answer(state, fault, endpoint)
            if early is not None:
                return early
        if auth and not _authorised(request, state):
            return _spring_error(now, 401, "Unauthorized")
        response = await handler(request, state)
        if fault is not None and fault.kind is FaultKind.DROP_AFTER_ACCEPT:
            raise ConnectionDropped(f"{endpoint}: connection dropped after the request was taken")
        if fault is not None and fault.kind is FaultKind.TIMEOUT_AFTER_ACCEPT:
            await anyio.sleep(fault.delay)
        return response

    return endpoint_fn


# --------------------------------------------------------------------------------------------
# Upload
# --------------------------------------------------------------------------------------------

_ROOTS = {
    "UBL": (UBL_INVOICE, "Invoice"),
    "CN": (UBL_CREDIT_NOTE, "CreditNote"),
    "CII": (CII, "CrossIndustryInvoice"),
}


def _text(root: etree._Element, path: str) -> str | None:
    found = root.find(path, {"cbc": CBC, "cac": CAC})
    return found.text.strip() if found is not None and found.text else None


def _party_cif(root: etree._Element, role: str) -> str | None:
    for path in (
        f"cac:{role}/cac:Party/cac:PartyTaxScheme/cbc:CompanyID",
        f"cac:{role}/cac:Party/cac:PartyLegalEntity/cbc:CompanyID",
    ):
        value = _text(root, path)
        if value:
            return re.sub(r"^RO", "", value.replace(" ", "").upper())
    return None


def _check_upload_params(params: dict[str, str], state: FakeAnafState) -> str | None:
    standard, cif = params["standard"], params["cif"]
    if standard not in ("UBL", "CN", "CII", "RASP"):
        return "Valorile acceptate pentru parametrul standard sunt UBL, CN, CII sau RASP"
    if not cif.isdigit():
        return f"CIF introdus= {cif} nu este un numar"
    for name, label in (
        ("extern", "extern"),
        ("autofactura", "autofacturare"),
        ("executare", "executare"),
    ):
        if name in params and params[name] != "DA":
            return f"Daca parametrul {label} trebuie completat, valoarea acceptata este DA"
    if state.cifs is not None and cif not in state.cifs:
        return f"Nu aveti drept in SPV pentru CIF={cif}"
    return None


def _parse_invoice(body: bytes, standard: str) -> tuple[etree._Element | None, str | None]:
    try:
        root = etree.fromstring(body, parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        line, column = exc.position
        detail = re.sub(r", line \d+, column \d+$", "", exc.msg).rstrip(".")
        return None, (
            "Fisierul transmis nu este valid. org.xml.sax.SAXParseException; "
            f"lineNumber: {line}; columnNumber: {column}; {detail}. "
        )
    expected = _ROOTS.get(standard)
    qname = etree.QName(root)
    if expected is not None and (qname.namespace, qname.localname) != expected:
        return None, (
            "Fisierul transmis nu este valid. org.xml.sax.SAXParseException; lineNumber: "
            f"{root.sourceline or 1}; columnNumber: 1; cvc-elt.1.a: Cannot find the declaration "
            f"of element '{qname.localname}'. "
        )
    return root, None


def _decide(state: FakeAnafState, msg: FakeMessage) -> tuple[str, tuple[str, ...]]:
    for plan in state.planned:
        if plan.invoice_number in (None, msg.invoice_number):
            state.planned.remove(plan)
            return plan.state, plan.messages
    if msg.standard == "RASP":
        return "ok", ()
    if msg.invoice_number is None and msg.standard != "CII":
        return "nok", (BR_02,)
    autofactura = msg.params.get("autofactura") == "DA"
    if msg.seller_cif and msg.seller_cif != msg.cif and not autofactura and msg.standard != "CII":
        # Fake-specific wording: ANAF's text for this case is not published.
        text = (
            f"CIF-ul vanzatorului {msg.seller_cif} din factura nu corespunde cu CIF-ul "
            f"{msg.cif} din request"
        )
        return "nok", (text,)
    for earlier in state.messages.values():
        if (
            earlier.outcome == "ok"
            and earlier.index != msg.index
            and (earlier.seller_cif, earlier.invoice_number, earlier.issue_date)
            == (msg.seller_cif, msg.invoice_number, msg.issue_date)
            and (
                state.duplicate_window is None
                or msg.uploaded_at - earlier.uploaded_at <= state.duplicate_window
            )
        ):
            day = _ro(earlier.uploaded_at).date().isoformat()
            text = (
                f"Factura a mai fost transmisa anterior cu index={earlier.index} "
                f"si data incarcare={day}"
            )
            return "nok", (text,)
    return "ok", ()


def _upload_handler(endpoint: str) -> Handler:
    async def handler(request: Request, state: FakeAnafState) -> Response:
        now = state.clock.now()
        params = dict(request.query_params)
        if not params.get("standard") or not params.get("cif"):
            return _spring_error(now, 400, "Parametrii standard si cif sunt obligatorii")
        body = await request.body()
        if not body:
            return _spring_error(
                now, 400, "Trebuie sa aveti atasat in request un fisier de tip xml"
            )
        if len(body) > MAX_UPLOAD_BYTES:
            return _upload_error("Marime fisier transmis mai mare de 10 MB.", now)
        problem = _check_upload_params(params, state)
        if problem:
            return _upload_error(problem, now)
        cif = params["cif"]
        if params["standard"] == "RASP" and state.count("rasp", cif) > state.rasp_limit_per_day:
            return _upload_error(
                f"S-au incarcat deja {state.rasp_limit_per_day} de mesaje de tip RASP pentru "
                f"cui={cif} in cursul zilei",
                now,
            )
        root, problem = _parse_invoice(body, params["standard"])
        if root is None:
            return _upload_error(problem or "Fisierul transmis nu este valid.", now)
        ubl = params["standard"] in ("UBL", "CN")
        with state.lock:
            index = str(state.next_index)
            state.next_index += 1
            msg = FakeMessage(
                index=index,
                endpoint=endpoint,
                cif=params["cif"],
                standard=params["standard"],
                params=params,
                xml=body,
                uploaded_at=now,
                invoice_number=_text(root, "cbc:ID") if ubl else None,
                issue_date=_text(root, "cbc:IssueDate") if ubl else None,
                seller_cif=_party_cif(root, "AccountingSupplierParty") if ubl else None,
                buyer_cif=_party_cif(root, "AccountingCustomerParty") if ubl else None,
                outcome="ok",
                errors=(),
                download_id=None,
            )
            msg.outcome, msg.errors = _decide(state, msg)
            if msg.outcome != "xml_errors":
                msg.download_id = str(state.next_download_id)
                state.next_download_id += 1
            state.messages[index] = msg
        return _upload_ok(index, now)

    return handler


# --------------------------------------------------------------------------------------------
# Status, download, lists
# --------------------------------------------------------------------------------------------


def _finish_due(state: FakeAnafState, now: datetime) -> None:
    """Finish every message whose processing time has passed (ANAF works without polls)."""
    if state.processing_delay is None:
        return
    with state.lock:
        for msg in state.messages.values():
            if msg.finished_at is None and now >= msg.uploaded_at + state.processing_delay:
                msg.finished_at = msg.uploaded_at + state.processing_delay


def _may_see(state: FakeAnafState, cif: str) -> bool:
    return state.cifs is None or cif in state.cifs


async def _status(request: Request, state: FakeAnafState) -> Response:
    now = state.clock.now()
    raw = request.query_params.get("id_incarcare")
    if not raw:
        return _spring_error(now, 400, "Parametrul id_incarcare este obligatoriu")
    if not raw.isdigit():
        return _status_error(f"Id_incarcare introdus= {raw} nu este un numar intreg")
    msg = state.messages.get(raw)
    if msg is None:
        return _status_error(f"Nu exista factura cu id_incarcare= {raw}")
    if not _may_see(state, msg.cif):
        return _status_error(f"Nu aveti dreptul de inteorgare pentru id_incarcare= {raw}")
    if state.count("stareMesaj", raw) > state.status_limit_per_day:
        # Assumed wording, on the pattern of ANAF's published descarcare limit message.
        return _status_error(
            f"S-au facut deja {state.status_limit_per_day} interogari la mesajul cu "
            f"id_incarcare={raw} in cursul zilei"
        )
    _finish_due(state, now)
    with state.lock:
        msg.polls += 1
        if msg.finished_at is None and msg.polls > state.processing_polls:
            msg.finished_at = now
        if msg.finished_at is None:
            return _status_answer("in prelucrare", None)
    if msg.outcome == "xml_errors":
        return _status_answer("XML cu erori nepreluat de sistem", None)
    return _status_answer(msg.outcome, msg.download_id)


async def _download(request: Request, state: FakeAnafState) -> Response:
    now = state.clock.now()
    title = "Descarcare mesaj"
    raw = request.query_params.get("id")
    if not raw:
        return _spring_error(now, 400, "Parametrul id este obligatoriu")
    if not raw.isdigit():
        return _eroare(f"Id descarcare introdus= {raw} nu este un numar intreg", title)
    _finish_due(state, now)
    msg = next((m for m in state.messages.values() if m.download_id == raw and m.finished_at), None)
    if msg is None or msg.finished_at is None:
        return _eroare(f"Pentru id={raw} nu exista inregistrata nici o factura", title)
    if not _may_see(state, msg.cif):
        return _eroare("Nu aveti dreptul sa descarcati acesta factura", title)
    if now - msg.finished_at > state.retention:
        return _eroare(
            "Fisierul nu mai poate fi descarcat pentru ca a trecut perioada de 60 de zile in "
            "care este disponibil",
            title,
        )
    if state.count("descarcare", raw) > state.download_limit_per_day:
        return _eroare(
            f"S-au facut deja {state.download_limit_per_day} descarcari la mesajul cu "
            f"id_descarcare={raw} in cursul zilei",
            title,
        )
    if raw in state.broken_downloads:
        return _unreadable_zip()
    data = build_zip(msg, int(msg.index))
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{raw}.zip"'},
    )


_FILTERS = {"E": "ERORI FACTURA", "T": "FACTURA TRIMISA", "P": "FACTURA PRIMITA", "R": "MESAJ"}


def _entries(
    state: FakeAnafState, cif: str, filtru: str | None, now: datetime
) -> list[tuple[datetime, dict[str, str]]]:
    _finish_due(state, now)
    found: list[tuple[datetime, dict[str, str]]] = []
    with state.lock:
        for msg in state.messages.values():
            if msg.cif != cif or msg.finished_at is None or msg.outcome == "xml_errors":
                continue
            visible = msg.finished_at + state.list_delay
            if visible > now:
                continue
            if msg.outcome == "ok":
                tip = "FACTURA TRIMISA"
                details = (
                    f"Factura cu id_incarcare={msg.index} emisa de cif_emitent="
                    f"{msg.seller_cif or msg.cif} pentru cif_beneficiar={msg.buyer_cif or ''}"
                )
            else:
                tip = "ERORI FACTURA"
                details = (
                    "Erori de validare identificate la factura transmisa cu "
                    f"id_incarcare={msg.index}"
                )
            if filtru and not tip.startswith(_FILTERS[filtru]):
                continue
            found.append(
                (
                    visible,
                    {
                        "data_creare": _stamp(visible),
                        "cif": msg.cif,
                        "id_solicitare": msg.index,
                        "detalii": details,
                        "tip": tip,
                        "id": msg.download_id or "",
                    },
                )
            )
        for at, entry in state.spv_extra:
            wanted = not filtru or entry["tip"].startswith(_FILTERS[filtru])
            if entry["cif"] == cif and at <= now and wanted:
                found.append((at, dict(entry)))
    found.sort(key=lambda e: (e[0], e[1]["id"]), reverse=True)
    return found


def _list_common(
    state: FakeAnafState, cif: str, filtru: str | None, title: str, paged: bool
) -> Response | None:
    if not cif.isdigit():
        suffix = " sau nu are o valoare acceptata de sistem" if paged else ""
        return _eroare(f"CIF introdus= {cif} nu este un numar{suffix}", title)
    if filtru is not None and filtru not in _FILTERS:
        return _eroare("Valorile acceptate pentru parametrul filtru sunt E, T, P sau R", title)
    if not _may_see(state, cif):
        return _eroare(f"Nu aveti drept in SPV pentru CIF={cif}", title)
    return None


async def _list_simple(request: Request, state: FakeAnafState) -> Response:
    now = state.clock.now()
    title = "Lista Mesaje"
    q = request.query_params
    zile, cif, filtru = q.get("zile"), q.get("cif"), q.get("filtru")
    if not zile or not cif:
        return _spring_error(now, 400, "Parametrii zile si cif sunt obligatorii")
    if not zile.isdigit():
        return _eroare(f"Numarul de zile introdus= {zile} nu este un numar intreg", title)
    days = int(zile)
    if not 1 <= days <= 60:
        return _eroare("Numarul de zile trebuie sa fie intre 1 si 60", title)
    problem = _list_common(state, cif, filtru, title, paged=False)
    if problem is not None:
        return problem
    if state.count("lista", cif) > state.list_limit_per_day:
        return _eroare(
            f"S-au facut deja {state.list_limit_per_day} interogari de lista mesaje de catre "
            "utilizator in cursul zilei",
            title,
        )
    entries = [e for t, e in _entries(state, cif, filtru, now) if t >= now - timedelta(days=days)]
    if not entries:
        return _eroare(f"Nu exista mesaje in ultimele {days} zile", title)
    if len(entries) > 500:
        return _eroare(
            "Lista de mesaje este mai mare decat numarul de 500 elemente permise in pagina. "
            "Folositi endpoint-ul cu paginatie.",
            title,
        )
    return JSONResponse(
        {
            "mesaje": entries,
            "serial": state.cert_serial,
            "cui": cif,
            "titlu": f"Lista Mesaje disponibile din ultimele {days} zile",
        }
    )


async def _list_paged(request: Request, state: FakeAnafState) -> Response:
    now = state.clock.now()
    title = "Lista Mesaje"
    q = request.query_params
    start_raw, end_raw, cif, page_raw = (
        q.get(k) for k in ("startTime", "endTime", "cif", "pagina")
    )
    filtru = q.get("filtru")
    if not start_raw or not end_raw or not cif or not page_raw:
        return _spring_error(
            now, 400, "Parametrii startTime, endTime, cif si pagina sunt obligatorii"
        )
    problem = _paged_numbers_problem(start_raw, end_raw, page_raw, title)
    if problem is None:
        problem = _list_common(state, cif, filtru, title, paged=True)
    if problem is not None:
        return problem
    start = datetime.fromtimestamp(int(start_raw) / 1000, tz=UTC)
    end = datetime.fromtimestamp(int(end_raw) / 1000, tz=UTC)
    problem = _paged_window_problem(start, end, now, title)
    if problem is None:
        problem = _paged_quota_problem(state, cif, title)
    if problem is not None:
        return problem
    entries = [e for t, e in _entries(state, cif, filtru, now) if start <= t <= end]
    if not entries:
        return _eroare("Nu exista mesaje in intervalul selectat", title)
    return _paged_answer(state, cif, entries, int(page_raw), (start, end), title)


def _paged_numbers_problem(
    start_raw: str, end_raw: str, page_raw: str, title: str
) -> Response | None:
    """The times are milliseconds and the page a number from 1."""
    for name, value in (("startTime", start_raw), ("endTime", end_raw), ("pagina", page_raw)):
        if not value.isdigit() or (name == "pagina" and int(value) < 1):
            return _eroare(
                f"{name} = {value} nu este un numar sau nu are o valoare acceptata de sistem", title
            )
    return None


def _paged_window_problem(
    start: datetime, end: datetime, now: datetime, title: str
) -> Response | None:
    """The interval starts at most 60 days ago, ends after it starts and not in the future."""
    if start < now - timedelta(days=60):
        return _eroare(
            f"startTime = {_human(start)} nu poate fi mai vechi de 60 de zile fata de momentul "
            "requestului",
            title,
        )
    if end <= start:
        return _eroare(f"endTime = {_human(end)} nu poate fi <= startTime = {_human(start)}", title)
    if end > now:
        return _eroare(
            f"endTime = {_human(end)} nu poate in viitor fata de momentul requestului", title
        )
    return None


def _paged_quota_problem(state: FakeAnafState, cif: str, title: str) -> Response | None:
    """Counts this call against the day's paged listings of ``cif``."""
    if state.count("lista_paginatie", cif) > state.paged_list_limit_per_day:
        return _eroare(
            f"S-au facut deja {state.paged_list_limit_per_day} interogari de lista mesaje de "
            "catre utilizator in cursul zilei",
            title,
        )
    return None


def _paged_answer(
    state: FakeAnafState,
    cif: str,
    entries: list[dict[str, str]],
    page: int,
    window: tuple[datetime, datetime],
    title: str,
) -> Response:
    """Page ``page`` of ``entries`` (``state.page_size`` a page), or the error past the last."""
    size = state.page_size
    total_pages = (len(entries) + size - 1) // size
    if page > total_pages:
        return _eroare(
            f"Pagina solicitata {page} este mai mare decat numarul toatal de pagini {total_pages}",
            title,
        )
    chunk = entries[(page - 1) * size : page * size]
    start, end = window
    return JSONResponse(
        {
            "mesaje": chunk,
            "numar_inregistrari_in_pagina": len(chunk),
            "numar_total_inregistrari_per_pagina": size,
            "numar_total_inregistrari": len(entries),
            "numar_total_pagini": total_pages,
            "index_pagina_curenta": page,
            "serial": state.cert_serial,
            "cui": cif,
            "titlu": f"Lista Mesaje disponibile din intervalul {_human(start)} - {_human(end)}",
        }
    )


# --------------------------------------------------------------------------------------------
# Public validation
# --------------------------------------------------------------------------------------------


async def _validate(request: Request, state: FakeAnafState) -> Response:
    now = state.clock.now()
    if request.path_params["env"] != "prod":
        return JSONResponse(
            {
                "timestamp": now.isoformat(timespec="milliseconds"),
                "status": 404,
                "error": "Not Found",
                "path": "/FCTEL/rest/validare/",
            },
            status_code=404,
        )
    trace = str(uuid.UUID(int=state.next_serial()))
    body = await request.body()

    def nok(*messages: str) -> JSONResponse:
        return JSONResponse(
            {"stare": "nok", "Messages": [{"message": m} for m in messages], "trace_id": trace}
        )

    if request.path_params["standard"] not in ("FACT1", "FCN"):
        return nok("Valorile acceptate pentru parametrul standard sunt FACT1 si FCN")
    if len(body) > MAX_VALIDATE_BYTES:
        return nok("Marime fisier transmis mai mare de 5 MB.")
    if b";CP " in body or b"schemaLocation" in body:
        # ANAF.md §1.2: the F5 WAF on webservicesp rejects these with its HTML page.
        return Response(
            waf_page(str(8_000_000_000_000_000_000 + state.next_serial())), media_type="text/html"
        )
    try:
        root = etree.fromstring(body, parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        return nok(f"E: validari xsd  eroare: {exc.msg}")
    if _text(root, "cbc:ID") is None:
        return nok(f"E: validari globale  SCHEMATRON   eroare: {BR_02}")
    return JSONResponse({"stare": "ok", "trace_id": trace})


def sample_invoice(
    number: str = "STR-0001",
    issue_date: str = "2026-03-02",
    seller: str = "RO12345678",
    buyer: str = "87654321",
    *,
    with_id: bool = True,
) -> bytes:
    """A minimal UBL invoice carrying what the fake checks (BT-1, BT-2, seller and buyer ids).

    Not a valid CIUS-RO invoice: for exercising the transport and the fake only.
    """
    id_line = f"  <cbc:ID>{number}</cbc:ID>\n" if with_id else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<Invoice xmlns="{UBL_INVOICE}" xmlns:cac="{CAC}" xmlns:cbc="{CBC}">\n'
        "  <cbc:CustomizationID>urn:cen.eu:en16931:2017#compliant#urn:efactura.mfinante.ro:"
        "CIUS-RO:1.0.1</cbc:CustomizationID>\n"
        f"{id_line}"
        f"  <cbc:IssueDate>{issue_date}</cbc:IssueDate>\n"
        "  <cac:AccountingSupplierParty><cac:Party><cac:PartyTaxScheme>"
        f"<cbc:CompanyID>{seller}</cbc:CompanyID>"
        "<cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme>"
        "</cac:Party></cac:AccountingSupplierParty>\n"
        "  <cac:AccountingCustomerParty><cac:Party><cac:PartyLegalEntity>"
        f"<cbc:CompanyID>{buyer}</cbc:CompanyID></cac:PartyLegalEntity>"
        "</cac:Party></cac:AccountingCustomerParty>\n"
        "</Invoice>\n"
    ).encode()


# --------------------------------------------------------------------------------------------
# App and transport
# --------------------------------------------------------------------------------------------


def create_fake_anaf(state: FakeAnafState | None = None) -> Starlette:
    """The fake ANAF as an ASGI app; ``app.state.fake`` is the :class:`FakeAnafState`."""
    rest = "/{env}/FCTEL/rest"
    routes = [
        Route("/anaf-oauth2/v1/authorize", _authorize, methods=["GET"]),
        Route("/anaf-oauth2/v1/token", _token, methods=["POST"]),
        Route(f"{rest}/upload", _api("upload", _upload_handler("upload")), methods=["POST"]),
        Route(
            f"{rest}/uploadb2c", _api("uploadb2c", _upload_handler("uploadb2c")), methods=["POST"]
        ),
        Route(f"{rest}/stareMesaj", _api("stareMesaj", _status), methods=["GET"]),
        Route(f"{rest}/descarcare", _api("descarcare", _download), methods=["GET"]),
        Route(
            f"{rest}/listaMesajeFactura", _api("listaMesajeFactura", _list_simple), methods=["GET"]
        ),
        Route(
            f"{rest}/listaMesajePaginatieFactura",
            _api("listaMesajePaginatieFactura", _list_paged),
            methods=["GET"],
        ),
        Route(
            f"{rest}/validare/{{standard}}",
            _api("validare", _validate, auth=False),
            methods=["POST"],
        ),
    ]
    app = Starlette(routes=routes)
    app.state.fake = state if state is not None else FakeAnafState()
    return app


def __getattr__(name: str) -> Any:
    # ``uvicorn stripe_efactura.anaf.fake:app``: built on first access, not at import.
    if name == "app":
        value = create_fake_anaf()
        globals()["app"] = value
        return value
    raise AttributeError(name)


class FakeAnafTransport(httpx.BaseTransport):
    """A synchronous httpx transport that serves requests from an ASGI app in-process.

    The client's read timeout is enforced (a hanging or slow fake answer raises
    ``httpx.ReadTimeout``); :class:`ConnectionDropped` becomes ``httpx.RemoteProtocolError``.
    """

    def __init__(self, app: Starlette) -> None:
        self.app = app
        self._inner = httpx.ASGITransport(app=app)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        timeout = request.extensions.get("timeout", {}).get("read")
        copy = httpx.Request(
            request.method,
            request.url,
            headers=request.headers,
            content=body,
            extensions=request.extensions,
        )

        async def call() -> tuple[int, list[tuple[bytes, bytes]], bytes]:
            with anyio.fail_after(timeout):
                response = await self._inner.handle_async_request(copy)
                content = await response.aread()
            return response.status_code, list(response.headers.raw), content

        try:
            status, headers, content = _run(call)
        except TimeoutError as exc:
            raise httpx.ReadTimeout("The read operation timed out", request=request) from exc
        except ConnectionDropped as exc:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            ) from exc
        return httpx.Response(status, headers=headers, content=content, request=request)


def _run(fn: Callable[[], Awaitable[Any]]) -> Any:
    try:
        import asyncio

        asyncio.get_running_loop()
    except RuntimeError:
        return anyio.run(fn)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(anyio.run, fn).result()


def main(argv: list[str] | None = None) -> None:
    """``python -m stripe_efactura.anaf.fake [--host H] [--port P] [knobs]``."""
    import argparse

    import uvicorn

    parser = argparse.ArgumentParser(description="Run the fake ANAF e-Factura server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--processing-seconds", type=float, default=60.0)
    parser.add_argument("--processing-polls", type=int, default=1)
    parser.add_argument("--cif", action="append", help="CIF with SPV rights (repeat; default any)")
    parser.add_argument("--client-id", default="fake-client-id")
    parser.add_argument("--client-secret", default="fake-client-secret")
    args = parser.parse_args(argv)
    state = FakeAnafState(
        cifs=set(args.cif) if args.cif else None,
        processing_polls=args.processing_polls,
        processing_delay=timedelta(seconds=args.processing_seconds),
        clients={args.client_id: FakeOAuthClient(args.client_id, args.client_secret)},
    )
    uvicorn.run(create_fake_anaf(state), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
