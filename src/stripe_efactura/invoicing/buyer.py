"""The buyer (BG-7) from a Sale: one documented precedence, Romanian ids checked (pure).

**Precedence** (for every field, the first source that has a non-empty value wins):

0. ``BuyerOverrides``: what the merchant typed in the dashboard to fix a payment.
1. Merchant metadata (:func:`.metadata.metadata_sources`: the owner object's metadata first,
   then Checkout Session, PaymentIntent, Invoice, subscription, Charge):
   ``address`` (a JSON object string with ``line1, line2, city, state, postal_code, country,
   cui``) or flattened keys (``address.city``, ``address[city]``, ``address_city``; also
   ``billing_address_*`` and ``customer_address_*``); top-level ``cui``/``cif``/``vat_id``,
   ``cnp``, ``name``/``customer_name``, ``company``/``company_name``, ``email``/
   ``customer_email``, ``phone``, ``reg_com``, ``tax_exempt``, ``tax_ids`` (a JSON array of
   ``{type, value}`` or one id as text).
2. Checkout ``custom_fields``: a label or key with the word CUI, CIF or "cod fiscal" is the
   fiscal code, CNP the personal code, "Reg. Com"/"Nr. Reg" the trade register number,
   "firma"/"company"/"denumire" the company name.
3. Checkout ``customer_details`` (``tax_ids`` eu_vat/ro_tin, ``business_name``,
   ``individual_name``, ``name``, ``email``, ``phone``, ``address``) and
   ``collected_information``; the Invoice's ``customer_*`` fields.
4. ``charge.billing_details`` (name, email, phone, address); receipt emails.
5. Shipping — PaymentIntent/Charge ``shipping``, Checkout ``collected_information.
   shipping_details`` (pre-basil ``shipping_details``), Invoice ``customer_shipping`` — for the
   **address only**.
6. The Customer object (name, email, phone, address, ``tax_ids``, its metadata keys as in 1).

**The address** is taken whole from the first source whose address has a street (``line1``),
else the first with a city, so fields of two addresses are never mixed — except the country,
which is borrowed from the next address that has one, else taken from the buyer's VAT id prefix
(``RO`` for a CUI or CNP). Romanian addresses go through :func:`.ro.normalize_ro_address` (county
``RO-XX``; Bucharest ``SECTORn``).

**Company or individual.** The first fiscal identifier by precedence decides:

- a text with the ``RO`` prefix (``RO18547290``) or a Stripe ``eu_vat`` tax id: a VAT-registered
  company, ``vat_id='RO…'`` (BT-48) and ``legal_id`` the digits (BT-47);
- a plain CUI (``18547290``, metadata ``cui``, custom field, Stripe ``ro_tin``): a company
  identified by ``legal_id`` only, no VAT id (it may not be VAT-registered; nothing here asks
  ANAF);
- another EU prefix (``DE123456789``): a foreign company, ``vat_id`` only;
- another Stripe tax id type (``gb_vat``, ``ch_vat``, …): a foreign company with that id as
  ``vat_id``;
- none: an individual, ``legal_id`` = a valid CNP when one is given, else ``0000000000000``.

An identifier that fails its check is a problem (``P-CUI-INVALID``, ``P-VAT-ID-INVALID``,
``P-CNP-INVALID``); it is never skipped in favour of a lower-precedence one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from ..errors import Problem
from . import ro
from .countries import fold
from .metadata import MetaSource, iter_metadata, meta_source, metadata_address, metadata_sources
from .model import Address, BuyerKind, Party, Sale
from .plain import as_list as _list
from .plain import as_map as _map
from .problems import problem

ANONYMOUS_ID = "0000000000000"

_ADDR = ("line1", "line2", "city", "state", "postal_code", "country")


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
    def from_json(cls, data: str | bytes | Mapping[str, Any]) -> BuyerOverrides:
        """From a JSON object (text or parsed); unknown keys are ignored, values are strings.

        Raises ``ValueError`` when the text is not a JSON object.
        """
        raw = json.loads(data) if isinstance(data, (str, bytes)) else data
        if not isinstance(raw, Mapping):
            raise ValueError("buyer overrides must be a JSON object")
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in raw or raw[f.name] is None:
                continue
            value = raw[f.name]
            kwargs[f.name] = bool(value) if f.name == "individual" else str(value)
        return cls(**kwargs)

    def to_json(self) -> str:
        """The given fields as a JSON object (keys sorted; ``None`` fields left out)."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        return json.dumps(
            {k: v for k, v in data.items() if v not in (None, False)},
            ensure_ascii=False,
            sort_keys=True,
        )


@dataclass(frozen=True)
class BuyerResult:
    party: Party | None
    problems: tuple[Problem, ...]
    sources: dict[str, str] = field(default_factory=dict)
    """Which Stripe field each buyer field came from (``name`` -> ``customer_details.name``)."""
    tax_exempt: str | None = None
    """Stripe's ``tax_exempt`` (``none``/``exempt``/``reverse``) when given."""


@dataclass
class _Id:
    kind: str
    """``text`` (CUI or VAT id as typed), ``eu_vat``, ``ro_tin``, ``cnp``, or a Stripe type."""
    value: str
    source: str


@dataclass
class _Layer:
    name: str
    fields: dict[str, str] = field(default_factory=dict)
    ids: list[_Id] = field(default_factory=list)
    addresses: list[tuple[str, dict[str, str]]] = field(default_factory=list)


def _s(value: Any) -> str | None:
    if type(value) is str:
        text = " ".join(value.split())
        return text or None
    return None


def _put(layer: _Layer, key: str, value: Any, source: str) -> None:
    text = _s(value)
    if text and key not in layer.fields:
        layer.fields[key] = text
        layer.fields[f"{key}@"] = source


def _address(layer: _Layer, value: Any, source: str) -> None:
    if not value:
        return
    data = _map(value)
    out = {k: t for k in _ADDR if (t := _s(data.get(k)))}
    if out:
        layer.addresses.append((source, out))


def _tax_ids(layer: _Layer, value: Any, source: str) -> None:
    for i, t in enumerate(_list(value)):
        v = _s(t.get("value"))
        if v:
            layer.ids.append(_Id(str(t.get("type") or "unknown"), v, f"{source}[{i}]"))


# --- layers --------------------------------------------------------------------------------


def _override_layer(o: BuyerOverrides) -> _Layer:
    layer = _Layer("overrides")
    for key in ("name", "email", "phone", "reg_com"):
        _put(layer, key, getattr(o, key), f"overrides.{key}")
    if o.cui:
        layer.ids.append(_Id("text", o.cui, "overrides.cui"))
    if o.cnp:
        layer.ids.append(_Id("cnp", o.cnp, "overrides.cnp"))
    _address(layer, {k: getattr(o, k) for k in _ADDR}, "overrides.address")
    return layer


_META_FIELDS = {
    "name": ("name", "customer_name", "billing_name"),
    "business_name": ("company", "company_name", "business_name", "firma"),
    "email": ("email", "customer_email"),
    "phone": ("phone", "customer_phone"),
    "reg_com": ("reg_com", "regcom", "nr_reg_com", "trade_register"),
    "tax_exempt": ("tax_exempt",),
}


def _metadata_into(layer: _Layer, sources: list[MetaSource]) -> list[Problem]:
    problems: list[Problem] = []
    for key, names in _META_FIELDS.items():
        for obj, k, v in iter_metadata(sources, *names):
            _put(layer, key, v, f"{obj}.metadata.{k}")
            break
    for obj, k, v in iter_metadata(sources, "cui", "cif", "cod_fiscal", "vat_id", "vat_number"):
        layer.ids.append(_Id("text", v, f"{obj}.metadata.{k}"))
    for obj, k, v in iter_metadata(sources, "tax_ids", "tax_id"):
        src = f"{obj}.metadata.{k}"
        if v.startswith("["):
            try:
                data = json.loads(v)
            except ValueError as exc:
                problems.append(problem("P-BUYER-METADATA-INVALID", key=k, reason=str(exc)))
                continue
            _tax_ids(layer, data, src)
        else:
            layer.ids.append(_Id("text", v, src))
    for obj, k, v in iter_metadata(sources, "cnp"):
        layer.ids.append(_Id("cnp", v, f"{obj}.metadata.{k}"))
    for obj, md, _ in sources:
        fields, probs, key = metadata_address(md)
        problems.extend(probs)
        cui = fields.pop("cui", None)
        if cui:
            layer.ids.append(_Id("text", cui, f"{obj}.metadata.{key}.cui"))
        if fields:
            layer.addresses.append((f"{obj}.metadata.{key}", fields))
    return problems


_TOKENS = re.compile(r"[a-z0-9]+")


def _field_kind(label: str) -> str | None:
    folded = fold(label)
    tokens = _TOKENS.findall(folded.lower())
    joined = "".join(tokens)
    if {"cui", "cif"} & set(tokens) or joined.startswith(("cui", "cif", "codfiscal")):
        return "cui"
    if "cnp" in tokens or joined.startswith("cnp"):
        return "cnp"
    if joined.startswith(("regcom", "nrreg", "registrulcomertului", "nrregcom")) or (
        "reg" in tokens and ("com" in tokens or "nr" in tokens)
    ):
        return "reg_com"
    if {"firma", "company", "denumire", "companie", "societate"} & set(tokens):
        return "business_name"
    return None


def _custom_fields_layer(session: Mapping[str, Any]) -> _Layer:
    layer = _Layer("custom_fields")
    for i, cf in enumerate(_list(session.get("custom_fields"))):
        label = _map(cf.get("label")).get("custom") or ""
        key = cf.get("key") or ""
        kind = _field_kind(f"{label} {key}") if isinstance(label, str) else None
        value: Any = None
        for typ in ("text", "numeric", "dropdown"):
            value = value or _map(cf.get(typ)).get("value")
        text = _s(value)
        if kind is None or text is None:
            continue
        src = f"checkout_session.custom_fields[{i}]({key or label})"
        if kind == "cui":
            layer.ids.append(_Id("text", text, src))
        elif kind == "cnp":
            layer.ids.append(_Id("cnp", text, src))
        else:
            _put(layer, kind, text, src)
    return layer


def _stripe_customer_layer(sale: Sale) -> _Layer:
    layer = _Layer("customer_details")
    session = _map(sale.objects.get("checkout_session"))
    cd = _map(session.get("customer_details"))
    ci = _map(session.get("collected_information"))
    src = "checkout_session.customer_details"
    _put(layer, "business_name", cd.get("business_name"), f"{src}.business_name")
    cis = "checkout_session.collected_information"
    _put(layer, "business_name", ci.get("business_name"), f"{cis}.business_name")
    _put(layer, "individual_name", cd.get("individual_name"), f"{src}.individual_name")
    _put(layer, "individual_name", ci.get("individual_name"), f"{cis}.individual_name")
    _put(layer, "name", cd.get("name"), f"{src}.name")
    _put(layer, "email", cd.get("email"), f"{src}.email")
    _put(layer, "email", session.get("customer_email"), "checkout_session.customer_email")
    _put(layer, "phone", cd.get("phone"), f"{src}.phone")
    _put(layer, "tax_exempt", cd.get("tax_exempt"), f"{src}.tax_exempt")
    _tax_ids(layer, cd.get("tax_ids"), f"{src}.tax_ids")
    _address(layer, cd.get("address"), f"{src}.address")
    inv = _map(sale.objects.get("invoice"))
    _put(layer, "name", inv.get("customer_name"), "invoice.customer_name")
    _put(layer, "email", inv.get("customer_email"), "invoice.customer_email")
    _put(layer, "phone", inv.get("customer_phone"), "invoice.customer_phone")
    _put(layer, "tax_exempt", inv.get("customer_tax_exempt"), "invoice.customer_tax_exempt")
    _tax_ids(layer, inv.get("customer_tax_ids"), "invoice.customer_tax_ids")
    _address(layer, inv.get("customer_address"), "invoice.customer_address")
    return layer


def _billing_layer(sale: Sale) -> _Layer:
    layer = _Layer("billing_details")
    charge = _map(sale.objects.get("charge"))
    bd = _map(charge.get("billing_details"))
    for key in ("name", "email", "phone"):
        _put(layer, key, bd.get(key), f"charge.billing_details.{key}")
    _address(layer, bd.get("address"), "charge.billing_details.address")
    _put(layer, "email", charge.get("receipt_email"), "charge.receipt_email")
    pi = _map(sale.objects.get("payment_intent"))
    _put(layer, "email", pi.get("receipt_email"), "payment_intent.receipt_email")
    return layer


def _shipping_layer(sale: Sale) -> _Layer:
    layer = _Layer("shipping")
    session = _map(sale.objects.get("checkout_session"))
    candidates = (
        ("payment_intent.shipping", _map(sale.objects.get("payment_intent")).get("shipping")),
        ("charge.shipping", _map(sale.objects.get("charge")).get("shipping")),
        (
            "checkout_session.collected_information.shipping_details",
            _map(session.get("collected_information")).get("shipping_details"),
        ),
        ("checkout_session.shipping_details", session.get("shipping_details")),
        ("invoice.customer_shipping", _map(sale.objects.get("invoice")).get("customer_shipping")),
    )
    for src, ship in candidates:
        _address(layer, _map(ship).get("address"), f"{src}.address")
    return layer


def _customer_layer(sale: Sale) -> tuple[_Layer, list[Problem]]:
    layer = _Layer("customer")
    cus = _map(sale.objects.get("customer"))
    for key in ("name", "email", "phone"):
        _put(layer, key, cus.get(key), f"customer.{key}")
    _put(layer, "tax_exempt", cus.get("tax_exempt"), "customer.tax_exempt")
    _tax_ids(layer, cus.get("tax_ids"), "customer.tax_ids")
    _address(layer, cus.get("address"), "customer.address")
    _address(layer, _map(cus.get("shipping")).get("address"), "customer.shipping.address")
    md = {str(k): v for k, v in _map(cus.get("metadata")).items() if isinstance(v, str)}
    problems = _metadata_into(layer, [meta_source("customer", md)]) if md else []
    return layer, problems


# --- resolution ----------------------------------------------------------------------------


@dataclass
class _Ident:
    company: bool
    vat_id: str | None = None
    legal_id: str | None = None
    source: str = ""
    country: str | None = None


def _resolve_company_id(idt: _Id) -> _Ident | Problem:
    text, kind, src = idt.value, idt.kind.lower(), idt.source
    if kind == "eu_vat":
        vat = ro.normalize_vat_id(text)
        if vat is None:
            digits = ro.validate_cui(text)
            vat = f"RO{digits}" if digits else None
        if vat is None:
            return problem("P-VAT-ID-INVALID", value=text, source=src)
        legal = vat[2:] if vat.startswith("RO") else None
        return _Ident(True, vat, legal, src, "RO" if legal else _vat_country(vat))
    if kind == "ro_tin":
        digits = ro.validate_cui(text)
        if digits:
            return _Ident(True, None, digits, src, "RO")
        return problem("P-CUI-INVALID", value=text, source=src)
    if kind == "text":
        compact = re.sub(r"[\s.\-_/]", "", text).upper()
        compact = re.sub(r"^(CUI|CIF|CODFISCAL):?", "", compact)
        if compact.startswith("RO"):
            digits = ro.validate_cui(compact)
            if digits:
                return _Ident(True, f"RO{digits}", digits, src, "RO")
            return problem("P-CUI-INVALID", value=text, source=src)
        if compact[:2].isalpha():
            vat = ro.normalize_vat_id(compact)
            if vat is None:
                return problem("P-VAT-ID-INVALID", value=text, source=src)
            return _Ident(True, vat, None, src, _vat_country(vat))
        digits = ro.validate_cui(compact)
        if digits:
            return _Ident(True, None, digits, src, "RO")
        return problem("P-CUI-INVALID", value=text, source=src)
    # Any other Stripe tax id type: a foreign company id, kept as typed (not validated).
    value = re.sub(r"\s+", "", text).upper()
    return _Ident(True, value, None, src, None)


def _vat_country(vat: str) -> str:
    return "GR" if vat.startswith("EL") else vat[:2]


def _choose_address(layers: Iterable[_Layer]) -> tuple[str, dict[str, str], str | None]:
    all_addr = [a for layer in layers for a in layer.addresses]
    chosen: tuple[str, dict[str, str]] | None = None
    for want in ("line1", "city", "country"):
        chosen = next(((s, a) for s, a in all_addr if a.get(want)), None)
        if chosen:
            break
    if chosen is None:
        return "", {}, None
    country = chosen[1].get("country")
    if not country:
        country = next((a["country"] for _, a in all_addr if a.get("country")), None)
    return chosen[0], dict(chosen[1]), country


def _cut(text: str | None, limit: int) -> str | None:
    return text[:limit].rstrip() if text else text


def extract_buyer(sale: Sale, overrides: BuyerOverrides | None = None) -> BuyerResult:
    """The buyer party of ``sale`` by the precedence in the module docs, with its problems."""
    problems: list[Problem] = []
    meta = _Layer("metadata")
    problems.extend(_metadata_into(meta, metadata_sources(sale)))
    customer, cus_problems = _customer_layer(sale)
    problems.extend(cus_problems)
    layers = [
        *([_override_layer(overrides)] if overrides else []),
        meta,
        _custom_fields_layer(_map(sale.objects.get("checkout_session"))),
        _stripe_customer_layer(sale),
        _billing_layer(sale),
        _shipping_layer(sale),
        customer,
    ]
    sources: dict[str, str] = {}

    def first(key: str) -> str | None:
        for layer in layers:
            if key in layer.fields:
                sources[key] = layer.fields[f"{key}@"]
                return layer.fields[key]
        return None

    # identifiers
    ident: _Ident | None = None
    cnp_id: _Id | None = None
    individual = bool(overrides and overrides.individual)
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
    company = ident is not None
    legal_id: str | None = None
    vat_id: str | None = None
    if ident is not None:
        legal_id, vat_id = ident.legal_id, ident.vat_id
        sources["legal_id" if legal_id else "vat_id"] = ident.source
    else:
        legal_id = ANONYMOUS_ID
        if cnp_id is not None:
            cnp = ro.validate_cnp(cnp_id.value)
            if cnp is None:
                problems.append(problem("P-CNP-INVALID", value=cnp_id.value, source=cnp_id.source))
            else:
                legal_id = cnp
                sources["legal_id"] = cnp_id.source

    # name
    if company:
        name = first("business_name") or first("name") or first("individual_name")
    else:
        name = first("individual_name") or first("name") or first("business_name")
    if not name:
        problems.append(problem("P-BUYER-NAME-MISSING"))
    email = first("email")
    phone = first("phone")
    reg_com = first("reg_com")
    tax_exempt = first("tax_exempt")

    # address
    addr_src, addr, country_text = _choose_address(layers)
    if addr_src:
        sources["address"] = addr_src
    country: str | None = None
    if country_text:
        country = ro.normalize_country(country_text)
        if country is None:
            problems.append(problem("P-BUYER-COUNTRY-INVALID", value=country_text))
    elif ident is not None and ident.country:
        country = ident.country
    elif cnp_id is not None:
        country = "RO"
    else:
        problems.append(problem("P-BUYER-COUNTRY-MISSING"))
    line1 = addr.get("line1")
    line2 = addr.get("line2")
    if not line1 and line2:
        line1, line2 = line2, None
    city = addr.get("city")
    county: str | None = addr.get("state")
    if country == "RO":
        ro_city, ro_county = ro.normalize_ro_address(
            line1, line2, city, addr.get("state"), addr.get("postal_code")
        )
        city = ro_city or city
        county = ro_county
        if ro_county is None and (city or addr.get("state")):
            problems.append(
                problem("P-BUYER-COUNTY-UNKNOWN", value=addr.get("state") or city or "")
            )
        elif ro_county == "RO-B" and not re.fullmatch(r"SECTOR[1-6]", city or ""):
            problems.append(problem("P-BUYER-SECTOR-UNKNOWN", value=city or ""))
    if not line1:
        problems.append(problem("P-BUYER-ADDRESS-MISSING"))
    if not city:
        problems.append(problem("P-BUYER-CITY-MISSING"))

    party = Party(
        name=_cut(name, 200) or "",
        address=Address(
            line1=_cut(line1, 150) or "",
            city=_cut(city, 50) or "",
            country=country or "",
            line2=_cut(line2, 100),
            postal_code=_cut(addr.get("postal_code"), 20),
            county=_cut(county, 50),
        ),
        kind=BuyerKind.COMPANY if company else BuyerKind.INDIVIDUAL,
        vat_id=vat_id,
        legal_id=legal_id,
        trade_register=reg_com,
        email=email,
        phone=_cut(phone, 100),
    )
    return BuyerResult(
        party=party, problems=tuple(problems), sources=sources, tax_exempt=tax_exempt
    )
