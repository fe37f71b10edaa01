"""The invoice PDF: every art. 319 mention and amount read back from the PDF text."""

from __future__ import annotations

import io
import shutil
import subprocess
import zlib
from dataclasses import replace
from datetime import date
from decimal import Decimal as D
from pathlib import Path
from types import ModuleType
from typing import Any

import pypdf
import pytest
from PIL import Image as PILImage
from reportlab.lib.styles import ParagraphStyle

from stripe_efactura.invoicing.model import (
    Address,
    InvoiceLine,
    TaxClass,
    VatBreakdown,
    VatCategory,
)
from stripe_efactura.pdf import paragraphs
from stripe_efactura.pdf.fonts import REQUIRED_CHARS, load_fonts, missing_glyphs, postscript_name
from stripe_efactura.pdf.render import (
    PdfLogoError,
    format_address,
    format_date,
    line_vat_amounts,
    render_pdf,
    vat_in_ron_by_rate,
)


def page_texts(pdf: bytes) -> list[str]:
    """Text of every page, whitespace collapsed to single spaces."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return [" ".join(page.extract_text().split()) for page in reader.pages]


def assert_in_order(text: str, expected: list[str]) -> None:
    """Every string of ``expected`` occurs in ``text``, in this order."""
    pos = 0
    for item in expected:
        found = text.find(item, pos)
        assert found >= 0, f"{item!r} not found after position {pos} in:\n{text}"
        pos = found + len(item)


SELLER_BLOCK = [
    "Furnizor",
    "Firma Mea SRL",
    "CUI: 18547290 / Cod TVA: RO18547290",
    "Reg. Com.: J40/1234/2020",
    "Capital social: 200 lei",
    "Adresa: Str. Exemplu nr. 1, Sector 1, București, 010101, România",
    "IBAN: RO49AAAA1B31007593840000",
    "Banca: Banca Exemplu",
]
BUYER_RO_BLOCK = [
    "Cumpărător",
    "Client Ștefănescu SRL",
    "CUI: 14399840 / Cod TVA: RO14399840",
    "Reg. Com.: J12/345/2015",
    "Adresa: Bd. Eroilor nr. 7, Cluj-Napoca, jud. Cluj, 400129, România",
]
SUBSCRIPTION_ROW = "1 Abonament lunar „Premium” — acces platformă Perioada 21.11.2026 – 20.12.2026 "


def table_head(currency: str) -> str:
    return (
        "Nr. Denumirea produselor sau a serviciilor U.M. Cant. Preț unitar fără TVA "
        f"({currency}) Valoare ({currency}) Cota TVA Valoare TVA ({currency})"
    )


def test_standard_invoice_has_every_mention(factory: ModuleType) -> None:
    (text,) = page_texts(render_pdf(factory.standard_invoice()))
    assert_in_order(
        text,
        [
            "FACTURĂ Seria SEF nr. 000123 Data emiterii: 21.11.2026 Moneda: RON",
            *SELLER_BLOCK,
            "Email: contabilitate@firma-mea.ro",
            "Telefon: +40 21 000 0000",
            "TVA la încasare",
            *BUYER_RO_BLOCK,
            table_head("RON"),
            SUBSCRIPTION_ROW + "lună 1 100,00 100,00 21% 21,00",
            "2 Consultanță tehnică oră 10 150,00 1.500,00 21% 315,00",
            "3 Carte tipărită „Șezătoarea și țăranii” buc 2 49,99 99,98 11% 11,00",
            "Cota TVA Bază impozabilă (RON) TVA (RON) 21% 1.600,00 336,00 11% 99,98 11,00",
            "Total fără TVA 1.699,98 RON",
            "TVA 347,00 RON",
            "Total factură 2.046,98 RON",
            "Achitat 2.046,98 RON",
            "Total de plată 0,00 RON",
            "Achitat cu cardul prin Stripe, referință pi_3QabcDEF123 (Card Visa •••• 4242).",
            "Comanda: comanda-7781",
            "Factură SEF000123 — pagina 1 din 1",
        ],
    )
    assert "FACTURĂ STORNO" not in text
    assert "Curs BNR" not in text
    assert "Taxare inversă" not in text
    assert "DOCUMENT DE TEST" not in text


def test_storno_names_the_invoice_it_reverses(factory: ModuleType) -> None:
    (text,) = page_texts(render_pdf(factory.storno_invoice()))
    assert_in_order(
        text,
        [
            "FACTURĂ STORNO Seria SEF nr. 000124 Data emiterii: 25.11.2026 Moneda: RON",
            *SELLER_BLOCK,
            "TVA la încasare",
            *BUYER_RO_BLOCK,
            table_head("RON"),
            SUBSCRIPTION_ROW + "lună -1 100,00 -100,00 21% -21,00",
            "21% -100,00 -21,00",
            "Total fără TVA -100,00 RON",
            "TVA -21,00 RON",
            "Total factură -121,00 RON",
            "Rambursat 121,00 RON",  # no double negative: "Rambursat" says the money went back
            "Total de plată 0,00 RON",
            "Stornează factura SEF000123 din 21.11.2026",
            "Rambursat prin Stripe, referință re_3QstornoXYZ.",
            "Factură storno SEF000124 — pagina 1 din 1",
        ],
    )


def test_storno_says_once_which_invoice_it_reverses_and_why(factory: ModuleType) -> None:
    """The storno's reference note (kept in the XML, BT-22) is not printed again under the bold
    "Stornează factura …" line; the Romanian reason names the refund."""
    storno = factory.storno_invoice()
    notes = (
        "Stornare factura SEF000123 din 21.11.2026",
        "Motiv: Rambursare la cererea clientului (plata re_3QstornoXYZ)",
    )
    (text,) = page_texts(render_pdf(replace(storno, notes=notes)))
    assert text.count("SEF000123") == 1
    assert "Stornare factura" not in text
    assert text.count("Motiv: Rambursare la cererea clientului (plata re_3QstornoXYZ)") == 1


def test_a_381_credit_note_shows_positive_amounts_like_its_xml(factory: ModuleType) -> None:
    """``[storno] credit_note_381``: the UBL CreditNote carries positive values; so does its
    PDF, titled NOTĂ DE CREDIT."""
    (text,) = page_texts(render_pdf(replace(factory.storno_invoice(), type_code="381")))
    assert_in_order(
        text,
        [
            "NOTĂ DE CREDIT Seria SEF nr. 000124",
            SUBSCRIPTION_ROW + "lună 1 100,00 100,00 21% 21,00",
            "Total fără TVA 100,00 RON",
            "TVA 21,00 RON",
            "Total factură 121,00 RON",
            "Rambursat 121,00 RON",
            "Total de plată 0,00 RON",
            "Stornează factura SEF000123 din 21.11.2026",
        ],
    )
    assert "-1" not in text.split("Total de plată")[0].split("Valoare TVA")[-1]


def test_foreign_currency_shows_bnr_rate_and_vat_in_ron(factory: ModuleType) -> None:
    (text,) = page_texts(render_pdf(factory.eur_invoice()))
    assert_in_order(
        text,
        [
            "FACTURĂ Seria SEF nr. 000125 Data emiterii: 21.11.2026 Moneda: EUR",
            *SELLER_BLOCK,
            "Cumpărător",
            "Ion Țăranu",
            "CNP: 1900101400017",
            "Adresa: Str. Lăpușneanu nr. 3, Iași, jud. Iași, România",
            table_head("EUR"),
            "1 Curs online „Programare în Python” buc 1 200,00 200,00 21% 42,00",
            "Cota TVA Bază impozabilă (EUR) TVA (EUR) TVA (RON) 21% 200,00 42,00 213,68",
            "Total fără TVA 200,00 EUR",
            "TVA 42,00 EUR",
            "Total factură 242,00 EUR",
            "Achitat 242,00 EUR",
            "Total de plată 0,00 EUR",
            "Curs BNR din 20.11.2026: 1 EUR = 5,0876 RON. TVA în RON: 213,68 RON.",
            "Achitat cu cardul prin Stripe, referință pi_3QeurEUR777 (Card Visa •••• 4242).",
        ],
    )
    assert "TVA la încasare" not in text


def test_reverse_charge_for_a_buyer_outside_romania_is_bilingual(factory: ModuleType) -> None:
    """Art. 319 (20): every mention of the invoice, for a buyer outside Romania in Romanian
    (the legal text, first) and English; the reverse-charge mention (art. 319 (20) m) reads
    "Taxare inversă"."""
    (text,) = page_texts(render_pdf(factory.reverse_charge_invoice()))
    assert_in_order(
        text,
        [
            (
                "FACTURĂ / INVOICE Seria SEF nr. 000126 Data emiterii / Issue date: 22.11.2026 "
                "Moneda / Currency: EUR"
            ),
            "Furnizor / Supplier Firma Mea SRL",
            "CUI: 18547290 / Cod TVA / VAT ID: RO18547290",
            "Reg. Com. / Trade register: J40/1234/2020",
            "Capital social / Share capital: 200 lei",
            "Adresa / Address: Str. Exemplu nr. 1, Sector 1, București, 010101, România",
            "IBAN: RO49AAAA1B31007593840000 Banca / Bank: Banca Exemplu",
            "Cumpărător / Customer Müller Software GmbH",
            "Cod TVA / VAT ID: DE123456789",
            "Adresa / Address: Hauptstraße 5, Berlin, 10115, Germania",
            (
                "Nr. / No. Denumirea produselor sau a serviciilor / Goods or services U.M. / Unit "
                "Cant. / Qty Preț unitar fără TVA / Unit price excl. VAT (EUR) "
                "Valoare / Amount (EUR) Cota TVA / VAT rate Valoare TVA / VAT (EUR)"
            ),
            "1 Licență software anuală an 1 1.000,00 1.000,00 taxare inversă 0,00",
            (
                "Cota TVA / VAT rate Bază impozabilă / Taxable amount (EUR) TVA / VAT (EUR) "
                "TVA / VAT (RON) taxare inversă 1.000,00 0,00 0,00"
            ),
            "Total fără TVA / Total excl. VAT 1.000,00 EUR",
            "TVA / VAT 0,00 EUR",
            "Total factură / Invoice total 1.000,00 EUR",
            "Achitat / Paid 1.000,00 EUR",
            "Total de plată / Amount due 0,00 EUR",
            "Taxare inversă / Reverse charge",
            "Curs BNR din 20.11.2026: 1 EUR = 5,0876 RON. TVA în RON / VAT in RON: 0,00 RON.",
            (
                "Achitat cu cardul prin Stripe / Paid by card via Stripe, referință / reference "
                "pi_3QrevCHG555 (Card Visa •••• 4242)."
            ),
            "Factură SEF000126 — pagina / page 1 din / of 1",
        ],
    )


def test_romanian_buyer_gets_a_romanian_only_invoice(factory: ModuleType) -> None:
    (text,) = page_texts(render_pdf(factory.eur_invoice()))
    assert " / Issue date" not in text
    assert "Supplier" not in text
    assert "pagina 1 din 1" in text


def test_exemption_reason_is_printed(factory: ModuleType) -> None:
    reason = "Scutit de TVA conform art. 294 alin. (2) lit. a) din Codul fiscal"
    exempt = TaxClass(
        VatCategory.EXPORT, D("0"), exemption_code="VATEX-EU-G", exemption_reason=reason
    )
    base = factory.reverse_charge_invoice()
    invoice = replace(
        base,
        buyer=replace(
            base.buyer,
            name="Acme Inc.",
            vat_id=None,
            legal_id="98-7654321",
            address=Address(line1="1 Main St", city="Austin", county="TX", country="US"),
        ),
        lines=tuple(replace(line, tax=exempt) for line in base.lines),
        vat_breakdown=(VatBreakdown(exempt, D("1000.00"), D("0.00")),),
    )
    (text,) = page_texts(render_pdf(invoice))
    assert_in_order(
        text,
        [
            "Acme Inc.",
            "Nr. identificare / ID no.: 98-7654321",
            "Adresa / Address: 1 Main St, Austin, TX, SUA",
            "1 Licență software anuală an 1 1.000,00 1.000,00 scutit (export) 0,00",
            "scutit (export) 1.000,00 0,00",
            reason,
        ],
    )
    assert "Taxare inversă" not in text


def test_seller_not_registered_for_vat(factory: ModuleType) -> None:
    not_subject = TaxClass(VatCategory.NOT_SUBJECT, D("0"))
    base = factory.standard_invoice()
    line = replace(base.lines[1], tax=not_subject)  # 10 × 150.00 = 1 500.00, no VAT
    invoice = replace(
        base,
        seller=replace(base.seller, vat_id=None),
        seller_extras=replace(base.seller_extras, vat_payer=False, vat_on_collection=False),
        lines=(line,),
        vat_breakdown=(VatBreakdown(not_subject, D("1500.00"), D("0.00")),),
        totals=replace(
            base.totals,
            line_net_total=D("1500.00"),
            tax_exclusive=D("1500.00"),
            tax_total=D("0.00"),
            tax_inclusive=D("1500.00"),
            prepaid=D("1500.00"),
        ),
    )
    (text,) = page_texts(render_pdf(invoice))
    assert_in_order(
        text,
        [
            "Firma Mea SRL CUI: 18547290 Reg. Com.: J40/1234/2020",
            "Neplătitor de TVA",
            "1 Consultanță tehnică oră 10 150,00 1.500,00 neimpozabil 0,00",
            "neimpozabil 1.500,00 0,00",
            "Total fără TVA 1.500,00 RON",
            "TVA 0,00 RON",
            "Total factură 1.500,00 RON",
            "Furnizor neînregistrat în scopuri de TVA",
        ],
    )
    assert "Cod TVA: RO18547290" not in text
    assert "TVA la încasare" not in text


def test_test_mode_invoice_is_marked(factory: ModuleType) -> None:
    invoice = replace(factory.standard_invoice(), number="TEST000004", livemode=False)
    (text,) = page_texts(render_pdf(invoice))
    assert_in_order(
        text,
        [
            "FACTURĂ Seria TEST nr. 000004",
            "DOCUMENT DE TEST — emis dintr-o plată Stripe în modul test; nu are valoare fiscală.",
        ],
    )


def test_long_table_repeats_its_header_on_every_page(factory: ModuleType) -> None:
    pages = page_texts(render_pdf(factory.long_invoice(70)))
    assert len(pages) == 2
    assert pages[1].startswith(table_head("RON") + " ")
    assert pages[0].endswith("Factură SEF000127 — pagina 1 din 2")
    assert pages[1].endswith("Factură SEF000127 — pagina 2 din 2")
    rows = [
        f"{i} Produs de test nr. {i} — ședință buc 1 10,00 10,00 21% 2,10" for i in range(1, 71)
    ]
    assert_in_order(" ".join(pages), rows)
    assert_in_order(
        pages[1],
        ["Total fără TVA 700,00 RON", "TVA 147,00 RON", "Total factură 847,00 RON"],
    )


def test_output_is_deterministic(factory: ModuleType) -> None:
    first = render_pdf(factory.standard_invoice())
    assert first.startswith(b"%PDF-1.")
    assert render_pdf(factory.standard_invoice()) == first
    assert render_pdf(factory.storno_invoice()) != first


def test_streams_are_flate_at_level_1_and_reportlab_is_left_as_found(
    factory: ModuleType,
) -> None:
    from reportlab.pdfbase import pdfdoc

    before = pdfdoc.PDFZCompress
    pdf = render_pdf(factory.standard_invoice())
    assert pdfdoc.PDFZCompress is before  # the fast filter is only swapped in for a render
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    resources: Any = reader.pages[0]["/Resources"]
    font: Any = next(iter(resources["/Font"].values())).get_object()
    stream = font["/FontDescriptor"]["/FontFile2"].get_object()
    assert stream["/Filter"] == ["/FlateDecode"]
    raw = stream.get_data()  # decoded by pypdf: the embedded TrueType subset
    assert raw[:4] == b"\x00\x01\x00\x00"
    assert stream._data == zlib.compress(raw, 1)  # level 1 (ReportLab's default is 6)
    assert stream._data != zlib.compress(raw)


def test_diacritics_are_embedded_ttf_glyphs_and_extract_exactly(factory: ModuleType) -> None:
    pangram = "Pangramă: ă â î ș ț Ă Â Î Ș Ț „citat”"
    invoice = replace(factory.standard_invoice(), notes=(pangram,))
    pdf = render_pdf(invoice)

    fonts = load_fonts()
    assert missing_glyphs(fonts.files.regular) == ""
    assert missing_glyphs(fonts.files.bold) == ""
    # Every font the page uses is an embedded TrueType subset of the TTF we loaded
    # (no built-in Helvetica: it has no ș ț ă).
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    used = {}
    for page in reader.pages:
        resources: Any = page["/Resources"]
        for ref in resources["/Font"].values():
            font = ref.get_object()
            used[str(font["/BaseFont"])] = font
    expected_names = {postscript_name(fonts.files.regular), postscript_name(fonts.files.bold)}
    assert {name.split("+", 1)[1] for name in used} == expected_names
    for name, font in used.items():
        assert font["/Subtype"] == "/TrueType", name
        assert "/FontFile2" in font["/FontDescriptor"], name
        assert "/ToUnicode" in font, name

    (text,) = page_texts(pdf)
    assert pangram in text
    assert "FACTURĂ" in text
    # comma-below (U+0219, U+021B, U+0218, U+021A), never the cedilla look-alikes
    for ch in "șțȘȚ":
        assert ch in text
    for ch in "şţŞŢ":
        assert ch not in text
    assert set(REQUIRED_CHARS) >= set("ăâîșțĂÂÎȘȚ„”")


@pytest.mark.skipif(
    shutil.which("pdftoppm") is None,
    reason="pdftoppm (Debian package poppler-utils) is not installed",
)
def test_page_one_rasterizes(factory: ModuleType, tmp_path: Path) -> None:
    pdf_path = tmp_path / "invoice.pdf"
    pdf_path.write_bytes(render_pdf(factory.standard_invoice()))
    subprocess.run(
        ["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", str(pdf_path), str(tmp_path / "p")],
        check=True,
        capture_output=True,
        timeout=60,
    )
    (png,) = sorted(tmp_path.glob("p-*.png"))
    with PILImage.open(png) as img:
        assert img.size == (414, 585)  # A4 at 50 dpi
        gray = img.convert("L")
        histogram = gray.histogram()
    dark = sum(histogram[:128])
    total = sum(histogram)
    # some ink, mostly paper
    assert 0 < dark < total // 5


@pytest.mark.skipif(
    shutil.which("pdftoppm") is None,
    reason="pdftoppm (Debian package poppler-utils) is not installed",
)
def test_rasterized_diacritics_are_not_missing_glyph_boxes(tmp_path: Path) -> None:
    """Draw each letter and a character the font lacks (U+E000 -> .notdef box) with the PDF
    font, rasterize with poppler and compare pixels: no letter may look like the box."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen.canvas import Canvas

    fonts = load_fonts()
    letters = "ăâîșțĂÂÎȘȚ„”"
    missing = "\ue000"
    assert missing_glyphs(fonts.files.regular, missing) == missing
    pdf_path = tmp_path / "glyphs.pdf"
    canvas = Canvas(str(pdf_path), pagesize=A4, invariant=1)
    for i, ch in enumerate(letters + missing):
        canvas.setFont(fonts.regular, 40)
        canvas.drawString(40 + (i % 6) * 90, 780 - (i // 6) * 90, ch)
    canvas.save()
    subprocess.run(
        ["pdftoppm", "-png", "-r", "72", "-gray", str(pdf_path), str(tmp_path / "g")],
        check=True,
        capture_output=True,
        timeout=60,
    )
    (png,) = sorted(tmp_path.glob("g-*.png"))
    with PILImage.open(png) as img:
        page = img.convert("L")
        height = page.height

        def cell(i: int) -> bytes:
            x, y = 40 + (i % 6) * 90, height - (780 - (i // 6) * 90)
            return page.crop((x - 5, y - 50, x + 75, y + 20)).tobytes()

        box = cell(len(letters))
        assert any(b < 128 for b in box)  # the box has ink
        for i, ch in enumerate(letters):
            glyph = cell(i)
            assert any(b < 128 for b in glyph), f"{ch!r} drew nothing"
            assert glyph != box, f"{ch!r} is drawn as the missing-glyph box"


def _png(width: int, height: int) -> bytes:
    buf = io.BytesIO()
    PILImage.new("RGB", (width, height), (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


def test_logo_is_drawn(factory: ModuleType) -> None:
    pdf = render_pdf(factory.standard_invoice(), logo=_png(300, 100))
    page = pypdf.PdfReader(io.BytesIO(pdf)).pages[0]
    images = list(page.images)
    assert len(images) == 1
    assert images[0].image is not None
    assert images[0].image.size == (300, 100)
    assert render_pdf(factory.standard_invoice(), logo=_png(300, 100)) == pdf
    no_logo = pypdf.PdfReader(io.BytesIO(render_pdf(factory.standard_invoice()))).pages[0]
    assert list(no_logo.images) == []


def test_big_logo_is_scaled_down(factory: ModuleType) -> None:
    pdf = render_pdf(factory.standard_invoice(), logo=_png(3000, 1000))
    (image,) = pypdf.PdfReader(io.BytesIO(pdf)).pages[0].images
    assert image.image is not None
    assert image.image.size == (1000, 333)


def test_credit_note_title(factory: ModuleType) -> None:
    invoice = replace(factory.standard_invoice(), type_code="381")
    (text,) = page_texts(render_pdf(invoice))
    assert text.startswith("NOTĂ DE CREDIT Seria SEF nr. 000123")
    assert text.endswith("Notă de credit SEF000123 — pagina 1 din 1")


def test_bad_logo_is_a_coded_error(factory: ModuleType) -> None:
    with pytest.raises(PdfLogoError) as err:
        render_pdf(factory.standard_invoice(), logo=b"not an image")
    assert err.value.code == "E-PDF-LOGO"


def test_line_vat_column_is_dropped_when_lines_do_not_add_up_to_the_rate(
    factory: ModuleType,
) -> None:
    """Art. 319 (20) i-j: every VAT amount printed is its base × rate. When rounding line by
    line does not add up to the VAT of the rate, the per-line column is dropped (the VAT per
    rate stays) rather than adjusting one line's VAT away from base × rate."""
    s21 = TaxClass(VatCategory.STANDARD, D("21"))
    # 3 × 0.07 at 21 %: each line 0.0147 -> 0.01 (sum 0.03); the breakdown 0.21 × 21 % = 0.04
    lines = tuple(
        InvoiceLine(
            line_id=str(i),
            name="x",
            quantity=D("1"),
            unit_price=D("0.07"),
            net_amount=D("0.07"),
            tax=s21,
        )
        for i in (1, 2, 3)
    )
    invoice = replace(
        factory.standard_invoice(),
        lines=lines,
        vat_breakdown=(VatBreakdown(s21, D("0.21"), D("0.04")),),
    )
    assert line_vat_amounts(invoice) is None
    (text,) = page_texts(render_pdf(invoice))
    assert "Valoare TVA" not in text
    assert_in_order(
        text,
        [
            "Preț unitar fără TVA (RON) Valoare (RON) Cota TVA 1 x buc 1 0,07 0,07 21%",
            "Cota TVA Bază impozabilă (RON) TVA (RON) 21% 0,21 0,04",
        ],
    )
    assert line_vat_amounts(factory.standard_invoice()) == (
        D("21.00"),
        D("315.00"),
        D("11.00"),
    )


def test_vat_in_lei_per_rate_adds_up_to_the_vat_total_in_lei(factory: ModuleType) -> None:
    """Art. 319 (20) j: an invoice in another currency shows the VAT in lei for every rate;
    the rows add up to the VAT total in lei (BT-111)."""
    s21 = TaxClass(VatCategory.STANDARD, D("21"))
    s11 = TaxClass(VatCategory.STANDARD, D("11"))
    base = factory.eur_invoice()
    invoice = replace(
        base,
        vat_breakdown=(
            VatBreakdown(s21, D("100.00"), D("21.00")),
            VatBreakdown(s11, D("0.09"), D("0.01")),
        ),
        totals=replace(base.totals, tax_total=D("21.01"), tax_total_ron=D("106.89")),
    )
    assert vat_in_ron_by_rate(invoice) == (D("106.84"), D("0.05"))
    assert vat_in_ron_by_rate(factory.standard_invoice()) is None


def test_format_address_and_date() -> None:
    assert format_date(date(2026, 1, 5)) == "05.01.2026"
    assert (
        format_address(Address("Str. A nr. 2", "SECTOR6", "RO", county="RO-B"))
        == "Str. A nr. 2, Sector 6, București, România"
    )
    assert (
        format_address(Address("Str. B", "Voluntari", "RO", line2="Bl. 3, ap. 4", county="RO-IF"))
        == "Str. B, Bl. 3, ap. 4, Voluntari, jud. Ilfov, România"
    )
    assert (
        format_address(Address("Calea Victoriei 1", "București", "RO", county="RO-B"))
        == "Calea Victoriei 1, București, România"
    )
    assert format_address(Address("Rue X", "Paris", "FR", postal_code="75001")) == (
        "Rue X, Paris, 75001, Franța"
    )
    assert format_address(Address("Main 1", "Tokyo", "JP")) == "Main 1, Tokyo, JP"


def test_address_parts_are_written_once() -> None:
    """Art. 319 (20) e: the buyer's address, written once — Stripe often repeats the
    sector in the street line, and a city-state as the state."""
    assert (
        format_address(
            Address("Str. Ion Creangă 9", "SECTOR3", "RO", line2="Sector 3", county="RO-B")
        )
        == "Str. Ion Creangă 9, Sector 3, București, România"
    )
    assert (
        format_address(Address("Bd. Unirii 1, sector 3", "SECTOR3", "RO", county="RO-B"))
        == "Bd. Unirii 1, sector 3, București, România"
    )
    assert (
        format_address(Address("Torstraße 1", "Berlin", "DE", county="Berlin", postal_code="10119"))
        == "Torstraße 1, Berlin, 10119, Germania"
    )
    assert (
        format_address(Address("Str. Mare 2", "Brașov", "RO", line2="Brasov", county="RO-BV"))
        == "Str. Mare 2, Brasov, jud. Brașov, România"
    )


def test_payment_invoiced_on_a_later_day_shows_the_payment_date(factory: ModuleType) -> None:
    """Art. 319 (20) d: when the chargeable event (the payment) is earlier than the issue
    date, the invoice states it (``Data încasării``) beside the issue date."""
    invoice = replace(
        factory.standard_invoice(), issue_date=date(2026, 12, 1), tax_point_date=date(2025, 7, 15)
    )
    (text,) = page_texts(render_pdf(invoice))
    assert_in_order(text, ["Data emiterii: 01.12.2026", "Data încasării: 15.07.2025"])
    (same_day,) = page_texts(render_pdf(factory.standard_invoice()))
    assert "Data încasării" not in same_day


def test_reportlab_uses_its_c_accelerator() -> None:
    """``rl-accel`` is installed and ReportLab picks it up: its font checksums, number
    formatting and string widths run in C, not in the pure-Python fallbacks (``_py_…``)."""
    from reportlab.lib import rl_accel

    for name in ("calcChecksum", "fp_str", "instanceStringWidthTTF", "unicode2T1"):
        assert type(getattr(rl_accel, name)).__name__ == "builtin_function_or_method", name


def test_paragraphs_parsed_once_render_the_same_bytes(factory: ModuleType) -> None:
    """``paragraphs.para`` reuses a paragraph's parsed fragments for the same markup and style:
    a render from the cache is the render without it, byte for byte (one page, many pages,
    bilingual, storno, a bold name), and the cache has a bound."""
    invoices = [
        factory.standard_invoice(),
        factory.storno_invoice(),
        factory.eur_invoice(),
        factory.reverse_charge_invoice(),
        factory.long_invoice(60),
    ]
    cold = []
    for invoice in invoices:
        paragraphs._PARSED.clear()
        cold.append(render_pdf(invoice))
    paragraphs._PARSED.clear()
    for _ in range(2):
        assert [render_pdf(invoice) for invoice in invoices] == cold
    assert paragraphs._PARSED
    assert paragraphs._PARSED_MAX == 4096
    paragraphs._PARSED.clear()
    style = ParagraphStyle("filler")
    frags: list[Any] = []
    paragraphs._PARSED.update({(f"x{n}", style): (style, frags) for n in range(4096)})
    assert render_pdf(invoices[0]) == cold[0]  # a full cache: parsed again, nothing kept
    assert len(paragraphs._PARSED) == 4096
