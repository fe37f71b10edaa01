"""Fixtures for the PDF tests: the hand-built invoices (``invoice_factory.py``)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

FACTORY_PATH = Path(__file__).with_name("invoice_factory.py")


def load_factory() -> ModuleType:
    name = "efactura_tests_invoice_factory"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, FACTORY_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def factory() -> ModuleType:
    return load_factory()
