"""Intake end to end through the database: whatever Stripe sends, in whatever order and
however often, each payment gets exactly one sale (payments row) and every event an outcome.

Runs on SQLite and, when EFACTURA_TEST_DATABASE_URL is set, on PostgreSQL.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import re
import signal
import time
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from factories import stripe_flows as factory
from stripe_efactura import app as use_cases
from stripe_efactura.app import intake
from stripe_efactura.app.context import AppContext, build_context
from stripe_efactura.config import demo_settings
from stripe_efactura.intake.fake_stripe import FakeStripeReader, FakeStripeStore
from stripe_efactura.jobs import queue
from stripe_efactura.jobs.worker import Worker
from stripe_efactura.registry.fake import FakeRegistry
from stripe_efactura.store import db
from stripe_efactura.store.tables import jobs, payments, stripe_events

Json = dict


def make_ctx(tmp_path: Path, db_url: str, store: FakeStripeStore | None) -> AppContext:
    settings = demo_settings(tmp_path, database_url=db_url)
    reader = FakeStripeReader(store) if store is not None else None
    return build_context(settings, stripe=reader, registry_transport=FakeRegistry())  # type: ignore[arg-type]


def intake_worker(ctx: AppContext, **kw: object) -> Worker:
    """A worker that runs only the intake job (invoicing is tested elsewhere)."""

    def process(job: queue.Job) -> None:
        intake.process_event(ctx, str(job.args["event_id"]))

    return Worker(ctx.engine, {"process_event": process}, **kw)  # type: ignore[arg-type]


def feed(ctx: AppContext, events: list[Json], rng: random.Random, dup: float = 0.5) -> None:
    batch = list(events)
    batch += [e for e in events if rng.random() < dup]  # duplicates
    rng.shuffle(batch)
    for evt in batch:
        intake.accept_event(ctx, json.dumps(evt).encode())


def sales(ctx: AppContext) -> dict[str, tuple[str, str, int, str]]:
    with db.read(ctx.engine) as conn:
        rows = conn.execute(sa.select(payments)).all()
    return {r.payment_key: (r.owner_type, r.owner_id, r.amount, r.currency) for r in rows}


def outcomes(ctx: AppContext) -> dict[str, str]:
    with db.read(ctx.engine) as conn:
        rows = conn.execute(sa.select(stripe_events.c.id, stripe_events.c.outcome)).all()
    return {r.id: r.outcome for r in rows}


FLOWS = {f.name: f for f in factory.all_flows()}


@pytest.mark.parametrize("name", sorted(FLOWS))
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_each_flow_shuffled_with_duplicates_gives_one_sale(
    tmp_path: Path, db_url: str, name: str, seed: int
) -> None:
    flow = FLOWS[name]
    ctx = make_ctx(tmp_path, db_url, flow.store())
    use_cases.prepare(ctx)
    feed(ctx, flow.events, random.Random(seed))
    intake_worker(ctx).drain()
    got = sales(ctx)
    if flow.payment_key is None:
        assert got == {}
    else:
        assert flow.owner is not None
        assert got == {flow.payment_key: (*flow.owner, flow.amount, flow.currency)}
    outs = outcomes(ctx)
    assert set(outs) == {e["id"] for e in flow.events}
    assert {eid for eid, o in outs.items() if o == "ignored"} == {
        e["id"] for e in flow.events
    } - flow.triggers
    assert all(outs[eid] == "processed" for eid in flow.triggers)
    ctx.close()


def test_degraded_mode_records_from_the_payload(tmp_path: Path, db_url: str) -> None:
    flow = factory.flow_f_direct_payment_intent()
    ctx = make_ctx(tmp_path, db_url, None)
    use_cases.prepare(ctx)
    feed(ctx, flow.events, random.Random(5))
    intake_worker(ctx).drain()
    with db.read(ctx.engine) as conn:
        rows = conn.execute(sa.select(payments.c.payment_key, payments.c.degraded)).all()
    assert [(r.payment_key, bool(r.degraded)) for r in rows] == [(flow.payment_key, True)]
    ctx.close()


# --- many payments, several workers, crashes ----------------------------------------------


def clone(flow: factory.Flow, n: int) -> tuple[list[Json], list[Json], dict[str, list[Json]], str]:
    """The same flow with unique ids (suffix ``x<n>``)."""
    tag = flow.name

    def rename(text: str) -> str:
        text = re.sub(rf"flow{tag}(?![A-Za-z])", f"flow{tag}x{n}", text)
        return re.sub(rf'"evt_{tag}(\d\d)"', rf'"evt_{tag}x{n}_\1"', text)

    events = json.loads(rename(json.dumps(flow.events)))
    objects = json.loads(rename(json.dumps(flow.objects)))
    items = json.loads(rename(json.dumps(flow.session_line_items)))
    assert flow.payment_key is not None
    return events, objects, items, rename(flow.payment_key)


def many_payments(count: int) -> tuple[list[Json], FakeStripeStore, set[str]]:
    """``count`` checkout payments (flow A), ~5 events each, plus duplicates."""
    base = factory.flow_a_checkout_card()
    store = FakeStripeStore()
    events: list[Json] = []
    keys: set[str] = set()
    for n in range(count):
        evs, objs, items, key = clone(base, n)
        store.add(*objs)
        for sid, li in items.items():
            store.add_session_line_items(sid, li)
        events += evs
        keys.add(key)
    return events, store, keys


def _run_worker(db_url: str, tmp: str, store: FakeStripeStore, stop_when_idle: bool) -> None:
    ctx = make_ctx(Path(tmp), db_url, store)
    w = intake_worker(ctx, lease=timedelta(seconds=2), batch=4, poll_interval=0.05)
    if stop_when_idle:
        idle = 0
        while idle < 20:
            idle = idle + 1 if w.run_once() == 0 else 0
            time.sleep(0.05) if idle else None
    else:
        import threading

        w.run(threading.Event())


def _pending(ctx: AppContext) -> int:
    with db.read(ctx.engine) as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count())
                .select_from(jobs)
                .where(jobs.c.task == "process_event", jobs.c.status.in_(["queued", "running"]))
            ).scalar_one()
        )


def _check_exactly_once(ctx: AppContext, events: list[Json], keys: set[str]) -> None:
    outs = outcomes(ctx)
    assert set(outs) == {e["id"] for e in events}
    assert "pending" not in set(outs.values())
    got = sales(ctx)
    assert set(got) == keys
    assert all(v[0] == "checkout_session" and v[2] == 12100 for v in got.values())
    with db.read(ctx.engine) as conn:
        dead = conn.execute(sa.select(jobs.c.id).where(jobs.c.status == "dead")).all()
        seen = [json.loads(r[0]) for r in conn.execute(sa.select(payments.c.event_ids))]
    assert dead == []
    trigger_ids = {
        e["id"]
        for e in events
        if e["type"]
        in ("payment_intent.succeeded", "charge.succeeded", "checkout.session.completed")
    }
    assert sorted(i for ids in seen for i in ids) == sorted(trigger_ids)


@pytest.mark.slow
def test_two_worker_processes_one_sale_per_payment(tmp_path: Path, db_url: str) -> None:
    events, store, keys = many_payments(60)
    ctx = make_ctx(tmp_path, db_url, store)
    use_cases.prepare(ctx)
    feed(ctx, events, random.Random(11), dup=0.3)
    mp = multiprocessing.get_context("fork")
    procs = [
        mp.Process(target=_run_worker, args=(db_url, str(tmp_path), store, True)) for _ in range(2)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    assert _pending(ctx) == 0
    _check_exactly_once(ctx, events, keys)
    ctx.close()


@pytest.mark.slow
def test_kill_9_at_random_points_loses_nothing(tmp_path: Path, db_url: str) -> None:
    events, store, keys = many_payments(200)  # 1,000 events
    assert len(events) == 1000
    ctx = make_ctx(tmp_path, db_url, store)
    use_cases.prepare(ctx)
    feed(ctx, events, random.Random(3), dup=0.0)
    rng = random.Random(99)
    mp = multiprocessing.get_context("fork")
    kills = 0
    deadline = time.monotonic() + 240
    while _pending(ctx) and time.monotonic() < deadline:
        p = mp.Process(target=_run_worker, args=(db_url, str(tmp_path), store, False))
        p.start()
        time.sleep(rng.uniform(0.1, 0.8))
        if p.is_alive():
            os.kill(p.pid, signal.SIGKILL)  # type: ignore[arg-type]
            kills += 1
        p.join()
    assert kills >= 3
    _run_worker(db_url, str(tmp_path), store, True)  # leases of the killed workers expire
    assert _pending(ctx) == 0
    _check_exactly_once(ctx, events, keys)
    ctx.close()


@pytest.mark.slow
def test_all_flows_together_with_two_worker_processes(tmp_path: Path, db_url: str) -> None:
    """Every flow A–H at once, shuffled with duplicates, drained by two worker processes."""
    flows = factory.all_flows()
    store = FakeStripeStore()
    events: list[Json] = []
    for flow in flows:
        flow.store(store)
        events += flow.events
    ctx = make_ctx(tmp_path, db_url, store)
    use_cases.prepare(ctx)
    feed(ctx, events, random.Random(21), dup=0.5)
    mp = multiprocessing.get_context("fork")
    procs = [
        mp.Process(target=_run_worker, args=(db_url, str(tmp_path), store, True)) for _ in range(2)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    assert _pending(ctx) == 0
    expected = {
        f.payment_key: (*f.owner, f.amount, f.currency)
        for f in flows
        if f.payment_key is not None and f.owner is not None
    }
    assert sales(ctx) == expected
    outs = outcomes(ctx)
    triggers = set().union(*(f.triggers for f in flows))
    assert {eid for eid, o in outs.items() if o == "processed"} == triggers
    assert {eid for eid, o in outs.items() if o == "ignored"} == {
        e["id"] for e in events
    } - triggers
    ctx.close()


def test_an_ignored_event_completes_its_job_with_its_mark(tmp_path: Path, db_url: str) -> None:
    """An ignored event's job is done in the transaction that marks the event ``ignored``
    (``queue.finish_in``): no transaction of the worker's own after the handler."""
    flow = next(f for f in FLOWS.values() if any(e["id"] not in f.triggers for e in f.events))
    event = next(e for e in flow.events if e["id"] not in flow.triggers)
    ctx = make_ctx(tmp_path, db_url, flow.store())
    use_cases.prepare(ctx)
    intake.accept_event(ctx, json.dumps(event).encode())
    commits: list[int] = []
    sa.event.listen(ctx.engine, "commit", lambda _conn: commits.append(1))
    assert intake_worker(ctx).run_once() == 1
    assert len(commits) == 4  # schedules tick, claim, the event's read, its mark + completion
    assert outcomes(ctx) == {event["id"]: "ignored"}
    with db.read(ctx.engine) as conn:
        done = sa.select(jobs.c.status).where(jobs.c.task == "process_event")
        assert conn.execute(done).scalars().all() == ["done"]
    ctx.close()


# --- a later event of a recorded payment ------------------------------------------------------


def payment_row(ctx: AppContext, key: str) -> tuple[str, bool, list[str], str]:
    with db.read(ctx.engine) as conn:
        row = conn.execute(sa.select(payments).where(payments.c.payment_key == key)).one()
    return row.owner_type, bool(row.degraded), json.loads(row.event_ids), row.sale


def test_the_second_event_of_a_recorded_payment_reads_nothing_from_stripe(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checkout: ``payment_intent.succeeded`` after ``checkout.session.completed`` recorded
    the payment reads nothing from Stripe (the session's recording looked up or ruled out
    its invoice and found the session: 0 Stripe calls, not 4), adds its id,
    changes nothing else, and its job completes with the mark (one write transaction, three
    statements: the ids written, guarded by the ids read with the payment's owner, the event
    marked, the job done)."""
    flow = factory.flow_a_checkout_card()
    store = flow.store()
    ctx = make_ctx(tmp_path, db_url, store)
    use_cases.prepare(ctx)
    reader = ctx.stripe
    assert isinstance(reader, FakeStripeReader)
    first, second = flow.event("checkout.session.completed"), flow.event("payment_intent.succeeded")
    intake.accept_event(ctx, json.dumps(first).encode())
    intake_worker(ctx).drain()
    before = payment_row(ctx, "pi_flowA")
    reader.calls.clear()
    intake.accept_event(ctx, json.dumps(second).encode())
    statements: list[str] = []
    worker = intake_worker(ctx)
    # the loop's turn without its schedules tick and heartbeat (both just done)
    worker._beating, worker._last_tick, worker._last_beat = True, time.monotonic(), time.monotonic()

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(shape(statement))

    monkeypatch.setattr(db, "CLOCK_RESYNC_SECONDS", 3600.0)  # however slow the machine
    sa.event.listen(ctx.engine, "before_cursor_execute", count)
    assert worker.run_once() == 1
    sa.event.remove(ctx.engine, "before_cursor_execute", count)
    assert reader.calls == []
    owner, degraded, event_ids, sale = payment_row(ctx, "pi_flowA")
    assert (owner, degraded, sale) == (before[0], before[1], before[3])
    assert event_ids == [first["id"], second["id"]]
    assert outcomes(ctx) == {first["id"]: "processed", second["id"]: "processed"}
    claim = ["SELECT jobs", "SELECT jobs", "UPDATE jobs"]
    read = ["SELECT stripe_events", "SELECT payments"]  # one read transaction
    write = ["UPDATE payments", "UPDATE stripe_events", "UPDATE jobs"]
    sqlite = db.is_sqlite(ctx.engine)
    begins = ["BEGIN IMMEDIATE", "BEGIN", "BEGIN IMMEDIATE"] if sqlite else []
    assert [s for s in statements if s.startswith("BEGIN")] == begins
    assert statements.count("SELECT ?") == 0  # SQLite's clock is the host's; PostgreSQL's
    # is followed between reads once per db.CLOCK_RESYNC_SECONDS (read by the first drain)
    kept = [s for s in statements if not s.startswith("BEGIN") and s != "SELECT ?"]
    assert kept == claim + read + write
    ctx.close()


def shape(statement: str) -> str:
    """``BEGIN …`` as it is, else the verb and the table: ``SELECT payments``."""
    words = statement.split()
    if words[0].upper() == "BEGIN":
        return " ".join(words)
    table = re.search(r"(?:FROM|UPDATE|INTO)\s+(\w+)", statement)
    return f"{words[0].upper()} {table.group(1) if table else '?'}"


def test_a_degraded_recorded_payment_is_still_rebuilt_in_full(tmp_path: Path, db_url: str) -> None:
    """A payment recorded without the API (degraded) is not settled: its next event, read
    with the API, builds the full sale and replaces the degraded one."""
    flow = factory.flow_a_checkout_card()
    offline = make_ctx(tmp_path, db_url, None)
    use_cases.prepare(offline)
    intake.accept_event(offline, json.dumps(flow.event("payment_intent.succeeded")).encode())
    intake_worker(offline).drain()
    assert payment_row(offline, "pi_flowA")[:2] == ("payment_intent", True)
    offline.close()
    ctx = make_ctx(tmp_path, db_url, flow.store())
    intake.accept_event(ctx, json.dumps(flow.event("checkout.session.completed")).encode())
    intake_worker(ctx).drain()
    owner, degraded, event_ids, _sale = payment_row(ctx, "pi_flowA")
    assert (owner, degraded) == ("checkout_session", False)
    assert len(event_ids) == 2
    reader = ctx.stripe
    assert isinstance(reader, FakeStripeReader)
    assert ("retrieve_session_contents", "cs_flowA") in reader.calls
    ctx.close()
