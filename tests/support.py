"""Helpers shared by test folders (``tests/`` is on pytest's ``pythonpath``)."""

from __future__ import annotations

import importlib.util
import socket
import sys
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType

TESTS = Path(__file__).resolve().parent
BENCH = TESTS.parent / "bench"


def bench_script(name: str) -> ModuleType:
    """``bench/<name>.py`` loaded afresh as the module ``bench_<name>`` (the benches are
    scripts, not a package; ``bench/`` is on the path while it loads, for their siblings)."""
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCH))


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
