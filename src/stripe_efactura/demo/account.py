"""The readable account of a demo run (English text, Romanian names and invoices)."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from pathlib import Path

from ..invoicing.model import BuyerKind, Invoice
from .model import DEMO_EUR_RATE, DemoResult, InvoiceReport


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def _rate(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _buyer(inv: Invoice) -> str:
    b = inv.buyer
    region = b.address.county if b.address.country == "RO" else b.address.country
    place = ", ".join(x for x in (b.address.city, region) if x)
    if b.kind is BuyerKind.INDIVIDUAL:
        ident = f"individual, CNP {b.legal_id}" if b.legal_id else "individual"
    elif b.vat_id:
        ident = f"company, VAT id {b.vat_id}"
    else:
        ident = f"company, CUI {b.legal_id}"
    return f"{b.name} ({ident}; {place})"


def _vat(inv: Invoice) -> str:
    parts = []
    for v in inv.vat_breakdown:
        cat = v.tax.category.value
        if v.tax.rate:
            parts.append(f"{cat} {_rate(v.tax.rate)} %: VAT {_money(v.tax_amount)}")
        else:
            reason = f" ({v.tax.exemption_reason})" if v.tax.exemption_reason else ""
            parts.append(f"{cat}{reason}: no VAT")
    return "; ".join(parts)


def _rel(path: Path | None, directory: Path) -> str:
    if path is None:
        return "-"
    try:
        return str(path.relative_to(directory))
    except ValueError:
        return str(path)


def render_account(result: DemoResult) -> str:
    """The readable account of a run (English text, Romanian names and invoices)."""
    d = result.directory
    lines = [
        "stripe-efactura demo: Stripe payments -> Romanian invoices -> ANAF -> email",
        "",
        *_setup(result),
        "",
        *_webhooks(result),
        "",
        "Invoices",
    ]
    for r in result.invoices:
        lines += _invoice(r, d)
    lines += ["", *_other_emails(result), "", *_verdict(result)]
    return "\n".join(lines)


def _setup(result: DemoResult) -> list[str]:
    d = result.directory
    lines = [
        "Set-up (nothing leaves this machine)",
        f"  folder      {d}",
        f"  database    SQLite {_rel(d / 'efactura.db', d)} (migrated)",
        "  Stripe      in-process fake API holding the sample objects (livemode)",
        "  ANAF        in-process fake of the e-Factura test API; OAuth code flow done,",
        "              tokens stored encrypted",
    ]
    if result.rate_date is not None:
        lines.append(
            f"  BNR         demo feed: 1 EUR = {_rate(DEMO_EUR_RATE)} RON on "
            f"{result.rate_date.isoformat()} (a DEMO rate, not BNR's)"
        )
    return [
        *lines,
        f"  SMTP        local sink {result.smtp}, messages saved in mail/",
        f"  validation  UBL 2.1 XSD + CIUS-RO 1.0.9 schematron, {result.validation_source}",
        f"  web         {result.web_url}/webhooks/stripe",
    ]


def _webhooks(result: DemoResult) -> list[str]:
    stored = sum(1 for r in result.deliveries if r.answer == "200 stored")
    dups = sum(1 for r in result.deliveries if r.answer == "200 duplicate")
    answered = "all answered 200" if all(r.status == 200 for r in result.deliveries) else "!"
    lines = [
        (
            f"Webhooks: {len(result.deliveries)} signed deliveries ({answered}): {stored} stored, "
            f"{dups} duplicates"
        )
    ]
    for n, dr in enumerate(result.deliveries, 1):
        outcome = result.event_outcomes.get(dr.delivery.event_id, "?")
        lines.append(
            f"  {n:2d}. {dr.delivery.event_id:<11} {dr.delivery.type:<27} {dr.short:<9} "
            f"{outcome:<22} {dr.delivery.note}".rstrip()
        )
    outcomes = result.event_outcomes.values()
    ignored = Counter(v.split(" ", 1)[1] for v in outcomes if "ignored" in v)
    sales = {v for v in outcomes if v.startswith("sale ")}
    confirmed = sum(1 for v in outcomes if v.startswith("sale "))
    lines.append(
        f"  => {confirmed} events confirmed {len(sales)} payments (one sale each); "
        f"{sum(ignored.values())} ignored ("
        + ", ".join(f"{code} x{n}" for code, n in sorted(ignored.items()))
        + ")"
    )
    return lines


def _invoice(r: InvoiceReport, d: Path) -> list[str]:
    inv = r.invoice
    t = inv.totals
    count = len(inv.lines)
    lines = [
        f"  {r.number}  {r.payment.title}",
        f"    payment     {r.payment.key} (events {', '.join(r.event_ids)})",
        f"    buyer       {_buyer(inv)}",
        f"    issued      {inv.issue_date.isoformat()}, {count} line{'s' if count > 1 else ''}",
        (
            f"    total       {_money(t.tax_inclusive)} {inv.currency} = net "
            f"{_money(t.tax_exclusive)} + VAT {_money(t.tax_total)} ({_vat(inv)})"
        ),
    ]
    if inv.fx is not None and inv.currency != "RON":
        lines.append(
            f"    in RON      VAT {_money(t.tax_total_ron or Decimal(0))} RON at "
            f"{_rate(inv.fx.rate)} RON/{inv.currency} ({inv.fx.rate_date.isoformat()})"
        )
    return lines + _checks(r) + _delivery(r, d)


def _checks(r: InvoiceReport) -> list[str]:
    fatal = r.validation.get("fatal", [])
    warnings = r.validation.get("warnings", [])
    return [
        f"    validation  {len(fatal)} fatal, {len(warnings)} warnings"
        + (f" ({', '.join(warnings)})" if warnings else ""),
        f"    ANAF        {' -> '.join(r.anaf_states)}",
        (
            f"                upload index {r.upload_index} via {r.endpoint} "
            f"({r.anaf_uploads} upload{'s' if r.anaf_uploads != 1 else ''}), "
            f"download id {r.download_id}"
        ),
    ]


def _delivery(r: InvoiceReport, d: Path) -> list[str]:
    if r.mail is not None:
        lines = [
            f"    email       {r.email_state} to {r.mail.to}",
            f'                "{r.mail.subject}"',
            f"                {_rel(r.mail.path, d)} ({' + '.join(r.mail.attachments())})",
        ]
    else:
        lines = [f"    email       {r.email_state}"]
    lines.append(f"    files       {_rel(r.pdf, d)}, {_rel(r.xml, d)}")
    if r.signed_zip is not None:
        lines.append(
            f"                {_rel(r.signed_zip, d)} (XML + ANAF signature, as downloaded)"
        )
    else:
        lines.append("                (no signed ZIP: ANAF has not validated it yet)")
    return lines


def _other_emails(result: DemoResult) -> list[str]:
    d = result.directory
    payer = {r.mail.path for r in result.invoices if r.mail is not None}
    others = [m for m in result.mails if m.path not in payer]
    if others:
        return ["Other emails"] + [f"  {_rel(m.path, d)}  to {m.to}: {m.subject}" for m in others]
    if result.unsent_notices:
        return [f"Merchant digest: {result.unsent_notices} notices wait for the next digest"]
    return ["Merchant digest: none (no notices: nothing needs attention)"]


def _verdict(result: DemoResult) -> list[str]:
    if not result.ok:
        return [
            "FAILED:",
            *(f"  - {p}" for p in result.problems),
            "See demo.log in the folder above.",
        ]
    numbers = [r.number for r in result.invoices]
    return [
        (
            f"OK: {len(result.deliveries)} webhooks -> {len(numbers)} invoices "
            f"{numbers[0]}..{numbers[-1]}: validated, ANAF ok, emailed ({result.elapsed:.1f} s)."
        ),
        "The service's own log is demo.log in the folder.",
    ]
