"""The shared validator process: one per socket (per host and data folder), started on demand
by the first worker that needs it (``ubl/shared.py`` has the protocol and the client).

    python -m stripe_efactura.ubl.validator_server --dir VALIDATION_DIR --socket PATH

It holds ``PATH.lock`` while it lives (a second one started for the same socket exits at
once, status 0), loads the validator before it listens, answers each connection in a thread
(the validator serialises the XSD and Saxon calls itself) and exits after ``--idle-exit``
seconds with no connection open, or on SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import IO

from ..errors import ValidationArtifactsMissing
from .shared import encode_error, encode_report, recv_frame, send_frame
from .validate import Validator

IDLE_EXIT = 60.0
"""Seconds without any connection after which the process exits (a worker starts it again)."""
LOCK_WAIT = 120.0
"""Longest wait for another validator of the same socket to serve or stop."""


class _State:
    """The loaded validator and the open connections."""

    def __init__(self, validator: Validator) -> None:
        self.validator = validator
        self.artifacts = "not loaded"
        self._lock = threading.Lock()
        self._open = 0
        self._since = time.monotonic()

    def ensure_loaded(self) -> bool:
        """Load the validator if it is not yet (the artifacts may have been installed since
        the last try); ``artifacts`` says ``ok`` or why not."""
        if self.artifacts != "ok":
            try:
                self.validator.load()
                self.artifacts = "ok"
            except ValidationArtifactsMissing as exc:
                self.artifacts = exc.message
        return self.artifacts == "ok"

    def opened(self) -> None:
        with self._lock:
            self._open += 1

    def closed(self) -> None:
        with self._lock:
            self._open -= 1
            self._since = time.monotonic()

    def idle_for(self) -> float:
        with self._lock:
            return 0.0 if self._open else time.monotonic() - self._since


def rss_kb(pid: int | None = None) -> int:
    """VmRSS of a process (this one by default), from /proc; 0 where there is none."""
    try:
        status = Path(f"/proc/{pid or os.getpid()}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def answer(state: _State, kind: bytes, payload: bytes) -> tuple[bytes, bytes]:
    """The answer frame to one request frame."""
    if kind == b"I":
        state.ensure_loaded()
        info = {"pid": os.getpid(), "rss_kb": rss_kb(), "artifacts": state.artifacts}
        return b"I", json.dumps(info).encode()
    if kind != b"V":
        return b"E", encode_error("E-VALIDATOR-PROTOCOL", f"unknown request {kind!r}")
    if not state.ensure_loaded():
        return b"E", encode_error(ValidationArtifactsMissing.code, state.artifacts)
    try:
        return b"R", encode_report(state.validator.validate(payload))
    except Exception as exc:  # reported to the worker, whose job tries again; never a pass
        return b"E", encode_error("E-VALIDATOR-CRASH", f"{type(exc).__name__}: {exc}")


def _converse(conn: socket.socket, state: _State) -> None:
    state.opened()
    try:
        with conn:
            while (frame := recv_frame(conn)) is not None:
                send_frame(conn, *answer(state, *frame))
    except OSError as exc:  # the worker went away or sent garbage: drop this connection only
        _log(f"connection dropped: {exc}")
    finally:
        state.closed()


def _take_lock(socket_file: Path) -> IO[str] | None:
    """The lock that makes this process the socket's only server. While another process
    holds it, wait: None once that one accepts connections (it serves), the lock once it
    has let go (it was stopping); None too after ``LOCK_WAIT`` seconds (a holder that hangs
    is not replaced by a pile of waiting processes)."""
    handle = socket_file.with_name(socket_file.name + ".lock").open("a")
    deadline = time.monotonic() + LOCK_WAIT
    while True:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            return handle
        except BlockingIOError:
            if _accepts(socket_file) or time.monotonic() > deadline:
                handle.close()
                return None
            time.sleep(0.1)


def _accepts(socket_file: Path) -> bool:
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(socket_file))
        return True
    except OSError:
        return False
    finally:
        probe.close()


def _listen(socket_file: Path) -> socket.socket:
    with contextlib.suppress(FileNotFoundError):
        socket_file.unlink()  # a dead server's socket: we hold the lock
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)  # the socket is the owner's only
    try:
        server.bind(str(socket_file))
    finally:
        os.umask(old)
    server.listen(64)
    server.settimeout(1.0)
    return server


def _accept_loop(server: socket.socket, state: _State, idle_exit: float) -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    while not stop.is_set():
        try:
            conn, _addr = server.accept()
        except TimeoutError:
            if state.idle_for() > idle_exit:
                return
            continue
        conn.settimeout(None)
        threading.Thread(target=_converse, args=(conn, state), daemon=True).start()


def serve(validation_dir: Path, socket_file: Path, *, idle_exit: float = IDLE_EXIT) -> int:
    """Serve until idle or SIGTERM; 0 also when another process already serves the socket."""
    lock = _take_lock(socket_file)
    if lock is None:
        _log(f"another validator serves {socket_file}")
        return 0
    with lock:
        state = _State(Validator(validation_dir))
        state.ensure_loaded()
        server = _listen(socket_file)
        _log(f"serving {socket_file} (artifacts: {state.artifacts}, {rss_kb() // 1024} MB)")
        try:
            with server:
                _accept_loop(server, state, idle_exit)
        finally:
            with contextlib.suppress(FileNotFoundError):
                socket_file.unlink()
        _log(f"stopped ({rss_kb() // 1024} MB)")
    return 0


def _log(text: str) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    print(f"{stamp} validator {os.getpid()}: {text}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", type=Path, required=True, help="the validation artifacts")
    parser.add_argument("--socket", type=Path, required=True, help="the Unix socket to serve")
    parser.add_argument("--idle-exit", type=float, default=IDLE_EXIT)
    args = parser.parse_args(argv)
    return serve(args.dir, args.socket, idle_exit=args.idle_exit)


if __name__ == "__main__":
    raise SystemExit(main())
