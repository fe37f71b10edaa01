"""The burst path: ANAF's answers from one shared sweep of the message list, the signed archive
downloaded off-peak, and the per-invoice ``stareMesaj`` path as the fallback.

The jobs run through their real handlers; :class:`Jobs` runs them in the order of their due
times on the fake clock."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from stripe_efactura import app
from stripe_efactura.anaf.fake import FaultKind
from stripe_efactura.anaf.responses import MessageEntry
from stripe_efactura.app import anaf_admin, anaf_port, anaf_status_list
from stripe_efactura.jobs import queue
from stripe_efactura.store import anaf_invoices, anaf_quota, anaf_work, db
from stripe_efactura.store.tables import jobs
from stripe_efactura.tz import BUCHAREST

#: Every upload counts as a burst (the default needs 20 waiting uploads): the tests below
#: follow the list path from the first invoice on.
BURST = anaf_port.Tuning(list_status_min_waiting=1)
ANAF_TASKS = frozenset({"submit_anaf", "anaf_step", anaf_status_list.SWEEP_TASK})
CUI = "18547290"


class Jobs:
    """Runs the queued ANAF jobs of ``env`` by their due time, with the database clock of the
    queue (``db.db_now``) following the fake clock."""

    def __init__(self, env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
        self.env = env
        self.handlers = app.handlers(env.ctx)
        self.ran: Counter[str] = Counter()
        monkeypatch.setattr(db, "db_now", lambda _conn: db.utc_naive(env.clock.now()))

    def submit(self, ids: list[int]) -> None:
        with db.write(self.env.ctx.engine) as conn:
            for invoice_id in ids:
                queue.enqueue(conn, "submit_anaf", {"invoice_id": invoice_id})

    def run(self, until: datetime) -> Counter[str]:
        """Run every job due up to ``until``; how many of each task ran."""
        for _ in range(100_000):
            with db.read(self.env.ctx.engine) as conn:
                row = conn.execute(
                    sa.select(jobs.c.id, jobs.c.run_at)
                    .where(jobs.c.status == "queued", jobs.c.task.in_(sorted(ANAF_TASKS)))
                    .order_by(jobs.c.run_at, jobs.c.id)
                    .limit(1)
                ).first()
            if row is None:
                return self.ran
            due = row.run_at.replace(tzinfo=UTC)
            if due > until:
                return self.ran
            if due > self.env.clock.now():
                self.env.clock.advance(due - self.env.clock.now())
            with db.write(self.env.ctx.engine) as conn:
                (job,) = queue.claim_ids(conn, "test", [int(row.id)])
            self.handlers[job.task](job)
            with db.write(self.env.ctx.engine) as conn:
                queue.complete(conn, job)
            self.ran[job.task] += 1
        raise AssertionError("the jobs did not settle")


def _calls(env) -> list[tuple[datetime, str]]:  # type: ignore[no-untyped-def]
    return [(t, target.split("?")[0].rsplit("/", 1)[1]) for t, _m, target in env.state.request_log]


def _events(env, invoice_id: int) -> list[tuple[str, dict[str, object] | None]]:  # type: ignore[no-untyped-def]
    from stripe_efactura.store import invoices as invoice_store

    with db.read(env.ctx.engine) as conn:
        return [
            (e.event, json.loads(e.detail) if e.detail else None)
            for e in invoice_store.timeline(conn, invoice_id)
        ]


def test_a_burst_of_50_costs_one_list_call_and_no_status_call(make_env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    env = make_env(tune=BURST, processing_delay=timedelta(seconds=3))
    start = env.clock.now()  # Monday 10:00 in Bucharest
    issued = [env.issue() for _ in range(50)]
    ids = [i for i, _n in issued]
    runner = Jobs(env, monkeypatch)
    runner.submit(ids)
    ran = runner.run(start + timedelta(hours=1))
    assert [env.row(i).anaf_state for i in ids] == ["ok"] * 50
    assert all(env.row(i).signed_zip is None for i in ids)  # deferred off-peak
    burst = Counter(name for _t, name in _calls(env))
    assert burst == {"upload": 50, "listaMesajePaginatieFactura": 1}
    # every invoice: its upload job, then one chain job waiting for its archive; one sweep
    assert ran == {"submit_anaf": 50, anaf_status_list.SWEEP_TASK: 1}
    assert (sum(burst.values()) / 50) == 1.02
    ok_event = _events(env, ids[0])[-1]
    first_slot = datetime(2026, 3, 3, 2, 0, tzinfo=BUCHAREST) + timedelta(seconds=ids[0])
    assert ok_event == (
        "anaf_ok",
        {
            "download_id": env.row(ids[0]).download_id,
            "via": "message_list",
            "archive_after": first_slot.astimezone(UTC).isoformat(),
        },
    )
    detail = anaf_admin.invoice_detail(env.ctx, issued[0][1])
    assert (detail["anaf_state"], detail["archive_path"]) == ("ok", None)
    assert detail["anaf"]["archive_after"] == first_slot.astimezone(UTC).isoformat()
    # the night after: each archive at its own second from 02:00 (Bucharest), one job each
    ran = runner.run(start + timedelta(days=2))
    assert ran == {"submit_anaf": 50, anaf_status_list.SWEEP_TASK: 1, "anaf_step": 50}
    assert all(env.row(i).signed_zip is not None for i in ids)
    downloads = [t for t, name in _calls(env) if name == "descarcare"]
    assert len(downloads) == 50
    assert min(downloads) == first_slot
    assert max(downloads) - min(downloads) == timedelta(seconds=49)
    assert max(downloads) < start + timedelta(days=1)  # ANAF keeps the message 60 days
    assert Counter(name for _t, name in _calls(env)) == {
        "upload": 50,
        "listaMesajePaginatieFactura": 1,
        "descarcare": 50,
    }
    assert _events(env, ids[0])[-1][0] == "anaf_archived"


def test_without_a_list_answer_invoices_poll_stare_mesaj_as_before(make_env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    env = make_env(tune=BURST, processing_delay=timedelta(seconds=3))
    env.state.inject(FaultKind.SERVER_ERROR, "listaMesajePaginatieFactura", times=100)
    start = env.clock.now()
    ids = [env.issue()[0] for _ in range(3)]
    runner = Jobs(env, monkeypatch)
    runner.submit(ids)
    ran = runner.run(start + timedelta(hours=1))
    assert [env.row(i).anaf_state for i in ids] == ["ok"] * 3
    assert all(env.row(i).signed_zip is not None for i in ids)  # at once, as before
    calls = Counter(name for _t, name in _calls(env))
    # the sweep at 5 s fails and waits 60 s; the invoices poll at 30 s: in prelucrare at their
    # first poll (processing_polls=1), ok at the next, then the download
    assert calls == {
        "upload": 3,
        "listaMesajePaginatieFactura": 1,
        "stareMesaj": 3,
        "descarcare": 3,
    }
    assert ran == {"submit_anaf": 3, anaf_status_list.SWEEP_TASK: 2, "anaf_step": 3}
    polls = sorted(t for t, name in _calls(env) if name == "stareMesaj")
    assert polls[0] - start == timedelta(seconds=30)
    assert [e for e, _d in _events(env, ids[0])][-3:] == [
        "anaf_uploaded",
        "anaf_ok",
        "anaf_archived",
    ]


def test_an_invoice_never_listed_falls_back_to_its_own_polls(make_env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    env = make_env(tune=BURST)  # processed only when polled: never listed before a stareMesaj
    start = env.clock.now()
    (invoice_id, _n) = env.issue()
    runner = Jobs(env, monkeypatch)
    runner.submit([invoice_id])
    runner.run(start + timedelta(hours=1))
    assert env.row(invoice_id).anaf_state == "ok"
    assert env.row(invoice_id).signed_zip is not None
    calls = Counter(name for _t, name in _calls(env))
    # sweeps at 5, 10, ... 35 s (7), the invoice's own polls from 30 s (in prelucrare, ok)
    assert calls == {
        "upload": 1,
        "listaMesajePaginatieFactura": 7,
        "stareMesaj": 2,
        "descarcare": 1,
    }


def test_errors_in_the_list_make_the_invoice_nok_with_findings(make_env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    env = make_env(tune=BURST, processing_delay=timedelta(seconds=3))
    start = env.clock.now()
    bad_id, bad = env.issue()
    good_id, _good = env.issue()
    env.state.inject_nok(invoice_number=bad)
    runner = Jobs(env, monkeypatch)
    runner.submit([bad_id, good_id])
    runner.run(start + timedelta(hours=1))
    assert (env.row(bad_id).anaf_state, env.row(good_id).anaf_state) == ("nok", "ok")
    events = [e for e, _d in _events(env, bad_id)]
    assert events[-3:] == ["anaf_uploaded", "anaf_nok", "anaf_findings"]
    assert env.row(bad_id).anaf_messages and "BR-RO-065" in env.row(bad_id).anaf_messages
    calls = Counter(name for _t, name in _calls(env))
    # the error file at once (findings); the good invoice's archive waits for the night
    assert calls == {"upload": 2, "listaMesajePaginatieFactura": 1, "descarcare": 1}


def test_a_message_of_another_cif_or_index_is_not_taken_as_ok(make_env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    env = make_env(tune=BURST)  # our upload is never processed without a poll: only the extras list
    start = env.clock.now()
    (invoice_id, _n) = env.issue()
    runner = Jobs(env, monkeypatch)
    runner.submit([invoice_id])
    runner.run(start + timedelta(seconds=1))
    index = str(env.row(invoice_id).upload_index)
    at = start + timedelta(seconds=2)
    env.state.add_spv_message(at, "FACTURA TRIMISA", index, "x", "99999999", id="1")
    env.state.add_spv_message(at, "FACTURA TRIMISA", index + "0", "x", CUI, id="2")
    env.state.add_spv_message(at, "FACTURA PRIMITA", index, "x", CUI, id="3")
    runner.run(start + timedelta(seconds=25))  # sweeps at 5 ... 25 s; the own poll at 30 s
    assert env.row(invoice_id).anaf_state == "uploaded"  # nothing matched: still waiting
    assert env.row(invoice_id).download_id is None


def test_answers_for_matches_index_cif_and_kind_only() -> None:
    def entry(kind: str, index: str, cif: str = CUI, download: str = "9") -> MessageEntry:
        return MessageEntry("202603021000", None, cif, index, "", kind, download)

    ok = entry("FACTURA TRIMISA", "1")
    nok = entry("ERORI FACTURA", "2")
    found = anaf_status_list.answers_for(
        [
            ok,
            nok,
            entry("FACTURA TRIMISA", "3", cif="99999999"),  # another CIF
            entry("FACTURA PRIMITA", "4"),  # an invoice received, not ours
            entry("FACTURA TRIMISA", "5", download=""),  # nothing to download
            entry("FACTURA TRIMISA", "6"),
            entry("ERORI FACTURA", "6", download="8"),  # two answers: left to stareMesaj
            entry("FACTURA TRIMISA", "7", cif="RO18547290"),
        ],
        "RO18547290",
    )
    assert sorted(found) == ["1", "2", "7"]
    assert (found["1"], found["2"]) == (ok, nok)


def test_the_demo_tuning_keeps_the_per_invoice_path(make_env) -> None:  # type: ignore[no-untyped-def]
    env = make_env(tune=anaf_port.Tuning(poll_scale=0))
    assert not anaf_status_list.enabled(env.ctx)
    env = make_env(tune=anaf_port.Tuning(list_status=False))
    assert not anaf_status_list.enabled(env.ctx)


def test_a_sweep_that_runs_late_still_answers_the_burst(make_env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    env = make_env(tune=BURST, processing_delay=timedelta(seconds=3))
    start = env.clock.now()
    ids = [env.issue()[0] for _ in range(3)]
    runner = Jobs(env, monkeypatch)
    runner.submit(ids)
    runner.run(start + timedelta(seconds=1))  # the uploads only
    env.clock.advance(minutes=10)  # the sweep waited behind a busy queue
    assert anaf_status_list.sweep(env.ctx) is None  # all answered: no next sweep
    assert [env.row(i).anaf_state for i in ids] == ["ok"] * 3
    assert Counter(name for _t, name in _calls(env)) == {
        "upload": 3,
        "listaMesajePaginatieFactura": 1,
    }


def test_a_lone_sale_polls_and_is_archived_at_once(make_env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    env = make_env(processing_delay=timedelta(seconds=3))  # the default tuning
    start = env.clock.now()
    invoice_id, _number = env.issue()
    runner = Jobs(env, monkeypatch)
    runner.submit([invoice_id])
    ran = runner.run(start + timedelta(minutes=5))
    assert env.row(invoice_id).anaf_state == "ok"
    assert env.row(invoice_id).signed_zip is not None  # not deferred to the night
    assert _calls(env) == [
        (start, "upload"),
        (start + timedelta(seconds=5), "stareMesaj"),
        (start + timedelta(seconds=5), "descarcare"),
    ]
    assert ran == {"submit_anaf": 1, "anaf_step": 1}  # the poll that finds ok downloads too


def _all_ok(env, runner: Jobs, n: int, until: datetime) -> list[int]:  # type: ignore[no-untyped-def]
    """Issue and submit ``n`` invoices, run the jobs up to ``until``: every one is ``ok``."""
    ids = [env.issue()[0] for _ in range(n)]
    runner.submit(ids)
    runner.run(until)
    assert [env.row(i).anaf_state for i in ids] == ["ok"] * n
    return ids


def test_the_list_takes_over_from_the_20th_waiting_upload(make_env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    env = make_env(processing_delay=timedelta(seconds=3))  # the default tuning
    ids = _all_ok(env, Jobs(env, monkeypatch), 30, env.clock.now() + timedelta(hours=1))
    archived = [env.row(i).signed_zip is not None for i in ids]
    assert archived == [True] * 19 + [False] * 11  # the burst's archives wait for the night
    assert Counter(name for _t, name in _calls(env)) == {
        "upload": 30,
        "stareMesaj": 19,
        "descarcare": 19,
        "listaMesajePaginatieFactura": 1,
    }


def test_uploads_after_the_list_answered_the_burst_still_join_it(make_env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A burst paused for the global window: the list has answered every earlier upload, so
    none waits, but the window still counts the burst's calls; the next uploads join the
    list instead of polling and downloading one by one."""
    env = make_env(processing_delay=timedelta(seconds=3))  # the default tuning
    start = env.clock.now()
    runner = Jobs(env, monkeypatch)
    _all_ok(env, runner, 30, start + timedelta(seconds=40))
    later = _all_ok(env, runner, 5, start + timedelta(hours=1))
    assert [env.row(i).signed_zip is not None for i in later] == [False] * 5  # at night
    assert Counter(name for _t, name in _calls(env)) == {
        "upload": 35,
        "stareMesaj": 19,
        "descarcare": 19,
        "listaMesajePaginatieFactura": 2,
    }


def test_an_upload_its_next_step_and_its_completion_share_one_commit(env) -> None:  # type: ignore[no-untyped-def]
    """The worker claims ``submit_anaf``; the job then writes twice: the intent (before the
    request) and, in one transaction, the answer, the chain's next job and its own
    completion."""
    from stripe_efactura.jobs.worker import Worker

    invoice_id, _number = env.issue()
    with db.write(env.ctx.engine) as conn:
        queue.enqueue(conn, "submit_anaf", {"invoice_id": invoice_id})
    handlers = {k: v for k, v in app.handlers(env.ctx).items() if k in ANAF_TASKS}
    worker = Worker(env.ctx.engine, handlers, worker_id="W", batch=1)
    writes: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        if statement in ("BEGIN IMMEDIATE", "BEGIN") and db.is_sqlite(_conn):
            writes.append(statement)

    sa.event.listen(env.ctx.engine, "before_cursor_execute", count)
    try:
        assert worker.run_once() == 1
    finally:
        sa.event.remove(env.ctx.engine, "before_cursor_execute", count)
    assert env.row(invoice_id).anaf_state == "uploaded"
    with db.read(env.ctx.engine) as conn:
        rows = conn.execute(
            sa.select(jobs.c.task, jobs.c.status)
            .where(jobs.c.task.in_(("submit_anaf", "anaf_step")))
            .order_by(jobs.c.id)
        ).all()
    assert [tuple(r) for r in rows] == [("submit_anaf", "done"), ("anaf_step", "queued")]
    if db.is_sqlite(env.ctx.engine):
        # the schedules' tick, the claim, the intent, then the answer + next step + completion
        # (the reads are plain BEGIN)
        assert writes.count("BEGIN IMMEDIATE") == 4


def _overdue_burst(env, runner: Jobs, n: int) -> list[int]:  # type: ignore[no-untyped-def]
    """``n`` invoices uploaded in a burst whose sweep and chain polls are all overdue: the
    queue was busy for two minutes after the uploads."""
    start = env.clock.now()
    ids = [env.issue()[0] for _ in range(n)]
    runner.submit(ids)
    runner.run(start + timedelta(seconds=1))  # the uploads only
    env.clock.advance(minutes=2)
    return ids


def test_overdue_polls_wait_while_another_process_sweeps(make_env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """At the end of a backlog the sweep and every chain's poll fall due together; while one
    process sweeps (its lease held), the others' polls wait for it instead of asking
    ``stareMesaj`` one by one for the invoices it is about to answer."""
    env = make_env(tune=BURST, processing_delay=timedelta(seconds=3))
    runner = Jobs(env, monkeypatch)
    ids = _overdue_burst(env, runner, 3)
    with db.write(env.ctx.engine) as conn:
        assert anaf_quota.hold_lease(conn, anaf_status_list.LEASE, env.clock.now(), 300)
    ran = runner.run(env.clock.now())
    # the chains' polls waited; this process's own sweep found the lease taken and waits too
    assert ran == {"submit_anaf": 3, "anaf_step": 3, anaf_status_list.SWEEP_TASK: 1}
    assert Counter(name for _t, name in _calls(env)) == {"upload": 3}
    assert [env.row(i).anaf_state for i in ids] == ["uploaded"] * 3
    with db.write(env.ctx.engine) as conn:  # the other process's sweep ends...
        anaf_quota.drop_lease(conn, anaf_status_list.LEASE)
    assert anaf_status_list.sweep(env.ctx) is None  # ... having answered all three
    runner.run(env.clock.now() + timedelta(hours=1))
    assert [env.row(i).anaf_state for i in ids] == ["ok"] * 3
    assert Counter(name for _t, name in _calls(env)) == {
        "upload": 3,
        "listaMesajePaginatieFactura": 1,
    }


def test_an_overdue_poll_waits_for_a_sweep_job_that_runs(make_env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Another worker claimed the sweep job (running, lease not taken yet): a poll waits
    :attr:`Tuning.list_sweep_seconds`; once no sweep runs, an unanswered invoice polls."""
    env = make_env(tune=BURST, processing_delay=timedelta(seconds=3))
    runner = Jobs(env, monkeypatch)
    (invoice_id,) = _overdue_burst(env, runner, 1)
    with db.write(env.ctx.engine) as conn:
        sweep_id = conn.execute(
            sa.select(jobs.c.id).where(jobs.c.task == anaf_status_list.SWEEP_TASK)
        ).scalar_one()
        queue.claim_ids(conn, "other-worker", [int(sweep_id)])
    inv = _lifecycle(env, invoice_id)
    step = anaf_status_list.wait_for_sweep(env.ctx, inv)
    assert step == anaf_port.Step(
        inv.state, BURST.list_sweep_seconds, anaf_status_list.SWEEP_UNDERWAY
    )
    with db.write(env.ctx.engine) as conn:  # that worker died: its lease runs out
        conn.execute(
            jobs.update().where(jobs.c.id == sweep_id).values(locked_until=db.db_now(conn))
        )
    assert anaf_status_list.wait_for_sweep(env.ctx, inv) is None
    env.clock.advance(hours=2)  # older than the sweeps cover: polls even while one runs
    with db.write(env.ctx.engine) as conn:
        assert anaf_quota.hold_lease(conn, anaf_status_list.LEASE, env.clock.now(), 300)
    assert anaf_status_list.wait_for_sweep(env.ctx, _lifecycle(env, invoice_id)) is None


def _lifecycle(env, invoice_id: int):  # type: ignore[no-untyped-def]
    with db.read(env.ctx.engine) as conn:
        inv = anaf_work.load(conn, invoice_id)
    assert inv is not None
    return inv


def test_awaiting_uploads_are_counted_up_to_the_threshold(make_env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """``awaiting_status_at_least`` (asked at each upload of a burst) answers from at most
    the threshold's rows: uploaded and not answered, answered ones no longer count."""
    env = make_env(tune=BURST, processing_delay=timedelta(seconds=3))
    runner = Jobs(env, monkeypatch)
    ids = [env.issue()[0] for _ in range(3)]
    with db.read(env.ctx.engine) as conn:
        assert not anaf_invoices.awaiting_status_at_least(conn, 1)  # issued, not uploaded
    runner.submit(ids)
    runner.run(env.clock.now() + timedelta(seconds=1))  # the uploads only
    assert [env.row(i).anaf_state for i in ids] == ["uploaded"] * 3
    with db.read(env.ctx.engine) as conn:
        assert [anaf_invoices.awaiting_status_at_least(conn, n) for n in (1, 3, 4)] == [
            True,
            True,
            False,
        ]
    runner.run(env.clock.now() + timedelta(hours=1))
    assert [env.row(i).anaf_state for i in ids] == ["ok"] * 3
    with db.read(env.ctx.engine) as conn:
        assert not anaf_invoices.awaiting_status_at_least(conn, 1)
