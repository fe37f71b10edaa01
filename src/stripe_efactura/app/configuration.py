"""The effective configuration as the console shows it: every setting, secrets masked."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ..config import Settings

SECRET_FIELDS = frozenset(
    {
        "secret_key",
        "stripe_webhook_secrets",
        "stripe_api_key",
        "anaf_client_secret",
        "smtp_password",
        "metrics_token",
    }
)


def mask(value: str) -> str:
    """A secret shown by its kind and last 4 characters only (``whsec_…a1b2``)."""
    if not value:
        return ""
    head = value.split("_", 1)[0] + "_" if "_" in value[:8] else ""
    tail = value[-4:] if len(value) >= 12 else ""
    return f"{head}…{tail}" if tail else "••••"


def _show(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (tuple, list)):
        return ", ".join(_show(v) for v in value)
    if isinstance(value, Path):
        return str(value)
    return str(value)


def _flatten(prefix: str, value: object) -> list[tuple[str, str]]:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: list[tuple[str, str]] = []
        for f in dataclasses.fields(value):
            out += _flatten(f"{prefix}.{f.name}", getattr(value, f.name))
        return out
    return [(prefix, _show(value))]


def effective(settings: Settings) -> list[tuple[str, str]]:
    """``(name, shown value)`` of every setting; secrets masked, the database password too."""
    rows: list[tuple[str, str]] = []
    for f in dataclasses.fields(settings):
        value = getattr(settings, f.name)
        if f.name in SECRET_FIELDS:
            items = value if isinstance(value, tuple) else (value,)
            rows.append((f.name, ", ".join(mask(str(v)) for v in items if v)))
        elif f.name == "database_url":
            rows.append((f.name, _hide_password(str(value))))
        else:
            rows += _flatten(f.name, value)
    return rows


def _hide_password(url: str) -> str:
    """``postgresql://user:secret@host/db`` -> ``postgresql://user:••••@host/db``."""
    if "://" not in url or "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    if ":" in creds:
        creds = creds.split(":", 1)[0] + ":••••"
    return f"{scheme}://{creds}@{host}"
