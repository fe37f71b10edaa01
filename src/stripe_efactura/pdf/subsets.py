"""A font's embedded subsets made once per glyph list, for :func:`.fonts.register_fonts`.

ReportLab embeds each TrueType face as subsets of at most 256 characters: at the end of every
render it builds each subset's font file from the TTF (``TTFontFile.makeSubset``: glyph tables,
composite glyphs, checksums), a tenth of a render, and compresses it, an eighth. A subset is
the list of the characters a document used, in the order it first drew them (ASCII at its own
codes, ``ttfAsciiReadable``); the invoices of one merchant draw the same labels and seller
block first, so most of them end with the same lists, and the same list always makes the same
bytes. :class:`SubsetMemo` keeps the last :data:`SUBSETS_MAX` of them per face; returning the
very same ``bytes`` object also lets :mod:`.streams` find its compressed form at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .kept import Kept

SUBSETS_MAX = 32
"""Subsets kept per face (a 256-character subset of DejaVu Sans is about 36 KB)."""

MakeSubset = Callable[[Sequence[int]], bytes]


class SubsetMemo:
    """``make(subset)`` once per distinct glyph list (the last :data:`SUBSETS_MAX`). Renders run
    one at a time (``render._RENDER_LOCK``)."""

    def __init__(self, make: MakeSubset, size: int = SUBSETS_MAX) -> None:
        self._make = make
        self._made: Kept[tuple[int, ...], bytes] = Kept(size)

    def __call__(self, subset: Sequence[int]) -> bytes:
        return self._made.get_or_make(tuple(subset), lambda: self._make(subset))


def memoize_subsets(face: object) -> None:
    """Make ``face`` (a ReportLab ``TTFontFace``) build each subset once (see the module)."""
    make = getattr(face, "makeSubset")  # noqa: B009 - the face is ReportLab's, untyped
    if not isinstance(make, SubsetMemo):
        setattr(face, "makeSubset", SubsetMemo(make))  # noqa: B010
