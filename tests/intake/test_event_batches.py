"""The webhook writer's raw DB-API batch (store/event_batches.py) against accept_batch
(SQLAlchemy): the same rows, duplicates, and nothing reported before it is committed."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from stripe_efactura import app as use_cases
from stripe_efactura.app import intake
from stripe_efactura.app.context import AppContext
from stripe_efactura.config import demo_settings
from stripe_efactura.errors import StorageError
from stripe_efactura.intake import envelope, payload
from stripe_efactura.jobs.queue import Job
from stripe_efactura.jobs.worker import Worker
from stripe_efactura.store import db
from stripe_efactura.store.event_batches import job_args
from stripe_efactura.store.tables import jobs, stripe_events

Item = tuple[envelope.EventMeta, bytes]


@pytest.fixture
def ctx(tmp_path: Path, db_url: str) -> Iterator[AppContext]:
    context = use_cases.build_context(demo_settings(tmp_path, database_url=db_url))
    use_cases.prepare(context)
    yield context
    context.close()


def item(eid: str, *, livemode: bool = True, account: str | None = None) -> Item:
    body: dict[str, object] = {
        "id": eid,
        "object": "event",
        "type": "checkout.session.completed",
        "api_version": "2026-10-28.endive",
        "livemode": livemode,
        "created": 1763700000,
        "data": {"object": {"id": f"cs_{eid}", "object": "checkout.session", "note": 'ăâîșț "'}},
    }
    if account is not None:
        body["account"] = account
    raw = json.dumps(body, ensure_ascii=False).encode()
    return envelope.event_meta(payload.load(raw)), raw


def batch(prefix: str) -> list[Item]:
    return [
        item(f"evt_{prefix}1"),
        item(f"evt_{prefix}2", livemode=False, account="acct_1"),
        item(f"evt_{prefix}3"),
    ]


def events(ctx: AppContext, prefix: str) -> list[dict[str, object]]:
    """The stored events of ``prefix``, the id's prefix taken out of every column."""
    query = sa.select(stripe_events).where(stripe_events.c.id.like(f"evt_{prefix}%"))
    with db.read(ctx.engine) as conn:
        rows = conn.execute(query.order_by(stripe_events.c.id)).mappings().all()
    return [{k: _plain(v, prefix) for k, v in row.items()} for row in rows]


def job_rows(ctx: AppContext, prefix: str) -> list[dict[str, object]]:
    query = sa.select(jobs).where(jobs.c.args.like(f'%"evt_{prefix}%'))
    with db.read(ctx.engine) as conn:
        rows = conn.execute(query.order_by(jobs.c.id)).mappings().all()
    return [{k: _plain(v, prefix) for k, v in row.items() if k != "id"} for row in rows]


def _plain(value: object, prefix: str) -> object:
    return value.replace(f"evt_{prefix}", "evt_") if isinstance(value, str) else value


def stamps(ctx: AppContext) -> set[tuple[str, ...]]:
    """How the times (and on SQLite the payload) are stored: SQLite's storage class and
    length, PostgreSQL's column type."""
    with db.read(ctx.engine) as conn:
        if db.is_sqlite(ctx.engine):
            query = (
                "SELECT typeof(received_at), length(received_at), typeof(payload)"
                " FROM stripe_events"
            )
            found = {tuple(str(v) for v in r) for r in conn.exec_driver_sql(query)}
            query = "SELECT typeof(run_at), length(run_at), length(created_at) FROM jobs"
            return found | {tuple(str(v) for v in r) for r in conn.exec_driver_sql(query)}
        query = (
            "SELECT DISTINCT pg_typeof(received_at)::text, pg_typeof(run_at)::text"
            " FROM stripe_events, jobs"
        )
        return {tuple(str(v) for v in r) for r in conn.exec_driver_sql(query)}


def test_same_rows_as_accept_batch(ctx: AppContext) -> None:
    assert intake.accept_batch(ctx, batch("a")) == [True, True, True]
    store = intake.BatchStore(ctx)
    try:
        assert store.accept(batch("b")) == [True, True, True]
    finally:
        store.close()
    by_sqlalchemy, by_raw = events(ctx, "a"), events(ctx, "b")
    times = {"received_at"}
    assert [_without(r, times) for r in by_raw] == [_without(r, times) for r in by_sqlalchemy]
    assert by_raw[1]["livemode"] is False and by_raw[1]["account"] == "acct_1"
    assert by_raw[0]["payload"] == item("evt_1")[1].decode()
    times = {"run_at", "created_at"}
    raw_jobs, sa_jobs = job_rows(ctx, "b"), job_rows(ctx, "a")
    assert [_without(r, times) for r in raw_jobs] == [_without(r, times) for r in sa_jobs]
    assert [r["args"] for r in raw_jobs] == [
        json.dumps({"event_id": f"evt_{n}"}) for n in (1, 2, 3)
    ]
    for row in raw_jobs:
        assert row["run_at"] == row["created_at"] == by_raw[0]["received_at"]
    assert len(stamps(ctx)) == (2 if db.is_sqlite(ctx.engine) else 1)


def _without(row: dict[str, object], keys: set[str]) -> dict[str, object]:
    return {k: v for k, v in row.items() if k not in keys}


@pytest.mark.parametrize("path", ["raw", "sqlalchemy"])
def test_duplicates_create_nothing(ctx: AppContext, path: str) -> None:
    store = intake.BatchStore(ctx)

    def accept(items: list[Item]) -> list[bool]:
        return store.accept(items) if path == "raw" else intake.accept_batch(ctx, items)

    try:
        assert accept([item("evt_1")]) == [True]
        again = [item("evt_2"), item("evt_1"), item("evt_2"), item("evt_3"), item("evt_3")]
        assert accept(again) == [True, False, False, True, False]
        assert accept([item("evt_3")]) == [False]
    finally:
        store.close()
    with db.read(ctx.engine) as conn:
        ids = [r[0] for r in conn.execute(sa.select(stripe_events.c.id).order_by("id"))]
        args = [r[0] for r in conn.execute(sa.select(jobs.c.args).order_by(jobs.c.id))]
    assert ids == ["evt_1", "evt_2", "evt_3"]
    assert args == [json.dumps({"event_id": e}) for e in ("evt_1", "evt_2", "evt_3")]


def test_answered_only_after_commit_and_all_or_nothing(ctx: AppContext, db_url: str) -> None:
    store = intake.BatchStore(ctx)
    other = db.make_engine(db_url)  # another connection sees only what is committed
    try:
        assert store.accept([item("evt_1")]) == [True]
        assert _counts(other) == (1, 1)
        with db.write(ctx.engine) as conn:
            conn.execute(sa.text("ALTER TABLE jobs RENAME TO jobs_away"))
        with pytest.raises(StorageError):
            store.accept([item("evt_2"), item("evt_3")])
        with db.write(ctx.engine) as conn:
            conn.execute(sa.text("ALTER TABLE jobs_away RENAME TO jobs"))
        assert _counts(other) == (1, 1)  # no event without its job
        assert store.accept([item("evt_2")]) == [True]  # connects again
        assert _counts(other) == (2, 2)
    finally:
        store.close()
        other.dispose()


def test_the_jobs_are_due_at_once_on_the_clock_the_worker_claims_with(ctx: AppContext) -> None:
    """A drain right after the post runs the batch's jobs. On PostgreSQL the process follows
    the server's clock between reads (``db.db_now``) and may lag it: here by 2 s, made up
    (by half a round trip in life). Jobs stamped with the server's ``clock_timestamp()`` were
    then not yet due for a worker of the same process: the drain ran none of them."""
    engine = ctx.engine
    if not db.is_sqlite(engine):
        with db.read(engine) as conn:
            db.db_now(conn)  # from here the clock is followed
        follow, lag = db._followed[engine], timedelta(seconds=2)
        db._followed[engine] = dataclasses.replace(follow, value=follow.value - lag)
    store = intake.BatchStore(ctx)
    try:
        assert store.accept(batch("d")) == [True, True, True]
    finally:
        store.close()
    ran: list[str] = []

    def run(job: Job) -> None:
        ran.append(str(job.args["event_id"]))

    assert Worker(engine, {"process_event": run}).drain() == 3
    assert sorted(ran) == ["evt_d1", "evt_d2", "evt_d3"]


def _counts(engine: sa.Engine) -> tuple[int, int]:
    with db.read(engine) as conn:
        count = sa.select(sa.func.count())
        return (
            int(conn.execute(count.select_from(stripe_events)).scalar_one()),
            int(conn.execute(count.select_from(jobs)).scalar_one()),
        )


@pytest.mark.parametrize(
    "event_id", ["evt_1", 'evt_"quoted"\\', "evt_ăâîșț_\u2028_\x01", "evt_" + "x" * 250]
)
def test_job_args_are_the_text_the_queue_writes(event_id: str) -> None:
    expected = json.dumps({"event_id": event_id}, sort_keys=True)  # queue.enqueue_many's text
    assert job_args(event_id) == expected
    assert json.loads(job_args(event_id)) == {"event_id": event_id}
