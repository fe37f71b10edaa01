"""From a Stripe payment to ANAF: issue, upload, nok, correct the buyer, retry with the same
number and date, validated and archived (official validation rules, fake Stripe, fake ANAF)."""

from __future__ import annotations

import json

import sqlalchemy as sa

from factories import stripe_flows as factory
from stripe_efactura.app import anaf_admin, intake, issuing
from stripe_efactura.intake.fake_stripe import FakeStripeReader
from stripe_efactura.invoicing.buyer import BuyerOverrides
from stripe_efactura.jobs.worker import Worker
from stripe_efactura.store import db
from stripe_efactura.store.tables import payments
from stripe_efactura.ubl.validate import get_validator


def test_payment_to_anaf_then_corrected_retry_keeps_number_and_date(
    make_env, validation_dir
) -> None:  # type: ignore[no-untyped-def]
    env = make_env()
    flow = factory.flow_a_checkout_card()
    env.ctx.settings = env.ctx.settings.with_(validation_dir=validation_dir)
    env.ctx.stripe = FakeStripeReader(flow.store())  # type: ignore[arg-type]
    for event in flow.events:
        intake.accept_event(env.ctx, json.dumps(event).encode())
    Worker(
        env.ctx.engine,
        {
            "process_event": lambda job: intake.process_event(env.ctx, str(job.args["event_id"])),
            "issue_invoice": lambda job: issuing.issue_invoice(
                env.ctx, str(job.args["payment_key"])
            ),
        },
    ).drain()
    (row,) = anaf_admin.invoices_listing(env.ctx)
    number = row["number"]
    # a test-mode payment: test series, not uploaded automatically (and never to production)
    assert (number, row["anaf_state"], row["livemode"]) == ("TEST000001", "not_uploaded", False)
    invoice_id = env.row_by_number(number).id

    env.state.inject_nok(
        "[BR-RO-120]-Nu exista identificator cumparator #The buyer identifier is missing",
        invoice_number=number,
    )
    first = anaf_admin.retry_invoice(env.ctx, number)  # the manual upload of this series
    assert (first["previous_state"], first["xml_changed"]) == ("not_uploaded", False)
    env.drive([invoice_id])
    assert env.row(invoice_id).anaf_state == "nok"
    with db.read(env.ctx.engine) as conn:
        pay = conn.execute(sa.select(payments)).one()
    assert pay.status == "needs_attention"
    assert [p["code"] for p in json.loads(pay.problems)] == ["V-BR-RO-120"]

    # the merchant corrects the buyer; retry rebuilds with the same number and date
    with db.write(env.ctx.engine) as conn:
        conn.execute(
            payments.update().values(
                overrides=BuyerOverrides(
                    line1="Str. Corectată nr. 2",
                    city="Cluj-Napoca",
                    state="CJ",
                    postal_code="400001",
                    country="RO",
                ).to_json()
            )
        )
    before = env.row(invoice_id)
    second = anaf_admin.retry_invoice(env.ctx, number)
    assert (second["previous_state"], second["previous_index"], second["xml_changed"]) == (
        "nok",
        "5001130147",
        True,
    )
    env.drive([invoice_id])
    after = env.row(invoice_id)
    assert (after.number, after.issue_date, after.anaf_state) == (number, before.issue_date, "ok")
    street = "Str. Corectată nr. 2".encode()
    assert street in bytes(after.xml) and street not in bytes(before.xml)
    assert get_validator(validation_dir).validate(bytes(after.xml)).fatal == ()
    assert [m.outcome for m in env.state.uploads(number)] == ["nok", "ok"]
    events = env.events(invoice_id)
    assert events[events.index("corrected") - 1] == "anaf_findings"
