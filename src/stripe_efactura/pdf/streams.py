"""How ReportLab writes a PDF's streams for :func:`.render.render_pdf`: binary (not ASCII85)
and Flate-compressed at zlib level 1, swapped in for one render and restored after it. A font
subset that :mod:`.subsets` made again for the same glyph list is compressed once."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from reportlab import rl_config
from reportlab.pdfbase import pdfdoc

from .kept import Kept

REUSED_MIN = 16_384
REUSED_MAX = 64
"""Large streams remembered with their compressed form (two faces' subsets, see
``subsets.SUBSETS_MAX``)."""


class _FastFlate(pdfdoc.PDFStreamFilterZCompress):  # type: ignore[misc]
    """ReportLab's Flate filter at zlib level 1 instead of the default 6. Most of the
    compressing is the two embedded font subsets (36 KB each): level 1 takes 0.9 ms per PDF
    where level 6 took 1.6 ms, for streams 5 % larger (43 against 41 KB; the whole PDF 48
    against 46 KB).

    Streams of at least :data:`REUSED_MIN` bytes (the font subsets; an invoice's page is
    smaller) are remembered with their compressed form, the last :data:`REUSED_MAX` of them: a
    subset from :class:`.subsets.SubsetMemo` is the same ``bytes`` object each time, so finding
    it costs a dictionary lookup (the object keeps its hash)."""

    def __init__(self) -> None:
        super().__init__()
        self._reused: Kept[bytes, bytes] = Kept(REUSED_MAX)

    def encode(self, text: str | bytes) -> bytes:
        data = text.encode("utf8") if isinstance(text, str) else text
        if len(data) < REUSED_MIN:
            return zlib.compress(data, 1)
        return self._reused.get_or_make(data, lambda: zlib.compress(data, 1))


_FLATE = _FastFlate()


@contextmanager
def fast_streams() -> Iterator[None]:
    """Write compressed streams as binary, not ASCII85 (faster and 20 % smaller), with
    :class:`_FastFlate` (ReportLab looks both up when it writes a stream; under
    ``render._RENDER_LOCK``, as every render)."""
    previous, flate = rl_config.useA85, pdfdoc.PDFZCompress
    rl_config.useA85 = 0
    pdfdoc.PDFZCompress = _FLATE
    try:
        yield
    finally:
        rl_config.useA85 = previous
        pdfdoc.PDFZCompress = flate
