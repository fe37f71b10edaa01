"""The invoice PDF: an A4 Romanian invoice with every mention the Fiscal Code (art. 319) asks for.

Pure apart from reading the font file: the same :class:`Invoice` (and logo) always gives the same
bytes (ReportLab ``invariant`` mode: fixed dates and document id). Texts are Romanian, numbers
use the Romanian format (``1.234,50``) and dates ``dd.mm.yyyy``.

Layout: title block (and logo), seller and buyer side by side, the lines table (its header row
repeats on every page), VAT per rate and totals, then the mentions (exchange rate, reverse
charge / exemption, storno reference, payment note, notes), and a footer "pagina X din Y".
"""

from __future__ import annotations

import io
import re
import threading
import unicodedata
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

from PIL import Image as PILImage
from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas as rl_canvas
from reportlab.platypus import (
    Flowable,
    Image,
    LongTable,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from ..errors import ConfigError
from ..invoicing.model import (
    Address,
    BuyerKind,
    Invoice,
    InvoiceLine,
    Party,
    TaxClass,
    VatCategory,
)
from ..invoicing.plain import PAYMENT_MEANS_RO
from ..money import format_amount, format_ro, round2
from .fonts import PdfFonts, load_fonts

__all__ = [
    "COUNTRY_NAMES",
    "COUNTY_NAMES",
    "LOGO_MAX_PIXELS",
    "UNIT_LABELS",
    "PdfLogoError",
    "document_title",
    "format_address",
    "format_date",
    "line_vat_amounts",
    "render_pdf",
]


class PdfLogoError(ConfigError):
    """The merchant logo is not an image ReportLab can read (PNG, JPEG, GIF)."""

    code = "E-PDF-LOGO"


# --------------------------------------------------------------------------------------------
# Romanian labels

COUNTY_NAMES: dict[str, str] = {
    "RO-AB": "Alba", "RO-AR": "Arad", "RO-AG": "Argeș", "RO-BC": "Bacău", "RO-BH": "Bihor",
    "RO-BN": "Bistrița-Năsăud", "RO-BT": "Botoșani", "RO-BV": "Brașov", "RO-BR": "Brăila",
    "RO-B": "București", "RO-BZ": "Buzău", "RO-CS": "Caraș-Severin", "RO-CL": "Călărași",
    "RO-CJ": "Cluj", "RO-CT": "Constanța", "RO-CV": "Covasna", "RO-DB": "Dâmbovița",
    "RO-DJ": "Dolj", "RO-GL": "Galați", "RO-GR": "Giurgiu", "RO-GJ": "Gorj",
    "RO-HR": "Harghita", "RO-HD": "Hunedoara", "RO-IL": "Ialomița", "RO-IS": "Iași",
    "RO-IF": "Ilfov", "RO-MM": "Maramureș", "RO-MH": "Mehedinți", "RO-MS": "Mureș",
    "RO-NT": "Neamț", "RO-OT": "Olt", "RO-PH": "Prahova", "RO-SM": "Satu Mare",
    "RO-SJ": "Sălaj", "RO-SB": "Sibiu", "RO-SV": "Suceava", "RO-TR": "Teleorman",
    "RO-TM": "Timiș", "RO-TL": "Tulcea", "RO-VS": "Vaslui", "RO-VL": "Vâlcea",
    "RO-VN": "Vrancea",
}  # fmt: skip
"""ISO 3166-2:RO subdivision code -> county name."""

COUNTRY_NAMES: dict[str, str] = {
    "RO": "România", "AT": "Austria", "BE": "Belgia", "BG": "Bulgaria", "HR": "Croația",
    "CY": "Cipru", "CZ": "Cehia", "DK": "Danemarca", "EE": "Estonia", "FI": "Finlanda",
    "FR": "Franța", "DE": "Germania", "GR": "Grecia", "HU": "Ungaria", "IE": "Irlanda",
    "IT": "Italia", "LV": "Letonia", "LT": "Lituania", "LU": "Luxemburg", "MT": "Malta",
    "NL": "Țările de Jos", "PL": "Polonia", "PT": "Portugalia", "SK": "Slovacia",
    "SI": "Slovenia", "ES": "Spania", "SE": "Suedia", "GB": "Regatul Unit", "US": "SUA",
    "CH": "Elveția", "NO": "Norvegia", "MD": "Republica Moldova", "UA": "Ucraina",
    "RS": "Serbia", "TR": "Turcia", "CA": "Canada",
}  # fmt: skip
"""ISO 3166-1 alpha-2 -> Romanian country name (others print as the code)."""

UNIT_LABELS: dict[str, str] = {
    "H87": "buc", "C62": "buc", "EA": "buc", "XPP": "buc", "SET": "set", "PR": "pereche",
    "HUR": "oră", "MIN": "min", "DAY": "zi", "WEE": "săpt.", "MON": "lună", "ANN": "an",
    "E48": "serv.", "ACT": "activ.", "KGM": "kg", "GRM": "g", "TNE": "t", "MTR": "m",
    "MTK": "m²", "MTQ": "m³", "LTR": "l", "KWH": "kWh", "KMT": "km",
}  # fmt: skip
"""UN/ECE rec. 20 unit code -> Romanian abbreviation (others print as the code)."""

_VAT_LABELS: dict[VatCategory, str] = {
    VatCategory.EXEMPT: "scutit",
    VatCategory.REVERSE_CHARGE: "taxare inversă",
    VatCategory.INTRA_COMMUNITY: "scutit (intracom.)",
    VatCategory.EXPORT: "scutit (export)",
    VatCategory.NOT_SUBJECT: "neimpozabil",
}

_VAT_MENTIONS: dict[VatCategory, str] = {
    VatCategory.EXEMPT: "Scutit de TVA",
    VatCategory.REVERSE_CHARGE: "Taxare inversă",
    VatCategory.INTRA_COMMUNITY: "Livrare intracomunitară scutită de TVA",
    VatCategory.EXPORT: "Export scutit de TVA",
    VatCategory.NOT_SUBJECT: "Operațiune care nu intră în sfera de aplicare a TVA",
}


_SECTOR = re.compile(r"^\s*SECTOR\s*([1-6])\s*$", re.IGNORECASE)
_SERIES_NUMBER = re.compile(r"^(\D+?)[\s-]*(\d+)$")

# ReportLab keeps global state (font subsets, the registry); one render at a time.
_RENDER_LOCK = threading.Lock()


# --------------------------------------------------------------------------------------------
# Formatting helpers (pure)


def format_date(value: date) -> str:
    """``date(2026, 11, 21)`` -> ``"21.11.2026"``."""
    return f"{value.day:02d}.{value.month:02d}.{value.year:04d}"


def _decimals(value: Decimal) -> int:
    exp = value.normalize().as_tuple().exponent
    return max(0, -exp) if isinstance(exp, int) else 0


def _qty(value: Decimal) -> str:
    return format_ro(value, min(_decimals(value), 6))


def _price(value: Decimal) -> str:
    return format_ro(value, max(2, min(_decimals(value), 6)))


def _rate(value: Decimal) -> str:
    return f"{format_ro(value, min(_decimals(value), 2))}%"


def _vat_label(tax: TaxClass) -> str:
    if tax.category in (VatCategory.STANDARD, VatCategory.ZERO):
        return _rate(tax.rate)
    return _VAT_LABELS.get(tax.category, tax.category.value)


def format_address(address: Address) -> str:
    """One line: street, (sector,) city, county, postal code, country — in Romanian.

    A part already said by an earlier one (``Sector 3`` in the street line and the city,
    ``Berlin`` as city and state) is written once.
    """
    parts = [address.line1.strip()]
    if address.line2 and address.line2.strip():
        parts.append(address.line2.strip())
    parts.extend(_locality_parts(address))
    if address.postal_code and address.postal_code.strip():
        parts.append(address.postal_code.strip())
    country = address.country.upper()
    parts.append(COUNTRY_NAMES.get(country, country))
    return ", ".join(_without_repeats(parts))


def _locality_parts(address: Address) -> list[str]:
    sector = _SECTOR.match(address.city or "")
    if sector:
        return [f"Sector {sector.group(1)}", "București"]
    parts: list[str] = []
    if address.city and address.city.strip():
        parts.append(address.city.strip())
    county = address.county.strip() if address.county else ""
    county_name = COUNTY_NAMES.get(county.upper(), county) if county else ""
    if not county_name:
        return parts
    if county.upper() == "RO-B":
        if "bucure" not in (address.city or "").lower():
            parts.append("București")
    elif address.country.upper() == "RO":
        parts.append(f"jud. {county_name}")
    else:
        parts.append(county_name)
    return parts


def _address_key(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch))
    return " ".join(re.sub(r"(?i)^sector\s*", "sector ", plain).casefold().split())


def _without_repeats(parts: list[str]) -> list[str]:
    """``parts`` without empty ones and without a part that an earlier one already holds
    (as a whole or as one of its comma-separated pieces), compared without case and
    diacritics."""
    seen: set[str] = set()
    out: list[str] = []
    for part in parts:
        key = _address_key(part)
        if not key or key in seen:
            continue
        out.append(part)
        seen.add(key)
        seen.update(_address_key(piece) for piece in part.split(","))
    return out


def _series_and_number(number: str) -> str:
    match = _SERIES_NUMBER.match(number)
    if match:
        return f"Seria {match.group(1)} nr. {match.group(2)}"
    return f"Nr. {number}"


def line_vat_amounts(invoice: Invoice) -> tuple[Decimal, ...] | None:
    """VAT of every line as ``round2(net × rate / 100)``, or ``None`` when the lines of some
    (category, rate) do not add up to that rate's VAT in the breakdown (BT-117).

    A line's VAT is never adjusted to absorb a rounding difference: the invoice then shows the
    VAT per rate only and drops the per-line column, so that every VAT amount printed equals
    its base × rate.
    """
    raw = [round2(line.net_amount * line.tax.rate / Decimal(100)) for line in invoice.lines]
    groups: dict[tuple[VatCategory, Decimal], list[int]] = {}
    for idx, line in enumerate(invoice.lines):
        groups.setdefault((line.tax.category, line.tax.rate), []).append(idx)
    for item in invoice.vat_breakdown:
        members = groups.get((item.tax.category, item.tax.rate))
        if members and item.tax_amount != sum((raw[i] for i in members), Decimal("0.00")):
            return None
    return tuple(raw)


def vat_in_ron_by_rate(invoice: Invoice) -> tuple[Decimal, ...] | None:
    """The VAT of every breakdown row in lei (art. 319 (20) j), for an invoice in another
    currency with an exchange rate; ``None`` otherwise.

    Each row is ``round2(VAT × rate)``; a rounding difference against the VAT total in lei
    (BT-111) goes to the row with the most VAT, so that the rows add up to BT-111.
    """
    fx = invoice.fx
    if invoice.currency.upper() == "RON" or fx is None or not invoice.vat_breakdown:
        return None
    rows = [round2(item.tax_amount * fx.rate) for item in invoice.vat_breakdown]
    total = invoice.totals.tax_total_ron
    if total is None:
        total = round2(invoice.totals.tax_total * fx.rate)
    diff = total - sum(rows, Decimal("0.00"))
    if diff:
        biggest = max(
            range(len(rows)), key=lambda i: (abs(invoice.vat_breakdown[i].tax_amount), -i)
        )
        rows[biggest] += diff
    return tuple(rows)


# --------------------------------------------------------------------------------------------
# Styles


class _Styles:
    def __init__(self, fonts: PdfFonts) -> None:
        r, b = fonts.regular, fonts.bold
        self.fonts = fonts
        self.body = ParagraphStyle("body", fontName=r, fontSize=8.5, leading=11)
        self.title = ParagraphStyle(
            "title", fontName=b, fontSize=18, leading=22, alignment=TA_RIGHT
        )
        self.meta = ParagraphStyle("meta", fontName=r, fontSize=9, leading=12, alignment=TA_RIGHT)
        self.heading = ParagraphStyle(
            "heading", fontName=b, fontSize=9, leading=12, textColor=colors.HexColor("#444444")
        )
        self.party_name = ParagraphStyle("party", fontName=b, fontSize=10, leading=13)
        self.cell = ParagraphStyle("cell", fontName=r, fontSize=7.5, leading=9.2)
        self.cell_right = ParagraphStyle("cellr", parent=self.cell, alignment=TA_RIGHT)
        self.head_cell = ParagraphStyle("head", fontName=b, fontSize=7, leading=8.5)
        self.head_right = ParagraphStyle("headr", parent=self.head_cell, alignment=TA_RIGHT)
        self.total = ParagraphStyle("total", fontName=r, fontSize=8.5, leading=11)
        self.grand = ParagraphStyle("grand", fontName=b, fontSize=10, leading=13)
        self.warning = ParagraphStyle(
            "warning",
            fontName=b,
            fontSize=9,
            leading=12,
            textColor=colors.HexColor("#B00020"),
            alignment=TA_LEFT,
        )


def _table_style(st: _Styles, commands: list[tuple[Any, ...]]) -> TableStyle:
    # Table sets the cell font even for flowable cells: keep it on the TTF so the PDF never
    # references a built-in (non-embedded) font.
    return TableStyle([("FONTNAME", (0, 0), (-1, -1), st.fonts.regular), *commands])


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text), style)


def _pb(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(f"<b>{escape(text)}</b>", style)


# --------------------------------------------------------------------------------------------
# Blocks


LOGO_MAX_PIXELS = (1000, 440)
"""Larger logos are scaled down to fit (about 500 dpi at the 50 × 22 mm drawn size)."""


def _logo_flowable(logo: bytes) -> Image:
    try:
        with PILImage.open(io.BytesIO(logo)) as im:
            im.load()
            if im.width > LOGO_MAX_PIXELS[0] or im.height > LOGO_MAX_PIXELS[1]:
                im.thumbnail(LOGO_MAX_PIXELS)
                out = io.BytesIO()
                im.save(out, format="PNG")
                logo = out.getvalue()
        reader = ImageReader(io.BytesIO(logo))
        width, height = reader.getSize()
    except Exception as exc:  # PIL raises a zoo of types for bad images
        raise PdfLogoError(f"the logo is not a readable PNG/JPEG/GIF image: {exc}") from exc
    if width <= 0 or height <= 0:
        raise PdfLogoError("the logo image is empty")
    max_w, max_h = 50 * mm, 22 * mm
    scale = min(max_w / width, max_h / height)
    img = Image(io.BytesIO(logo), width=width * scale, height=height * scale)
    img.hAlign = "LEFT"
    return img


def document_title(invoice: Invoice) -> str:
    """``FACTURĂ``, ``FACTURĂ STORNO`` or, for type code 381, ``NOTĂ DE CREDIT``."""
    if invoice.is_storno:
        return "FACTURĂ STORNO"
    if invoice.type_code == "381":
        return "NOTĂ DE CREDIT"
    return "FACTURĂ"


def _header(invoice: Invoice, st: _Styles, logo: bytes | None) -> list[Flowable]:
    title = document_title(invoice)
    meta = [
        _series_and_number(invoice.number),
        f"Data emiterii: {format_date(invoice.issue_date)}",
    ]
    if invoice.due_date is not None:
        meta.append(f"Data scadenței: {format_date(invoice.due_date)}")
    meta.append(f"Moneda: {invoice.currency}")
    right: list[Flowable] = [_p(title, st.title)] + [_p(m, st.meta) for m in meta]
    left: list[Flowable] = [_logo_flowable(logo)] if logo else []
    table = Table([[left, right]], colWidths=[80 * mm, 100 * mm])
    table.setStyle(
        _table_style(
            st,
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
            ],
        )
    )
    out: list[Flowable] = [table]
    if not invoice.livemode:
        out += [
            Spacer(1, 2 * mm),
            _p(
                "DOCUMENT DE TEST — emis dintr-o plată Stripe în modul test; "
                "nu are valoare fiscală.",
                st.warning,
            ),
        ]
    return out


def _id_line(party: Party, *, seller: bool) -> str | None:
    legal = (party.legal_id or "").strip()
    vat = (party.vat_id or "").strip()
    domestic = party.address.country.upper() == "RO"
    if seller and not legal and vat.upper().startswith("RO"):
        legal = vat[2:]
    if not seller and party.kind is BuyerKind.INDIVIDUAL:
        if legal and set(legal) != {"0"}:
            return f"CNP: {legal}" if domestic else f"Nr. identificare: {legal}"
        return f"Cod TVA: {vat}" if vat else None
    parts = []
    if legal:
        parts.append(f"CUI: {legal}" if domestic else f"Nr. identificare: {legal}")
    if vat:
        parts.append(f"Cod TVA: {vat}")
    return " / ".join(parts) or None


def _party_block(invoice: Invoice, party: Party, st: _Styles, *, seller: bool) -> list[Flowable]:
    out: list[Flowable] = [
        _p("Furnizor" if seller else "Cumpărător", st.heading),
        _p(party.name, st.party_name),
    ]
    lines: list[str] = []
    ident = _id_line(party, seller=seller)
    if ident:
        lines.append(ident)
    if party.trade_register:
        lines.append(f"Reg. Com.: {party.trade_register}")
    extras = invoice.seller_extras
    if seller and extras.share_capital:
        lines.append(f"Capital social: {extras.share_capital}")
    lines.append(f"Adresa: {format_address(party.address)}")
    if seller:
        if extras.iban:
            lines.append(f"IBAN: {extras.iban}")
        if extras.bank:
            lines.append(f"Banca: {extras.bank}")
        if party.email:
            lines.append(f"Email: {party.email}")
        if party.phone:
            lines.append(f"Telefon: {party.phone}")
    out += [_p(line, st.body) for line in lines]
    if seller and extras.vat_on_collection:
        out.append(_pb("TVA la încasare", st.body))
    if seller and not extras.vat_payer:
        out.append(_p("Neplătitor de TVA", st.body))
    return out


def _parties(invoice: Invoice, st: _Styles) -> Table:
    table = Table(
        [
            [
                _party_block(invoice, invoice.seller, st, seller=True),
                _party_block(invoice, invoice.buyer, st, seller=False),
            ]
        ],
        colWidths=[90 * mm, 90 * mm],
    )
    table.setStyle(
        _table_style(
            st,
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (0, -1), 0),
                ("LEFTPADDING", (1, 0), (1, -1), 4 * mm),
                ("LINEBEFORE", (1, 0), (1, -1), 0.5, colors.HexColor("#BBBBBB")),
            ],
        )
    )
    return table


def _line_name(line: InvoiceLine, st: _Styles) -> Paragraph:
    text = escape(line.name)
    if line.description and line.description.strip() and line.description != line.name:
        text += f'<br/><font size="6.5" color="#555555">{escape(line.description)}</font>'
    return Paragraph(text, st.cell)


def _lines_table(invoice: Invoice, st: _Styles) -> LongTable:
    cur = escape(invoice.currency)
    vats = line_vat_amounts(invoice)
    head = [
        Paragraph("Nr.", st.head_cell),
        Paragraph("Denumirea produselor sau a serviciilor", st.head_cell),
        Paragraph("U.M.", st.head_cell),
        Paragraph("Cant.", st.head_right),
        Paragraph(f"Preț unitar fără TVA ({cur})", st.head_right),
        Paragraph(f"Valoare ({cur})", st.head_right),
        Paragraph("Cota TVA", st.head_right),
    ]
    if vats is not None:
        head.append(Paragraph(f"Valoare TVA ({cur})", st.head_right))
    rows: list[list[Any]] = [head]
    for idx, line in enumerate(invoice.lines, start=1):
        row = _line_row(idx, line, st)
        if vats is not None:
            row.append(format_ro(vats[idx - 1]))
        rows.append(row)
    widths = [8, 60, 12, 14, 22, 22, 20, 22] if vats is not None else [8, 72, 12, 16, 26, 26, 20]
    table = LongTable(rows, colWidths=[w * mm for w in widths], repeatRows=1)
    style: list[tuple[Any, ...]] = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("FONTSIZE", (0, 1), (-1, -1), st.cell.fontSize),
        ("LEADING", (0, 1), (-1, -1), st.cell.leading),
        ("ALIGN", (3, 1), (-1, -1), "RIGHT"),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#EEEEEE")),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.HexColor("#888888")),
        ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.HexColor("#CCCCCC")),
        ("LEFTPADDING", (0, 0), (-1, -1), 2),
        ("RIGHTPADDING", (0, 0), (-1, -1), 2),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]
    table.setStyle(_table_style(st, style))
    return table


def _line_row(idx: int, line: InvoiceLine, st: _Styles) -> list[Any]:
    price = _price(line.unit_price)
    if line.price_base_quantity not in (None, Decimal(1)):
        assert line.price_base_quantity is not None
        price += f" / {_qty(line.price_base_quantity)}"
    vat_label = _vat_label(line.tax)
    # plain strings (drawn with the table's font) are much cheaper than Paragraphs;
    # only the texts that may wrap are Paragraphs
    return [
        str(idx),
        _line_name(line, st),
        UNIT_LABELS.get(line.unit_code.upper(), line.unit_code),
        _qty(line.quantity),
        price,
        format_ro(line.net_amount),
        vat_label if len(vat_label) <= 8 else _p(vat_label, st.cell_right),
    ]


def _vat_table(invoice: Invoice, st: _Styles) -> Table:
    """VAT per rate: base and VAT in the invoice currency, and the VAT in lei for an invoice
    in another currency (art. 319 (20) j)."""
    cur = escape(invoice.currency)
    in_ron = vat_in_ron_by_rate(invoice)
    head = [
        Paragraph("Cota TVA", st.head_cell),
        Paragraph(f"Bază impozabilă ({cur})", st.head_right),
        Paragraph(f"TVA ({cur})", st.head_right),
    ]
    if in_ron is not None:
        head.append(Paragraph("TVA (RON)", st.head_right))
    vat_rows: list[list[Any]] = [head]
    for idx, item in enumerate(invoice.vat_breakdown):
        row: list[Any] = [
            _vat_label(item.tax),
            format_ro(item.taxable_amount),
            format_ro(item.tax_amount),
        ]
        if in_ron is not None:
            row.append(format_ro(in_ron[idx]))
        vat_rows.append(row)
    widths = [24, 28, 22] if in_ron is None else [18, 22, 17, 19]
    vat_table = Table(vat_rows, colWidths=[w * mm for w in widths])
    vat_table.setStyle(
        _table_style(
            st,
            [
                ("FONTSIZE", (0, 1), (-1, -1), st.cell.fontSize),
                ("LEADING", (0, 1), (-1, -1), st.cell.leading),
                ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.HexColor("#888888")),
                ("LEFTPADDING", (0, 0), (-1, -1), 2),
                ("RIGHTPADDING", (0, 0), (-1, -1), 2),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
            ],
        )
    )
    return vat_table


def _totals(invoice: Invoice, st: _Styles) -> Table:
    vat_table = _vat_table(invoice, st)
    t = invoice.totals
    cur_code = invoice.currency
    rows: list[tuple[str, Decimal, bool]] = [
        ("Total fără TVA", t.tax_exclusive, False),
        ("TVA", t.tax_total, False),
        ("Total factură", t.tax_inclusive, False),
    ]
    if t.prepaid:
        rows.append(("Rambursat" if invoice.is_storno else "Achitat", t.prepaid, False))
    rows.append(("Total de plată", t.payable, True))
    total_rows = [[label, format_amount(value, cur_code)] for label, value, _ in rows]
    totals_table = Table(total_rows, colWidths=[38 * mm, 44 * mm])
    totals_table.setStyle(
        _table_style(
            st,
            [
                ("FONTSIZE", (0, 0), (-1, -2), st.total.fontSize),
                ("LEADING", (0, 0), (-1, -2), st.total.leading),
                ("FONTNAME", (0, -1), (-1, -1), st.fonts.bold),
                ("FONTSIZE", (0, -1), (-1, -1), st.grand.fontSize),
                ("LEADING", (0, -1), (-1, -1), st.grand.leading),
                ("ALIGN", (1, 0), (1, -1), "RIGHT"),
                ("LEFTPADDING", (0, 0), (-1, -1), 2),
                ("RIGHTPADDING", (0, 0), (-1, -1), 2),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
                ("LINEABOVE", (0, -1), (-1, -1), 0.8, colors.black),
            ],
        )
    )
    outer = Table([[vat_table, [], totals_table]], colWidths=[76 * mm, 22 * mm, 82 * mm])
    outer.setStyle(
        _table_style(
            st,
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
            ],
        )
    )
    outer.keepWithPrevious = True
    return outer


def _vat_mentions(invoice: Invoice) -> list[str]:
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
            text = tax.exemption_reason or _VAT_MENTIONS.get(tax.category, "")
        if not text:
            continue
        if tax.category is VatCategory.REVERSE_CHARGE and "taxare inversă" not in text.lower():
            text = f"Taxare inversă — {text}"
        if text not in seen:
            seen.add(text)
            out.append(text)
    return out


def _fx_mention(invoice: Invoice) -> str | None:
    if invoice.currency.upper() == "RON":
        return None
    parts: list[str] = []
    if invoice.fx is not None:
        fx = invoice.fx
        rate = format_ro(fx.rate, max(4, min(_decimals(fx.rate), 6)))
        parts.append(
            f"Curs {fx.source} din {format_date(fx.rate_date)}: 1 {invoice.currency} = {rate} RON"
        )
    if invoice.totals.tax_total_ron is not None:
        parts.append(f"TVA în RON: {format_amount(invoice.totals.tax_total_ron, 'RON')}")
    return ". ".join(parts) + "." if parts else None


def _paid_note(invoice: Invoice) -> str | None:
    pay = invoice.payment
    if pay is None:
        return None
    ref = pay.reference or invoice.payment_key
    if invoice.is_storno:
        text = "Rambursat prin Stripe"
    else:
        means = PAYMENT_MEANS_RO.get(pay.means_code)
        text = f"Achitat {means} prin Stripe" if means else "Achitat prin Stripe"
    if ref:
        text += f", referință {ref}"
    if pay.method_label:
        text += f" ({pay.method_label})"
    return text + "."


def _mentions(invoice: Invoice, st: _Styles) -> list[Flowable]:
    lines: list[tuple[str, bool]] = []
    for prev in invoice.preceding:
        lines.append((f"Stornează factura {prev.number} din {format_date(prev.issue_date)}", True))
    lines += [(text, True) for text in _vat_mentions(invoice)]
    fx = _fx_mention(invoice)
    if fx:
        lines.append((fx, False))
    paid = _paid_note(invoice)
    if paid:
        lines.append((paid, False))
    if invoice.order_reference:
        lines.append((f"Comanda: {invoice.order_reference}", False))
    if invoice.buyer_reference:
        lines.append((f"Referința cumpărătorului: {invoice.buyer_reference}", False))
    lines += [(note, False) for note in invoice.notes if note.strip()]
    out: list[Flowable] = []
    for text, bold in lines:
        out.append((_pb if bold else _p)(text, st.body))
    return out


def _story(invoice: Invoice, st: _Styles, logo: bytes | None) -> list[Flowable]:
    story: list[Flowable] = []
    story += _header(invoice, st, logo)
    story += [Spacer(1, 5 * mm), _parties(invoice, st), Spacer(1, 6 * mm)]
    story.append(_lines_table(invoice, st))
    story += [Spacer(1, 4 * mm), _totals(invoice, st), Spacer(1, 5 * mm)]
    story += _mentions(invoice, st)
    return story


# --------------------------------------------------------------------------------------------
# Canvas with "pagina X din Y"


def _canvas_class(footer: str, font: str) -> type[Any]:
    class NumberedCanvas(rl_canvas.Canvas):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                self.saveState()
                self.setFont(font, 7)
                self.setFillColor(colors.HexColor("#666666"))
                width = self._pagesize[0]
                self.drawRightString(
                    width - 15 * mm, 9 * mm, f"{footer} — pagina {number} din {total}"
                )
                self.restoreState()
                super().showPage()
            super().save()

    return NumberedCanvas


# --------------------------------------------------------------------------------------------
# Entry point


@contextmanager
def _binary_streams() -> Iterator[None]:
    """Write compressed streams as binary, not ASCII85 (faster and 20 % smaller)."""
    previous = rl_config.useA85
    rl_config.useA85 = 0
    try:
        yield
    finally:
        rl_config.useA85 = previous


def render_pdf(
    invoice: Invoice, *, logo: bytes | None = None, fonts: PdfFonts | None = None
) -> bytes:
    """Render ``invoice`` as an A4 PDF and return its bytes.

    ``logo``: the merchant's logo (PNG/JPEG/GIF bytes), drawn top left, at most 50×22 mm.
    ``fonts``: registered fonts (:func:`stripe_efactura.pdf.fonts.load_fonts`); by default the
    first usable font of the search order. Raises :class:`~.fonts.FontNotFound`
    (``E-PDF-FONT``) when there is none and :class:`PdfLogoError` (``E-PDF-LOGO``) for a bad
    logo. The same input gives the same bytes.
    """
    pdf_fonts = fonts or load_fonts()
    st = _Styles(pdf_fonts)
    title = document_title(invoice).capitalize()
    buf = io.BytesIO()
    with _RENDER_LOCK, _binary_streams():
        doc = SimpleDocTemplate(
            buf,
            pagesize=A4,
            # the frame adds 6 pt padding: content is exactly 180 mm wide, 15 mm from the edges
            leftMargin=15 * mm - 6,
            rightMargin=15 * mm - 6,
            topMargin=14 * mm,
            bottomMargin=16 * mm,
            title=f"{title} {invoice.number}",
            author=invoice.seller.name,
            subject=f"{title} {invoice.number} din {format_date(invoice.issue_date)}",
            creator="stripe-efactura",
            invariant=1,
            initialFontName=pdf_fonts.regular,
            initialFontSize=8.5,
        )
        doc.build(
            _story(invoice, st, logo),
            canvasmaker=_canvas_class(f"{title} {invoice.number}", pdf_fonts.regular),
        )
    return buf.getvalue()
