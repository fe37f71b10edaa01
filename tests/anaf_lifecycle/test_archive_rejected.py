"""A download the archive step refuses is on the invoice's timeline with its reason and in
the log, and the invoice is archived once a readable ZIP comes (issue 14)."""

from __future__ import annotations

import json
import logging

import pytest

from stripe_efactura.app import anaf_lifecycle, anaf_port
from stripe_efactura.store import db
from stripe_efactura.store import invoices as invoice_store
from stripe_efactura.store.anaf_work import AnafState


def test_a_refused_archive_is_on_the_timeline_with_its_reason(  # type: ignore[no-untyped-def]
    env, caplog: pytest.LogCaptureFixture
) -> None:
    invoice_id, number = env.issue()
    env.drive([invoice_id], until=env.clock.now())  # upload
    first = anaf_lifecycle.advance(env.ctx, invoice_id)  # poll: in prelucrare
    env.clock.advance(seconds=first.delay or 0)
    download_id = env.state.uploads(number)[0].download_id or ""
    env.state.broken_downloads.add(download_id)
    with caplog.at_level(logging.WARNING, logger="stripe_efactura.anaf"):
        step = anaf_lifecycle.advance(env.ctx, invoice_id)
    assert step == anaf_port.Step(AnafState.OK, 60.0, "E-ANAF-PROTOCOL")
    with db.read(env.ctx.engine) as conn:
        rows = invoice_store.timeline(conn, invoice_id, event="anaf_archive_rejected")
    assert [json.loads(r.detail or "{}") for r in rows] == [
        {
            "download_id": download_id,
            "code": "E-ANAF-PROTOCOL",
            "error": "The ANAF download is not a valid ZIP",
        }
    ]
    assert (
        f"invoice {number}: the ANAF archive {download_id} was refused: "
        "[E-ANAF-PROTOCOL] The ANAF download is not a valid ZIP"
    ) in [r.getMessage() for r in caplog.records]
    env.state.broken_downloads.clear()
    env.clock.advance(seconds=3600)
    assert anaf_lifecycle.advance(env.ctx, invoice_id) == anaf_port.Step(AnafState.OK, None)
    assert env.row(invoice_id).signed_zip is not None
