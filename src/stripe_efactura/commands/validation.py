"""`validation` commands."""

from __future__ import annotations

from . import app, validation_app  # noqa: F401
