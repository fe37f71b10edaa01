"""Client of ANAF's public taxpayer registry, ``PlatitorTvaRest`` v9 (no authentication).

``POST {EFACTURA_ANAF_PUBLIC_BASE}/api/PlatitorTvaRest/v9/tva`` with a JSON array
``[{"cui": 18547290, "data": "2026-12-01"}, …]``. The answer (ANAF's "Servicii web
PlatitorTvaRest v9" page) is::

    {"cod": 200, "message": "SUCCESS",
     "found": [{"date_generale": {"cui": 18547290, "data": "2026-12-01", "denumire": "…",
                                  "adresa": "…", "nrRegCom": "J40/…", "telefon": "…",
                                  "codPostal": "…", "stare_inregistrare": "…",
                                  "statusRO_e_Factura": true, …},
                "inregistrare_scop_Tva": {"scpTVA": true, "perioade_TVA": […]},
                "inregistrare_RTVAI": {"statusTvaIncasare": false, …},
                "stare_inactiv": {"statusInactivi": false, "dataRadiere": "", …},
                "inregistrare_SplitTVA": {"statusSplitTVA": false, …},
                "adresa_sediu_social": {"sdenumire_Strada": "…", "snumar_Strada": "…",
                                        "sdenumire_Localitate": "…", "scod_JudetAuto": "CJ",
                                        "sdetalii_Adresa": "…", "scod_Postal": "…", …},
                "adresa_domiciliu_fiscal": {"ddenumire_Strada": "…", …}}],
     "notFound": [12345678]}

The statuses hold for the date asked about (``data``). ANAF publishes two limits: at most
100 CUIs per request and at most one request per second; :class:`AnafPublicClient` splits
larger lists and spaces its calls with a :class:`~.http.Throttle` (callers sharing one
process share one throttle: :func:`shared_throttle`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

import httpx

from ..invoicing import ro
from ..invoicing.model import Address
from ..jsontypes import JsonObject
from .http import (
    Clock,
    RegistryUnavailable,
    RetryingClient,
    Sleep,
    Throttle,
    Waiter,
    read_json,
    status_error,
    transport_error,
)

DEFAULT_PUBLIC_BASE = "https://webservicesp.anaf.ro"
PATH = "/api/PlatitorTvaRest/v9/tva"
MAX_CUIS_PER_CALL = 100
MIN_INTERVAL_SECONDS = 1.0
SERVICE = "ANAF's taxpayer registry"

_THROTTLES: dict[str, Throttle] = {}


def shared_throttle(base: str) -> Throttle:
    """One throttle per base URL for the whole process (1 call per second)."""
    return _THROTTLES.setdefault(base, Throttle(MIN_INTERVAL_SECONDS))


@dataclass(frozen=True)
class Taxpayer:
    """One ``found`` entry, reduced to what invoicing needs (and the raw entry for the log)."""

    cui: str
    day: date
    name: str
    address: Address | None
    """The registered office (``adresa_sediu_social``), else the fiscal domicile."""
    address_text: str = ""
    trade_register: str | None = None
    phone: str | None = None
    vat_payer: bool = False
    """``inregistrare_scop_Tva.scpTVA``: registered for VAT (art. 316) on ``day``."""
    vat_on_collection: bool = False
    """``inregistrare_RTVAI.statusTvaIncasare``: applies VAT on collection on ``day``."""
    inactive: bool = False
    """``stare_inactiv.statusInactivi``."""
    deregistered_on: str | None = None
    """``stare_inactiv.dataRadiere``: struck off the register."""
    split_vat: bool = False
    e_factura: bool = False
    """``date_generale.statusRO_e_Factura``: in the RO e-Factura register."""
    registration_state: str = ""

    def to_json(self) -> JsonObject:
        data: JsonObject = asdict(self)
        data["day"] = self.day.isoformat()
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Taxpayer:
        raw = dict(data)
        addr = raw.pop("address", None)
        raw["day"] = date.fromisoformat(str(raw["day"]))
        return cls(address=Address(**addr) if addr else None, **raw)


@dataclass(frozen=True)
class RegistryAnswer:
    found: dict[str, Taxpayer] = field(default_factory=dict)
    not_found: frozenset[str] = frozenset()


def _text(value: object) -> str:
    return " ".join(value.split()) if isinstance(value, str) else ""


def _flag(section: Mapping[str, object], key: str) -> bool:
    value = section.get(key)
    if isinstance(value, bool):
        return value
    raise RegistryUnavailable(f"{SERVICE} answered without a boolean {key!r}", reason="malformed")


def _section(entry: Mapping[str, object], key: str) -> Mapping[str, object]:
    value = entry.get(key)
    if not isinstance(value, Mapping):
        raise RegistryUnavailable(f"{SERVICE} answered without {key!r}", reason="malformed")
    return value


def registry_address(section: Mapping[str, object] | None, prefix: str) -> Address | None:
    """An :class:`Address` from ``adresa_sediu_social`` (``prefix='s'``) or
    ``adresa_domiciliu_fiscal`` (``'d'``), normalised like every Romanian address (county
    ``RO-XX``, Bucharest ``SECTORn``); None when the registry has no street or locality."""
    if not section:
        return None

    def g(key: str) -> str:
        return _text(section.get(prefix + key))

    street, number, city = g("denumire_Strada"), g("numar_Strada"), g("denumire_Localitate")
    details, postal = g("detalii_Adresa"), g("cod_Postal")
    county_auto = g("cod_JudetAuto")
    if not (street or details) or not city:
        return None
    line1 = f"{street} nr. {number}" if street and number else street or details
    line2 = details if street and details else None
    county_hint = f"RO-{county_auto}" if county_auto else g("denumire_Judet")
    norm_city, county = ro.normalize_ro_address(line1, line2, city, county_hint, postal or None)
    return Address(
        line1=line1[:150],
        city=(norm_city or city)[:50],
        country="RO",
        line2=line2[:100] if line2 else None,
        postal_code=postal or None,
        county=county,
    )


def parse_entry(entry: Mapping[str, object]) -> Taxpayer:
    general = _section(entry, "date_generale")
    vat = _section(entry, "inregistrare_scop_Tva")
    on_collection = _section(entry, "inregistrare_RTVAI")
    inactive = _section(entry, "stare_inactiv")
    split = entry.get("inregistrare_SplitTVA")
    cui = str(general.get("cui", "")).strip()
    day_text = _text(general.get("data"))
    try:
        day = date.fromisoformat(day_text)
    except ValueError as exc:
        raise RegistryUnavailable(f"{SERVICE}: bad date {day_text!r}", reason="malformed") from exc
    if not cui.isdigit():
        raise RegistryUnavailable(f"{SERVICE}: bad cui {cui!r}", reason="malformed")
    seat = entry.get("adresa_sediu_social")
    home = entry.get("adresa_domiciliu_fiscal")
    address = registry_address(seat if isinstance(seat, Mapping) else None, "s")
    if address is None:
        address = registry_address(home if isinstance(home, Mapping) else None, "d")
    e_factura = general.get("statusRO_e_Factura")
    return Taxpayer(
        cui=cui,
        day=day,
        name=_text(general.get("denumire")),
        address=address,
        address_text=_text(general.get("adresa")),
        trade_register=_text(general.get("nrRegCom")) or None,
        phone=_text(general.get("telefon")) or None,
        vat_payer=_flag(vat, "scpTVA"),
        vat_on_collection=_flag(on_collection, "statusTvaIncasare"),
        inactive=_flag(inactive, "statusInactivi"),
        deregistered_on=_text(inactive.get("dataRadiere")) or None,
        split_vat=bool(isinstance(split, Mapping) and split.get("statusSplitTVA") is True),
        e_factura=e_factura is True,
        registration_state=_text(general.get("stare_inregistrare")),
    )


def parse_answer(data: object) -> RegistryAnswer:
    """The ``found``/``notFound`` lists of a v9 answer; anything else is
    :class:`RegistryUnavailable` (``malformed``)."""
    if not isinstance(data, Mapping) or not isinstance(data.get("found"), list):
        cod = data.get("cod") if isinstance(data, Mapping) else None
        message = data.get("message") if isinstance(data, Mapping) else None
        raise RegistryUnavailable(
            f"{SERVICE} answered without a 'found' list (cod={cod!r}, message={message!r})",
            reason="malformed",
        )
    found: dict[str, Taxpayer] = {}
    for entry in data["found"]:
        if not isinstance(entry, Mapping):
            raise RegistryUnavailable(
                f"{SERVICE}: a 'found' entry is not an object", reason="malformed"
            )
        taxpayer = parse_entry(entry)
        found[taxpayer.cui] = taxpayer
    missing = data.get("notFound") or []
    if not isinstance(missing, list):
        raise RegistryUnavailable(f"{SERVICE}: 'notFound' is not a list", reason="malformed")
    not_found = set()
    for item in missing:
        value = item.get("cui") if isinstance(item, Mapping) else item
        not_found.add(str(value).strip())
    return RegistryAnswer(found=found, not_found=frozenset(not_found))


class AnafPublicClient(RetryingClient):
    """Synchronous client; one :meth:`lookup` may make several calls (100 CUIs each), spaced
    by the throttle; every call is retried with exponential backoff on
    :class:`RegistryUnavailable`."""

    def __init__(
        self,
        base: str = DEFAULT_PUBLIC_BASE,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 10.0,
        retries: int = 2,
        backoff: float = 1.0,
        throttle: Waiter | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        self.url = base.rstrip("/") + PATH
        super().__init__(
            transport=transport,
            timeout=timeout,
            retries=retries,
            backoff=backoff,
            throttle=throttle
            or (
                shared_throttle(base)
                if clock is time.monotonic
                else Throttle(MIN_INTERVAL_SECONDS, clock=clock, sleep=sleep)
            ),
            sleep=sleep,
        )

    def lookup(self, cuis: Iterable[str], day: date) -> RegistryAnswer:
        """Look ``cuis`` (digits, no ``RO``) up as of ``day``."""
        return self.lookup_pairs([(c, day) for c in cuis])

    def lookup_pairs(self, pairs: Iterable[tuple[str, date]]) -> RegistryAnswer:
        """Look each ``(cui, day)`` up; one day per CUI (a repeated CUI keeps its first day).
        Raises :class:`RegistryUnavailable` when a call fails after its retries, or when ANAF
        leaves a CUI out of both lists."""
        wanted: dict[str, date] = {}
        for cui, day in pairs:
            wanted.setdefault(cui.upper().removeprefix("RO").strip(), day)
        items = list(wanted.items())
        found: dict[str, Taxpayer] = {}
        not_found: set[str] = set()
        for i in range(0, len(items), MAX_CUIS_PER_CALL):
            chunk = items[i : i + MAX_CUIS_PER_CALL]
            answer = self.retrying(lambda chunk=chunk: self._call(chunk))  # type: ignore[misc]
            found.update(answer.found)
            not_found |= answer.not_found
        # A CUI in neither list was not answered for: never take it for "not found".
        silent = set(wanted) - set(found) - not_found
        if silent:
            raise RegistryUnavailable(
                f"{SERVICE} did not answer for {sorted(silent)}", reason="malformed"
            )
        return RegistryAnswer(found=found, not_found=frozenset(not_found))

    def _call(self, chunk: Sequence[tuple[str, date]]) -> RegistryAnswer:
        body = [{"cui": int(c), "data": day.isoformat()} for c, day in chunk]
        try:
            response = self._http.post(self.url, json=body)
        except httpx.HTTPError as exc:
            raise transport_error(exc, SERVICE) from exc
        error = status_error(response, SERVICE)
        if error is not None:
            raise error
        return parse_answer(read_json(response, SERVICE))
