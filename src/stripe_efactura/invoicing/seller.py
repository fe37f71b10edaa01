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
        ("cnp" if c.cnp is not None else "cui", c.fiscal_code),
        ("address.line1", a.line1),
        ("address.city", a.city),
        ("address.country", a.country),
    ):
        if not (value or "").strip():
            problems.append(problem("P-SELLER-PROFILE-INCOMPLETE", key=key))
    if c.cnp is not None:
        problems += _cnp_problems(c)
    elif c.cui and ro.validate_cui(c.cui) is None:
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
        kind=BuyerKind.INDIVIDUAL if c.cnp else BuyerKind.COMPANY,
        vat_id=c.vat_id,
        legal_id=c.fiscal_code,
        trade_register=c.trade_register,
        email=c.email,
        phone=c.phone,
    )
    return party, tuple(problems)


def _cnp_problems(c: CompanyProfile) -> list[Problem]:
    """A seller identified by CNP: a valid CNP (check digit, birth date), not VAT-registered
    (registration for VAT gives a VAT code to invoice under)."""
    out: list[Problem] = []
    if c.cnp and ro.validate_cnp(c.cnp) is None:
        out.append(problem("P-SELLER-CNP-INVALID", value=c.cnp))
    if c.vat_payer:
        out.append(problem("P-SELLER-CNP-VAT-PAYER", value=c.cnp))
    return out
