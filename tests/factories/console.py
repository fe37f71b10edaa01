"""Constants and helpers of the console's browser tests (tests/console)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ADMIN = ("ana.admin@example.ro", "parola-lunga-de-test-1")


def screenshot(page: Any, folder: Path, name: str) -> Path:
    """A full-page PNG, reduced to a 64-colour palette to keep the committed files small."""
    from io import BytesIO

    from PIL import Image

    raw = page.screenshot(full_page=True)
    image = Image.open(BytesIO(raw)).convert("RGB").quantize(colors=64)
    path = folder / f"{name}.png"
    image.save(path, optimize=True)
    return path
