"""The typed ANAF work record reads and writes the JSON stored by earlier versions unchanged."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from stripe_efactura.errors import Problem
from stripe_efactura.store.anaf_work import (
    AnafState,
    AnafWork,
    PastFiling,
    Reconciled,
    has_work,
)

FINDING = Problem(
    code="BR-RO-065",
    field="invoice",
    message_ro="Identificatorul vânzătorului lipsește.",
    message_en="The seller identifier is missing.",
    hint="Fix it.",
    hint_ro="Corectați.",
    context=(("rule", "BR-RO-065"),),
).to_dict()

#: A record as the former ``services/anaf_sync.py`` wrote it, every key set.
OLD = {
    "archive_error": "E-ANAF-EXPIRED",
    "attempt": "a" * 32,
    "duplicate_of": "5001",
    "findings": [FINDING],
    "first_intent_at": "2026-03-02T08:00:00+00:00",
    "history": [{"state": "nok", "upload_index": "4999", "findings": ["BR-RO-065", None]}],
    "intent_at": "2026-03-02T08:20:00+00:00",
    "polls": 3,
    "reason": "I-TEST-MODE: a test-mode invoice is never sent to ANAF production",
    "reconciled": {"via": "message_list", "index": "5001"},
    "rejected_duplicate": "5002",
    "reupload_after_unknown": "b" * 32,
    "unknown_since": "2026-03-02T08:21:00+00:00",
    "upload_date": "202603021021",
    "uploads": 2,
}


def test_every_old_key_reads_typed_and_writes_back_identically() -> None:
    work = AnafWork.from_json(json.dumps(OLD))
    assert work.intent_at == datetime(2026, 3, 2, 8, 20, tzinfo=UTC)
    assert work.reconciled == Reconciled("message_list", "5001")
    assert work.history == (PastFiling("nok", "4999", ("BR-RO-065", None)),)
    assert work.findings is not None and work.findings[0].code == "BR-RO-065"
    assert (work.uploads, work.polls) == (2, 3)
    assert work.extra == {}
    assert json.loads(work.to_json()) == OLD


def test_unset_keys_stay_absent_and_unknown_keys_are_kept() -> None:
    assert AnafWork.from_json(None).to_dict() == {}
    assert AnafWork.from_json("not json").to_dict() == {}
    assert AnafWork.from_json("[1, 2]").to_dict() == {}
    retried = {"history": OLD["history"], "uploads": 1, "future_key": {"x": 1}}
    work = AnafWork.from_json(json.dumps(retried))
    assert work.findings is None  # not read yet, unlike an empty tuple
    assert work.to_dict() == retried


def test_findings_read_but_empty_differs_from_not_read() -> None:
    read = AnafWork.from_json(json.dumps({"findings": []}))
    assert read.findings == ()
    assert has_work(AnafState.NOK, read, unarchived=True) is False
    assert has_work(AnafState.NOK, AnafWork(), unarchived=True) is True
    assert has_work(AnafState.OK, AnafWork(archive_error="E-ANAF-EXPIRED"), True) is False
    assert has_work(AnafState.OK, AnafWork(), unarchived=False) is False
    assert has_work(AnafState.UNKNOWN, AnafWork(), unarchived=False) is True
    assert has_work(AnafState.REJECTED, AnafWork(), unarchived=True) is False


def test_states_are_the_stored_strings() -> None:
    assert [s.value for s in AnafState] == [
        "pending_upload",
        "uploading",
        "uploaded",
        "in_processing",
        "ok",
        "nok",
        "rejected_at_upload",
        "unknown",
        "not_uploaded",
    ]
