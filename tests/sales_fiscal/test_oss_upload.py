"""An OSS sale is issued but not uploaded to e-Factura unless the merchant opts in.

Legal basis: OUG 120/2021 art. 10 (RO e-Factura covers supplies with a place of supply in
Romania); a B2C sale taxed in another member state through the One-Stop-Shop (Fiscal Code
art. 315) carries no Romanian VAT and is declared in the OSS return instead.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from factories import stripe_flows as factory
from issuing.test_issue_pipeline import NUMBERED_AT, feed
from stripe_efactura import app as use_cases
from stripe_efactura.app.context import build_context
from stripe_efactura.config import demo_settings
from stripe_efactura.intake.fake_stripe import FakeStripeReader
from stripe_efactura.invoicing.serialize import invoice_from_json
from stripe_efactura.registry.fake import FakeRegistry
from stripe_efactura.store import db
from stripe_efactura.store.tables import invoices

NL = {
    "line1": "Damrak 1",
    "line2": None,
    "city": "Amsterdam",
    "state": None,
    "postal_code": "1012 LG",
    "country": "NL",
}


def _to_nl_live(value: Any) -> Any:
    """The flow as a live sale to a Dutch consumer taxed at the Dutch 21 % (Stripe Tax)."""
    if isinstance(value, list):
        return [_to_nl_live(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: _to_nl_live(v) for k, v in value.items()}
    if out.get("object") == "tax_rate":
        out.update(country="NL", jurisdiction="NL", description="BTW")
    if "line1" in out and "country" in out:
        out = dict(NL)
    if "livemode" in out:
        out["livemode"] = True
    return out


def _issue_ctx(tmp_path: Path, db_url: str, validation_dir: Path, *, upload_oss: bool) -> Any:
    """The Dutch OSS sale issued through the whole path; the caller closes the context."""
    flow = factory.flow_a_checkout_card()
    flow = replace(
        flow,
        events=_to_nl_live(flow.events),
        objects=_to_nl_live(flow.objects),
        session_line_items=_to_nl_live(flow.session_line_items),
    )
    settings = demo_settings(tmp_path, database_url=db_url, validation_dir=validation_dir)
    settings = settings.with_(vat=replace(settings.vat, upload_oss=upload_oss))
    ctx = build_context(
        settings, stripe=FakeStripeReader(flow.store()), registry_transport=FakeRegistry()
    )  # type: ignore[arg-type]
    ctx.clock = lambda: NUMBERED_AT
    use_cases.prepare(ctx)
    feed(ctx, flow.events)
    use_cases.make_worker(ctx).drain()
    return ctx


def _issue(tmp_path: Path, db_url: str, validation_dir: Path, *, upload_oss: bool) -> Any:
    ctx = _issue_ctx(tmp_path, db_url, validation_dir, upload_oss=upload_oss)
    with db.read(ctx.engine) as conn:
        row = conn.execute(sa.select(invoices)).one()
    ctx.close()
    return row


def test_oss_sale_is_issued_and_not_uploaded_with_the_reason(
    tmp_path: Path, db_url: str, validation_dir: Path
) -> None:
    row = _issue(tmp_path, db_url, validation_dir, upload_oss=False)
    assert invoice_from_json(row.snapshot).vat_country == "NL"
    assert row.anaf_state == "not_uploaded"
    reason = json.loads(row.anaf_messages)["reason"]
    assert reason.startswith("I-OSS-NOT-UPLOADED: B2C sale taxed in NL through the One-Stop-Shop")


def test_oss_sale_is_uploaded_when_the_merchant_opts_in(
    tmp_path: Path, db_url: str, validation_dir: Path
) -> None:
    row = _issue(tmp_path, db_url, validation_dir, upload_oss=True)
    assert invoice_from_json(row.snapshot).vat_country == "NL"
    assert row.anaf_state != "not_uploaded"
    assert "I-OSS" not in (row.anaf_messages or "")
