"""Who bought: the buyer candidates in Stripe's objects, in one documented precedence.

:func:`buyer_draft` reads every place Stripe (or the merchant's conventions) may hold buyer data
into a :class:`~stripe_efactura.invoicing.draft.BuyerDraft`, one layer per source, highest
precedence first; :func:`stripe_efactura.invoicing.buyer.resolve_buyer` then decides (first
non-empty value wins, ids checked, address normalised).

**Precedence**:

0. ``BuyerOverrides`` (added by the builder): what the merchant typed to fix a payment.
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
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import Problem
from ..invoicing.buyer import clean_text as _s
from ..invoicing.countries import fold
from ..invoicing.draft import AddressDraft, BuyerDraft, BuyerField, BuyerId, BuyerLayer, Sourced
from ..invoicing.problems import problem
from .metadata import MetaSource, iter_metadata, meta_source, metadata_address, metadata_sources
from .plain import as_map as _map
from .plain import as_objects as _list
from .sale import Sale
from .tax_ids import classify

_ADDR = ("line1", "line2", "city", "state", "postal_code", "country")


@dataclass
class _Layer:
    """A layer while it is being read: within one source the first value of a field wins."""

    name: str
    fields: dict[BuyerField, Sourced] = field(default_factory=dict)
    ids: list[BuyerId] = field(default_factory=list)
    addresses: list[AddressDraft] = field(default_factory=list)

    def frozen(self) -> BuyerLayer:
        return BuyerLayer(self.name, dict(self.fields), tuple(self.ids), tuple(self.addresses))


_FIELDS = {f.value: f for f in BuyerField}


def _put(layer: _Layer, name: str, value: object, source: str) -> None:
    text = _s(value)
    if text:
        key = _FIELDS[name]
        if key not in layer.fields:
            layer.fields[key] = Sourced(text, source)


def _draft_address(source: str, parts: Mapping[str, str]) -> AddressDraft:
    return AddressDraft(
        source,
        line1=parts.get("line1"),
        line2=parts.get("line2"),
        city=parts.get("city"),
        state=parts.get("state"),
        postal_code=parts.get("postal_code"),
        country=parts.get("country"),
    )


def _address(layer: _Layer, value: object, source: str) -> None:
    if not value:
        return
    data = _map(value)
    out = {k: t for k in _ADDR if (t := _s(data.get(k)))}
    if out:
        layer.addresses.append(_draft_address(source, out))


def _tax_ids(layer: _Layer, value: object, source: str) -> None:
    for i, t in enumerate(_list(value)):
        v = _s(t.get("value"))
        if v:
            layer.ids.append(classify(t.get("type"), v, f"{source}[{i}]"))


# --- layers --------------------------------------------------------------------------------


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
        layer.ids.append(BuyerId("text", v, f"{obj}.metadata.{k}"))
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
            layer.ids.append(BuyerId("text", v, src))
    for obj, k, v in iter_metadata(sources, "cnp"):
        layer.ids.append(BuyerId("cnp", v, f"{obj}.metadata.{k}"))
    for obj, md, _ in sources:
        fields, probs, key = metadata_address(md)
        problems.extend(probs)
        cui = fields.pop("cui", None)
        if cui:
            layer.ids.append(BuyerId("text", cui, f"{obj}.metadata.{key}.cui"))
        if fields:
            layer.addresses.append(_draft_address(f"{obj}.metadata.{key}", fields))
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
            layer.ids.append(BuyerId("text", text, src))
        elif kind == "cnp":
            layer.ids.append(BuyerId("cnp", text, src))
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


def shipping_address(sale: Sale) -> AddressDraft | None:
    """The first shipping address of ``sale`` (same sources and order as the shipping layer;
    the Customer's default shipping address last)."""
    found = _shipping_layer(sale).addresses
    if found:
        return found[0]
    cus = _map(sale.objects.get("customer"))
    layer = _Layer("shipping")
    _address(layer, _map(cus.get("shipping")).get("address"), "customer.shipping.address")
    return layer.addresses[0] if layer.addresses else None


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


def buyer_draft(sale: Sale) -> BuyerDraft:
    """The buyer candidates of ``sale``, one layer per source in precedence order."""
    meta = _Layer("metadata")
    problems = _metadata_into(meta, metadata_sources(sale))
    customer, cus_problems = _customer_layer(sale)
    layers = (
        meta,
        _custom_fields_layer(_map(sale.objects.get("checkout_session"))),
        _stripe_customer_layer(sale),
        _billing_layer(sale),
        _shipping_layer(sale),
        customer,
    )
    return BuyerDraft(
        layers=tuple(layer.frozen() for layer in layers),
        problems=(*problems, *cus_problems),
    )
