"""Paragraphs parsed once and wrapped once per width: :func:`para` for ``pdf/render.py``."""

from __future__ import annotations

from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Paragraph
from reportlab.platypus.paraparser import ParaFrag

_PARSED: dict[tuple[str, ParagraphStyle], tuple[ParagraphStyle, list[ParaFrag]]] = {}
_PARSED_MAX = 4096


class WrappedOnce(Paragraph):  # type: ignore[misc]
    """A paragraph that breaks its lines once per width. A table wraps every cell twice, to
    size its rows and again to draw them, at the same width: the second line breaking was a
    tenth of a render. ``Paragraph.wrap`` depends only on the width, the style and the
    fragments (not on the height it is offered), so the second call returns the first one's
    size, as long as the lines it broke are still the paragraph's (``split`` may drop them)."""

    _wrapped: tuple[float, float, float, object] | None = None

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        done = self._wrapped
        if done is not None and done[0] == availWidth and self.__dict__.get("blPara") is done[3]:
            self.width, self.height = done[1], done[2]
            return done[1], done[2]
        width, height = super().wrap(availWidth, availHeight)
        self._wrapped = (availWidth, width, height, self.__dict__.get("blPara"))
        return width, height


def para(markup: str, style: ParagraphStyle) -> Paragraph:
    """``Paragraph(markup, style)`` (a :class:`WrappedOnce`), parsed once per markup and style:
    ReportLab parses a paragraph's markup with an HTML parser each time, a sixth of a render,
    and most of an invoice's paragraphs (labels, column heads, the seller's block) are the same
    on every invoice. The paragraph gets copies of the parsed fragments, which ReportLab reads
    and does not change; ``tests/pdf`` holds a render from the cache to the bytes of one
    without it. Called under ``render._RENDER_LOCK`` (the story is built in it); at most
    :data:`_PARSED_MAX` entries."""
    key = (markup, style)
    parsed = _PARSED.get(key)
    if parsed is None:
        paragraph = WrappedOnce(markup, style)
        if len(_PARSED) < _PARSED_MAX:
            _PARSED[key] = (paragraph.style, paragraph.frags)
        return paragraph
    parsed_style, frags = parsed
    return WrappedOnce(markup, parsed_style, frags=[frag.clone() for frag in frags])
