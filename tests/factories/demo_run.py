"""The demo run shared by tests/demo and tests/console (the ``demo_run`` fixture of
tests/conftest.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

DemoRun = tuple[int, str, str, Path, float]
"""``stripe-efactura demo --dir D``: (exit code, stdout, stderr, D, start timestamp)."""


def demo_copy(run: DemoRun, target: Path) -> Path:
    """A copy of the folder of ``run`` (which must have succeeded) at ``target``."""
    rc, out, err, directory, _ = run
    assert rc == 0, out + err
    shutil.copytree(directory, target)
    return target
