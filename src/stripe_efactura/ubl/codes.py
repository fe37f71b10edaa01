"""Constants of the UBL 2.1 CIUS-RO binding: namespaces, ids, code defaults, length limits.

Everything here is data the renderer (:mod:`stripe_efactura.ubl.render`) reads; the values come
from ANAF's CIUS-RO 1.0.9 validation artefacts (``RO16931-rules.sch``) and EN 16931.
"""

from __future__ import annotations

from typing import Final

from stripe_efactura.invoicing.model import VatCategory

NS_INVOICE: Final = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
NS_CREDIT_NOTE: Final = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
NS_CAC: Final = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
NS_CBC: Final = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"

CUSTOMIZATION_ID: Final = "urn:cen.eu:en16931:2017#compliant#urn:efactura.mfinante.ro:CIUS-RO:1.0.1"
"""BT-24, enforced by BR-RO-001."""

TYPE_INVOICE: Final = "380"
TYPE_CREDIT_NOTE: Final = "381"

ACCOUNTING_CURRENCY: Final = "RON"
"""BT-6 for every non-RON invoice (BR-RO-030)."""

VAT_SCHEME: Final = "VAT"

ANONYMOUS_BUYER_ID: Final = "0000000000000"
"""BT-47 for a consumer who gave no CNP (13 zeros, accepted by CIUS-RO 1.0.9)."""

TRANSFER_MEANS: Final = frozenset({"30", "31", "42", "58"})
"""UNCL4461 credit-transfer codes: the seller IBAN (BT-84) is written for these."""

EXEMPT_CATEGORIES: Final = frozenset(
    {
        VatCategory.EXEMPT,
        VatCategory.REVERSE_CHARGE,
        VatCategory.INTRA_COMMUNITY,
        VatCategory.EXPORT,
        VatCategory.NOT_SUBJECT,
    }
)
"""Categories that need an exemption reason code or text (BR-E/AE/IC/G/O-10)."""

# --- Length limits (characters after whitespace normalisation; BR-RO-Lnnn) ----------------
MAX_REFERENCE: Final = 200
"""BT-1 invoice number, BT-13 order reference, BT-25 preceding invoice (BR-RO-L155/L0303/L156)."""
MAX_PARTY_NAME: Final = 200
"""BT-27 / BT-28 / BT-44 / BT-45 (BR-RO-L201..L204)."""
MAX_STREET: Final = 150
"""BT-35 / BT-50 address line 1 (BR-RO-L151/L152)."""
MAX_STREET_2: Final = 100
"""BT-36 / BT-51 address line 2 (BR-RO-L1002/L1007)."""
MAX_CITY: Final = 50
"""BT-37 / BT-52 (BR-RO-L0501/L0502)."""
MAX_POSTAL_CODE: Final = 20
"""BT-38 / BT-53 (BR-RO-L0201/L0202)."""
MAX_CONTACT: Final = 100
"""BT-42 / BT-43 / BT-57 / BT-58 phone and e-mail (BR-RO-L1005/L1006/L1010/L1011)."""
MAX_LEGAL_INFO: Final = 1000
"""BT-33 seller additional legal information (BR-RO-L1000)."""
MAX_NOTE: Final = 300
"""BT-22 each invoice note (BR-RO-L302)."""
MAX_NOTES: Final = 20
"""BG-1 occurrences (BR-RO-A020)."""
MAX_ITEM_NAME: Final = 100
"""BT-153 (BR-RO-L1024)."""
MAX_ITEM_DESCRIPTION: Final = 200
"""BT-154 (BR-RO-L212)."""
MAX_EXEMPTION_REASON: Final = 100
"""BT-120 (BR-RO-L1019)."""
MAX_MEANS_TEXT: Final = 100
"""BT-82 payment means text (BR-RO-L1016)."""
MAX_REMITTANCE: Final = 140
"""BT-83 remittance information / PaymentID (BR-RO-L140)."""
