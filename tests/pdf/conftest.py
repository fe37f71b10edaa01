"""Fixtures for the PDF tests: the hand-built invoices (``invoice_factory.py``)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

import support

FACTORY_PATH = Path(__file__).with_name("invoice_factory.py")


def load_factory() -> ModuleType:
    return support.invoice_factory()


@pytest.fixture(scope="session")
def factory() -> ModuleType:
    return load_factory()
