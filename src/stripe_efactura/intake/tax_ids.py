"""Stripe tax id types -> the neutral kinds the buyer resolution understands (pure).

Stripe names a customer tax id by a ``<country>_<scheme>`` type (``eu_vat``, ``gb_vat``,
``us_ein``, ``au_abn``, ``gb_crn``…). Only some of them are VAT identifiers; the others are
company, business or tax registration numbers. EN 16931 keeps them apart: a VAT identifier
is BT-48 (``PartyTaxScheme``, ISO country prefix required by BR-CO-09), any other id of a
company is its legal registration identifier BT-47 (``PartyLegalEntity/CompanyID``).

==================================== ============ ===================================
Stripe type                           kind          becomes
==================================== ============ ===================================
``eu_vat``                            ``eu_vat``    EU VAT id (BT-48; a Romanian one also
                                                    gives the CUI as BT-47)
``ro_tin``                            ``ro_tin``    CUI (BT-47) or CNP
``<cc>_vat`` (``gb_vat``, ``ch_vat``, ``vat``         a foreign VAT id (BT-48), prefixed with
``no_vat``, ``za_vat``…)                            its country when Stripe's value is not
anything else (``us_ein``, ``gb_crn``, ``legal``       a legal identifier (BT-47), never a VAT
``au_abn``, ``ca_bn``, ``in_gst``…)                 id
==================================== ============ ===================================

The country of the id (``us`` in ``us_ein``) is kept so a buyer without an address country is
still placed. ``eu_oss_vat`` (the One-Stop-Shop number of a non-EU seller) is not a buyer's VAT
id in the sense of BT-48 and is kept as a legal identifier.
"""

from __future__ import annotations

import re

from ..invoicing.draft import BuyerId

_TYPE = re.compile(r"^([a-z]{2})_([a-z_]+)$")
_NOT_BUYER_VAT = frozenset({"eu_oss_vat"})


def classify(stripe_type: object, value: str, source: str) -> BuyerId:
    """The neutral :class:`BuyerId` of one Stripe tax id (see the module docs)."""
    kind = str(stripe_type or "").strip().lower()
    if kind in ("eu_vat", "ro_tin"):
        return BuyerId(kind, value, source)
    match = _TYPE.match(kind)
    country = match.group(1).upper() if match else None
    if match and match.group(2) == "vat" and kind not in _NOT_BUYER_VAT:
        return BuyerId("vat", value, source, country=country)
    return BuyerId("legal", value, source, country=country)
