"""The invoice PDF: an A4 Romanian invoice with every mention the Fiscal Code (art. 319) asks for.

Pure apart from reading the font file: the same :class:`Invoice` (and logo) always gives the same
bytes (ReportLab ``invariant`` mode: fixed dates and document id). Texts are Romanian (and
English after each label for a buyer outside Romania, ``pdf/labels.py``), numbers use the
Romanian format (``1.234,50``) and dates ``dd.mm.yyyy``.

Layout: title block (and logo), seller and buyer side by side, the lines table (its header row
repeats on every page), VAT per rate and totals, then the mentions (exchange rate, reverse
charge / exemption, storno reference, payment note, notes), and a footer "pagina X din Y".
"""

from __future__ import annotations

import functools
import io
import threading
from decimal import Decimal
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas as rl_canvas
from reportlab.platypus import (
    Flowable,
    LongTable,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from ..invoicing.model import Invoice, InvoiceLine, Party
from ..invoicing.storno import credit_note_view
from ..money import format_amount, format_ro
from .font_objects import written_once
from .fonts import PdfFonts, load_fonts
from .labels import COUNTRY_NAMES, COUNTY_NAMES, UNIT_LABELS, Words
from .logo import LOGO_MAX_PIXELS, PdfLogoError, logo_flowable
from .mentions import document_title, id_line, is_bilingual, mention_lines, seller_contacts
from .paragraphs import para as _para
from .streams import fast_streams
from .text import (
    format_address,
    format_date,
    line_vat_amounts,
    period_text,
    price,
    qty,
    series_and_number,
    vat_in_ron_by_rate,
    vat_label,
)

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
    "vat_in_ron_by_rate",
]


# ReportLab keeps global state (font subsets, the registry); one render at a time.
_RENDER_LOCK = threading.Lock()


# --------------------------------------------------------------------------------------------
# Styles


class _Styles:
    def __init__(self, fonts: PdfFonts, words: Words) -> None:
        r, b = fonts.regular, fonts.bold
        self.fonts = fonts
        self.w = words
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


@functools.cache
def _styles(fonts: PdfFonts, words: Words) -> _Styles:
    """The styles of ``fonts`` and ``words``, made once (the keys of :func:`_para`'s cache)."""
    return _Styles(fonts, words)


def _table_style(st: _Styles, commands: list[tuple[object, ...]]) -> TableStyle:
    # Table sets the cell font even for flowable cells: keep it on the TTF so the PDF never
    # references a built-in (non-embedded) font.
    return TableStyle([("FONTNAME", (0, 0), (-1, -1), st.fonts.regular), *commands])


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return _para(escape(text), style)


def _pb(text: str, style: ParagraphStyle) -> Paragraph:
    return _para(f"<b>{escape(text)}</b>", style)


# --------------------------------------------------------------------------------------------
# Blocks


def _header(invoice: Invoice, st: _Styles, logo: bytes | None) -> list[Flowable]:
    w = st.w
    title = w(document_title(invoice))
    meta = [
        series_and_number(invoice.number),
        f"{w('Data emiterii')}: {format_date(invoice.issue_date)}",
    ]
    if invoice.tax_point_date is not None and invoice.tax_point_date != invoice.issue_date:
        meta.append(f"{w('Data încasării')}: {format_date(invoice.tax_point_date)}")
    if invoice.period is not None:
        meta.append(f"{w('Perioada facturată')}: {period_text(invoice.period)}")
    if invoice.due_date is not None:
        meta.append(f"{w('Data scadenței')}: {format_date(invoice.due_date)}")
    meta.append(f"{w('Moneda')}: {invoice.currency}")
    right: list[Flowable] = [_p(title, st.title)] + [_p(m, st.meta) for m in meta]
    left: list[Flowable] = [logo_flowable(logo)] if logo else []
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


def _party_block(invoice: Invoice, party: Party, st: _Styles, *, seller: bool) -> list[Flowable]:
    w = st.w
    out: list[Flowable] = [
        _p(w("Furnizor" if seller else "Cumpărător"), st.heading),
        _p(party.name, st.party_name),
    ]
    lines: list[str] = []
    ident = id_line(party, w, seller=seller)
    if ident:
        lines.append(ident)
    if party.trade_register:
        lines.append(f"{w('Reg. Com.')}: {party.trade_register}")
    extras = invoice.seller_extras
    if seller and extras.share_capital:
        lines.append(f"{w('Capital social')}: {extras.share_capital}")
    lines.append(f"{w('Adresa')}: {format_address(party.address)}")
    if seller:
        lines += seller_contacts(invoice, party, w)
    out += [_p(line, st.body) for line in lines]
    if seller and extras.vat_on_collection:
        out.append(_pb(w("TVA la încasare"), st.body))
    if seller and not extras.vat_payer:
        out.append(_p(w("Neplătitor de TVA"), st.body))
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
    if line.period is not None:
        when = f"{st.w('Perioada')}: {period_text(line.period)}"
        text += f'<br/><font size="6.5" color="#555555">{escape(when)}</font>'
    return _para(text, st.cell)


def _lines_table(invoice: Invoice, st: _Styles) -> LongTable:
    cur = escape(invoice.currency)
    w = st.w
    vats = line_vat_amounts(invoice)
    head = [
        _para(w("Nr."), st.head_cell),
        _para(w("Denumirea produselor sau a serviciilor"), st.head_cell),
        _para(w("U.M."), st.head_cell),
        _para(w("Cant."), st.head_right),
        _para(f"{w('Preț unitar fără TVA')} ({cur})", st.head_right),
        _para(f"{w('Valoare')} ({cur})", st.head_right),
        _para(w("Cota TVA"), st.head_right),
    ]
    if vats is not None:
        head.append(_para(f"{w('Valoare TVA')} ({cur})", st.head_right))
    rows: list[list[object]] = [head]
    for idx, line in enumerate(invoice.lines, start=1):
        row = _line_row(idx, line, st)
        if vats is not None:
            row.append(format_ro(vats[idx - 1]))
        rows.append(row)
    widths = [8, 60, 12, 14, 22, 22, 20, 22] if vats is not None else [8, 72, 12, 16, 26, 26, 20]
    table = LongTable(rows, colWidths=[w * mm for w in widths], repeatRows=1)
    style: list[tuple[object, ...]] = [
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


def _line_row(idx: int, line: InvoiceLine, st: _Styles) -> list[object]:
    unit_price = price(line.unit_price)
    if line.price_base_quantity not in (None, Decimal(1)):
        assert line.price_base_quantity is not None
        unit_price += f" / {qty(line.price_base_quantity)}"
    label = vat_label(line.tax)
    # plain strings (drawn with the table's font) are much cheaper than Paragraphs;
    # only the texts that may wrap are Paragraphs
    return [
        str(idx),
        _line_name(line, st),
        UNIT_LABELS.get(line.unit_code.upper(), line.unit_code),
        qty(line.quantity),
        unit_price,
        format_ro(line.net_amount),
        label if len(label) <= 8 else _p(label, st.cell_right),
    ]


def _vat_table(invoice: Invoice, st: _Styles) -> Table:
    """VAT per rate: base and VAT in the invoice currency, and the VAT in lei for an invoice
    in another currency (art. 319 (20) j)."""
    cur = escape(invoice.currency)
    in_ron = vat_in_ron_by_rate(invoice)
    w = st.w
    head = [
        _para(w("Cota TVA"), st.head_cell),
        _para(f"{w('Bază impozabilă')} ({cur})", st.head_right),
        _para(f"{w('TVA')} ({cur})", st.head_right),
    ]
    if in_ron is not None:
        head.append(_para(f"{w('TVA')} (RON)", st.head_right))
    vat_rows: list[list[object]] = [head]
    for idx, item in enumerate(invoice.vat_breakdown):
        row: list[object] = [
            vat_label(item.tax),
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
    w = st.w
    rows: list[tuple[str, Decimal, bool]] = [
        (w("Total fără TVA"), t.tax_exclusive, False),
        (w("TVA"), t.tax_total, False),
        (w("Total factură"), t.tax_inclusive, False),
    ]
    if t.prepaid:
        # a storno's prepaid amount is negative: "Rambursat" already says the money went back
        # (no "Rambursat −50,00")
        paid = abs(t.prepaid) if invoice.is_storno else t.prepaid
        rows.append((w("Rambursat" if invoice.is_storno else "Achitat"), paid, False))
    rows.append((w("Total de plată"), t.payable, True))
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


def _mentions(invoice: Invoice, st: _Styles) -> list[Flowable]:
    return [(_pb if bold else _p)(text, st.body) for text, bold in mention_lines(invoice, st.w)]


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


def _canvas_class(footer: str, font: str, words: Words) -> type[rl_canvas.Canvas]:
    page, of = words("pagina"), words("din")

    class NumberedCanvas(rl_canvas.Canvas):  # type: ignore[misc]
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, object]] = []

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
                    width - 15 * mm, 9 * mm, f"{footer} — {page} {number} {of} {total}"
                )
                self.restoreState()
                super().showPage()
            super().save()

    return NumberedCanvas


# --------------------------------------------------------------------------------------------
# Entry point


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
    invoice = credit_note_view(invoice)  # a 381 credit note shows positive amounts, as its XML
    pdf_fonts = fonts or load_fonts()
    words = Words(bilingual=is_bilingual(invoice))
    st = _styles(pdf_fonts, words)
    title = document_title(invoice).capitalize()
    buf = io.BytesIO()
    with _RENDER_LOCK, fast_streams(), written_once():
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
            canvasmaker=_canvas_class(f"{title} {invoice.number}", pdf_fonts.regular, words),
        )
    return buf.getvalue()
