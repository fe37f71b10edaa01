"""One way to write a file so that readers see the old bytes or the new, never half.

:func:`write_atomic` writes a temporary file in the same folder, fsyncs it, renames it over
the destination and fsyncs the folder, so the rename itself survives a power loss. Every
file the service keeps (exports, the ANAF archive, the outbox, validation artifacts, the
compiled schematron) is written with it.

Private files (issue 16: the data directory was 0755, the database, its WAL and the outbox
emails 0644, readable by every local user): :data:`PRIVATE` (0600) files are written in a
folder created 0700; :func:`private_dir` makes the data directory 0700 (tightening the one
an older version left looser); :func:`prepare_sqlite` creates the database file 0600 before
SQLite opens it (SQLite gives its ``-wal`` and ``-shm`` files the database file's mode).
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import tempfile
from pathlib import Path

log = logging.getLogger("stripe_efactura.files")

PRIVATE = 0o600
"""Mode of every file the service keeps in its data directory (not the public artifacts)."""
PRIVATE_DIR = 0o700


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # some platforms cannot open a folder; the rename is still atomic
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes | str, *, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` atomically and durably (creating the folder).

    Raises ``OSError`` (the caller turns it into its coded error); the temporary file is
    removed on failure.
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR if mode == PRIVATE else 0o777)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _tighten(path: Path, mode: int) -> None:
    try:
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            os.chmod(path, mode)
    except OSError as exc:  # not ours: say so and go on
        log.warning("cannot restrict %s to mode %o: %s", path, mode, exc.strerror)


def private_dir(path: Path) -> Path:
    """``mkdir -p path``; ``path`` itself ends up 0700 (its parents are left alone)."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    _tighten(path, PRIVATE_DIR)
    return path


def prepare_sqlite(path: Path) -> None:
    """Around SQLite opening ``path``: its folder exists (0700 when created here), and the
    database file and its side files are 0600. Called before the first connection (the file
    is not created here: read-only commands must not create a database) and on every new
    connection, before ``journal_mode=WAL`` creates the ``-wal`` and ``-shm`` files, which
    SQLite creates with the database file's mode."""
    path = Path(path)
    if not path.parent.exists():
        private_dir(path.parent)
    for suffix in ("", "-wal", "-shm", "-journal", "-writers"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            _tighten(side, PRIVATE)
