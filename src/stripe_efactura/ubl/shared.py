"""One validator process per host, shared by the worker processes (``SharedValidator``).

The official validator (both UBL XSDs in lxml, the compiled CIUS-RO stylesheet in Saxon) costs
a process about 180 MB, and Saxon's heap grows during a burst. A ``worker`` process does not
load it: it sends each document to one validator process (``ubl/validator_server.py``) over a
Unix socket next to the data (``<data_dir>/validator.sock``) and gets the findings back, the
same :class:`~stripe_efactura.ubl.validate.ValidationReport` the in-process validator gives.

- **Started on demand.** The first worker that finds no validator starts one (a detached
  ``python -m stripe_efactura.ubl.validator_server``); a lock file (``validator.sock.lock``,
  held by the server while it lives) keeps it to one per socket when workers race.
- **Restarted if it dies.** A request whose connection fails is sent again (twice at most)
  to a new process; when that fails too, :class:`ValidatorUnavailable`
  (``E-VALIDATOR-UNAVAILABLE``, a ``RetryLater``) stops the issuing job before any number is
  given: the job runs again later.
- **Missing artifacts** are the server's ``ValidationArtifactsMissing``, raised again in the
  worker with the same message (the issuing job waits for them as it does in-process).
- The server exits after a minute with no worker connected.

Wire format (both directions): a frame is one kind byte, a 4-byte big-endian length and that
many bytes. Requests: ``V`` + the UBL bytes (validate), ``I`` + nothing (who are you: pid,
RSS, whether the artifacts loaded). Answers: ``R`` + JSON (a report), ``I`` + JSON (info),
``E`` + JSON ``{"code", "message"}`` (an error).
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from hashlib import sha256
from pathlib import Path
from typing import IO, Literal

from ..errors import RetryLater, ValidationArtifactsMissing
from ..jsontypes import JsonObject, JsonValue, json_object
from .validate import Finding, Flag, ValidationReport

SOCKET_NAME = "validator.sock"
MAX_FRAME = 64 * 1024 * 1024
"""Largest frame either side accepts (ANAF takes UBL files up to 10 MB)."""
START_TIMEOUT = 90.0
"""Seconds a worker waits for a validator it started (loading takes 1-3 s, more under load)."""
REQUEST_TIMEOUT = 300.0
"""Seconds one request may take (the server validates one document at a time)."""
_HEADER = struct.Struct(">cI")
_FLAGS: dict[str, Flag] = {"fatal": "fatal", "warning": "warning", "xsd": "xsd"}
_FIELDS = ("rule_id", "flag", "location", "test", "message_ro", "message_en")


class ValidatorUnavailable(RetryLater):
    """The shared validator process could not be reached or started: nothing is numbered,
    the job runs again later."""

    code = "E-VALIDATOR-UNAVAILABLE"


class ProtocolError(ConnectionError):
    """A frame that is cut short, too large or of an unknown kind."""


def socket_path(data_dir: Path) -> Path:
    """``<data_dir>/validator.sock``, or a path under the temp folder when that one is too
    long for a Unix socket (108 bytes on Linux)."""
    path = Path(data_dir).resolve() / SOCKET_NAME
    if len(str(path).encode()) < 100:
        return path
    key = sha256(str(path).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"stripe-efactura-{key}.sock"


# --- frames -----------------------------------------------------------------------------------


def send_frame(sock: socket.socket, kind: bytes, payload: bytes) -> None:
    sock.sendall(_HEADER.pack(kind, len(payload)) + payload)


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks: list[bytes] = []
    left = size
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            raise ProtocolError("the connection closed in the middle of a frame")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def recv_frame(sock: socket.socket) -> tuple[bytes, bytes] | None:
    """``(kind, payload)``, or None when the peer closed the connection between frames."""
    first = sock.recv(1)
    if not first:
        return None
    kind, size = _HEADER.unpack(first + _recv_exact(sock, _HEADER.size - 1))
    if size > MAX_FRAME:
        raise ProtocolError(f"a frame of {size} bytes is over the limit ({MAX_FRAME})")
    return kind, _recv_exact(sock, size)


def encode_report(report: ValidationReport) -> bytes:
    findings: list[JsonValue] = [
        [f.rule_id, f.flag, f.location, f.test, f.message_ro, f.message_en] for f in report.findings
    ]
    return json.dumps({"document": report.document, "findings": findings}).encode()


def _finding(row: JsonValue) -> Finding:
    if not isinstance(row, list) or len(row) != len(_FIELDS):
        raise ProtocolError(f"a finding is not a list of {len(_FIELDS)} fields: {row!r}")
    texts = [str(v) for v in row]
    flag = _FLAGS.get(texts[1])
    if flag is None:
        raise ProtocolError(f"unknown finding flag {texts[1]!r}")
    return Finding(texts[0], flag, texts[2], texts[3], texts[4], texts[5])


def decode_report(payload: bytes) -> ValidationReport:
    body = _json(payload)
    rows, document = body.get("findings"), body.get("document")
    if not isinstance(rows, list) or not (document is None or isinstance(document, str)):
        raise ProtocolError("a report without findings or document")
    return ValidationReport(tuple(_finding(r) for r in rows), document)


def _json(payload: bytes) -> JsonObject:
    try:
        body = json_object(json.loads(payload))
    except ValueError as exc:
        raise ProtocolError(f"an answer that is not JSON: {exc}") from exc
    if body is None:
        raise ProtocolError("an answer that is not a JSON object")
    return body


def encode_error(code: str, message: str) -> bytes:
    return json.dumps({"code": code, "message": message}).encode()


def raise_error(payload: bytes) -> None:
    """Raise the error an ``E`` frame carries (missing artifacts keep their class)."""
    body = _json(payload)
    code, message = str(body.get("code", "")), str(body.get("message", ""))
    if code == ValidationArtifactsMissing.code:
        raise ValidationArtifactsMissing(message)
    raise ValidatorUnavailable(f"the shared validator failed: [{code}] {message}", delay_seconds=5)


# --- the client -------------------------------------------------------------------------------


Kind = Literal[b"V", b"I"]


class SharedValidator:
    """The worker's side: ``load`` and ``validate`` like
    :class:`~stripe_efactura.ubl.validate.Validator`, answered by the host's validator
    process. Thread-safe (one connection, one request at a time)."""

    def __init__(
        self,
        validation_dir: Path,
        socket_file: Path,
        *,
        command: list[str] | None = None,
        start_timeout: float = START_TIMEOUT,
    ) -> None:
        self.validation_dir = Path(validation_dir)
        self.socket_file = Path(socket_file)
        self.command = command or server_command(self.validation_dir, self.socket_file)
        self.start_timeout = start_timeout
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._started: subprocess.Popen[bytes] | None = None

    def load(self) -> None:
        """Reach the validator (starting it if need be) and check it has its artifacts."""
        info = self.info()
        if info.get("artifacts") != "ok":
            raise ValidationArtifactsMissing(str(info.get("artifacts")))

    def info(self) -> JsonObject:
        """The validator process's ``pid``, ``rss_kb`` and ``artifacts`` (``ok`` or why not)."""
        kind, payload = self._request(b"I", b"")
        if kind != b"I":
            raise ProtocolError(f"unexpected answer {kind!r} to an info request")
        return _json(payload)

    def validate(self, xml: bytes) -> ValidationReport:
        kind, payload = self._request(b"V", xml)
        if kind == b"E":
            raise_error(payload)
        if kind != b"R":
            raise ProtocolError(f"unexpected answer {kind!r} to a validation")
        return decode_report(payload)

    def close(self) -> None:
        with self._lock:
            self._disconnect()

    def _request(self, kind: Kind, payload: bytes) -> tuple[bytes, bytes]:
        """One request, sent again to a (re)started validator if it fails: twice at most (a
        validator that has just died may still accept one connection while it goes)."""
        with self._lock:
            for attempt in (1, 2, 3):
                try:
                    return self._exchange(kind, payload)
                except OSError as exc:  # ProtocolError is a ConnectionError
                    self._disconnect()
                    if attempt == 3:
                        raise self._unavailable(exc) from exc
        raise AssertionError("unreachable")

    def _exchange(self, kind: Kind, payload: bytes) -> tuple[bytes, bytes]:
        sock = self._connected()
        send_frame(sock, kind, payload)
        answer = recv_frame(sock)
        if answer is None:
            raise ProtocolError("the validator closed the connection without an answer")
        return answer

    def _unavailable(self, exc: OSError) -> ValidatorUnavailable:
        return ValidatorUnavailable(
            f"the shared validator at {self.socket_file} does not answer ({exc}); "
            f"its log: {log_path(self.socket_file)}",
            delay_seconds=5,
        )

    def _connected(self) -> socket.socket:
        if self._sock is None:
            try:
                self._sock = _connect(self.socket_file)
            except (FileNotFoundError, ConnectionRefusedError):
                self._sock = self._start()
        return self._sock

    def _disconnect(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
            self._sock = None

    def _start(self) -> socket.socket:
        """Start a validator process and wait until it (or one a racing worker started)
        accepts connections."""
        if self._started is not None:
            self._started.poll()  # reap the one that died
        self.socket_file.parent.mkdir(parents=True, exist_ok=True)
        self._started = self._spawn()
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(FileNotFoundError, ConnectionRefusedError):
                return _connect(self.socket_file)
            self._check_started()
            time.sleep(0.05)
        raise ValidatorUnavailable(
            f"the shared validator did not start within {self.start_timeout:.0f} s; "
            f"see {log_path(self.socket_file)}",
            delay_seconds=5,
        )

    def _spawn(self) -> subprocess.Popen[bytes]:
        with log_path(self.socket_file).open("ab") as log:
            return spawn(self.command, log)

    def _check_started(self) -> None:
        """Raise if the process started failed; start another if it gave way to a validator
        that held the lock (loading, or just stopping: then nobody would serve)."""
        assert self._started is not None
        code = self._started.poll()
        if code == 0:
            time.sleep(0.5)
            self._started = self._spawn()
        elif code is not None:
            raise ValidatorUnavailable(
                f"the shared validator exited with status {code} while starting; "
                f"see {log_path(self.socket_file)}",
                delay_seconds=5,
            )


def _connect(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(REQUEST_TIMEOUT)
        sock.connect(str(path))
    except OSError:
        sock.close()
        raise
    return sock


def log_path(socket_file: Path) -> Path:
    return socket_file.with_name(socket_file.name + ".log")


def server_command(validation_dir: Path, socket_file: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "stripe_efactura.ubl.validator_server",
        "--dir",
        str(validation_dir),
        "--socket",
        str(socket_file),
    ]


def spawn(command: list[str], log: IO[bytes]) -> subprocess.Popen[bytes]:
    """The validator process, in a session of its own (it outlives the worker that started
    it: the other workers use it too)."""
    return subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        start_new_session=True,
        close_fds=True,
    )
