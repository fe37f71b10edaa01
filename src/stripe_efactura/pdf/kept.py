"""The bounded memo the PDF renderer keeps what it made once in (:mod:`.subsets`,
:mod:`.streams`, :mod:`.font_objects`): the last ``size`` values by key, the least recently
used going first. Renders run one at a time (``render._RENDER_LOCK``), so it has no lock."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Kept(OrderedDict[K, V]):
    """At most ``size`` values, each made once per key while it is kept."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def get_or_make(self, key: K, make: Callable[[], V]) -> V:
        """The value kept for ``key``, or ``make()``'s, kept."""
        if key in self:
            self.move_to_end(key)
            return self[key]
        value = self[key] = make()
        if len(self) > self.size:
            self.popitem(last=False)
        return value
