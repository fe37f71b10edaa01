"""A font subset's PDF objects written once per glyph list, for :func:`.render.render_pdf`.

At the end of every render ReportLab writes, for each embedded subset of a TrueType face, a
``/Widths`` array of up to 256 numbers (each one formatted by ``pdfdoc.format`` and
``fp_str``: a twentieth of a render) and a ``/ToUnicode`` character map. Both depend only on
the subset's glyph list, and the invoices of one merchant mostly end with the same lists
(:mod:`.subsets`). :func:`written_once` swaps in, for one render, an array whose text is
remembered when it holds only integers, and a character map made once per glyph list: the
same bytes as ReportLab's, without making them again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from reportlab import rl_config
from reportlab.pdfbase import pdfdoc, ttfonts

from .kept import Kept

KEPT_MAX = 64
"""Arrays and character maps remembered (the last used ones; two faces' subsets)."""
NUMBERS_MIN = 32
"""The shortest array of integers remembered (a ``/Widths``; boxes and matrices are short)."""

_ARRAYS: Kept[tuple[tuple[int, ...], bool, bytes], bytes] = Kept(KEPT_MAX)
_CMAPS: Kept[tuple[str, tuple[int, ...]], str] = Kept(KEPT_MAX)


class NumbersOnce(pdfdoc.PDFArray):  # type: ignore[misc]
    """``PDFArray``, whose text is remembered for an array of :data:`NUMBERS_MIN` integers or
    more (the text of an integer does not depend on the document). Renders run one at a time
    (``render._RENDER_LOCK``)."""

    def format(self, document: object, IND: bytes = b"\n ") -> bytes:
        seq = self.sequence
        if len(seq) < NUMBERS_MIN or not all(type(e) is int for e in seq):
            return super().format(document, IND)  # type: ignore[no-any-return]
        lines = bool((self.multiline and rl_config.pdfMultiLine) or self.multiline == "forced")
        key = (tuple(seq), lines, IND)
        return _ARRAYS.get_or_make(key, lambda: super(NumbersOnce, self).format(document, IND))


_make_cmap: Callable[[str, Sequence[int]], str] = ttfonts.makeToUnicodeCMap


def cmap_once(fontname: str, subset: Sequence[int]) -> str:
    """``ttfonts.makeToUnicodeCMap(fontname, subset)``, made once per name and glyph list."""
    return _CMAPS.get_or_make((fontname, tuple(subset)), lambda: _make_cmap(fontname, subset))


@contextmanager
def written_once() -> Iterator[None]:
    """ReportLab's arrays and ToUnicode maps as :class:`NumbersOnce` and :func:`cmap_once`
    for the block (ReportLab looks both up by module attribute when it writes a font)."""
    array, cmap = pdfdoc.PDFArray, ttfonts.makeToUnicodeCMap
    pdfdoc.PDFArray, ttfonts.makeToUnicodeCMap = NumbersOnce, cmap_once
    try:
        yield
    finally:
        pdfdoc.PDFArray, ttfonts.makeToUnicodeCMap = array, cmap
