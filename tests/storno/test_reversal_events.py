"""``charge.refunded`` alone, thin refund events and Stripe Invoicing's ``credit_note.*``: the
same money never gives two stornos (idempotency by the refund's id), in every order and with
duplicates, and a credit note's lines reverse exactly the credited items (art. 287 lit. b)."""

from __future__ import annotations

import itertools
import json
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from factories import stripe_flows as factory
from stripe_efactura import app as use_cases
from stripe_efactura.app import intake
from stripe_efactura.app.context import AppContext, build_context
from stripe_efactura.config import demo_settings
from stripe_efactura.intake.fake_stripe import FakeStripeReader, FakeStripeStore
from stripe_efactura.invoicing.serialize import invoice_from_json
from stripe_efactura.registry.fake import FakeRegistry
from stripe_efactura.store import db
from stripe_efactura.store.invoices import records
from stripe_efactura.store.tables import invoices, stripe_events
from stripe_efactura.ubl.validate import get_validator

Json = dict[str, Any]
T_REFUND = factory.T0 + 86400


def make_ctx(tmp_path: Path, db_url: str, validation_dir: Path, *, api: bool = True) -> AppContext:
    store: FakeStripeStore = factory.flow_a_checkout_card(invoice_creation=True).store()
    settings = demo_settings(tmp_path, database_url=db_url, validation_dir=validation_dir)
    reader = FakeStripeReader(store) if api else None
    ctx = build_context(settings, stripe=reader, registry_transport=FakeRegistry())  # type: ignore[arg-type]
    use_cases.prepare(ctx)
    return ctx


def refund(rid: str, amount: int, status: str = "succeeded") -> Json:
    return {
        "id": rid,
        "object": "refund",
        "amount": amount,
        "charge": "ch_flowAI",
        "created": T_REFUND,
        "currency": "ron",
        "metadata": {},
        "payment_intent": "pi_flowAI",
        "reason": "requested_by_customer",
        "status": status,
    }


def charge_refunded(amount_refunded: int, embedded: list[Json] | None = None) -> Json:
    ch = factory.charge("ch_flowAI", 12100, pi="pi_flowAI", created=factory.T0 + 2)
    ch.update(amount_refunded=amount_refunded, refunded=amount_refunded == 12100)
    if embedded is not None:  # API versions before 2022-11-15 embed the list
        ch["refunds"] = {"object": "list", "data": embedded, "has_more": False}
    return ch


def credit_note(cnid: str, refunds: list[tuple[str, int]], **kw: Any) -> Json:
    note: Json = {
        "id": cnid,
        "object": "credit_note",
        "amount": sum(a for _r, a in refunds) or kw.pop("amount", 6050),
        "created": T_REFUND,
        "currency": "ron",
        "invoice": "in_flowAI",
        "status": "issued",
        "type": "post_payment",
        "reason": "order_change",
        "refunds": [{"refund": r, "amount_refunded": a} for r, a in refunds],
        "lines": {
            "object": "list",
            "data": [
                {
                    "id": "cnli_1",
                    "object": "credit_note_line_item",
                    "type": "invoice_line_item",
                    "invoice_line_item": "il_flowAI1",
                    "quantity": 1,
                    "amount": 5000,
                    "discount_amounts": [],
                    "taxes": [{"amount": 1050, "tax_behavior": "exclusive"}],
                }
            ],
            "has_more": False,
        },
    }
    note.update(kw)
    return note


def thin(etype: str, rid: str, rtype: str, n: int) -> Json:
    return {
        "id": f"evt_rev{n:02d}",
        "object": "v2.core.event",
        "type": f"v1.{etype}",
        "livemode": False,
        "created": "2026-11-21T10:00:00.000Z",
        "context": None,
        "related_object": {"id": rid, "type": rtype, "url": f"/v1/{rtype}s/{rid}"},
    }


def ev(etype: str, obj: Json, n: int) -> Json:
    return factory.event(etype, obj, eid=f"evt_rev{n:02d}", created=T_REFUND + n)


def feed(ctx: AppContext, *events: Json) -> None:
    for e in events:
        intake.accept_event(ctx, json.dumps(e).encode())


def drain(ctx: AppContext) -> None:
    use_cases.make_worker(ctx).drain()


def sale_invoiced(ctx: AppContext) -> None:
    feed(ctx, *factory.flow_a_checkout_card(invoice_creation=True).events)
    drain(ctx)


def stornos(ctx: AppContext) -> list[tuple[str, str]]:
    with db.read(ctx.engine) as conn:
        rows = conn.execute(
            sa.select(invoices.c.payment_key, invoices.c.total)
            .where(invoices.c.kind == "storno")
            .order_by(invoices.c.seq)
        ).all()
    return [(r.payment_key, r.total) for r in rows]


def storno_lines(ctx: AppContext, key: str) -> list[tuple[str, D, D]]:
    with db.read(ctx.engine) as conn:
        row = conn.execute(
            records().where(invoices.c.payment_key == key, invoices.c.kind == "storno")
        ).one()
    assert get_validator(ctx.settings.validation_dir).validate(row.xml).fatal == ()
    s = invoice_from_json(row.snapshot)
    return [(ln.name, ln.quantity, ln.net_amount) for ln in s.lines]


def outcome(ctx: AppContext, event_id: str) -> tuple[str, str | None]:
    with db.read(ctx.engine) as conn:
        r = conn.execute(sa.select(stripe_events).where(stripe_events.c.id == event_id)).one()
    return r.outcome, (r.reason or "").split(":")[0] or None


ONE_BOOK = [("Carte de bucate", D("-1"), D("-50.00"))]


def test_charge_refunded_alone_lists_the_refunds_and_reverses_each_once(
    tmp_path: Path, db_url: str, validation_dir: Path
) -> None:
    """The cumulative charge.refunded has no refund ids since 2022-11-15: the refunds are
    listed from Stripe; a pending refund waits; a later charge.refunded adds only the new one."""
    ctx = make_ctx(tmp_path, db_url, validation_dir)
    sale_invoiced(ctx)
    assert isinstance(ctx.stripe, FakeStripeReader)
    ctx.stripe.store.add(refund("re_a", 3000), refund("re_b", 2050, status="pending"))
    feed(ctx, ev("charge.refunded", charge_refunded(3000), 1))
    drain(ctx)
    assert stornos(ctx) == [("re_a", "-30.00")]
    ctx.stripe.store.add(refund("re_b", 2050))
    first_again = ev("charge.refunded", charge_refunded(3000), 1)
    feed(ctx, ev("charge.refunded", charge_refunded(5050), 2), first_again)
    drain(ctx)
    assert stornos(ctx) == [("re_a", "-30.00"), ("re_b", "-20.50")]
    ctx.close()


def test_charge_refunded_with_an_embedded_list_needs_no_api(
    tmp_path: Path, db_url: str, validation_dir: Path
) -> None:
    ctx = make_ctx(tmp_path, db_url, validation_dir, api=False)
    sale_invoiced(ctx)
    feed(ctx, ev("charge.refunded", charge_refunded(6050, [refund("re_e", 6050)]), 1))
    drain(ctx)
    assert stornos(ctx) == [("re_e", "-60.50")]
    ctx.close()


def test_charge_refunded_without_a_list_or_an_api_key_fails_with_a_code(
    tmp_path: Path, db_url: str, validation_dir: Path
) -> None:
    ctx = make_ctx(tmp_path, db_url, validation_dir, api=False)
    sale_invoiced(ctx)
    feed(ctx, ev("charge.refunded", charge_refunded(6050), 1))
    drain(ctx)
    assert stornos(ctx) == []
    assert outcome(ctx, "evt_rev01") == ("failed", "E-STRIPE-REFUNDS-NEEDS-KEY")
    ctx.close()


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_refund_seen_as_snapshot_thin_and_charge_refunded_gives_one_storno(
    order: tuple[int, ...], tmp_path: Path, db_url: str, validation_dir: Path
) -> None:
    ctx = make_ctx(tmp_path, db_url, validation_dir)
    sale_invoiced(ctx)
    assert isinstance(ctx.stripe, FakeStripeReader)
    ctx.stripe.store.add(refund("re_x", 12100))
    sent = [
        ev("refund.created", refund("re_x", 12100), 1),
        thin("refund.updated", "re_x", "refund", 2),
        ev("charge.refunded", charge_refunded(12100), 3),
    ]
    feed(ctx, *[sent[i] for i in order], sent[order[0]])
    drain(ctx)
    assert stornos(ctx) == [("re_x", "-121.00")]
    ctx.close()


@pytest.mark.parametrize("order", [(0, 1), (1, 0)])
def test_credit_note_and_its_refund_give_one_storno_of_the_credited_item(
    order: tuple[int, ...], tmp_path: Path, db_url: str, validation_dir: Path
) -> None:
    """Art. 287 lit. b): the credit note credits 1 of the 2 books; whichever of the note and
    the refund comes first, one storno reverses exactly that book at 21 %."""
    ctx = make_ctx(tmp_path, db_url, validation_dir)
    sale_invoiced(ctx)
    assert isinstance(ctx.stripe, FakeStripeReader)
    note = credit_note("cn_1", [("re_cn", 6050)])
    ctx.stripe.store.add(refund("re_cn", 6050), note)
    sent = [ev("credit_note.created", note, 1), ev("refund.created", refund("re_cn", 6050), 2)]
    feed(ctx, *[sent[i] for i in order])
    drain(ctx)
    assert stornos(ctx) == [("re_cn", "-60.50")]
    assert storno_lines(ctx, "re_cn") == ONE_BOOK
    ctx.close()


def test_a_credit_note_after_the_refund_was_reversed_issues_nothing_more(
    tmp_path: Path, db_url: str, validation_dir: Path
) -> None:
    ctx = make_ctx(tmp_path, db_url, validation_dir)
    sale_invoiced(ctx)
    assert isinstance(ctx.stripe, FakeStripeReader)
    note = credit_note("cn_2", [("re_late", 6050)])
    ctx.stripe.store.add(refund("re_late", 6050), note)
    feed(ctx, ev("refund.created", refund("re_late", 6050), 1))
    drain(ctx)
    feed(
        ctx,
        ev("credit_note.created", note, 2),
        thin("credit_note.updated", "cn_2", "credit_note", 3),
    )
    drain(ctx)
    assert stornos(ctx) == [("re_late", "-60.50")]
    assert [ln[0][:4] for ln in storno_lines(ctx, "re_late")] == ["Cota"]  # proportional
    ctx.close()


def test_credit_notes_that_refund_nothing_or_are_void_are_ignored(
    tmp_path: Path, db_url: str, validation_dir: Path
) -> None:
    ctx = make_ctx(tmp_path, db_url, validation_dir)
    sale_invoiced(ctx)
    balance = credit_note("cn_bal", [], amount=6050, credit_amount=6050)
    void = credit_note("cn_void", [("re_v", 6050)], status="void")
    feed(ctx, ev("credit_note.created", balance, 1), ev("credit_note.voided", void, 2))
    drain(ctx)
    assert stornos(ctx) == []
    assert outcome(ctx, "evt_rev01") == ("ignored", "I-CREDIT-NOTE-NO-REFUND")
    assert outcome(ctx, "evt_rev02") == ("ignored", "I-CREDIT-NOTE-VOID")
    ctx.close()


def test_a_thin_event_without_an_api_key_fails_with_a_code(
    tmp_path: Path, db_url: str, validation_dir: Path
) -> None:
    ctx = make_ctx(tmp_path, db_url, validation_dir, api=False)
    feed(ctx, thin("refund.created", "re_t", "refund", 1))
    drain(ctx)
    assert outcome(ctx, "evt_rev01") == ("failed", "E-STRIPE-THIN-NEEDS-KEY")
    ctx.close()
