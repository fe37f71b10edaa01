"""Payment means as payers read them (pure)."""

from __future__ import annotations

PAYMENT_MEANS_RO: dict[str, str] = {
    "48": "cu cardul",
    "54": "cu cardul",
    "55": "cu cardul",
    "49": "prin debit direct",
    "59": "prin debit direct",
    "30": "prin transfer bancar",
    "31": "prin transfer bancar",
    "42": "prin transfer bancar",
    "58": "prin transfer bancar",
}
"""UNCL4461 payment means code -> how the payer paid, in Romanian (PDF and email)."""
