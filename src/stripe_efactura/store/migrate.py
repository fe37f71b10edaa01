"""Run alembic migrations programmatically (``stripe-efactura db upgrade``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from ..errors import SchemaError
from .db import sqlite_path, unavailable

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option(
        "sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%")
    )
    return cfg


def current_revision(engine: Engine) -> str | None:
    with unavailable(), engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (idempotent)."""
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def ensure_schema(engine: Engine) -> None:
    """``serve`` and ``worker`` upgrade a database that is behind (e.g. empty) themselves."""
    if current_revision(engine) != head_revision(engine):
        with unavailable():
            upgrade(engine)


_UPGRADE = "run `stripe-efactura db upgrade`"
_UPGRADE_RO = "rulați `stripe-efactura db upgrade`"


def check_schema(engine: Engine) -> None:
    """Read-only work: raise :class:`SchemaError` when the schema is missing or not the one
    this version expects; never migrates (and never creates an SQLite file)."""
    path = sqlite_path(engine)
    if path is not None and not path.exists():
        raise SchemaError(
            f"no database at {path}: {_UPGRADE} (or `init`) first",
            message_ro=f"nu există baza de date {path}: {_UPGRADE_RO} (sau `init`)",
        )
    current, head = current_revision(engine), head_revision(engine)
    if current is None:
        raise SchemaError(
            f"the database has no tables yet: {_UPGRADE}",
            message_ro=f"baza de date nu are încă tabele: {_UPGRADE_RO}",
        )
    if current != head:
        raise SchemaError(
            f"the database schema is at revision {current}, this version needs {head}: {_UPGRADE}",
            message_ro=f"schema bazei de date este la revizia {current}, este nevoie de {head}: "
            f"{_UPGRADE_RO}",
        )
