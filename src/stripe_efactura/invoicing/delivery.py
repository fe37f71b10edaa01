"""The delivery of an intra-Community supply (BG-13/BG-15, BR-IC-11/12): where and when (pure).

The place is the sale's shipping address (not the billing address), the date the merchant's
``delivery_date``, else the payment date; CIUS-RO wants the address complete
(BR-RO-180/201/211): ``P-DELIVERY-ADDRESS-INCOMPLETE`` names what is missing.
"""

from __future__ import annotations

from datetime import date

from ..errors import Problem
from .buyer import delivery_address
from .draft import SaleDraft
from .model import Address, Party, VatBreakdown, VatCategory
from .problems import problem


def shipped_to(draft: SaleDraft) -> Address | None:
    """The shipping address of the sale, normalised; ``None`` without one."""
    if draft.delivery is None or draft.delivery.address is None:
        return None
    return delivery_address(draft.delivery.address)


def delivery_of(
    buyer: Party | None,
    breakdown: tuple[VatBreakdown, ...],
    draft: SaleDraft,
    on: date,
    problems: list[Problem],
) -> tuple[date | None, Address | None]:
    """BR-IC-11/12: an intra-Community supply names the delivery date and place: where the
    goods were shipped (the shipping address, not the billing address; the buyer's address
    only when the sale has no shipping address) and when (the merchant's ``delivery_date``,
    else the payment date)."""
    if buyer is None or not any(b.tax.category is VatCategory.INTRA_COMMUNITY for b in breakdown):
        return None, None
    address = shipped_to(draft) or buyer.address
    # BR-RO-180/201/211: street, city and subdivision; outside Romania the renderer
    # repeats the city as the subdivision, so only a Romanian address needs its county.
    required: list[tuple[str, str | None]] = [
        ("line1", address.line1),
        ("city", address.city),
        ("country", address.country),
    ]
    if address.country == "RO":
        required.append(("county", address.county))
    for key, value in required:
        if not value:
            problems.append(problem("P-DELIVERY-ADDRESS-INCOMPLETE", key=key))
    when = draft.delivery.on if draft.delivery is not None and draft.delivery.on else on
    return when, address
