"""The seller (BG-4) from the company profile, with its ``P-SELLER-*`` problems (pure)."""

from __future__ import annotations

import re
from dataclasses import replace
from functools import lru_cache

from ..errors import Problem
from . import ro
from .model import BuyerKind, Party
from .problems import problem
from .profile import CompanyProfile


def seller_party(company: CompanyProfile) -> tuple[Party, list[Problem]]:
    """The seller (BG-4) from ``[company]``, with ``P-SELLER-*`` problems."""
    party, problems = _seller(company)
    return party, list(problems)


@lru_cache(maxsize=64)
def _seller(c: CompanyProfile) -> tuple[Party, tuple[Problem, ...]]:
    a = c.address
    problems: list[Problem] = []
    for key, value in (
        ("name", c.name),
        ("cui", c.cui),
        ("address.line1", a.line1),
        ("address.city", a.city),
        ("address.country", a.country),
    ):
        if not (value or "").strip():
            problems.append(problem("P-SELLER-PROFILE-INCOMPLETE", key=key))
    if c.cui and ro.validate_cui(c.cui) is None:
        problems.append(problem("P-SELLER-CUI-INVALID", value=c.cui))
    city, county = a.city, a.county
    if a.country.upper() == "RO":
        city, county = ro.normalize_ro_address(a.line1, a.line2, a.city, a.county, a.postal_code)
        if county is None:
            problems.append(problem("P-SELLER-PROFILE-INCOMPLETE", key="address.county"))
        elif county == "RO-B" and not re.fullmatch(r"SECTOR[1-6]", city or ""):
            problems.append(problem("P-SELLER-PROFILE-INCOMPLETE", key="address.city (SECTORn)"))
    party = Party(
        name=c.name,
        address=replace(a, city=city or a.city, county=county),
        kind=BuyerKind.COMPANY,
        vat_id=c.vat_id,
        legal_id=c.cui,
        trade_register=c.trade_register,
        email=c.email,
        phone=c.phone,
    )
    return party, tuple(problems)
