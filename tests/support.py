"""Helpers shared by test folders (tests/ is on sys.path through tests/conftest.py)."""

from __future__ import annotations

import importlib.util
import socket
import sys
from pathlib import Path
from types import ModuleType

TESTS = Path(__file__).resolve().parent
INVOICE_FACTORY = TESTS / "pdf" / "invoice_factory.py"


def load_module(path: Path, name: str) -> ModuleType:
    """Import a helper module of another test folder once (import mode is importlib)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def invoice_factory() -> ModuleType:
    """``tests/pdf/invoice_factory.py``: hand-built invoices with correct arithmetic."""
    return load_module(INVOICE_FACTORY, "efactura_tests_invoice_factory")


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
