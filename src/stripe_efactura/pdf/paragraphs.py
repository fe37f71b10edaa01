"""Paragraphs parsed once: :func:`para` for ``pdf/render.py``."""

from __future__ import annotations

from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Paragraph
from reportlab.platypus.paraparser import ParaFrag

_PARSED: dict[tuple[str, ParagraphStyle], tuple[ParagraphStyle, list[ParaFrag]]] = {}
_PARSED_MAX = 4096


def para(markup: str, style: ParagraphStyle) -> Paragraph:
    """``Paragraph(markup, style)``, parsed once per markup and style: ReportLab parses a
    paragraph's markup with an HTML parser each time, a sixth of a render, and most of an
    invoice's paragraphs (labels, column heads, the seller's block) are the same on every
    invoice. The paragraph gets copies of the parsed fragments, which ReportLab reads and does
    not change; ``tests/pdf`` holds a render from the cache to the bytes of one without it.
    Called under ``render._RENDER_LOCK`` (the story is built in it); at most
    :data:`_PARSED_MAX` entries."""
    key = (markup, style)
    parsed = _PARSED.get(key)
    if parsed is None:
        paragraph = Paragraph(markup, style)
        if len(_PARSED) < _PARSED_MAX:
            _PARSED[key] = (paragraph.style, paragraph.frags)
        return paragraph
    parsed_style, frags = parsed
    return Paragraph(markup, parsed_style, frags=[frag.clone() for frag in frags])
