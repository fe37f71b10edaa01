"""Deadlines and their notices, the job chain in the real worker, the sweep, the commands."""

from __future__ import annotations

import json
import socket
import threading
from datetime import date, timedelta

import httpx
import pytest
import sqlalchemy as sa

from stripe_efactura import app, cli
from stripe_efactura.app import (
    anaf_admin,
    anaf_deadlines,
    anaf_jobs,
    anaf_login,
    anaf_tokens,
    anaf_tuning,
)
from stripe_efactura.jobs import queue
from stripe_efactura.store import db
from stripe_efactura.store.tables import jobs, notices


def _notice_refs(env) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    with db.read(env.ctx.engine) as conn:
        return [
            (r.kind, r.ref)
            for r in conn.execute(sa.select(notices.c.kind, notices.c.ref).order_by(notices.c.id))
        ]


def test_deadline_notices_one_working_day_before_and_when_overdue(env) -> None:  # type: ignore[no-untyped-def]
    _late, late = env.issue(issued=date(2026, 3, 2))  # Monday: deadline Monday 9 March
    done_id, _done = env.issue(issued=date(2026, 3, 2))
    env.issue(issued=date(2026, 3, 2), livemode=False, anaf_state="not_uploaded")
    env.drive([done_id])
    seen = []
    for day in (5, 6, 9, 10, 11):  # Thu, Fri, Mon (the deadline), Tue, Wed
        env.clock.advance(env.clock.now().replace(day=day, hour=8) - env.clock.now())
        seen.append(anaf_deadlines.check_deadlines(env.ctx))
    assert seen == [[], [f"{late}:due"], [], [f"{late}:overdue"], []]
    assert _notice_refs(env) == [("deadline", f"{late}:due"), ("deadline", f"{late}:overdue")]
    listing = anaf_admin.invoices_listing(env.ctx, overdue=True)
    assert [(r["number"], r["deadline"], r["deadline_status"]) for r in listing] == [
        (late, "2026-03-09", "overdue")
    ]


def test_deadline_skips_romanian_public_holidays(env) -> None:  # type: ignore[no-untyped-def]
    # Wednesday 8 April 2026; Orthodox Good Friday 10 and Easter Monday 13 April are holidays
    env.issue(issued=date(2026, 4, 8))
    env.clock.advance(env.clock.now().replace(month=4, day=16, hour=8) - env.clock.now())
    (row,) = anaf_admin.invoices_listing(env.ctx)
    assert (row["deadline"], row["deadline_status"]) == ("2026-04-17", "due")


def test_the_worker_runs_the_job_chain_to_ok(make_env) -> None:  # type: ignore[no-untyped-def]
    env = make_env(tune=anaf_tuning.Tuning(poll_scale=0))  # as the demo: poll without waiting
    ids = [env.issue()[0] for _ in range(3)]
    with db.write(env.ctx.engine) as conn:
        for invoice_id in ids:  # what app.issuing enqueues
            queue.enqueue(
                conn, "submit_anaf", {"invoice_id": invoice_id}, dedupe_key=f"submit:{invoice_id}"
            )
    app.make_worker(env.ctx).drain()
    assert [env.row(i).anaf_state for i in ids] == ["ok", "ok", "ok"]
    with db.read(env.ctx.engine) as conn:
        counts: dict[str, int] = dict(
            conn.execute(
                sa.select(jobs.c.task, sa.func.count())
                .group_by(jobs.c.task)
                .where(jobs.c.task.in_(("submit_anaf", "anaf_step")))
            ).all()
        )
        statuses = set(conn.execute(sa.select(jobs.c.status)).scalars())
    # per invoice: submit (upload), step 1 (poll: in prelucrare), step 2 (poll: ok, archive)
    assert counts == {"submit_anaf": 3, "anaf_step": 6}
    assert statuses == {"done"}
    assert anaf_jobs.sweep(env.ctx) == []


def test_sweep_restarts_invoices_whose_jobs_are_gone(env) -> None:  # type: ignore[no-untyped-def]
    invoice_id, _number = env.issue()
    with db.write(env.ctx.engine) as conn:
        conn.execute(
            sa.text("UPDATE invoices SET updated_at = :t"),
            {"t": db.db_now(conn) - timedelta(hours=1)},
        )
    assert anaf_jobs.sweep(env.ctx) == [invoice_id]
    with db.read(env.ctx.engine) as conn:
        (args,) = conn.execute(sa.select(jobs.c.args).where(jobs.c.task == "anaf_step")).scalars()
    assert json.loads(args)["invoice_id"] == invoice_id
    assert anaf_jobs.sweep(env.ctx) == []  # a live job: not twice


@pytest.mark.parametrize("tls", [False, True])
def test_login_with_the_one_shot_local_listener(env, tls) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    scheme = "https" if tls else "http"
    redirect = f"{scheme}://localhost:{port}/anaf/callback"
    ready = threading.Event()
    outcome: list[anaf_login.CallbackAnswer] = []
    thread = threading.Thread(
        target=lambda: outcome.append(
            anaf_login.listen_once(
                env.ctx,
                port=port,
                redirect_uri=redirect,
                timeout=20,
                tls=tls,
                ready=lambda _p: ready.set(),
            )
        )
    )
    thread.start()
    assert ready.wait(10)
    url = anaf_login.authorize_url(env.ctx, redirect)
    with httpx.Client(transport=env.ctx.anaf_transport) as anaf:
        location = anaf.get(url).headers["location"]
    with httpx.Client(verify=False) as browser:
        assert browser.get(location.replace("/anaf/callback", "/favicon.ico")).status_code == 404
        page = browser.get(location)
    thread.join(10)
    assert page.status_code == 200
    assert [a.status for a in outcome] == [200]
    assert anaf_tokens.token_status(env.ctx).authorised


def test_invoices_list_show_retry_commands(cli_env, capsys) -> None:  # type: ignore[no-untyped-def]
    env = cli_env
    ok_id, ok = env.issue(issued=date(2026, 3, 2))
    nok_id, nok = env.issue(issued=date(2026, 4, 8))
    env.state.inject_nok(
        "[BR-RO-120]-Nu exista identificator cumparator #Buyer id missing", invoice_number=nok
    )
    env.drive([ok_id, nok_id])
    capsys.readouterr()
    assert cli.main(["invoices", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [
        (
            r["number"],
            r["anaf_state"],
            r["upload_index"],
            r["download_id"],
            r["deadline"],
            r["deadline_status"],
            r["archived"],
            r["findings"],
        )
        for r in rows
    ] == [
        (ok, "ok", "5001130147", "3001474424", "2026-03-09", None, True, []),
        (nok, "nok", "5001130148", "3001474425", "2026-04-17", "overdue", False, ["V-BR-RO-120"]),
    ]
    assert cli.main(["invoices", "list", "--overdue", "--json"]) == 0
    assert [r["number"] for r in json.loads(capsys.readouterr().out)] == [nok]
    assert cli.main(["invoices", "show", nok, "--json"]) == 0
    detail = json.loads(capsys.readouterr().out)
    assert [e["event"] for e in detail["timeline"]] == [
        "validation:passed",
        "issued",
        "anaf_upload_intent",
        "anaf_uploaded",
        "anaf_in_processing",
        "anaf_nok",
        "anaf_findings",
    ]
    assert detail["findings"][0]["field"] == "metadata.cui"
    assert cli.main(["invoices", "retry", ok]) == 1
    assert "storno" in capsys.readouterr().err
    assert cli.main(["invoices", "show", "NOPE1"]) == 1


def test_anaf_status_and_token_import_commands(cli_env, capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = cli_env
    assert cli.main(["anaf", "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert (status["cui"], status["authorised"], status["env"]) == ("18547290", True, "test")
    raw = env.state.mint_tokens()
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps(raw))
    assert cli.main(["anaf", "token", "import", "--file", str(path)]) == 0
    assert "tokens stored" in capsys.readouterr().out
    env.ctx.caches.anaf_tokens = None
    env.ctx.caches.secret_key = None
    stored = anaf_tokens.load_tokens(env.ctx)
    assert stored is not None and stored.access == raw["access_token"]
    assert cli.main(["anaf", "token", "import"]) == 2


def test_an_unknown_refresh_token_expiry_is_said_plainly(cli_env, capsys) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace as _replace

    from stripe_efactura.anaf.oauth import token_set_from_response
    from stripe_efactura.app.anaf_login import reauthorise_by

    env = cli_env
    tokens = token_set_from_response(env.state.mint_tokens(), env.clock.now())
    anaf_tokens.save_tokens(env.ctx, _replace(tokens, refresh_exp=None), source="test")
    capsys.readouterr()
    assert cli.main(["anaf", "status"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == (
        "  refresh token expires unknown (ANAF did not give an expiry; you are told when "
        "ANAF refuses it)"
    )
    assert "?" not in "\n".join(lines) and "None" not in "\n".join(lines)
    assert reauthorise_by(None)[1] == (
        "the refresh token's expiry is unknown (ANAF did not give one); you will be told "
        "when ANAF refuses it"
    )
    assert reauthorise_by(tokens.refresh_exp)[1].startswith("authorise again by 20")


def test_sweep_leaves_finished_invoices_alone(env) -> None:  # type: ignore[no-untyped-def]
    env.state.inject_nok()
    nok_id, _nok = env.issue()
    ok_id, _ok = env.issue()
    env.drive([nok_id, ok_id])
    assert (env.row(nok_id).anaf_state, env.row(ok_id).anaf_state) == ("nok", "ok")
    with db.write(env.ctx.engine) as conn:
        conn.execute(
            sa.text("UPDATE invoices SET updated_at = :t"),
            {"t": db.db_now(conn) - timedelta(hours=1)},
        )
    assert anaf_jobs.sweep(env.ctx) == []


def test_anaf_login_prints_the_authorize_url(cli_env, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    assert cli.main(["anaf", "login"]) == 2  # no redirect URI configured
    assert "EFACTURA_ANAF_REDIRECT_URI" in capsys.readouterr().err
    monkeypatch.setenv("EFACTURA_ANAF_REDIRECT_URI", "https://efactura.example.ro/anaf/callback")
    monkeypatch.setenv("EFACTURA_ANAF_OAUTH_BASE", "https://logincert.anaf.ro")
    assert cli.main(["anaf", "login"]) == 0
    out = capsys.readouterr().out
    (url,) = [line for line in out.splitlines() if line.startswith("https://")]
    assert url.startswith("https://logincert.anaf.ro/anaf-oauth2/v1/authorize?response_type=code")
    query = dict(part.split("=", 1) for part in url.split("?", 1)[1].split("&"))
    assert query["client_id"] == "fake-client-id"
    assert query["redirect_uri"] == "https%3A%2F%2Fefactura.example.ro%2Fanaf%2Fcallback"
    assert query["token_content_type"] == "jwt"
    assert anaf_login.check_login_state(cli_env.ctx, query["state"])
