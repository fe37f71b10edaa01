"""One invoice's way through ANAF against the fake, for every fault the fake can produce."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from stripe_efactura.anaf.fake import BR_RO_065, FaultKind
from stripe_efactura.app import anaf_admin, anaf_intent, anaf_lifecycle, anaf_port, anaf_tuning
from stripe_efactura.store import anaf_work, db
from stripe_efactura.store import invoices as invoice_store
from stripe_efactura.store.anaf_work import AnafState, AnafWork
from stripe_efactura.store.tables import anaf_tokens, invoice_files, notices, payments

FAST = anaf_tuning.Tuning(
    upload_timeout=0.3, timeout=0.3, reconcile_grace_seconds=600, list_lag_seconds=30
)


def _notices(env) -> list[tuple[str, str, list[str]]]:  # type: ignore[no-untyped-def]
    with db.read(env.ctx.engine) as conn:
        rows = conn.execute(sa.select(notices).order_by(notices.c.id)).all()
    return [(r.kind, r.ref, [p["code"] for p in json.loads(r.payload)["problems"]]) for r in rows]


def _payment(env, key: str):  # type: ignore[no-untyped-def]
    with db.read(env.ctx.engine) as conn:
        return conn.execute(sa.select(payments).where(payments.c.payment_key == key)).one()


HAPPY = [
    "issued",
    "anaf_upload_intent",
    "anaf_uploaded",
    "anaf_in_processing",
    "anaf_ok",
    "anaf_archived",
]


def test_happy_path_uploads_once_and_archives_the_signed_zip(env) -> None:  # type: ignore[no-untyped-def]
    invoice_id, number = env.issue()
    last = env.drive([invoice_id])
    assert last[invoice_id] == anaf_port.Step(AnafState.OK, None)
    row = env.row(invoice_id)
    assert (row.anaf_state, row.upload_index, row.download_id) == ("ok", "5001130147", "3001474424")
    assert env.events(invoice_id) == HAPPY
    (sent,) = env.state.uploads(number)
    assert (sent.endpoint, sent.params) == ("upload", {"standard": "UBL", "cif": "18547290"})
    with zipfile.ZipFile(io.BytesIO(row.signed_zip)) as archive:
        assert archive.namelist() == ["5001130147.xml", "semnatura_5001130147.xml"]
        assert archive.read("5001130147.xml") == bytes(row.xml)
    path = env.tmp / "archive" / "2026" / f"{number}.zip"
    assert path.read_bytes() == bytes(row.signed_zip)
    # stareMesaj twice (in prelucrare, ok), one download
    calls = [target.split("?")[0].rsplit("/", 1)[1] for _t, _m, target in env.state.request_log]
    assert calls == ["upload", "stareMesaj", "stareMesaj", "descarcare"]
    assert anaf_lifecycle.advance(env.ctx, invoice_id) == anaf_port.Step(AnafState.OK, None)
    with db.read(env.ctx.engine) as conn:  # the archive: one row of invoice_files, kept
        files = conn.execute(
            sa.select(invoice_files.c.kind, invoice_files.c.content)
            .where(invoice_files.c.invoice_id == invoice_id)
            .order_by(invoice_files.c.kind)
        ).all()
    assert [(k, bytes(c)) for k, c in files] == [
        ("signed_zip", path.read_bytes()),
        ("xml", bytes(row.xml)),
    ]


@pytest.mark.parametrize(
    ("buyer", "endpoint", "params"),
    [
        ("CONSUMER", "uploadb2c", {"standard": "UBL", "cif": "18547290"}),
        ("FOREIGN", "upload", {"standard": "UBL", "cif": "18547290", "extern": "DA"}),
    ],
)
def test_upload_endpoint_follows_the_buyer(env, buyer, endpoint, params) -> None:  # type: ignore[no-untyped-def]
    invoice_id, number = env.issue(buyer=env.buyer(buyer))
    env.drive([invoice_id])
    (sent,) = env.state.uploads(number)
    assert (sent.endpoint, sent.params) == (endpoint, params)
    assert env.row(invoice_id).anaf_state == "ok"


def test_5xx_on_upload_is_unknown_then_reuploaded_after_the_grace_period(make_env) -> None:  # type: ignore[no-untyped-def]
    env = make_env(tune=FAST, processing_delay=timedelta(seconds=60))
    env.state.inject(FaultKind.SERVER_ERROR, "upload", status=502)
    invoice_id, number = env.issue()
    env.drive([invoice_id])
    row = env.row(invoice_id)
    assert row.anaf_state == "ok"
    assert env.state.upload_count(number) == 1  # the 502 took nothing
    assert env.events(invoice_id) == [
        "issued",
        "anaf_upload_intent",
        "anaf_upload_unknown",
        "anaf_reupload",
        "anaf_upload_intent",
        "anaf_uploaded",
        "anaf_in_processing",
        "anaf_ok",
        "anaf_archived",
    ]
    assert row.upload_index == env.state.uploads(number)[0].index


@pytest.mark.parametrize("fault", [FaultKind.TIMEOUT_AFTER_ACCEPT, FaultKind.DROP_AFTER_ACCEPT])
def test_answer_lost_after_the_upload_was_taken_is_found_in_the_message_list(
    make_env, fault
) -> None:  # type: ignore[no-untyped-def]
    env = make_env(tune=FAST, processing_delay=timedelta(seconds=60))
    env.state.inject(fault, "upload", delay=1.0)
    invoice_id, number = env.issue()
    env.drive([invoice_id])
    row = env.row(invoice_id)
    (taken,) = env.state.uploads(number)  # exactly one upload at ANAF
    assert (row.anaf_state, row.upload_index, row.download_id) == (
        "ok",
        taken.index,
        taken.download_id,
    )
    assert env.events(invoice_id) == [
        "issued",
        "anaf_upload_intent",
        "anaf_upload_unknown",
        "anaf_reconciled",
        "anaf_ok",
        "anaf_archived",
    ]
    with zipfile.ZipFile(io.BytesIO(row.signed_zip)) as archive:
        assert archive.read(f"{taken.index}.xml") == bytes(row.xml)


def test_lost_answer_not_listed_in_time_is_resolved_by_the_duplicate_message(make_env) -> None:  # type: ignore[no-untyped-def]
    env = make_env(tune=FAST, processing_delay=timedelta(seconds=60), list_delay=timedelta(hours=3))
    env.state.inject(FaultKind.TIMEOUT_AFTER_ACCEPT, "upload", delay=1.0)
    invoice_id, number = env.issue()
    env.drive([invoice_id])
    row = env.row(invoice_id)
    first, second = env.state.uploads(number)
    # the deliberate second upload was refused as a duplicate: ANAF holds ONE valid filing
    assert (first.outcome, second.outcome) == ("ok", "nok")
    duplicate = f"Factura a mai fost transmisa anterior cu index={first.index} si data incarcare="
    assert second.errors == (duplicate + "2026-03-02",)
    assert (row.anaf_state, row.upload_index, row.download_id) == (
        "ok",
        first.index,
        first.download_id,
    )
    assert env.events(invoice_id) == [
        "issued",
        "anaf_upload_intent",
        "anaf_upload_unknown",
        "anaf_reupload",
        "anaf_upload_intent",
        "anaf_uploaded",
        "anaf_in_processing",
        "anaf_nok",
        "anaf_reconciled",
        "anaf_ok",
        "anaf_archived",
    ]
    assert _notices(env) == []  # a duplicate is not a rejection
    assert _payment(env, row.payment_key).status == "invoiced"


def test_slow_answers_within_the_timeout_just_take_longer(make_env) -> None:  # type: ignore[no-untyped-def]
    env = make_env(tune=anaf_tuning.Tuning(timeout=2.0, upload_timeout=2.0))
    env.state.inject(FaultKind.SLOW, "upload", delay=0.05)
    env.state.inject(FaultKind.SLOW, "stareMesaj", delay=0.05)
    invoice_id, number = env.issue()
    env.drive([invoice_id])
    assert env.events(invoice_id) == HAPPY
    assert env.state.upload_count(number) == 1


def test_slow_upload_beyond_the_timeout_was_not_taken_and_is_sent_once(make_env) -> None:  # type: ignore[no-untyped-def]
    env = make_env(tune=FAST, processing_delay=timedelta(seconds=60))
    env.state.inject(FaultKind.SLOW, "upload", delay=1.0)
    invoice_id, number = env.issue()
    env.drive([invoice_id])
    assert env.row(invoice_id).anaf_state == "ok"
    assert env.state.upload_count(number) == 1
    assert "anaf_reupload" in env.events(invoice_id)


@pytest.mark.parametrize(
    "fault", [FaultKind.SERVER_ERROR, FaultKind.TECHNICAL, FaultKind.QUOTA_429, FaultKind.QUOTA_204]
)
def test_transient_faults_on_status_and_download_are_retried(make_env, fault) -> None:  # type: ignore[no-untyped-def]
    env = make_env()
    env.state.inject(fault, "stareMesaj")
    env.state.inject(fault, "descarcare")
    invoice_id, number = env.issue()
    start = env.clock.now()
    env.drive([invoice_id])
    row = env.row(invoice_id)
    assert (row.anaf_state, row.signed_zip is not None) == ("ok", True)
    assert env.state.upload_count(number) == 1
    waited = (env.clock.now() - start).total_seconds()
    # poll after 5 s (fault, wait 60 s), "in prelucrare", poll 10 s later: ok; download
    # (fault, wait 60 s), download
    assert waited == 5 + 60 + 10 + 60


@pytest.mark.parametrize("fault", [FaultKind.QUOTA_429, FaultKind.QUOTA_204])
def test_quota_answer_on_upload_leaves_it_pending_and_retries(make_env, fault) -> None:  # type: ignore[no-untyped-def]
    env = make_env()
    env.state.inject(fault, "upload")
    invoice_id, number = env.issue()
    env.drive([invoice_id])
    assert env.row(invoice_id).anaf_state == "ok"
    assert env.state.upload_count(number) == 1
    assert env.events(invoice_id)[:4] == [
        "issued",
        "anaf_upload_intent",
        "anaf_upload_not_sent",
        "anaf_upload_intent",
    ]


def test_lasting_waf_page_on_upload_is_a_rejection_with_an_explanation(env) -> None:  # type: ignore[no-untyped-def]
    env.state.inject(FaultKind.WAF, "upload", times=4)  # the first three are tried again
    invoice_id, number = env.issue()
    last = env.drive([invoice_id])
    row = env.row(invoice_id)
    assert last[invoice_id] == anaf_port.Step(AnafState.REJECTED, None, "E-ANAF-WAF")
    assert env.state.upload_count(number) == 0
    assert _notices(env) == [("anaf_rejected", number, ["E-ANAF-WAF"])]
    pay = _payment(env, row.payment_key)
    assert pay.status == "needs_attention"
    (problem,) = json.loads(pay.problems)
    assert problem["hint"] == (
        "This is often temporary: run `stripe-efactura invoices retry NUMBER` later (no --force "
        "needed). If it persists, texts such as ';CP ' in an address or an xsi:schemaLocation "
        "trigger it: correct the data, then retry."
    )


def test_nok_with_br_ro_findings_explains_them_and_retry_keeps_number_and_date(env) -> None:  # type: ignore[no-untyped-def]
    env.state.inject_nok(BR_RO_065)
    invoice_id, number = env.issue()
    last = env.drive([invoice_id])
    assert last[invoice_id] == anaf_port.Step(AnafState.NOK, None, "BR-RO-065")
    row = env.row(invoice_id)
    assert (row.anaf_state, row.upload_index) == ("nok", "5001130147")
    assert _notices(env) == [("anaf_rejected", number, ["V-BR-RO-065"])]
    (problem,) = json.loads(_payment(env, row.payment_key).problems)
    assert problem["code"] == "V-BR-RO-065"
    assert problem["field"] == "efactura.toml [company]"
    assert problem["message_ro"] == (
        "Identificatorul de înregistrare fiscala a Vanzatorului (BT-32) trebuie sa fie înscris."
    )
    assert (
        problem["message_en"] == "The Seller tax registration identifier (BT-32) shall be present."
    )
    detail = anaf_admin.invoice_detail(env.ctx, number)
    assert [f["code"] for f in detail["findings"]] == ["V-BR-RO-065"]

    # unchanged data: refused; corrected data: re-sent with the same number and date
    with pytest.raises(anaf_admin.RetryRefused):
        anaf_admin.retry_invoice(
            env.ctx, number, corrected=anaf_admin.Corrected(bytes(row.xml), row.snapshot, "")
        )
    fixed = bytes(row.xml).replace(b"Abonament lunar", b"Abonament lunar corectat")
    result = anaf_admin.retry_invoice(
        env.ctx, number, corrected=anaf_admin.Corrected(fixed, row.snapshot, "{}")
    )
    assert (result["previous_state"], result["previous_index"], result["xml_changed"]) == (
        "nok",
        "5001130147",
        True,
    )
    env.drive([invoice_id])
    row2 = env.row(invoice_id)
    assert (row2.number, row2.issue_date, row2.anaf_state) == (number, row.issue_date, "ok")
    assert row2.upload_index == "5001130148"
    assert bytes(row2.xml) == fixed
    assert env.events(invoice_id)[-7:] == [
        "anaf_findings",
        "corrected",
        "anaf_upload_intent",
        "anaf_uploaded",
        "anaf_in_processing",
        "anaf_ok",
        "anaf_archived",
    ]
    assert _payment(env, row.payment_key).status == "invoiced"
    with pytest.raises(anaf_admin.RetryRefused, match="storno"):
        anaf_admin.retry_invoice(env.ctx, number, force=True)
    assert [m.outcome for m in env.state.uploads(number)] == ["nok", "ok"]


def test_xml_not_taken_by_the_system_is_rejected_at_upload(env) -> None:  # type: ignore[no-untyped-def]
    env.state.inject_nok("ignored", state="xml_errors")
    invoice_id, number = env.issue()
    last = env.drive([invoice_id])
    assert last[invoice_id] == anaf_port.Step(AnafState.REJECTED, None, "E-ANAF-XML-NOT-TAKEN")
    assert _notices(env) == [("anaf_rejected", number, ["E-ANAF-XML-NOT-TAKEN"])]


def test_test_mode_invoice_never_reaches_production(make_env, tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = make_env()
    env.ctx.settings = env.ctx.settings.with_(anaf_env="prod")
    invoice_id, _number = env.issue(livemode=False)
    last = env.drive([invoice_id])
    assert last[invoice_id].state == "not_uploaded"
    assert env.state.request_log == []
    assert env.events(invoice_id) == ["issued", "anaf_not_uploaded"]
    with pytest.raises(anaf_admin.RetryRefused, match="test-mode"):
        anaf_admin.retry_invoice(env.ctx, _number, force=True)


def test_401_refreshes_the_token_once_and_uploads(env) -> None:  # type: ignore[no-untyped-def]
    env.state.inject(FaultKind.UNAUTHORIZED, "upload")
    invoice_id, number = env.issue()
    env.drive([invoice_id])
    assert env.row(invoice_id).anaf_state == "ok"
    assert env.state.upload_count(number) == 1
    with db.read(env.ctx.engine) as conn:
        assert conn.execute(sa.select(anaf_tokens.c.version)).scalar_one() == 2


def test_series_with_auto_upload_off_waits_for_retry(env) -> None:  # type: ignore[no-untyped-def]
    invoice_id, number = env.issue(anaf_state="not_uploaded")
    assert env.drive([invoice_id])[invoice_id].state == "not_uploaded"
    assert env.state.request_log == []
    anaf_admin.retry_invoice(
        env.ctx, number, corrected=anaf_admin.Corrected(bytes(env.row(invoice_id).xml), "", "")
    )
    env.drive([invoice_id])
    assert env.row(invoice_id).anaf_state == "ok"
    assert env.state.upload_count(number) == 1


def test_no_spv_rights_waits_and_tells_the_merchant_once_a_day(make_env) -> None:  # type: ignore[no-untyped-def]
    env = make_env(cifs={"99999999"})
    invoice_id, number = env.issue()
    steps = [anaf_lifecycle.advance(env.ctx, invoice_id) for _ in range(2)]
    assert steps == [anaf_port.Step(AnafState.PENDING, 3600.0, "E-ANAF-NO-RIGHTS")] * 2
    assert _notices(env) == [("auth_expiry", "18547290:no-rights:2026-03-02", ["E-ANAF-NO-RIGHTS"])]
    assert env.state.upload_count(number) == 0
    env.state.cifs = None  # rights granted
    env.drive([invoice_id])
    assert env.row(invoice_id).anaf_state == "ok"
    assert env.state.upload_count(number) == 1


@pytest.mark.parametrize("attempt", ["same", "another"])
def test_an_upload_answer_after_the_row_changed_is_matched_under_lock(  # type: ignore[no-untyped-def]
    env, monkeypatch, attempt
) -> None:
    """The answer is one guarded UPDATE while the row holds what the intent wrote; when it
    changed meanwhile the row is read again under lock: the same attempt is recorded on the
    record read (its ``uploads`` kept), another attempt's answer is stale and changes nothing."""
    invoice_id, _number = env.issue()
    real = anaf_port.client(env.ctx)

    class Meddling:  # another process writes the work record while the upload is in flight
        def __getattr__(self, name: str) -> object:
            return getattr(real, name)

        def upload(self, *args: Any, **kwargs: Any) -> object:
            result = real.upload(*args, **kwargs)
            with db.write(env.ctx.engine) as conn:
                inv = anaf_work.load(conn, invoice_id, lock=True)
                assert inv is not None and inv.work.attempt is not None
                mine = inv.work.attempt if attempt == "same" else "other"
                anaf_work.save(conn, invoice_id, replace(inv.work, attempt=mine, uploads=5))
            return result

    monkeypatch.setattr(anaf_port, "client", lambda ctx: Meddling())
    step = anaf_lifecycle.advance(env.ctx, invoice_id)
    row = env.row(invoice_id)
    work = AnafWork.from_json(row.anaf_messages)
    if attempt == "same":
        assert (step.state, row.anaf_state, row.upload_index) == (
            AnafState.UPLOADED,
            "uploaded",
            "5001130147",
        )
        assert env.events(invoice_id)[-1] == "anaf_uploaded"
    else:
        assert step == anaf_port.Step(AnafState.UPLOADING, 0.0, "stale attempt")
        assert (row.anaf_state, row.upload_index, work.attempt) == ("uploading", None, "other")
        assert "anaf_uploaded" not in env.events(invoice_id)
    assert work.uploads == 5


def test_an_intent_from_a_stale_read_is_written_from_the_row_under_lock(env) -> None:  # type: ignore[no-untyped-def]
    """The intent is one guarded UPDATE on the state and work record read before its
    transaction; when the row changed meanwhile it is read again under lock: a work record
    changed by another process is carried on, a state that moved on writes nothing."""
    invoice_id, _number = env.issue()
    with db.read(env.ctx.engine) as conn:
        seen = anaf_work.load(conn, invoice_id)
    assert seen is not None and seen.state is AnafState.PENDING
    with db.write(env.ctx.engine) as conn:  # another process, between the read and the intent
        anaf_work.save(conn, invoice_id, replace(seen.work, uploads=4, reason="waited"))
    intent = anaf_intent.record_intent(env.ctx, invoice_id, seen)
    assert isinstance(intent, anaf_intent.Intent)
    row = env.row(invoice_id)
    work = AnafWork.from_json(row.anaf_messages)
    assert (row.anaf_state, work.attempt, work.uploads, work.reason) == (
        "uploading",
        intent.attempt,
        5,
        None,
    )
    assert env.events(invoice_id)[-1] == "anaf_upload_intent"
    again = anaf_intent.record_intent(env.ctx, invoice_id, seen)  # the row is uploading now
    assert again == anaf_port.Step(AnafState.UPLOADING, 0.0, "moved on")
    assert AnafWork.from_json(env.row(invoice_id).anaf_messages).attempt == intent.attempt
    assert env.events(invoice_id).count("anaf_upload_intent") == 1


def _intent_and_its_statements(
    env: Any, invoice_id: int, seen: anaf_work.Lifecycle | None
) -> tuple[anaf_intent.Intent | anaf_port.Step, list[str]]:
    """``record_intent`` from ``seen``, and the statements it ran."""
    statements: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(" ".join(statement.split()))

    sa.event.listen(env.ctx.engine, "before_cursor_execute", record)
    try:
        intent = anaf_intent.record_intent(env.ctx, invoice_id, seen)
    finally:
        sa.event.remove(env.ctx.engine, "before_cursor_execute", record)
    return intent, statements


def test_an_intent_from_a_current_read_reads_nothing_under_lock(env) -> None:  # type: ignore[no-untyped-def]
    """The common case: the row still holds what the lifecycle read, and the intent is the
    guarded UPDATE alone (no read of the invoice's row in its transaction)."""
    invoice_id, _number = env.issue()
    with db.read(env.ctx.engine) as conn:
        seen = anaf_work.load(conn, invoice_id)
    intent, statements = _intent_and_its_statements(env, invoice_id, seen)
    assert isinstance(intent, anaf_intent.Intent)
    assert [s for s in statements if s.startswith("SELECT") and "FROM invoices" in s] == []
    assert env.row(invoice_id).anaf_state == "uploading"


def test_the_lifecycle_reads_a_pending_invoices_xml_with_its_row(env) -> None:  # type: ignore[no-untyped-def]
    """``anaf_work.load_for_step``: the XML of an invoice pending upload comes with its row,
    and the intent from that read reads no document in its transaction; once the invoice
    moved on, the row comes without it."""
    invoice_id, _number = env.issue()
    with db.read(env.ctx.engine) as conn:
        seen = anaf_work.load_for_step(conn, invoice_id)
        stored = invoice_store.xml_of(conn, invoice_id)
    assert seen is not None and seen.state is AnafState.PENDING and seen.xml == stored
    intent, statements = _intent_and_its_statements(env, invoice_id, seen)
    assert isinstance(intent, anaf_intent.Intent) and intent.xml == stored
    assert [s for s in statements if "invoice_files" in s and s.startswith("SELECT")] == []
    with db.read(env.ctx.engine) as conn:
        after = anaf_work.load_for_step(conn, invoice_id)
    assert after is not None and after.state is AnafState.UPLOADING and after.xml is None


def test_an_xml_replaced_after_the_read_is_the_one_the_intent_sends(env) -> None:  # type: ignore[no-untyped-def]
    """The XML read with the row is used only while the row is unchanged (the guarded
    intent): a document replaced between the read and the intent is read again under lock."""
    invoice_id, _number = env.issue()
    with db.read(env.ctx.engine) as conn:
        seen = anaf_work.load_for_step(conn, invoice_id)
    assert seen is not None and seen.xml is not None
    corrected = seen.xml.replace(b"</cbc:Note>", b" (corectat)</cbc:Note>", 1)
    if corrected == seen.xml:
        corrected = seen.xml + b"\n"
    with db.write(env.ctx.engine) as conn:  # a correction, between the read and the intent
        invoice_store.update_invoice(conn, invoice_id, xml=corrected)
    intent = anaf_intent.record_intent(env.ctx, invoice_id, seen)
    assert isinstance(intent, anaf_intent.Intent)
    assert intent.xml == corrected != seen.xml
