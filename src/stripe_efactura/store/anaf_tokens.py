"""The encrypted ANAF OAuth tokens, one row per company CUI (``anaf_tokens``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import db
from .tables import anaf_tokens


@dataclass(frozen=True)
class TokenRecord:
    cui: str
    ciphertext: bytes
    access_expires_at: datetime | None
    refresh_expires_at: datetime | None
    version: int
    updated_at: datetime


def get(conn: Connection, cui: str, *, lock: bool = False) -> TokenRecord | None:
    """The company's token row (``lock``: held for the write transaction)."""
    q = sa.select(anaf_tokens).where(anaf_tokens.c.cui == cui)
    if lock and not db.is_sqlite(conn):
        q = q.with_for_update()
    row = conn.execute(q).first()
    if row is None:
        return None
    return TokenRecord(
        cui=str(row.cui),
        ciphertext=bytes(row.ciphertext),
        access_expires_at=row.access_expires_at,
        refresh_expires_at=row.refresh_expires_at,
        version=int(row.version),
        updated_at=row.updated_at,
    )


def put(
    conn: Connection,
    cui: str,
    ciphertext: bytes,
    *,
    access_expires_at: datetime | None,
    refresh_expires_at: datetime | None,
) -> None:
    """Insert or replace the company's tokens (the version counts the replacements)."""
    values = {
        "ciphertext": ciphertext,
        "access_expires_at": access_expires_at,
        "refresh_expires_at": refresh_expires_at,
        "updated_at": db.db_now(conn),
    }
    if get(conn, cui, lock=True) is None:
        conn.execute(anaf_tokens.insert().values(cui=cui, version=1, **values))
    else:
        conn.execute(
            anaf_tokens.update()
            .where(anaf_tokens.c.cui == cui)
            .values(version=anaf_tokens.c.version + 1, **values)
        )
