"""A month of activity for the audit tests: the fake Stripe (over HTTP, through the real
Stripe adapter), the fake ANAF (in-process, fake clock) and the books.

November 2026, audited on 2026-12-01 10:00 UTC:

- ch_A (pi_A) 121.00 RON on 3 Nov -> SEF000001
- ch_B (pi_B) 242.00 EUR on 10 Nov, settled in RON -> SEF000002 (BNR 5.0876)
- ch_C (pi_C) 363.00 RON on 12 Nov -> SEF000003; partial refund re_C1 121.00 on 15 Nov ->
  storno SEF000005
- ch_D (pi_D) 242.00 RON on 14 Nov -> SEF000004; dispute dp_D lost on 20 Nov -> storno
  SEF000006
- ch_G (pi_G) 60.50 RON on 16 Nov -> SEF000007; dispute dp_G won (withdrawn, reinstated): no
  storno due
- refund re_A9 of ch_A on 18 Nov that failed (refund + refund_failure): no storno due
- a Stripe fee of 5.00 RON; payout po_1 arriving 25 Nov with A, B, C, re_C1 and the fee
- SPV: every upload's message, a buyer message about SEF000001, a supplier's invoice
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D
from typing import Any

import support
from stripe_efactura import app as use_cases
from stripe_efactura.anaf.fake import FakeAnafState, FakeAnafTransport, FakeClock, create_fake_anaf
from stripe_efactura.anaf.oauth import token_set_from_response
from stripe_efactura.app import anaf_lifecycle, anaf_tokens
from stripe_efactura.app.audit_tuning import AuditTuning
from stripe_efactura.app.context import AppContext, build_context
from stripe_efactura.config import demo_settings
from stripe_efactura.intake.fake_stripe import FakeStripeStore
from stripe_efactura.intake.stripe_api import StripeApi
from stripe_efactura.invoicing.deadlines import upload_deadline
from stripe_efactura.invoicing.model import (
    FxInfo,
    Invoice,
    InvoiceLine,
    TaxClass,
    Totals,
    VatBreakdown,
    VatCategory,
)
from stripe_efactura.invoicing.serialize import invoice_from_json, invoice_to_json
from stripe_efactura.invoicing.storno import build_storno
from stripe_efactura.money import round2
from stripe_efactura.store import db
from stripe_efactura.store import invoices as invoice_store
from stripe_efactura.store.numbering import ensure_series
from stripe_efactura.ubl.render import render

from .books import SERIES

F = support.invoice_factory()
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
CUI = "18547290"
S21 = TaxClass(VatCategory.STANDARD, D("21"))
FX = FxInfo(rate=D("5.0876"), rate_date=date(2026, 11, 9))


def ts(day: int, hour: int = 10, month: int = 11) -> int:
    return int(datetime(2026, month, day, hour, 0, tzinfo=UTC).timestamp())


def invoice(number: str, day: date, gross: str, key: str, currency: str = "RON") -> Invoice:
    g = D(gross)
    net = round2(g / D("1.21"))
    vat = g - net
    fx = FX if currency != "RON" else None
    line = InvoiceLine("1", "Abonament lunar", D("1"), net, net, S21, unit_code="C62")
    return replace(
        F.standard_invoice(),
        number=number,
        issue_date=day,
        currency=currency,
        lines=(line,),
        vat_breakdown=(VatBreakdown(S21, net, vat),),
        totals=Totals(net, net, vat, g, D("0.00"), g, round2(vat * FX.rate) if fx else None),
        fx=fx,
        tax_currency="RON" if fx else None,
        payment_key=key,
        order_reference=None,
    )


def txn(
    tid: str, ttype: str, amount: int, created: int, source: str | None, **kw: Any
) -> dict[str, Any]:
    fee = kw.pop("fee", 0)
    category = kw.pop("reporting_category", ttype)
    return {
        "id": tid,
        "object": "balance_transaction",
        "amount": amount,
        "available_on": created + 2 * 86400,
        "created": created,
        "currency": kw.pop("currency", "ron"),
        "description": None,
        "exchange_rate": kw.pop("exchange_rate", None),
        "fee": fee,
        "fee_details": (
            [
                {
                    "amount": fee,
                    "application": None,
                    "currency": "ron",
                    "description": "Stripe processing fees",
                    "type": "stripe_fee",
                }
            ]
            if fee
            else []
        ),
        "net": amount - fee,
        "reporting_category": category,
        "source": source,
        "status": "available",
        "type": ttype,
    }


def charge(cid: str, pi: str, amount: int, created: int, currency: str = "ron") -> dict[str, Any]:
    return {
        "id": cid,
        "object": "charge",
        "amount": amount,
        "amount_captured": amount,
        "amount_refunded": 0,
        "captured": True,
        "created": created,
        "currency": currency,
        "paid": True,
        "payment_intent": pi,
        "status": "succeeded",
        "balance_transaction": f"txn_{cid}",
    }


def refund(
    rid: str, cid: str, pi: str, amount: int, created: int, status: str = "succeeded"
) -> dict[str, Any]:
    return {
        "id": rid,
        "object": "refund",
        "amount": amount,
        "charge": cid,
        "created": created,
        "currency": "ron",
        "payment_intent": pi,
        "status": status,
    }


def dispute(did: str, cid: str, pi: str, amount: int, created: int, status: str) -> dict[str, Any]:
    return {
        "id": did,
        "object": "dispute",
        "amount": amount,
        "charge": cid,
        "created": created,
        "currency": "ron",
        "payment_intent": pi,
        "reason": "fraudulent",
        "status": status,
    }


@dataclass
class Month:
    ctx: AppContext
    stripe: FakeStripeStore
    anaf: FakeAnafState
    clock: FakeClock
    ids: dict[str, int] = field(default_factory=dict)

    def add_charge(self, cid: str, pi: str, amount: int, created: int, **kw: Any) -> None:
        currency = kw.pop("currency", "ron")
        settled = kw.pop("settled", amount)
        self.stripe.add(charge(cid, pi, amount, created, currency))
        self.stripe.add(
            txn(f"txn_{cid}", "charge", settled, created, cid, fee=kw.pop("fee", 0), **kw)
        )

    def add_refund(self, rid: str, cid: str, pi: str, amount: int, created: int) -> None:
        self.stripe.add(refund(rid, cid, pi, amount, created))
        self.stripe.add(txn(f"txn_{rid}", "refund", -amount, created, rid))

    def add_lost_dispute(self, did: str, cid: str, pi: str, amount: int, created: int) -> None:
        self.stripe.add(dispute(did, cid, pi, amount, created, "lost"))
        self.stripe.add(
            txn(
                f"txn_{did}",
                "adjustment",
                -amount,
                created,
                did,
                fee=1500,
                reporting_category="dispute",
            )
        )

    def issue(self, inv: Invoice, *, refers: str | None = None) -> int:
        seq = int(inv.number.removeprefix("SEF"))
        with db.write(self.ctx.engine) as conn:
            key = ensure_series(conn, SERIES)
            new_id = invoice_store.insert_invoice(
                conn,
                series_code=key,
                seq=seq,
                number=inv.number,
                kind=inv.kind.value,
                payment_key=inv.payment_key or "",
                issue_date=inv.issue_date,
                currency=inv.currency,
                total=str(inv.totals.tax_inclusive),
                livemode=True,
                snapshot=invoice_to_json(inv),
                xml=render(inv),
                deadline=upload_deadline(inv.issue_date),
                refers_to=self.ids.get(refers) if refers else None,
            )
            invoice_store.update_invoice(conn, new_id, pdf=b"%PDF-1.7 " + inv.number.encode())
        self.ids[inv.number] = new_id
        return new_id

    def storno(self, number: str, of: str, amount: str, day: date, key: str) -> int:
        with db.read(self.ctx.engine) as conn:
            row = invoice_store.by_number(conn, of)
        assert row is not None
        original = invoice_from_json(row.snapshot)
        st = build_storno(original, amount=D(amount), issue_date=day, number=number, reason=None)
        return self.issue(replace(st, payment_key=key), refers=of)

    def send_all(self) -> None:
        """Upload every pending invoice and follow it to the end, as the worker would."""
        heap = [(self.clock.now(), i) for i in self.ids.values()]
        heapq.heapify(heap)
        for _ in range(10_000):
            if not heap:
                return
            due, invoice_id = heapq.heappop(heap)
            if due > self.clock.now():
                self.clock.advance(due - self.clock.now())
            step = anaf_lifecycle.advance(self.ctx, invoice_id)
            if step.delay is not None:
                heapq.heappush(heap, (self.clock.now() + timedelta(seconds=step.delay), invoice_id))
        raise AssertionError("ANAF lifecycle did not settle")

    def index_of(self, number: str) -> str:
        with db.read(self.ctx.engine) as conn:
            row = invoice_store.by_number(conn, number)
        assert row is not None
        return str(row.upload_index)


def stripe_activity(m: Month) -> None:
    m.add_charge("ch_A", "pi_A", 12100, ts(3), fee=325)
    m.add_charge(
        "ch_B",
        "pi_B",
        24200,
        ts(10),
        currency="eur",
        settled=123120,
        fee=2000,
        exchange_rate=5.0876,
    )
    m.add_charge("ch_C", "pi_C", 36300, ts(12), fee=800)
    m.add_charge("ch_D", "pi_D", 24200, ts(14), fee=600)
    m.add_charge("ch_G", "pi_G", 6050, ts(16), fee=200)
    m.add_refund("re_C1", "ch_C", "pi_C", 12100, ts(15))
    m.add_lost_dispute("dp_D", "ch_D", "pi_D", 24200, ts(20))
    m.stripe.add(dispute("dp_G", "ch_G", "pi_G", 6050, ts(17), "won"))
    m.stripe.add(
        txn("txn_dp_G1", "adjustment", -6050, ts(17), "dp_G", reporting_category="dispute")
    )
    m.stripe.add(
        txn("txn_dp_G2", "adjustment", 6050, ts(19), "dp_G", reporting_category="dispute_reversal")
    )
    m.stripe.add(refund("re_A9", "ch_A", "pi_A", 1000, ts(18), status="failed"))
    m.stripe.add(txn("txn_re_A9", "refund", -1000, ts(18), "re_A9"))
    m.stripe.add(txn("txn_re_A9f", "refund_failure", 1000, ts(19), "re_A9"))
    m.stripe.add(txn("txn_fee1", "stripe_fee", -500, ts(21), None, reporting_category="fee"))
    carried = ["txn_ch_A", "txn_ch_B", "txn_ch_C", "txn_re_C1", "txn_fee1"]
    net = sum(int(m.stripe.objects["balance_transaction"][t]["net"]) for t in carried)
    payout = {
        "id": "po_1",
        "object": "payout",
        "amount": net,
        "arrival_date": ts(25, 0),
        "automatic": True,
        "balance_transaction": "txn_po_1",
        "created": ts(23),
        "currency": "ron",
        "method": "standard",
        "status": "paid",
        "type": "bank_account",
    }
    m.stripe.add_payout(payout, carried)
    m.stripe.add(txn("txn_po_1", "payout", -net, ts(23), "po_1"))


def books(m: Month) -> None:
    m.issue(invoice("SEF000001", date(2026, 11, 3), "121.00", "pi_A"))
    m.issue(invoice("SEF000002", date(2026, 11, 10), "242.00", "pi_B", "EUR"))
    m.issue(invoice("SEF000003", date(2026, 11, 12), "363.00", "pi_C"))
    m.issue(invoice("SEF000004", date(2026, 11, 14), "242.00", "pi_D"))
    m.storno("SEF000005", "SEF000003", "121.00", date(2026, 11, 15), "re_C1")
    m.storno("SEF000006", "SEF000004", "242.00", date(2026, 11, 20), "dp_D")
    m.issue(invoice("SEF000007", date(2026, 11, 16), "60.50", "pi_G"))


def spv_extras(m: Month) -> None:
    at = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    m.anaf.add_spv_message(
        at,
        "MESAJ CUMPARATOR PRIMIT",
        "5200000001",
        f"Mesaj de la cumparator pentru factura cu index_incarcare={m.index_of('SEF000001')}",
        CUI,
        "3200000001",
    )
    m.anaf.add_spv_message(
        at,
        "FACTURA PRIMITA",
        "5200000002",
        f"Factura cu id_incarcare=5200000002 emisa de cif_emitent=14399840 pentru "
        f"cif_beneficiar={CUI}",
        CUI,
        "3200000002",
    )


def open_month(
    tmp_path: Any, db_url: str, base_url: str, store: FakeStripeStore, **kw: Any
) -> Month:
    clock = FakeClock(NOW - timedelta(hours=2))
    state = FakeAnafState(clock=clock, processing_polls=1, processing_delay=None)
    settings = demo_settings(
        tmp_path,
        database_url=db_url,
        anaf_api_base="http://anaf.fake",
        anaf_oauth_base="http://anaf.fake",
        anaf_public_base="http://anaf.fake",
        anaf_client_id="fake-client-id",
        anaf_client_secret="fake-client-secret",
        secret_key="recon-test-secret",
    )
    stripe = StripeApi("sk_test_recon", api_base=base_url, page_limit=kw.pop("page_limit", 100))
    ctx = build_context(
        settings, stripe=stripe, anaf_transport=FakeAnafTransport(create_fake_anaf(state))
    )  # type: ignore[arg-type]
    ctx.clock = clock.now
    ctx.audit_tuning = AuditTuning(stripe_rps=0)
    use_cases.prepare(ctx)
    anaf_tokens.save_tokens(
        ctx, token_set_from_response(state.mint_tokens(), clock.now()), source="test"
    )
    return Month(ctx, store, state, clock)


def settle(m: Month) -> None:
    """Send the books to ANAF, then move the clock to the audit moment."""
    m.send_all()
    if m.clock.now() < NOW:
        m.clock.advance(NOW - m.clock.now())


def iter_codes(findings: Any) -> Iterator[tuple[str, str]]:
    for f in findings:
        yield f.code, f.ref
