"""Helpers shared by test folders (``tests/`` is on pytest's ``pythonpath``)."""

from __future__ import annotations

import socket
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType

TESTS = Path(__file__).resolve().parent


def invoice_factory() -> ModuleType:
    """``factories.invoices``: hand-built invoices with correct arithmetic."""
    from factories import invoices

    return invoices


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def toml_table(doc: Mapping[str, object], *keys: str) -> Mapping[str, object]:
    """``doc[k1][k2]…`` of a parsed efactura.toml, each step asserted to be a table
    (``config.parse_toml`` types a value as any TOML value, so it is narrowed here)."""
    for key in keys:
        value = doc[key]
        assert isinstance(value, dict), f"[{key}] is not a table: {value!r}"
        doc = value
    return doc
