"""The seller's company profile and the registry (pure): the ``[company]`` block written from
ANAF's answer (``stripe-efactura init --cui``), and the differences between ``efactura.toml``
and the registry that ``serve``/``worker`` warn about at start-up."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeAlias

from ..invoicing.model import Address
from .anaf_public import Taxpayer

TomlValue: TypeAlias = str | bool | int
"""A value this module writes into ``efactura.toml``."""

_HEADER = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\"' -]+?)\s*\]\s*(#.*)?$")


def company_values(t: Taxpayer) -> tuple[dict[str, TomlValue], dict[str, TomlValue]]:
    """The ``[company]`` and ``[company.address]`` keys the registry gives."""
    company: dict[str, TomlValue] = {
        "name": t.name,
        "cui": t.cui,
        "vat_payer": t.vat_payer,
        "vat_on_collection": t.vat_on_collection,
    }
    if t.trade_register:
        company["trade_register"] = t.trade_register
    address: dict[str, TomlValue] = {}
    if t.address is not None:
        a = t.address
        address = {"line1": a.line1, "city": a.city, "country": a.country}
        if a.line2:
            address["line2"] = a.line2
        if a.county:
            address["county"] = a.county
        if a.postal_code:
            address["postal_code"] = a.postal_code
    return company, address


def _toml_value(value: TomlValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return json.dumps(str(value), ensure_ascii=False)


def _table_of(line: str) -> str | None:
    m = _HEADER.match(line)
    return m.group(1).replace(" ", "").replace('"', "").replace("'", "") if m else None


def _set_keys(lines: list[str], table: str, values: Mapping[str, TomlValue]) -> list[str]:
    """``lines`` with ``values`` set in ``[table]`` (replaced in place, else added at the end of
    the table; the table is appended when missing). Other keys and tables are kept."""
    out = list(lines)
    start = next((i for i, ln in enumerate(out) if _table_of(ln) == table), None)
    if start is None:
        if out and out[-1].strip():
            out.append("")
        out.append(f"[{table}]")
        out.extend(f"{k} = {_toml_value(v)}" for k, v in values.items())
        return out
    end = next((i for i in range(start + 1, len(out)) if _table_of(out[i]) is not None), len(out))
    missing = dict(values)
    for i in range(start + 1, end):
        m = re.match(r"^\s*([A-Za-z0-9_-]+)\s*=", out[i])
        if m and m.group(1) in missing:
            key = m.group(1)
            out[i] = f"{key} = {_toml_value(missing.pop(key))}"
    last = end
    while last - 1 > start and not out[last - 1].strip():
        last -= 1
    out[last:last] = [f"{k} = {_toml_value(v)}" for k, v in missing.items()]
    return out


def update_company_toml(text: str, t: Taxpayer) -> str:
    """``efactura.toml`` text with the company block filled from the registry; everything else
    (email, bank, series, policies, comments elsewhere) is kept as written."""
    company, address = company_values(t)
    lines = text.splitlines()
    lines = _set_keys(lines, "company", company)
    if address:
        lines = _set_keys(lines, "company.address", address)
    return "\n".join(lines) + "\n"


# --- differences at start-up -----------------------------------------------------------------


def _fold(text: str | None) -> str:
    plain = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-z0-9]+", " ", plain.lower()).split()
    if words and words[0] == "sc":
        words = words[1:]
    return "".join(words)


@dataclass(frozen=True)
class Difference:
    key: str
    """The ``[company]`` key (``vat_payer``, ``name``, ``address.county`` …)."""
    profile: str
    registry: str

    def message(self, day: str) -> str:
        return (
            f"[W-SELLER-REGISTRY] efactura.toml [company] {self.key} = {self.profile} but "
            f"ANAF's registry says {self.registry} on {day} / efactura.toml [company] "
            f"{self.key} = {self.profile}, dar registrul ANAF arată {self.registry} la {day}"
        )


def profile_differences(
    name: str,
    vat_payer: bool,
    vat_on_collection: bool,
    trade_register: str | None,
    address: Address,
    t: Taxpayer,
) -> list[Difference]:
    """What the profile says that the registry does not (names compared without case,
    diacritics, punctuation and an ``SC`` prefix)."""
    out: list[Difference] = []

    def flag(value: bool) -> str:
        return "true" if value else "false"

    if vat_payer != t.vat_payer:
        out.append(Difference("vat_payer", flag(vat_payer), flag(t.vat_payer)))
    if vat_on_collection != t.vat_on_collection:
        out.append(
            Difference("vat_on_collection", flag(vat_on_collection), flag(t.vat_on_collection))
        )
    if _fold(name) != _fold(t.name):
        out.append(Difference("name", repr(name), repr(t.name)))
    if t.trade_register and _fold(trade_register) != _fold(t.trade_register):
        out.append(Difference("trade_register", repr(trade_register), repr(t.trade_register)))
    if t.address is not None and t.address.county and address.county != t.address.county:
        out.append(Difference("address.county", repr(address.county), repr(t.address.county)))
    if t.inactive or t.deregistered_on:
        state = "struck off" if t.deregistered_on else "inactive"
        out.append(Difference("cui", repr(t.cui), f"the company is {state}"))
    return out
