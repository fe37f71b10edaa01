"""Issuing through the shared validator process (what a `worker` process does): while the
validator cannot be started, the invoice waits with E-VALIDATOR-UNAVAILABLE and no number is
used; once it can, the same payment is validated there and numbered."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from factories import stripe_flows as factory
from stripe_efactura import app as use_cases
from stripe_efactura.app.context import AppContext
from stripe_efactura.store import db
from stripe_efactura.store.tables import jobs
from stripe_efactura.ubl import shared
from stripe_efactura.ubl import validate as validate_mod

from .test_issue_pipeline import feed, issued, make_ctx


@pytest.fixture
def own_validators(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This test's validator choice is undone afterwards (the registry is process-wide)."""
    monkeypatch.setattr(validate_mod, "_validators", {})
    yield


def _issue_jobs(ctx: AppContext) -> list[tuple[str, str | None]]:
    with db.read(ctx.engine) as conn:
        rows = conn.execute(
            sa.select(jobs.c.status, jobs.c.last_error).where(jobs.c.task == "issue_invoice")
        ).all()
    return [(r.status, r.last_error) for r in rows]


def _stop_validator(ctx: AppContext) -> None:
    validator = validate_mod.get_validator(ctx.settings.validation_dir)
    assert isinstance(validator, shared.SharedValidator)
    os.kill(int(str(validator.info()["pid"])), signal.SIGTERM)
    validator.close()


def test_no_number_without_the_shared_validator_then_issued_through_it(
    tmp_path: Path,
    db_url: str,
    validation_dir: Path,
    own_validators: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    flow = factory.flow_a_checkout_card()
    ctx = make_ctx(tmp_path, db_url, validation_dir, flow.store())
    broken = [sys.executable, "-c", "raise SystemExit(3)"]
    with monkeypatch.context() as patch:
        patch.setattr(shared, "server_command", lambda *_: broken)
        use_cases.use_shared_validator(ctx)
    feed(ctx, flow.events)
    use_cases.make_worker(ctx).drain()
    assert issued(ctx) == []
    [(status, error)] = _issue_jobs(ctx)
    assert status == "queued" and error is not None
    assert error.startswith("[E-VALIDATOR-UNAVAILABLE] the shared validator exited with status 3")

    use_cases.use_shared_validator(ctx)  # the real validator process from now on
    with db.write(ctx.engine) as conn:
        conn.execute(jobs.update().values(run_at=db.db_now(conn)))
    try:
        use_cases.make_worker(ctx).drain()
        assert [(n, state) for n, _key, _total, state in issued(ctx)] == [
            ("TEST000001", "not_uploaded")
        ]
        assert [s for s, _e in _issue_jobs(ctx)] == ["done"]
        assert shared.socket_path(ctx.settings.data_dir).exists()
    finally:
        _stop_validator(ctx)
        ctx.close()
