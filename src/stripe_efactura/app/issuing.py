"""Issue the invoice of a recorded sale: build, validate with the official rules, number.

The gate runs BEFORE a number is given: the invoice is rendered with a provisional number and
validated; with any problem or fatal finding the payment goes to ``needs_attention`` and no
number is used. Only a clean invoice is numbered, rendered again with its number and stored,
in one transaction with the number allocation and the follow-up jobs.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass, replace
from datetime import date

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..config import SeriesConfig
from ..errors import Problem, RetryLater, ValidationArtifactsMissing
from ..intake.draft import draft_of
from ..intake.sale import Sale
from ..invoicing import build, deadlines
from ..invoicing.fx import BNR_CURRENCIES
from ..invoicing.model import FxInfo, Invoice
from ..invoicing.numbering import provisional_number, series_for
from ..invoicing.serialize import invoice_to_json
from ..jobs import queue
from ..store import anaf_work, db, repo
from ..store import invoices as invoice_store
from ..store.numbering import allocate
from ..store.repo import PaymentRecord
from ..tz import BUCHAREST
from ..ubl import explain
from ..ubl.render import number_text, render
from ..ubl.validate import get_validator
from . import buyer_checks, notices, waiting
from . import fx as fx_service
from .context import AppContext

log = logging.getLogger("stripe_efactura.issuing")


def issue_date_of(sale: Sale) -> date:
    """The payment date in Europe/Bucharest: the chargeable event (VAT and BNR rate)."""
    return build.issue_date_of(sale.paid_at)


def today(ctx: AppContext) -> date:
    """The day in Europe/Bucharest: the issue date of what is numbered now."""
    return ctx.clock().astimezone(BUCHAREST).date()


def render_xml(ctx: AppContext, invoice: Invoice) -> bytes:
    return render(invoice)


def validate_xml(ctx: AppContext, xml: bytes) -> tuple[tuple[Problem, ...], str]:
    report = get_validator(ctx.settings.validation_dir).validate(xml)
    fatal = tuple(report.fatal)
    summary = json.dumps(
        {
            "fatal": [f.rule_id for f in fatal],
            "warnings": sorted({f.rule_id for f in report.findings if f not in fatal}),
        }
    )
    return explain.explain_all(fatal), summary


@dataclass(frozen=True)
class Checked:
    """An invoice built, rendered and validated (:func:`build_checked`)."""

    result: build.BuildResult
    problems: tuple[Problem, ...]
    """What stops the invoice: build problems or fatal validation findings."""
    xml: bytes = b""
    summary: str = ""
    """The validation summary (JSON) stored with the invoice."""


def build_checked(
    ctx: AppContext,
    sale: Sale,
    *,
    number: str,
    fx: FxInfo | None,
    overrides: build.BuyerOverrides | None,
    issued_on: date | None,
) -> Checked:
    """The one build → render → validate path: issuing (a provisional number, issued today)
    and ``invoices retry`` (rebuilding an invoice with its own number and issue date)."""
    draft = draft_of(sale)
    buyer = buyer_checks.check_buyer(
        ctx, sale.payment_key, draft.buyer, overrides, issue_date_of(sale)
    )
    result = build.build_invoice(
        replace(draft, buyer=buyer.buyer),
        ctx.settings.invoicing,
        number=number,
        fx=fx,
        overrides=overrides,
        issued_on=issued_on,
    )
    invoice = result.invoice
    stop = buyer.problems + tuple(result.problems)
    if result.needs_fx or stop or invoice is None:
        return Checked(result, stop)
    invoice, stop = buyer_checks.finish(ctx, sale.payment_key, invoice, buyer)
    if stop:
        return Checked(result, stop)
    result = replace(result, invoice=invoice)
    xml = render_xml(ctx, invoice)
    problems, summary = validate_xml(ctx, xml)
    return Checked(result, problems, xml, summary)


def needs_attention(ctx: AppContext, payment_key: str, problems: tuple[Problem, ...]) -> None:
    with db.write(ctx.engine) as conn:
        repo.set_payment_status(conn, payment_key, "needs_attention", problems)
        notices.record(
            conn,
            "payment_problem",
            payment_key,
            f"Plata {payment_key} nu poate fi facturată / Payment {payment_key} cannot be invoiced",
            problems,
        )
    log.warning("payment %s needs attention: %s", payment_key, [p.code for p in problems])


def _to_issue(ctx: AppContext, payment_key: str) -> PaymentRecord | str:
    """The payment to invoice, or the job's outcome when there is none to issue."""
    with db.read(ctx.engine) as conn:
        pay = repo.get_payment(conn, payment_key)
        existing = invoice_store.for_payment(conn, payment_key, "invoice")
    if pay is None or pay.kind != "payment":
        return "ignored"  # refunds and disputes get a storno (app/storno.py)
    if existing is not None:
        return "already"
    if pay.status == "ignored":
        return "ignored"
    return pay


def _wait_for_fx(ctx: AppContext, payment_key: str, sale: Sale, paid_on: date) -> str:
    """Ask for the BNR rate of ``paid_on`` and park the payment until it comes."""
    fx_service.request_rates(ctx, paid_on, today(ctx))
    missing = fx_service.wait_for_rate(ctx, payment_key, sale.currency, paid_on)
    needs_attention(ctx, payment_key, (missing,))
    return "needs_attention"


def _checked_or_wait(
    ctx: AppContext, pay: PaymentRecord, sale: Sale, cfg: SeriesConfig, fx_info: FxInfo | None
) -> Checked:
    overrides = build.BuyerOverrides.from_json(pay.overrides) if pay.overrides else None
    try:
        return build_checked(
            ctx,
            sale,
            number=provisional_number(cfg),
            fx=fx_info,
            overrides=overrides,
            issued_on=today(ctx),
        )
    except ValidationArtifactsMissing as exc:  # installing them is the fix: wait, not fail
        raise waiting.validation_wait(exc) from exc


def _number_and_store(
    ctx: AppContext,
    cfg: SeriesConfig,
    sale: Sale,
    payment_key: str,
    checked: Checked,
    validated: Invoice,
) -> str:
    result = checked.result
    prepared = prepare(ctx, validated)  # outside the write turn
    try:
        with db.write(ctx.engine) as conn:
            invoice_id, number = store_numbered(
                ctx,
                conn,
                cfg,
                validated,
                kind="invoice",
                payment_key=payment_key,
                livemode=sale.livemode,
                validation=checked.summary,
                prepared=prepared,
            )
            if result.warnings:
                warned = [w.to_dict() for w in result.warnings]
                invoice_store.log(conn, invoice_id, "warnings", warned)
                _notify_late(conn, number, result.warnings)
            queue.finish_in(conn, "issue_invoice")  # the job completes with the number
    except sa.exc.IntegrityError:
        # another worker issued this payment's invoice after _to_issue read none: the unique
        # key (payment, kind) refused the second one, and the rollback gave the number back
        if _issued(ctx, payment_key):
            return "already"
        raise
    log.info("payment %s -> invoice %s", payment_key, number)
    return "issued"


def _issued(ctx: AppContext, payment_key: str) -> bool:
    """Whether the payment has its invoice."""
    with db.read(ctx.engine) as conn:
        return invoice_store.for_payment(conn, payment_key, "invoice") is not None


def issue_invoice(ctx: AppContext, payment_key: str) -> str:
    """Job ``issue_invoice``. Idempotent: returns ``issued``, ``already``, ``needs_attention``
    or ``ignored``; raises RetryLater while the BNR rate is not known yet."""
    pay = _to_issue(ctx, payment_key)
    if isinstance(pay, str):
        return pay
    sale = repo.sale_from_json(pay.sale)
    waiting.require_live_profile(ctx, sale.livemode)
    cfg = series_for(ctx.settings.series, storno=False, livemode=sale.livemode)
    paid_on = issue_date_of(sale)
    fx_info = None
    if sale.currency.upper() in BNR_CURRENCIES:
        # an empty currency or one BNR never publishes is not waited for: the builder turns
        # it into P-CURRENCY-UNSUPPORTED, a problem the merchant sees
        fx_info = fx_service.rate_for(ctx, sale.currency, paid_on)
        if fx_info is None:
            return _wait_for_fx(ctx, payment_key, sale, paid_on)
    checked = _checked_or_wait(ctx, pay, sale, cfg, fx_info)
    if checked.result.needs_fx:
        return _wait_for_fx(ctx, payment_key, sale, paid_on)
    validated = checked.result.invoice
    if checked.problems or validated is None:
        needs_attention(ctx, payment_key, checked.problems)
        return "needs_attention"
    return _number_and_store(ctx, cfg, sale, payment_key, checked, validated)


OSS_NOT_UPLOADED = (
    "I-OSS-NOT-UPLOADED: B2C sale taxed in {country} through the One-Stop-Shop, outside "
    "RO e-Factura (no Romanian VAT); [vat] upload_oss = true uploads it / vânzare B2C taxată în "
    "{country} prin OSS, netransmisă în e-Factura"
)
"""Why an OSS invoice was not uploaded (``invoices list`` ``reason``, the invoice log)."""


@dataclass(frozen=True)
class Prepared:
    """A validated invoice's XML and snapshot rendered before its write transaction (the
    numbering's, in the SQLite write turn), with ``token`` where the number goes: inside the
    transaction :meth:`numbered` puts the number in, as :func:`render` and
    :func:`invoice_to_json` write it (``tests/issuing/test_prepared.py`` holds the two equal,
    byte for byte)."""

    token: str
    xml: bytes
    snapshot: str

    def numbered(self, number: str) -> tuple[bytes, str]:
        xml = self.xml.replace(self.token.encode("ascii"), number_text(number).encode("utf-8"))
        text = json.dumps(number, ensure_ascii=False)
        return xml, self.snapshot.replace(json.dumps(self.token), text)


def prepare(ctx: AppContext, validated: Invoice) -> Prepared | None:
    """:class:`Prepared` for ``validated``; None (render in the transaction, as before) in the
    unlikely case that the token is not found exactly once in both."""
    token = f"NUMBER{uuid.uuid4().hex}"  # letters and digits: escaped by neither XML nor JSON
    draft = replace(validated, number=token)
    xml, snapshot = render_xml(ctx, draft), invoice_to_json(draft)
    if xml.count(token.encode("ascii")) != 1 or snapshot.count(token) != 1:
        return None
    return Prepared(token, xml, snapshot)


def _documents(ctx: AppContext, invoice: Invoice, prepared: Prepared | None) -> tuple[bytes, str]:
    """The numbered invoice's XML and snapshot: from ``prepared``, else rendered now."""
    if prepared is not None:
        return prepared.numbered(invoice.number)
    return render_xml(ctx, invoice), invoice_to_json(invoice)


def store_numbered(
    ctx: AppContext,
    conn: Connection,
    cfg: SeriesConfig,
    validated: Invoice,
    *,
    kind: str,
    payment_key: str,
    livemode: bool,
    validation: str,
    refers_to: int | None = None,
    prepared: Prepared | None = None,
) -> tuple[int, str]:
    """Inside the caller's write transaction: number a validated invoice (or storno), render it
    with its number, store it, mark its payment ``invoiced`` and enqueue the PDF and, for a
    live series with ``auto_upload``, the ANAF upload. Returns ``(invoice id, number)``."""
    waiting.require_live_profile(ctx, livemode)  # never a live number under the template
    code, seq, number, latest = allocate(conn, cfg, validated.issue_date)
    if latest > validated.issue_date:
        # another process numbered this series on a later day (clocks apart): the rollback
        # gives the number back and the job runs again once our day has come
        raise RetryLater(
            f"series {code} already has an invoice dated {latest}; not numbering one dated "
            f"{validated.issue_date} after it",
            delay_seconds=60,
        )
    invoice = replace(validated, number=number)
    xml, snapshot = _documents(ctx, invoice, prepared)
    skip_oss = invoice.vat_country is not None and not ctx.settings.vat.upload_oss
    upload = cfg.auto_upload and livemode and not skip_oss
    invoice_id = invoice_store.insert_invoice(
        conn,
        series_code=code,
        seq=seq,
        number=number,
        kind=kind,
        payment_key=payment_key,
        issue_date=invoice.issue_date,
        currency=invoice.currency,
        total=str(invoice.totals.tax_inclusive),
        livemode=livemode,
        snapshot=snapshot,
        xml=xml,
        validation=validation,
        deadline=deadlines.upload_deadline(invoice.issue_date),
        anaf_state="pending_upload" if upload else "not_uploaded",
        refers_to=refers_to,
    )
    if skip_oss and cfg.auto_upload and livemode:
        work = anaf_work.AnafWork(reason=OSS_NOT_UPLOADED.format(country=invoice.vat_country))
        anaf_work.save(conn, invoice_id, work)
        invoice_store.log(conn, invoice_id, "anaf_not_uploaded", {"reason": work.reason})
    repo.set_payment_status(conn, payment_key, "invoiced")
    args = {"invoice_id": invoice_id}
    then = [("render_pdf", args, f"pdf:{invoice_id}")]
    if upload:
        then.append(("submit_anaf", args, f"submit:{invoice_id}"))
    queue.enqueue_each(conn, then)  # the PDF first: the payer's email follows it
    return invoice_id, number


def _notify_late(conn: Connection, number: str, warnings: tuple[Problem, ...]) -> None:
    """Tell the merchant about an invoice issued after the art. 319 (16) deadline."""
    late = tuple(w for w in warnings if w.code == "P-ISSUED-LATE")
    if late:
        notices.record(
            conn,
            "deadline",
            number,
            f"Factura {number} a fost emisă după termen / Invoice {number} was issued late",
            late,
        )
