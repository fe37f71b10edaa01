"""Fixtures of the settings and readiness tests: validation artifacts installed once."""

from __future__ import annotations

from pathlib import Path

import pytest

from stripe_efactura.ubl import artifacts


@pytest.fixture(scope="session")
def validation_dir(validation_src: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("validation")
    artifacts.install_from(validation_src, dest)
    return dest
