"""The merchant digest through the job pipeline: a burst of notices is ONE email, later
notices wait for the aggregation interval, SMTP down loses nothing, switches and the lock."""

from __future__ import annotations

import hashlib
from datetime import UTC
from email.message import EmailMessage
from typing import Any

import pytest
import sqlalchemy as sa

from stripe_efactura.app import digest as digest_use_case
from stripe_efactura.app import notices
from stripe_efactura.config import EmailPolicy
from stripe_efactura.errors import Problem, RetryLater
from stripe_efactura.mail.compose import MerchantNotice, compose_merchant_digest
from stripe_efactura.store import db
from stripe_efactura.store.notices import NoticeRecord
from stripe_efactura.store.tables import notices as notices_table

MERCHANT = ["contabilitate@example.ro", "emitent@example.ro"]


def problem(i: int) -> Problem:
    return Problem(
        code="E-BUYER-COUNTRY",
        field="customer.address.country",
        message_ro=f"Țara cumpărătorului lipsește (plata {i}).",
        message_en=f"The buyer's country is missing (payment {i}).",
        hint="Add the country to the customer in Stripe, then run `payments retry`.",
        hint_ro="Adăugați țara clientului în Stripe, apoi rulați `payments retry`.",
    )


def record_burst(pipe: Any, refs: list[str]) -> None:
    for i, ref in enumerate(refs):
        with db.write(pipe.ctx.engine) as conn:  # one transaction each, as the jobs do
            notices.record(
                conn,
                "payment_problem",
                ref,
                f"Plata {ref} nu poate fi facturată",
                (problem(i),),
                title_en=f"Payment {ref} cannot be invoiced",
            )


def stored(pipe: Any) -> list[Any]:
    with db.read(pipe.ctx.engine) as conn:
        return list(conn.execute(sa.select(notices_table).order_by(notices_table.c.id)).all())


def expected_digest(rows: list[Any]) -> EmailMessage:
    items = [
        MerchantNotice(
            kind="payment_problem",
            title=f"Plata {r.ref} nu poate fi facturată",
            title_en=f"Payment {r.ref} cannot be invoiced",
            subject_ref=r.ref,
            problems=(problem(i),),
            created_at=r.created_at.replace(tzinfo=UTC),
        )
        for i, r in enumerate(rows)
    ]
    return compose_merchant_digest(
        items, mail_from="facturi@example.ro", to=MERCHANT, company_name="Firma Mea SRL"
    )


def body_of(msg: EmailMessage) -> str:
    body = msg.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def test_burst_of_fifty_notices_is_one_digest_listing_all(pipe: Any, start_smtp: Any) -> None:
    server = start_smtp()
    refs = [f"pi_burst_{i:02d}" for i in range(50)]
    record_burst(pipe, refs)
    pipe.drain()  # the burst settles first
    assert server.messages == []
    pipe.travel(digest_use_case.DIGEST_SETTLE_SECONDS + 1)
    pipe.drain()
    pipe.drain()
    (got,) = server.messages
    assert got.mail_from == "facturi@example.ro"
    assert sorted(got.rcpt_tos) == MERCHANT
    msg = got.parsed()
    assert msg["Subject"] == "Firma Mea SRL — e-Factura: 50 de notificări / 50 notifications"
    assert msg["From"] == "stripe-efactura <facturi@example.ro>"
    assert msg["To"] == "contabilitate@example.ro, emitent@example.ro"
    rows = stored(pipe)
    ids = ",".join(str(r.id) for r in rows)
    digest = hashlib.sha256(ids.encode()).hexdigest()[:12]
    assert msg["Message-ID"] == f"<digest.{rows[0].id}-{rows[-1].id}.{digest}@example.ro>"
    body = body_of(msg)
    assert body == body_of(expected_digest(rows))
    lines = body.splitlines()
    listed = [ln for ln in lines if ln.startswith(tuple(f"{n}. " for n in range(1, 51)))]
    assert len(listed) == 100  # Romanian, then English
    for n, ref in enumerate(refs, start=1):
        assert listed[n - 1].startswith(f"{n}. Plată care nu poate fi facturată: {ref} (")
        assert listed[49 + n].startswith(f"{n}. Payment that cannot be invoiced: {ref} (")
    assert all(r.sent_at is not None for r in rows)


def test_later_notices_wait_for_the_aggregation_interval(pipe: Any, start_smtp: Any) -> None:
    server = start_smtp()
    record_burst(pipe, ["pi_first"])
    pipe.travel(digest_use_case.DIGEST_SETTLE_SECONDS + 1)
    pipe.drain()
    assert len(server.messages) == 1

    record_burst(pipe, ["pi_second", "pi_third"])
    pipe.travel(digest_use_case.DIGEST_SETTLE_SECONDS + 1)
    pipe.drain()
    assert len(server.messages) == 1  # 2 minutes after the first digest: not yet
    pipe.travel(5 * 60 - (digest_use_case.DIGEST_SETTLE_SECONDS + 1) + 1)  # 5 min after the first
    pipe.drain()
    assert len(server.messages) == 2
    second = server.messages[1].parsed()
    assert second["Subject"] == "Firma Mea SRL — e-Factura: 2 notificări / 2 notifications"
    assert body_of(second) == body_of(expected_digest(stored(pipe)[1:]))
    pipe.travel(3600)
    pipe.drain()
    assert len(server.messages) == 2


def test_smtp_down_then_up_digest_loses_nothing_and_is_sent_once(
    pipe: Any, start_smtp: Any
) -> None:
    refs = [f"pi_down_{i}" for i in range(5)]
    record_burst(pipe, refs)
    for _ in range(3):  # nothing listens on the SMTP port
        pipe.travel(3600)
        pipe.drain()
    assert all(r.sent_at is None for r in stored(pipe))
    server = start_smtp()
    pipe.travel(3600)
    pipe.drain()
    (got,) = server.messages
    msg = got.parsed()
    assert msg["Subject"] == "Firma Mea SRL — e-Factura: 5 notificări / 5 notifications"
    assert body_of(msg) == body_of(expected_digest(stored(pipe)))
    assert all(r.sent_at is not None for r in stored(pipe))
    for _ in range(3):
        pipe.travel(3600)
        pipe.drain()
    assert len(server.messages) == 1


def test_switched_off_or_without_address_keeps_notices_unsent(
    make_pipe: Any, start_smtp: Any
) -> None:
    server = start_smtp()
    off = make_pipe(email=EmailPolicy(notify_merchant=False))
    record_burst(off, ["pi_off"])
    off.travel(3600)
    off.drain()
    assert digest_use_case.send_merchant_digest(off.ctx) == "disabled"
    company = off.ctx.settings.company
    nobody = make_pipe()
    nobody.ctx.settings = nobody.ctx.settings.with_(
        company=type(company)(**{**company.__dict__, "email": None, "issuer_email": " "})
    )
    assert digest_use_case.send_merchant_digest(nobody.ctx) == "no_recipient"
    assert server.messages == []
    assert [r.sent_at for r in stored(off)] == [None]


def test_one_sender_at_a_time(pipe: Any, start_smtp: Any) -> None:
    server = start_smtp()
    record_burst(pipe, ["pi_locked"])
    pipe.travel(digest_use_case.DIGEST_SETTLE_SECONDS + 1)
    with digest_use_case._digest_lock(pipe.ctx) as got:
        assert got
        with pytest.raises(RetryLater, match="another worker is sending the merchant digest"):
            digest_use_case.send_merchant_digest(pipe.ctx)
    assert server.messages == []
    assert digest_use_case.send_merchant_digest(pipe.ctx) == "sent"
    assert digest_use_case.send_merchant_digest(pipe.ctx) == "nothing"
    assert len(server.messages) == 1


def test_unknown_notice_kind_is_listed_as_general() -> None:
    from datetime import datetime

    row = NoticeRecord(
        id=1,
        kind="webhook_secret_rotated",
        ref="whsec",
        payload='{"title": "Secretul webhook a fost schimbat", "problems": []}',
        created_at=datetime(2026, 11, 21, 10, 0),
        sent_at=None,
    )
    notice = digest_use_case.notice_from_row(row)
    assert (notice.kind, notice.title, notice.details_ro, notice.details_en) == (
        "general",
        "Secretul webhook a fost schimbat",
        "Tip: webhook_secret_rotated",
        "Kind: webhook_secret_rotated",
    )
    assert notice.created_at == datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
