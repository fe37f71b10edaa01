"""ANAF stalls (issue 16, item 4): one unreadable filing, a failing token endpoint, a firewall
page or a long-lost answer never stalls other invoices silently."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest
import sqlalchemy as sa

from stripe_efactura.anaf.client import AnafClient
from stripe_efactura.anaf.fake import FaultKind, sample_invoice
from stripe_efactura.anaf.oauth import OAuthError, token_set_from_response
from stripe_efactura.anaf.quotas import Limit, QuotaKind, QuotaPolicy, Window
from stripe_efactura.app import (
    anaf_admin,
    anaf_deadlines,
    anaf_lifecycle,
    anaf_port,
    anaf_tokens,
    anaf_tuning,
)
from stripe_efactura.store import anaf_downloads, db
from stripe_efactura.store.anaf_work import AnafState, AnafWork
from stripe_efactura.store.tables import notices

FAST = anaf_tuning.Tuning(
    upload_timeout=0.3, timeout=0.3, reconcile_grace_seconds=600, list_lag_seconds=30
)


def _notices(env) -> list[tuple[str, str, list[str]]]:  # type: ignore[no-untyped-def]
    with db.read(env.ctx.engine) as conn:
        rows = conn.execute(sa.select(notices).order_by(notices.c.id)).all()
    return [(r.kind, r.ref, [p["code"] for p in json.loads(r.payload)["problems"]]) for r in rows]


def _other_programs_filing(env) -> str:  # type: ignore[no-untyped-def]
    """A filing of the same CUI made by another program, listed in SPV, whose download is
    always an unreadable ZIP; returns its download id."""
    anaf_port.client(env.ctx).upload(sample_invoice("ALT-1", seller="RO18547290"), "18547290")
    env.clock.advance(minutes=2)  # processed and listed
    (msg,) = env.state.uploads("ALT-1")
    assert msg.download_id is not None
    env.state.broken_downloads.add(msg.download_id)
    return msg.download_id


@pytest.mark.parametrize("downloads_per_day", [6, 1])
def test_an_unreadable_listed_filing_is_backed_off_and_stalls_no_invoice(
    make_env, downloads_per_day
) -> None:  # type: ignore[no-untyped-def]
    policy = QuotaPolicy(
        {**QuotaPolicy.default().limits, QuotaKind.DOWNLOAD: Limit(downloads_per_day, Window.DAY)}
    )
    env = make_env(tune=replace(FAST, policy=policy), processing_delay=timedelta(seconds=60))
    broken = _other_programs_filing(env)
    # five uploads answered 502: nothing taken, each invoice reconciles for the whole grace
    # period (a pass every 2 minutes) before its deliberate re-upload
    env.state.inject(FaultKind.SERVER_ERROR, "upload", status=502, times=5)
    ids = [env.issue()[0] for _ in range(5)]
    start = env.clock.now()
    env.drive(ids)
    for invoice_id in ids:
        row = env.row(invoice_id)
        assert (row.anaf_state, row.signed_zip is not None) == ("ok", True)
        assert env.state.upload_count(row.number) == 1
    # done within the grace period plus processing, not at midnight
    assert env.clock.now() - start < timedelta(minutes=20)
    tries = [t for t in env.state.request_log if t[2].endswith(f"descarcare?id={broken}")]
    with db.read(env.ctx.engine) as conn:
        (failed,) = anaf_downloads.failing(conn)
    if downloads_per_day == 6:
        # 25 reconciliation passes read the list; the broken filing was fetched 3 times, at
        # +30 s, +150 s (60 s after the first failure) and +390 s (240 s after the second)
        assert [round((t[0] - start).total_seconds()) for t in tries] == [30, 150, 390]
        assert (failed.failures, failed.last_error) == (3, "E-ANAF-PROTOCOL")
        assert failed.retry_after == start + timedelta(seconds=390 + 960)
    else:
        # the one download of the day is spent; the next passes skip the message at once
        assert len(tries) == 1
        assert (failed.failures, failed.last_error) == (1, "E-ANAF-PROTOCOL")
    assert (failed.download_id, failed.upload_index) == (
        broken,
        env.state.uploads("ALT-1")[0].index,
    )


def test_a_download_that_failed_before_is_not_fetched_until_its_backoff_ends(env) -> None:  # type: ignore[no-untyped-def]
    invoice_id, number = env.issue()
    env.drive([invoice_id], until=env.clock.now())  # upload
    first = anaf_lifecycle.advance(env.ctx, invoice_id)  # poll: in prelucrare
    assert first.state is AnafState.IN_PROCESSING
    env.clock.advance(seconds=first.delay or 0)
    env.state.broken_downloads.add(env.state.uploads(number)[0].download_id or "")
    steps = []
    for _ in range(4):
        step = anaf_lifecycle.advance(env.ctx, invoice_id)
        steps.append((step.state, step.delay, step.note))
        env.clock.advance(seconds=step.delay or 0)
    assert steps == [
        (AnafState.OK, 60.0, "E-ANAF-PROTOCOL"),  # poll ok, download unreadable
        (AnafState.OK, 60.0, "E-ANAF-PROTOCOL"),  # again: backed off 240 s from now
        (AnafState.OK, 180.0, ""),  # deferred to the end of the back-off: no call at all
        (AnafState.OK, 60.0, "E-ANAF-PROTOCOL"),
    ]
    downloads = [t for t in env.state.request_log if "descarcare" in t[2]]
    assert len(downloads) == 3
    env.state.broken_downloads.clear()
    env.clock.advance(seconds=960)
    assert anaf_lifecycle.advance(env.ctx, invoice_id) == anaf_port.Step(AnafState.OK, None)
    assert env.row(invoice_id).signed_zip is not None
    with db.read(env.ctx.engine) as conn:
        assert anaf_downloads.failing(conn) == []  # a success forgets the failures


def _tokens_due_for_refresh(env) -> None:  # type: ignore[no-untyped-def]
    tokens = token_set_from_response(env.state.mint_tokens(), env.clock.now())
    now = env.clock.now()  # a 90-day token one day before its end: inside the 7-day margin
    due = replace(tokens, access_exp=now + timedelta(days=1), access_iat=now - timedelta(days=89))
    anaf_tokens.save_tokens(env.ctx, due, source="test")


def test_a_failing_token_endpoint_leaves_the_invoice_pending_with_a_reason(env) -> None:  # type: ignore[no-untyped-def]
    _tokens_due_for_refresh(env)
    env.state.inject(FaultKind.SERVER_ERROR, "token", times=2)
    invoice_id, number = env.issue()
    steps = [anaf_lifecycle.advance(env.ctx, invoice_id) for _ in range(2)]
    assert steps == [anaf_port.Step(AnafState.PENDING, 60.0, "E-ANAF-OAUTH")] * 2
    row = env.row(invoice_id)
    assert row.anaf_state == "pending_upload"
    reason = AnafWork.from_json(row.anaf_messages).reason or ""
    assert reason.startswith("E-ANAF-OAUTH: no usable ANAF token (")
    assert reason.endswith("); nothing was sent to ANAF")
    assert anaf_admin.invoices_listing(env.ctx)[0]["reason"] == reason
    assert env.events(invoice_id) == ["issued", "anaf_upload_waits"]  # once, no intent
    assert env.state.request_log == []
    env.drive([invoice_id])  # the token endpoint answers again
    row = env.row(invoice_id)
    assert (row.anaf_state, AnafWork.from_json(row.anaf_messages).reason) == ("ok", None)
    assert env.state.upload_count(number) == 1


def test_a_token_failure_inside_the_upload_call_voids_the_intent(env) -> None:  # type: ignore[no-untyped-def]
    def no_token() -> str:
        raise OAuthError("ANAF token endpoint unreachable: refused", retryable=True)

    s = env.ctx.settings
    env.ctx.anaf_client = AnafClient(s.anaf_api_base, "test", no_token, env.ctx.anaf_transport)
    invoice_id, number = env.issue()
    step = anaf_lifecycle.advance(env.ctx, invoice_id)
    assert step == anaf_port.Step(AnafState.PENDING, 60.0, "E-ANAF-OAUTH")
    row = env.row(invoice_id)
    assert row.anaf_state == "pending_upload"  # never unknown: nothing was sent
    assert AnafWork.from_json(row.anaf_messages).reason == (
        "E-ANAF-OAUTH: no usable ANAF token (ANAF token endpoint unreachable: refused); "
        "nothing was sent to ANAF"
    )
    assert env.events(invoice_id) == ["issued", "anaf_upload_intent", "anaf_upload_not_sent"]
    env.ctx.anaf_client = None
    env.drive([invoice_id])
    assert env.row(invoice_id).anaf_state == "ok"
    assert env.state.upload_count(number) == 1


def test_a_passing_firewall_page_at_upload_is_tried_again(env) -> None:  # type: ignore[no-untyped-def]
    env.state.inject(FaultKind.WAF, "upload")
    invoice_id, number = env.issue()
    step = anaf_lifecycle.advance(env.ctx, invoice_id)
    assert step == anaf_port.Step(AnafState.PENDING, 60.0, "E-ANAF-WAF")
    reason = AnafWork.from_json(env.row(invoice_id).anaf_messages).reason or ""
    assert reason.startswith("E-ANAF-WAF: ANAF's firewall answered 'Request Rejected'")
    assert reason.endswith("nothing was taken; upload 2 in 60 s")
    env.drive([invoice_id])
    assert env.row(invoice_id).anaf_state == "ok"
    assert env.state.upload_count(number) == 1
    assert env.events(invoice_id)[:4] == [
        "issued",
        "anaf_upload_intent",
        "anaf_upload_not_sent",
        "anaf_upload_intent",
    ]
    assert _notices(env) == []


def test_a_lasting_firewall_page_is_a_rejection_that_retry_sends_without_force(env) -> None:  # type: ignore[no-untyped-def]
    env.state.inject(FaultKind.WAF, "upload", times=4)
    invoice_id, number = env.issue()
    start = env.clock.now()
    last = env.drive([invoice_id])
    assert last[invoice_id] == anaf_port.Step(AnafState.REJECTED, None, "E-ANAF-WAF")
    assert (env.clock.now() - start).total_seconds() == 60 + 240 + 960
    assert env.state.upload_count(number) == 0
    assert _notices(env) == [("anaf_rejected", number, ["E-ANAF-WAF"])]
    (problem,) = AnafWork.from_json(env.row(invoice_id).anaf_messages).findings or ()
    assert problem.message_en.startswith("ANAF's firewall answered its 'Request Rejected' page 4")
    assert problem.hint.startswith("This is often temporary: run `stripe-efactura invoices retry")
    # the same document goes again, no --force needed
    row = env.row(invoice_id)
    same = anaf_admin.Corrected(bytes(row.xml), row.snapshot, row.validation or "")
    detail = anaf_admin.retry_invoice(env.ctx, number, corrected=same)
    assert (detail["previous_state"], detail["xml_changed"]) == ("rejected_at_upload", False)
    env.drive([invoice_id])
    assert env.row(invoice_id).anaf_state == "ok"
    assert env.state.upload_count(number) == 1


def test_an_outcome_unknown_too_long_tells_the_merchant_once(make_env) -> None:  # type: ignore[no-untyped-def]
    env = make_env(tune=FAST, processing_delay=timedelta(seconds=60))
    env.ctx.settings = env.ctx.settings.with_(anaf_unknown_notice_minutes=30)
    # three uploads answered 502 (nothing taken): unknown since the first, 30 minutes in all
    env.state.inject(FaultKind.SERVER_ERROR, "upload", status=502, times=3)
    invoice_id, number = env.issue()
    since = env.clock.now()
    env.drive([invoice_id], until=since + timedelta(minutes=29))
    assert env.row(invoice_id).anaf_state == "unknown"
    assert anaf_deadlines.check_deadlines(env.ctx) == []
    assert _notices(env) == []
    env.drive([invoice_id])
    assert env.row(invoice_id).anaf_state == "ok"
    assert env.events(invoice_id).count("anaf_upload_unknown") == 3
    ref = f"{number}:{since.isoformat(timespec='seconds')}"
    assert _notices(env) == [("anaf_unknown", ref, ["W-ANAF-UNKNOWN"])]
    assert anaf_deadlines.check_deadlines(env.ctx) == []  # once; and the invoice is ok now
    assert AnafWork.from_json(env.row(invoice_id).anaf_messages).unknown_since is None


def test_the_hourly_check_tells_about_an_invoice_stuck_before_its_reupload(make_env) -> None:  # type: ignore[no-untyped-def]
    env = make_env(tune=FAST, processing_delay=timedelta(seconds=60))
    env.state.inject(FaultKind.SERVER_ERROR, "upload", status=502)
    invoice_id, number = env.issue()
    since = env.clock.now()
    env.drive([invoice_id], until=since + timedelta(minutes=1))
    assert env.row(invoice_id).anaf_state == "unknown"
    # the worker stops (no reconciliation pass) for the default threshold of two hours
    env.clock.advance(hours=2)
    assert anaf_deadlines.check_deadlines(env.ctx) == [f"{number}:unknown"]
    assert anaf_deadlines.check_deadlines(env.ctx) == []
    assert _notices(env) == [
        ("anaf_unknown", f"{number}:{since.isoformat(timespec='seconds')}", ["W-ANAF-UNKNOWN"])
    ]


def test_the_unknown_notice_setting() -> None:
    from stripe_efactura.config import STARTER_TOML, parse_toml, settings_from
    from stripe_efactura.errors import ConfigError

    toml = parse_toml(STARTER_TOML)
    assert settings_from(toml, {}).anaf_unknown_notice_minutes == 120
    env = {"EFACTURA_ANAF_UNKNOWN_NOTICE_MINUTES": "45"}
    assert settings_from(toml, env).anaf_unknown_notice_minutes == 45
    for bad in ("0", "-5", "2h"):
        with pytest.raises(ConfigError):
            settings_from(toml, {"EFACTURA_ANAF_UNKNOWN_NOTICE_MINUTES": bad})
