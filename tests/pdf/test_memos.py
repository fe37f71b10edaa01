"""What a render does once and reuses: font subsets, their compressed streams, their widths
and character maps, line breaking.

Each memo must leave the PDF's bytes exactly as a render without it writes them."""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence
from dataclasses import replace
from types import ModuleType
from typing import Any

import pytest
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Paragraph

from stripe_efactura.invoicing.model import Invoice
from stripe_efactura.pdf import font_objects, streams
from stripe_efactura.pdf.fonts import load_fonts
from stripe_efactura.pdf.kept import Kept
from stripe_efactura.pdf.paragraphs import WrappedOnce, para
from stripe_efactura.pdf.render import render_pdf
from stripe_efactura.pdf.subsets import SUBSETS_MAX, SubsetMemo, memoize_subsets

BUYER_NAMES = ("Ștefan Ţepeş", "Łódź Żółć Ærø", "Ana Pop", "Ελληνικά Ωμέγα")


def _faces() -> list[Any]:
    from reportlab.pdfbase import pdfmetrics

    fonts = load_fonts()
    return [pdfmetrics.getFont(name).face for name in (fonts.regular, fonts.bold)]


def _invoices(factory: ModuleType) -> list[Invoice]:
    """One page, many pages, bilingual, storno, and buyers whose names add glyphs (and a
    script) the labels do not use, in an order that brings each subset back after others."""
    base = factory.standard_invoice()
    named = [replace(base, buyer=replace(base.buyer, name=name)) for name in BUYER_NAMES]
    others = [
        factory.storno_invoice(),
        factory.eur_invoice(),
        factory.reverse_charge_invoice(),
        factory.long_invoice(60),
    ]
    return [*named, *others, *named]


@pytest.fixture
def without_memos(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Renders as ReportLab does them: every subset made, compressed, its widths and character
    map written and every paragraph broken into lines each time."""
    for face in _faces():
        made = face.makeSubset
        assert isinstance(made, SubsetMemo)
        monkeypatch.setattr(face, "makeSubset", made._make)
    monkeypatch.setattr(streams, "REUSED_MIN", 1 << 62)
    monkeypatch.setattr(font_objects, "NUMBERS_MIN", 1 << 62)
    monkeypatch.setattr(font_objects, "cmap_once", font_objects._make_cmap)
    monkeypatch.setattr(WrappedOnce, "wrap", Paragraph.wrap)
    yield


def test_a_render_with_the_memos_is_the_render_without_them(
    factory: ModuleType, request: pytest.FixtureRequest
) -> None:
    invoices = _invoices(factory)
    warm = [render_pdf(invoice) for invoice in invoices]
    assert warm[:4] == warm[-4:]
    assert len(set(warm[:4])) == 4
    request.getfixturevalue("without_memos")
    assert [render_pdf(invoice) for invoice in invoices] == warm


def test_a_subset_is_made_once_per_glyph_list() -> None:
    made: list[tuple[int, ...]] = []

    def make(subset: Sequence[int]) -> bytes:
        made.append(tuple(subset))
        return bytes(subset)

    memo = SubsetMemo(make, size=2)
    first = memo([65, 66])
    assert memo([65, 66]) is first  # the same object: its compressed form is found by it
    assert made == [(65, 66)]
    assert memo((65, 66)) is first
    memo([66, 65])  # the order is part of the subset (the codes are positions)
    memo([65, 66])  # used last: kept
    memo([67])  # the third list: the least recently used one goes
    assert made == [(65, 66), (66, 65), (67,)]
    assert memo([65, 66]) is first
    memo([66, 65])
    assert made == [(65, 66), (66, 65), (67,), (66, 65)]
    assert SUBSETS_MAX == 32


def test_every_registered_face_builds_its_subsets_through_the_memo() -> None:
    for face in _faces():
        memo = face.makeSubset
        assert isinstance(memo, SubsetMemo)
        memoize_subsets(face)  # again: not wrapped twice
        assert face.makeSubset is memo


def test_a_large_stream_is_compressed_once_and_a_small_one_each_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[int] = []
    real = zlib.compress

    def counted(data: bytes, level: int = -1) -> bytes:
        calls.append(len(data))
        return real(data, level)

    monkeypatch.setattr(streams.zlib, "compress", counted)
    flate = streams._FastFlate()
    font = bytes(range(256)) * 64  # 16 KB, REUSED_MIN
    assert len(font) == streams.REUSED_MIN
    assert flate.encode(font) == real(font, 1)
    assert flate.encode(font) == real(font, 1)
    assert flate.encode(bytes(font)) == real(font, 1)  # equal bytes, another object
    assert calls == [len(font)]
    page = "0 0 m 10 10 l S\n" * 10
    assert flate.encode(page) == real(page.encode(), 1)
    assert flate.encode(page) == real(page.encode(), 1)
    assert calls == [len(font), len(page), len(page)]
    for n in range(streams.REUSED_MAX):
        flate.encode(font + bytes([n]))
    assert len(flate._reused) == streams.REUSED_MAX  # the first one went
    flate.encode(font)
    assert calls[-1] == len(font)


def test_a_paragraph_breaks_its_lines_once_per_width(monkeypatch: pytest.MonkeyPatch) -> None:
    broken: list[Sequence[float]] = []
    real = Paragraph.breakLines

    def counted(self: Paragraph, widths: Sequence[float]) -> Any:
        broken.append(list(widths))
        return real(self, widths)

    monkeypatch.setattr(Paragraph, "breakLines", counted)
    style = ParagraphStyle("body", fontSize=10, leading=12)
    text = "Servicii de găzduire web pentru luna noiembrie, conform contractului " * 3
    paragraph = para(text, style)
    assert isinstance(paragraph, WrappedOnce)
    size = paragraph.wrap(200, 500)
    assert paragraph.wrap(200, 40) == size  # the height offered does not matter
    assert len(broken) == 1
    narrow = paragraph.wrap(120, 500)
    assert narrow[1] > size[1]
    assert paragraph.wrap(200, 500) == size
    assert len(broken) == 3
    assert paragraph.split(200, 5) == []  # no room for two lines: it drops its lines
    assert len(broken) == 3
    assert paragraph.wrap(200, 500) == size
    assert len(broken) == 4  # broken again: the lines it had are gone


def test_an_array_of_integers_is_written_once_and_others_each_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from reportlab.pdfbase import pdfdoc

    written: list[int] = []
    real = pdfdoc.format

    def counted(element: object, document: object, toplevel: int = 0) -> bytes:
        written.append(1)
        return real(element, document, toplevel)  # type: ignore[no-any-return]

    monkeypatch.setattr(pdfdoc, "format", counted)
    monkeypatch.setattr(font_objects, "_ARRAYS", Kept(font_objects.KEPT_MAX))
    widths = list(range(500, 500 + font_objects.NUMBERS_MIN))
    document = pdfdoc.PDFDocument()
    text = pdfdoc.PDFArray(widths).format(document)
    assert font_objects.NumbersOnce(widths).format(document) == text
    assert len(written) == 2 * len(widths)
    assert font_objects.NumbersOnce(list(widths)).format(document) == text
    assert len(written) == 2 * len(widths)  # remembered: nothing formatted again
    short = [0, 0, 595, 842]  # a box: formatted each time
    assert font_objects.NumbersOnce(short).format(document) == b"[ 0 0 595 842 ]"
    assert font_objects.NumbersOnce(short).format(document) == b"[ 0 0 595 842 ]"
    assert len(written) == 2 * len(widths) + 2 * len(short)
    mixed = [*widths[:-1], 1.5]  # not only integers: formatted each time
    assert font_objects.NumbersOnce(mixed).format(document) == pdfdoc.PDFArray(mixed).format(
        document
    )
    assert len(written) == 2 * len(widths) + 2 * len(short) + 2 * len(mixed)
    for n in range(font_objects.KEPT_MAX):
        font_objects.NumbersOnce([*widths, n]).format(document)
    assert len(font_objects._ARRAYS) == font_objects.KEPT_MAX  # the first one went


def test_a_character_map_is_made_once_per_name_and_glyph_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made: list[tuple[str, tuple[int, ...]]] = []
    real = font_objects._make_cmap

    def counted(name: str, subset: Sequence[int]) -> str:
        made.append((name, tuple(subset)))
        return real(name, subset)

    monkeypatch.setattr(font_objects, "_make_cmap", counted)
    monkeypatch.setattr(font_objects, "_CMAPS", Kept(font_objects.KEPT_MAX))
    first = font_objects.cmap_once("AAAAAA+DejaVuSans", [65, 66, 0x219])
    assert first == real("AAAAAA+DejaVuSans", [65, 66, 0x219])
    assert font_objects.cmap_once("AAAAAA+DejaVuSans", (65, 66, 0x219)) is first
    font_objects.cmap_once("AAAAAB+DejaVuSans", [65, 66, 0x219])  # another subset's name
    assert len(made) == 2


def test_the_swap_holds_for_a_render_only() -> None:
    from reportlab.pdfbase import pdfdoc, ttfonts

    array, cmap = pdfdoc.PDFArray, ttfonts.makeToUnicodeCMap
    with font_objects.written_once():
        assert pdfdoc.PDFArray is font_objects.NumbersOnce
        assert ttfonts.makeToUnicodeCMap is font_objects.cmap_once
    assert (pdfdoc.PDFArray, ttfonts.makeToUnicodeCMap) == (array, cmap)
