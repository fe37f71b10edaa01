"""Fixtures for the PDF tests: the hand-built invoices (``factories.invoices``)."""

from __future__ import annotations

from types import ModuleType

import pytest

import support


def load_factory() -> ModuleType:
    return support.invoice_factory()


@pytest.fixture(scope="session")
def factory() -> ModuleType:
    return load_factory()
