"""The buyer (BG-7) from a buyer draft: one documented precedence, Romanian ids checked (pure).

The sources and their order are read by intake (:mod:`stripe_efactura.intake.buyer`); this
module decides. For every field the first layer that has a non-empty value wins; the merchant's
:class:`BuyerOverrides` come first of all.

**The address** is taken whole from the first source whose address has a street (``line1``),
else the first with a city, so fields of two addresses are never mixed — except the country,
which is borrowed from the next address that has one, else taken from the buyer's VAT id prefix
(``RO`` for a CUI or CNP). Romanian addresses go through :func:`.ro.normalize_ro_address` (county
``RO-XX``; Bucharest ``SECTORn``).

**Company or individual.** The first fiscal identifier by precedence decides:

- a text with the ``RO`` prefix (``RO18547290``) or an ``eu_vat`` tax id: a VAT-registered
  company, ``vat_id='RO…'`` (BT-48) and ``legal_id`` the digits (BT-47);
- a plain CUI (``18547290``, metadata ``cui``, custom field, ``ro_tin``): a company identified by
  ``legal_id`` only, no VAT id (it may not be VAT-registered; nothing here asks ANAF);
- another EU prefix (``DE123456789``): a foreign company, ``vat_id`` only; a typed id with
  the prefix of a country outside the EU (``GB123456789``, ``CHE-123.456.789``) likewise;
- a VAT id of a country outside the EU (Stripe ``gb_vat``, ``ch_vat``, ``no_vat``…): a foreign
  company with that id as ``vat_id`` (BT-48), country prefix added when missing;
- any other id (Stripe ``us_ein``, ``gb_crn``, ``au_abn``…): a foreign company identified by
  ``legal_id`` (BT-47) only — never a VAT id;
- none: an individual, ``legal_id`` = a valid CNP when one is given, else ``0000000000000``.

An identifier that fails its check is a problem (``P-CUI-INVALID``, ``P-VAT-ID-INVALID``,
``P-CNP-INVALID``); it is never skipped in favour of a lower-precedence one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields

from ..errors import Problem
from . import ro
from .draft import AddressDraft, BuyerDraft, BuyerField, BuyerId, BuyerLayer, Sourced
from .model import Address, BuyerKind, Party
from .problems import problem

ANONYMOUS_ID = "0000000000000"


def clean_text(value: object) -> str | None:
    """A string with its whitespace runs collapsed; ``None`` for anything else or blank."""
    if type(value) is str:
        text = " ".join(value.split())
        return text or None
    return None


@dataclass(frozen=True)
class BuyerOverrides:
    """Buyer data the merchant entered by hand; every given field wins over Stripe's."""

    name: str | None = None
    cui: str | None = None
    """A CUI (``18547290``) or a VAT id (``RO18547290``, ``DE123456789``)."""
    cnp: str | None = None
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    state: str | None = None
    """County name or code for Romania (``Cluj``, ``CJ``, ``RO-CJ``)."""
    postal_code: str | None = None
    country: str | None = None
    email: str | None = None
    phone: str | None = None
    reg_com: str | None = None
    individual: bool = False
    """Invoice a private person even when Stripe holds a company id."""

    @classmethod
    def from_json(cls, data: str | bytes | Mapping[str, object]) -> BuyerOverrides:
        """From a JSON object (text or parsed); unknown keys are ignored, values are strings.

        Raises ``ValueError`` when the text is not a JSON object.
        """
        raw = json.loads(data) if isinstance(data, (str, bytes)) else data
        if not isinstance(raw, Mapping):
            raise ValueError("buyer overrides must be a JSON object")
        texts = {
            f.name: str(raw[f.name])
            for f in fields(cls)
            if f.name != "individual" and raw.get(f.name) is not None
        }
        return cls(**texts, individual=bool(raw.get("individual")))

    def to_json(self) -> str:
        """The given fields as a JSON object (keys sorted; ``None`` fields left out)."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        return json.dumps(
            {k: v for k, v in data.items() if v not in (None, False)},
            ensure_ascii=False,
            sort_keys=True,
        )

    def layer(self) -> BuyerLayer:
        """The overrides as the first buyer layer."""
        found: dict[BuyerField, Sourced] = {}
        for key in (BuyerField.NAME, BuyerField.EMAIL, BuyerField.PHONE, BuyerField.REG_COM):
            text = clean_text(getattr(self, key.value))
            if text:
                found[key] = Sourced(text, f"overrides.{key.value}")
        if BuyerField.NAME in found:  # a typed name also wins over Stripe's business name
            found[BuyerField.BUSINESS_NAME] = found[BuyerField.NAME]
        ids: list[BuyerId] = []
        if self.cui:
            ids.append(BuyerId("text", self.cui, "overrides.cui"))
        if self.cnp:
            ids.append(BuyerId("cnp", self.cnp, "overrides.cnp"))
        address = AddressDraft(
            "overrides.address",
            line1=clean_text(self.line1),
            line2=clean_text(self.line2),
            city=clean_text(self.city),
            state=clean_text(self.state),
            postal_code=clean_text(self.postal_code),
            country=clean_text(self.country),
        )
        addresses = (address,) if address != AddressDraft("overrides.address") else ()
        return BuyerLayer("overrides", found, tuple(ids), addresses)


@dataclass(frozen=True)
class BuyerResult:
    party: Party | None
    problems: tuple[Problem, ...]
    sources: dict[str, str] = field(default_factory=dict)
    """Which source each buyer field came from (``name`` -> ``customer_details.name``)."""
    tax_exempt: str | None = None
    """``none``/``exempt``/``reverse`` when a source gave it."""


# --- identifiers -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Ident:
    company: bool
    vat_id: str | None = None
    legal_id: str | None = None
    source: str = ""
    country: str | None = None


def _vat_country(vat: str) -> str:
    return "GR" if vat.startswith("EL") else vat[:2]


def _eu_vat(text: str, src: str) -> _Ident | Problem:
    vat = ro.normalize_vat_id(text)
    if vat is None:
        digits = ro.validate_cui(text)
        vat = f"RO{digits}" if digits else None
    if vat is None:
        return problem("P-VAT-ID-INVALID", value=text, source=src)
    legal = vat[2:] if vat.startswith("RO") else None
    return _Ident(True, vat, legal, src, "RO" if legal else _vat_country(vat))


def _plain_cui(text: str, src: str) -> _Ident | Problem:
    digits = ro.validate_cui(text)
    if digits:
        return _Ident(True, None, digits, src, "RO")
    return problem("P-CUI-INVALID", value=text, source=src)


def _outside_eu_prefix(prefix: str) -> bool:
    """An ISO country code of a country outside the EU (``XI`` and ``EL`` are EU VAT
    prefixes, checked by :func:`.ro.normalize_vat_id`)."""
    return ro.normalize_country(prefix) == prefix and prefix != "XI" and not ro.is_eu(prefix)


def _typed_id(text: str, src: str) -> _Ident | Problem:
    compact = re.sub(r"[\s.\-_/]", "", text).upper()
    compact = re.sub(r"^(CUI|CIF|CODFISCAL):?", "", compact)
    if compact.startswith("RO"):
        digits = ro.validate_cui(compact)
        if digits:
            return _Ident(True, f"RO{digits}", digits, src, "RO")
        return problem("P-CUI-INVALID", value=text, source=src)
    if compact[:2].isalpha():
        vat = ro.normalize_vat_id(compact)
        if vat is not None:
            return _Ident(True, vat, None, src, _vat_country(vat))
        if _outside_eu_prefix(compact[:2]) and len(compact) > 4:
            # A VAT id of a country outside the EU (GB…, CHE…, NO…MVA): kept as typed.
            return _Ident(True, compact, None, src, compact[:2])
        return problem("P-VAT-ID-INVALID", value=text, source=src)
    digits = ro.validate_cui(compact)
    if digits:
        return _Ident(True, None, digits, src, "RO")
    return problem("P-CUI-INVALID", value=text, source=src)


def _resolve_company_id(idt: BuyerId) -> _Ident | Problem:
    text, kind, src = idt.value, idt.kind.lower(), idt.source
    if kind == "eu_vat":
        return _eu_vat(text, src)
    if kind == "ro_tin":
        return _plain_cui(text, src)
    if kind == "text":
        return _typed_id(text, src)
    if kind == "vat":
        return _foreign_vat(text, src, idt.country)
    # Any other id (``legal``: a US EIN, a UK company number, an ABN…): the company's legal
    # registration identifier (BT-47), kept as typed; never a VAT id (BR-CO-09 wants an ISO
    # prefix there, and it is not one).
    return _Ident(True, None, " ".join(text.split()), src, idt.country)


def _foreign_vat(text: str, src: str, country: str | None) -> _Ident:
    """A VAT id of a country outside the EU (``gb_vat``, ``ch_vat``, ``no_vat``…), kept as
    typed but compacted, with its country prefix added when Stripe's value lacks it."""
    compact = re.sub(r"[\s.\-_/]", "", text).upper()
    if country and not compact.startswith(country):
        compact = country + compact
    return _Ident(
        True, compact, None, src, country or (compact[:2] if compact[:2].isalpha() else None)
    )


@dataclass(frozen=True)
class _Ids:
    ident: _Ident | None
    cnp: BuyerId | None
    problems: tuple[Problem, ...]


def _identify(layers: Iterable[BuyerLayer], individual: bool) -> _Ids:
    ident: _Ident | None = None
    cnp_id: BuyerId | None = None
    problems: list[Problem] = []
    for layer in layers:
        for idt in layer.ids:
            if idt.kind == "cnp" or (idt.kind == "ro_tin" and ro.validate_cnp(idt.value)):
                cnp_id = cnp_id or idt
                continue
            if ident is None and not individual:
                got = _resolve_company_id(idt)
                if isinstance(got, Problem):
                    problems.append(got)
                    ident = _Ident(True, None, None, idt.source)
                else:
                    ident = got
    return _Ids(ident, cnp_id, tuple(problems))


def _legal_ids(ids: _Ids, sources: dict[str, str], problems: list[Problem]) -> tuple[str, str]:
    """``(legal_id, vat_id)`` (``""`` for none), recording their sources."""
    if ids.ident is not None:
        legal_id, vat_id = ids.ident.legal_id, ids.ident.vat_id
        sources["legal_id" if legal_id else "vat_id"] = ids.ident.source
        return legal_id or "", vat_id or ""
    if ids.cnp is None:
        return ANONYMOUS_ID, ""
    cnp = ro.validate_cnp(ids.cnp.value)
    if cnp is None:
        problems.append(problem("P-CNP-INVALID", value=ids.cnp.value, source=ids.cnp.source))
        return ANONYMOUS_ID, ""
    sources["legal_id"] = ids.cnp.source
    return cnp, ""


# --- the address -----------------------------------------------------------------------------


def _choose_address(layers: Iterable[BuyerLayer]) -> tuple[AddressDraft | None, str | None]:
    """The whole address of the first source with a street, else a city, else a country; and
    the country to use (borrowed from the next address that has one)."""
    all_addr = [a for layer in layers for a in layer.addresses]
    chosen = (
        next((a for a in all_addr if a.line1), None)
        or next((a for a in all_addr if a.city), None)
        or next((a for a in all_addr if a.country), None)
    )
    if chosen is None:
        return None, None
    country = chosen.country or next((a.country for a in all_addr if a.country), None)
    return chosen, country


def _country(country_text: str | None, ids: _Ids, problems: list[Problem]) -> str | None:
    if country_text:
        country = ro.normalize_country(country_text)
        if country is None:
            problems.append(problem("P-BUYER-COUNTRY-INVALID", value=country_text))
        return country
    if ids.ident is not None and ids.ident.country:
        return ids.ident.country
    if ids.cnp is not None:
        return "RO"
    problems.append(problem("P-BUYER-COUNTRY-MISSING"))
    return None


def _cut(text: str | None, limit: int) -> str | None:
    return text[:limit].rstrip() if text else text


def _address(addr: AddressDraft, country: str | None, problems: list[Problem]) -> Address:
    line1, line2 = addr.line1, addr.line2
    if not line1 and line2:
        line1, line2 = line2, None
    city, county = addr.city, addr.state
    if country == "RO":
        ro_city, county = ro.normalize_ro_address(line1, line2, city, addr.state, addr.postal_code)
        city = ro_city or city
        if county is None and (city or addr.state):
            problems.append(problem("P-BUYER-COUNTY-UNKNOWN", value=addr.state or city or ""))
        elif county == "RO-B" and not re.fullmatch(r"SECTOR[1-6]", city or ""):
            problems.append(problem("P-BUYER-SECTOR-UNKNOWN", value=city or ""))
    if not line1:
        problems.append(problem("P-BUYER-ADDRESS-MISSING"))
    if not city:
        problems.append(problem("P-BUYER-CITY-MISSING"))
    return Address(
        line1=_cut(line1, 150) or "",
        city=_cut(city, 50) or "",
        country=country or "",
        line2=_cut(line2, 100),
        postal_code=_cut(addr.postal_code, 20),
        county=_cut(county, 50),
    )


def delivery_address(addr: AddressDraft) -> Address:
    """A shipping address as an :class:`Address` (country code, Romanian county and sector
    normalised like the buyer's). Missing parts stay empty: the builder names them."""
    country = ro.normalize_country(addr.country) if addr.country else None
    return _address(addr, country, [])


# --- resolution ------------------------------------------------------------------------------


class _Fields:
    """First-wins lookup of the text fields over the layers, recording each field's source."""

    def __init__(self, layers: tuple[BuyerLayer, ...], sources: dict[str, str]) -> None:
        self.layers = layers
        self.sources = sources

    def first(self, *keys: BuyerField) -> str | None:
        for key in keys:
            for layer in self.layers:
                hit = layer.fields.get(key)
                if hit is not None:
                    self.sources[key.value] = hit.source
                    return hit.value
        return None


_COMPANY_NAME = (BuyerField.BUSINESS_NAME, BuyerField.NAME, BuyerField.INDIVIDUAL_NAME)
_PERSON_NAME = (BuyerField.INDIVIDUAL_NAME, BuyerField.NAME, BuyerField.BUSINESS_NAME)


def resolve_buyer(draft: BuyerDraft, overrides: BuyerOverrides | None = None) -> BuyerResult:
    """The buyer party of ``draft`` by the precedence in the module docs, with its problems."""
    layers = (overrides.layer(), *draft.layers) if overrides is not None else draft.layers
    problems: list[Problem] = list(draft.problems)
    sources: dict[str, str] = {}
    ids = _identify(layers, bool(overrides and overrides.individual))
    problems.extend(ids.problems)
    legal_id, vat_id = _legal_ids(ids, sources, problems)
    text = _Fields(layers, sources)
    name = text.first(*(_COMPANY_NAME if ids.ident is not None else _PERSON_NAME))
    if not name:
        problems.append(problem("P-BUYER-NAME-MISSING"))
    email = text.first(BuyerField.EMAIL)
    phone = text.first(BuyerField.PHONE)
    reg_com = text.first(BuyerField.REG_COM)
    tax_exempt = text.first(BuyerField.TAX_EXEMPT)
    chosen, country_text = _choose_address(layers)
    if chosen is not None:
        sources["address"] = chosen.source
    country = _country(country_text, ids, problems)
    address = _address(chosen or AddressDraft(""), country, problems)
    party = Party(
        name=_cut(name, 200) or "",
        address=address,
        kind=BuyerKind.COMPANY if ids.ident is not None else BuyerKind.INDIVIDUAL,
        vat_id=vat_id or None,
        legal_id=legal_id or None,
        trade_register=reg_com,
        email=email,
        phone=_cut(phone, 100),
    )
    return BuyerResult(
        party=party, problems=tuple(problems), sources=sources, tax_exempt=tax_exempt
    )
