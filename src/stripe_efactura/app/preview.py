"""``preview``: run a saved event through classification, correlation and the builder,
writing nothing (no database, no number)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from ..config import SeriesConfig, Settings
from ..intake import correlate, envelope, events
from ..intake.draft import draft_of
from ..intake.fake_stripe import FakeStripeReader
from ..intake.offline import load_objects_dir
from ..invoicing import build, preview
from ..invoicing.model import FxInfo
from ..invoicing.numbering import provisional_number, series_for
from ..jsontypes import JsonObject, json_object
from ..money import format_amount


@dataclass(frozen=True)
class Preview:
    data: JsonObject
    xml: bytes | None


def preview_event(
    settings: Settings, raw: bytes, *, objects_dir: Path | None = None, rate: Decimal | None = None
) -> Preview:
    env = envelope.parse_envelope(raw)
    outcome = events.classify(env, invoice_zero_amount=settings.intake.invoice_zero_amount)
    if isinstance(outcome, events.Ignored):
        return Preview({"ok": False, "ignored": outcome.code, "reason": outcome.message_en}, None)
    reader = FakeStripeReader(load_objects_dir(objects_dir)) if objects_dir else None
    resolved = correlate.resolve(outcome, reader)
    if isinstance(resolved, events.Ignored):
        return Preview({"ok": False, "ignored": resolved.code, "reason": resolved.message_en}, None)
    sale = resolved
    cfg: SeriesConfig = series_for(settings.series, storno=False, livemode=sale.livemode)
    issue_date = build.issue_date_of(sale.paid_at)
    fx = FxInfo(rate=rate, rate_date=issue_date, source="manual") if rate is not None else None
    result = build.build_invoice(
        draft_of(sale), settings.invoicing, number=provisional_number(cfg), fx=fx
    )
    data = preview.preview_dict(result)
    data["payment_key"] = sale.payment_key
    data["owner"] = f"{sale.owner_type}:{sale.owner_id}"
    data["degraded"] = sale.degraded
    xml = None
    if result.invoice is not None:
        from ..ubl.render import render

        xml = render(result.invoice)
    return Preview(data, xml)


def _object(value: object) -> JsonObject:
    return json_object(value) or {}


def _objects(value: object) -> list[JsonObject]:
    return [_object(v) for v in value] if isinstance(value, list) else []


def as_text(data: JsonObject) -> str:
    """A short human reading of ``preview_dict`` output."""
    if "ignored" in data:
        return f"ignored: {data['ignored']} {data['reason']}"
    out = [f"payment {data['payment_key']} ({data['owner']}), {data['currency']}"]
    buyer = _object(data.get("buyer"))
    if buyer:
        out.append(
            f"buyer: {buyer.get('name')} {buyer.get('legal_id') or buyer.get('vat_id') or ''}"
        )
    currency = str(data.get("currency") or "RON")
    for ln in _objects(data.get("lines")):
        tax = _object(ln["tax"])
        out.append(
            f"  {ln['quantity']} x {ln['name']}: "
            f"{format_amount(Decimal(str(ln['net_amount'])), currency)} "
            f"+ {tax['category']} {tax['rate']}%"
        )
    totals = _object(data.get("totals"))
    if totals:
        net, vat, gross = (
            format_amount(Decimal(str(totals[k])), currency)
            for k in ("tax_exclusive", "tax_total", "tax_inclusive")
        )
        out.append(f"total: {net} + TVA {vat} = {gross}")
    if data.get("degraded"):
        out.append(
            "DEGRADED: built from the event alone (no Stripe API key, no --objects): one line "
            "for the whole amount; pass --objects DIR to preview the real lines"
        )
    if data.get("needs_fx"):
        out.append("needs the BNR rate: pass --rate")
    for p in _objects(data.get("problems")):
        out.append(f"PROBLEM {p['code']} ({p['field']}): {p['message_en']} -> {p['hint']}")
    for w in _objects(data.get("warnings")):
        out.append(f"WARNING {w['code']} ({w['field']}): {w['message_en']} -> {w['hint']}")
    return "\n".join(out)
