"""The texts of the invoice PDF (pure): title, party identifiers and the mentions that the
Fiscal Code (art. 319) asks for — exemption and reverse-charge texts, exchange rate, payment."""

from __future__ import annotations

from collections.abc import Iterable

from ..invoicing.model import BuyerKind, Invoice, Party, TaxClass, VatCategory
from ..invoicing.payment import PAYMENT_MEANS_RO
from ..invoicing.storno import reference_note
from ..money import format_amount, format_ro
from .labels import VAT_MENTIONS, Words
from .text import decimals, format_date


def document_title(invoice: Invoice) -> str:
    """``FACTURĂ``, ``FACTURĂ STORNO`` or, for type code 381 (a storno issued as a credit
    note too), ``NOTĂ DE CREDIT``."""
    if invoice.type_code == "381":
        return "NOTĂ DE CREDIT"
    if invoice.is_storno:
        return "FACTURĂ STORNO"
    return "FACTURĂ"


def is_bilingual(invoice: Invoice) -> bool:
    """A buyer outside Romania gets the invoice in Romanian and English."""
    return invoice.buyer.address.country.strip().upper() not in ("", "RO")


def id_line(party: Party, w: Words, *, seller: bool) -> str | None:
    legal = (party.legal_id or "").strip()
    vat = (party.vat_id or "").strip()
    domestic = party.address.country.upper() == "RO"
    if seller and not legal and vat.upper().startswith("RO"):
        legal = vat[2:]
    if party.kind is BuyerKind.INDIVIDUAL:  # a consumer, or a seller identified by CNP
        if legal and set(legal) != {"0"}:
            return f"CNP: {legal}" if domestic else f"{w('Nr. identificare')}: {legal}"
        return f"{w('Cod TVA')}: {vat}" if vat else None
    parts = []
    if legal:
        parts.append(f"CUI: {legal}" if domestic else f"{w('Nr. identificare')}: {legal}")
    if vat:
        parts.append(f"{w('Cod TVA')}: {vat}")
    return " / ".join(parts) or None


def seller_contacts(invoice: Invoice, party: Party, w: Words) -> list[str]:
    extras = invoice.seller_extras
    lines: list[str] = []
    if extras.iban:
        lines.append(f"IBAN: {extras.iban}")
    if extras.bank:
        lines.append(f"{w('Banca')}: {extras.bank}")
    if party.email:
        lines.append(f"Email: {party.email}")
    if party.phone:
        lines.append(f"{w('Telefon')}: {party.phone}")
    return lines


def vat_mentions(invoice: Invoice, w: Words) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    taxes: Iterable[TaxClass] = [b.tax for b in invoice.vat_breakdown] + [
        line.tax for line in invoice.lines
    ]
    for tax in taxes:
        if tax.category in (VatCategory.STANDARD, VatCategory.ZERO) and not tax.exemption_reason:
            continue
        if tax.category is VatCategory.NOT_SUBJECT and not invoice.seller_extras.vat_payer:
            text = tax.exemption_reason or "Furnizor neînregistrat în scopuri de TVA"
        else:
            text = tax.exemption_reason or VAT_MENTIONS.get(tax.category, "")
        if not text:
            continue
        if tax.category is VatCategory.REVERSE_CHARGE and "taxare inversă" not in text.lower():
            text = f"Taxare inversă — {text}"
        text = w(text)
        if text not in seen:
            seen.add(text)
            out.append(text)
    return out


def fx_mention(invoice: Invoice, w: Words) -> str | None:
    if invoice.currency.upper() == "RON":
        return None
    parts: list[str] = []
    if invoice.fx is not None:
        fx = invoice.fx
        rate = format_ro(fx.rate, max(4, min(decimals(fx.rate), 6)))
        parts.append(
            f"Curs {fx.source} din {format_date(fx.rate_date)}: 1 {invoice.currency} = {rate} RON"
        )
    if invoice.totals.tax_total_ron is not None:
        parts.append(f"{w('TVA în RON')}: {format_amount(invoice.totals.tax_total_ron, 'RON')}")
    return ". ".join(parts) + "." if parts else None


def paid_note(invoice: Invoice, w: Words) -> str | None:
    pay = invoice.payment
    if pay is None:
        return None
    ref = pay.reference or invoice.payment_key
    if invoice.is_storno:
        text = w("Rambursat prin Stripe")
    else:
        means = PAYMENT_MEANS_RO.get(pay.means_code)
        text = w(f"Achitat {means} prin Stripe" if means else "Achitat prin Stripe")
    if ref:
        text += f", {w('referință')} {ref}"
    if pay.method_label:
        text += f" ({pay.method_label})"
    return text + "."


def mention_lines(invoice: Invoice, w: Words) -> list[tuple[str, bool]]:
    """The mentions under the totals, each with whether it is printed in bold."""
    lines: list[tuple[str, bool]] = []
    for prev in invoice.preceding:
        when = format_date(prev.issue_date)
        lines.append((f"{w('Stornează factura')} {prev.number} din {when}", True))
    lines += [(text, True) for text in vat_mentions(invoice, w)]
    fx = fx_mention(invoice, w)
    if fx:
        lines.append((fx, False))
    paid = paid_note(invoice, w)
    if paid:
        lines.append((paid, False))
    if invoice.order_reference:
        lines.append((f"{w('Comanda')}: {invoice.order_reference}", False))
    if invoice.buyer_reference:
        lines.append((f"{w('Referința cumpărătorului')}: {invoice.buyer_reference}", False))
    # the storno's own "Stornare factura …" note says what the bold line above already says
    repeated = {reference_note(prev) for prev in invoice.preceding}
    lines += [(note, False) for note in invoice.notes if note.strip() and note not in repeated]
    return lines
