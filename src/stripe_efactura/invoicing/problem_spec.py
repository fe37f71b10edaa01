"""One entry of the problem catalogue (``invoicing.problems``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProblemSpec:
    """One catalogue entry."""

    code: str
    field: str
    message_ro: str
    message_en: str
    hint: str
    hint_ro: str
    fatal: bool = True
    rule: str | None = None
    """The ANAF / EN 16931 rule the problem prevents (``BR-RO-082``), when there is one."""
