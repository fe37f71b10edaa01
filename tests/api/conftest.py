"""An app with one user per role, each with a write token, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from stripe_efactura import app as use_cases
from stripe_efactura.app import accounts, api_tokens
from stripe_efactura.app.audit_log import Actor
from stripe_efactura.app.context import AppContext
from stripe_efactura.config import demo_settings
from stripe_efactura.ubl import artifacts
from stripe_efactura.web.app import create_app

ROLES = ("admin", "accountant", "viewer")
PASSWORD = "a long enough password"


@dataclass
class Api:
    ctx: AppContext
    client: TestClient
    tokens: dict[str, str]
    """role -> write token; ``read:<role>`` -> read token."""

    def headers(self, who: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}


@pytest.fixture(scope="session")
def validation_dir(validation_src: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("validation")
    artifacts.install_from(validation_src, dest)
    return dest


def add_users(ctx: AppContext) -> dict[str, str]:
    """One user per role, each with a write and a read token."""
    cli = Actor(name="cli:test", via="cli")
    tokens: dict[str, str] = {}
    for role in ROLES:
        email = f"{role}@example.ro"
        accounts.add_user(ctx, cli, email, PASSWORD, role)
        tokens[role] = api_tokens.create_token(ctx, cli, email, "tests", "write")[1]
        tokens[f"read:{role}"] = api_tokens.create_token(ctx, cli, email, "bi", "read")[1]
    return tokens


@pytest.fixture
def api(tmp_path: Path, db_url: str) -> Iterator[Api]:
    ctx = use_cases.build_context(demo_settings(tmp_path, database_url=db_url))
    use_cases.prepare(ctx)
    tokens = add_users(ctx)
    with TestClient(create_app(ctx)) as client:
        yield Api(ctx, client, tokens)
    ctx.close()


@pytest.fixture
def make_users() -> Callable[[AppContext], dict[str, str]]:
    return add_users
