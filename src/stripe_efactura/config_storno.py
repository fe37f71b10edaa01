"""``[storno]`` in ``efactura.toml``: how corrections are issued (``docs/storno.md``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .errors import ConfigError

LOST_DISPUTES = ("ask", "storno", "ignore")


@dataclass(frozen=True)
class StornoPolicy:
    credit_note_381: bool = False
    """Issue corrections as UBL CreditNote type 381 (positive amounts) instead of a storno
    invoice 380 with negative quantities."""
    lost_disputes: str = "ask"
    """A lost dispute: ``ask`` (needs attention until the merchant decides), ``storno``
    (reverse the invoice) or ``ignore`` (no storno)."""


def storno_policy(raw: Mapping[str, object]) -> StornoPolicy:
    """``[storno]`` read and checked; ConfigError for an unknown ``lost_disputes``."""
    policy = StornoPolicy(
        credit_note_381=bool(raw.get("credit_note_381", False)),
        lost_disputes=str(raw.get("lost_disputes", "ask")),
    )
    if policy.lost_disputes not in LOST_DISPUTES:
        listed = ", ".join(LOST_DISPUTES)
        raise ConfigError(
            f"[storno] lost_disputes must be one of {listed}",
            message_ro=f"[storno] lost_disputes trebuie să fie una dintre: {listed}",
        )
    return policy
