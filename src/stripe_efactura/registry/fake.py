"""An in-process fake of ANAF's taxpayer registry (``PlatitorTvaRest`` v9) and of VIES' REST
``check-vat-number``: an ``httpx`` transport used by the tests and by ``stripe-efactura demo``.

Answers follow the published shapes (:mod:`.anaf_public`, :mod:`.vies`). The fake also checks
ANAF's published limits on its own clock: a call less than one second after the previous one
gets HTTP 429 and a call with more than 100 CUIs HTTP 400, and both are counted in
:attr:`FakeRegistry.violations` (ANAF does not publish the body it answers then; the texts
here are the fake's own).

Faults are queued per service and each one spoils one call: ``down`` (connection refused),
``timeout``, ``http500``, ``html`` (the firewall's "Request Rejected" page with HTTP 200),
``malformed`` (a truncated JSON body), ``rate_limited`` (HTTP 429), and for VIES
``MS_UNAVAILABLE`` / ``GLOBAL_MAX_CONCURRENT_REQ``. ``vies_unavailable`` holds member states
that answer ``MS_UNAVAILABLE`` until removed. ``delay`` makes every answer take that long (on
the injected clock); an answer slower than the client's read timeout is ``httpx.ReadTimeout``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import httpx

from .anaf_public import MAX_CUIS_PER_CALL, MIN_INTERVAL_SECONDS, PATH

FIREWALL_PAGE = (
    "<html><head><title>Request Rejected</title></head><body>The requested URL was rejected. "
    "Please consult with your administrator.<br><br>Your support ID is: 1234567890123456789"
    "<br><br><a href='javascript:history.back();'>[Go Back]</a></body></html>"
)
MS_UNAVAILABLE_TEXT = (
    "The application at the Member State is not replying or not available. Please refer to "
    "the Technical Information page to check the status of the requested Member State, "
    "try again later"
)
EU_PREFIXES = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "EL",
        "ES",
        "FI",
        "FR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
        "XI",
    ]
)


class FakeClock:
    """A clock for tests: ``now()`` never moves by itself, ``sleep()`` moves it."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.t = start

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += max(0.0, seconds)


@dataclass
class FakeCompany:
    cui: str
    name: str
    street: str
    number: str
    city: str
    county_auto: str
    county_name: str
    postal_code: str
    trade_register: str = ""
    vat_payer: bool = True
    vat_on_collection: bool = False
    inactive: bool = False
    deregistered_on: str = ""
    e_factura: bool = True
    details: str = ""

    def v9_entry(self, day: str) -> dict[str, object]:
        """The company as ANAF's v9 answer lists it (``found``) on ``day``."""
        seat = self._seat()
        return {
            "date_generale": self._general(day),
            "inregistrare_scop_Tva": self._vat_registration(),
            "inregistrare_RTVAI": self._vat_on_collection(),
            "stare_inactiv": self._inactive_state(),
            "inregistrare_SplitTVA": {
                "dataInceputSplitTVA": "",
                "dataAnulareSplitTVA": "",
                "statusSplitTVA": False,
            },
            "adresa_sediu_social": seat,
            "adresa_domiciliu_fiscal": {"d" + k[1:]: v for k, v in seat.items()},
        }

    def _seat(self) -> dict[str, object]:
        return {
            "sdenumire_Strada": self.street,
            "snumar_Strada": self.number,
            "sdenumire_Localitate": self.city,
            "scod_Localitate": "",
            "sdenumire_Judet": self.county_name,
            "scod_Judet": "",
            "scod_JudetAuto": self.county_auto,
            "stara": "",
            "sdetalii_Adresa": self.details,
            "scod_Postal": self.postal_code,
        }

    def _general(self, day: str) -> dict[str, object]:
        return {
            "cui": int(self.cui),
            "data": day,
            "denumire": self.name,
            "adresa": f"JUD. {self.county_name}, {self.city}, {self.street}, NR.{self.number}",
            "nrRegCom": self.trade_register,
            "telefon": "",
            "fax": "",
            "codPostal": self.postal_code,
            "act": "",
            "stare_inregistrare": "INREGISTRAT din data 01.03.2015",
            "data_inregistrare": "2015-03-01",
            "cod_CAEN": "6201",
            "iban": "",
            "statusRO_e_Factura": self.e_factura,
            "organFiscalCompetent": "",
            "forma_de_proprietate": "",
            "forma_organizare": "",
            "forma_juridica": "",
        }

    def _vat_registration(self) -> dict[str, object]:
        period = {
            "data_inceput_ScpTVA": "2015-04-01",
            "data_sfarsit_ScpTVA": "",
            "data_anul_imp_ScpTVA": "",
            "mesaj_ScpTVA": "",
        }
        return {"scpTVA": self.vat_payer, "perioade_TVA": [period] if self.vat_payer else []}

    def _vat_on_collection(self) -> dict[str, object]:
        return {
            "dataInceputTvaInc": "2020-01-01" if self.vat_on_collection else "",
            "dataSfarsitTvaInc": "",
            "dataActualizareTvaInc": "",
            "dataPublicareTvaInc": "",
            "tipActTvaInc": "",
            "statusTvaIncasare": self.vat_on_collection,
        }

    def _inactive_state(self) -> dict[str, object]:
        return {
            "dataInactivare": "2024-02-01" if self.inactive else "",
            "dataReactivare": "",
            "dataPublicare": "",
            "dataRadiere": self.deregistered_on,
            "statusInactivi": self.inactive,
        }


@dataclass
class FakeTrader:
    vat_id: str
    name: str
    address: str


def sample_companies() -> list[FakeCompany]:
    """The companies the demo and the tests know (CUIs with valid check digits)."""
    return [*_bucharest_companies(), *_vat_variants()]


def _bucharest_companies() -> list[FakeCompany]:
    """The demo's seller and a VAT-paying buyer, both in Bucharest."""
    return [
        FakeCompany(
            "18547290",
            "FIRMA MEA SRL",
            "Str. Exemplu",
            "1",
            "Sector 1 Mun. Bucureşti",
            "B",
            "MUNICIPIUL BUCUREŞTI",
            "010101",
            trade_register="J40/1234/2020",
        ),
        FakeCompany(
            "41833563",
            "ATELIER DIGITAL NORD SRL",
            "Bd. Decebal",
            "14",
            "Sector 3 Mun. Bucureşti",
            "B",
            "MUNICIPIUL BUCUREŞTI",
            "030964",
            trade_register="J40/11223/2019",
            details="Bl. S5, Sc. 2, Ap. 21",
        ),
    ]


def _vat_variants() -> list[FakeCompany]:
    """Buyers whose VAT status changes the invoice: VAT on collection, not a VAT payer,
    inactive."""
    return [
        FakeCompany(
            "12345674",
            "CONSTRUCT MONTAJ VEST SRL",
            "Str. Memorandumului",
            "28",
            "Mun. Cluj-Napoca",
            "CJ",
            "CLUJ",
            "400114",
            trade_register="J12/3456/2012",
            vat_on_collection=True,
        ),
        FakeCompany(
            "34567892",
            "MICRO SERVICII NEPLATITOR SRL",
            "Str. Republicii",
            "7",
            "Mun. Braşov",
            "BV",
            "BRAŞOV",
            "500030",
            trade_register="J08/77/2021",
            vat_payer=False,
        ),
        FakeCompany(
            "22334451",
            "FIRMA INACTIVA SRL",
            "Str. Gării",
            "3",
            "Mun. Iaşi",
            "IS",
            "IAŞI",
            "700001",
            trade_register="J22/999/2010",
            inactive=True,
        ),
    ]


def sample_traders() -> list[FakeTrader]:
    return [
        FakeTrader("DE268519733", "Nordlicht Software GmbH", "Torstraße 109\n10119 Berlin"),
        FakeTrader("FR40303265045", "---", "---"),
    ]


def _json(status: int, data: object, request: httpx.Request) -> httpx.Response:
    return httpx.Response(status, json=data, request=request)


@dataclass
class FakeRegistry(httpx.BaseTransport):
    companies: dict[str, FakeCompany] = field(
        default_factory=lambda: {c.cui: c for c in sample_companies()}
    )
    traders: dict[str, FakeTrader] = field(
        default_factory=lambda: {t.vat_id: t for t in sample_traders()}
    )
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    delay: float = 0.0
    anaf_faults: list[str] = field(default_factory=list)
    vies_faults: list[str] = field(default_factory=list)
    vies_unavailable: set[str] = field(default_factory=set)
    anaf_calls: list[tuple[float, list[str]]] = field(default_factory=list)
    vies_calls: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    enforce_limits: bool = True

    def add(self, companies: Iterable[FakeCompany]) -> None:
        self.companies.update({c.cui: c for c in companies})

    # -- transport ---------------------------------------------------------------------------

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        path = request.url.path
        if request.method == "POST" and path.endswith(PATH):
            return self._timed(request, self._anaf)
        if request.method == "POST" and path.endswith("/check-vat-number"):
            return self._timed(request, self._vies)
        return httpx.Response(404, text="Not Found", request=request)

    def _timed(
        self, request: httpx.Request, answer: Callable[[httpx.Request], httpx.Response]
    ) -> httpx.Response:
        if self.delay > 0:
            timeout = request.extensions.get("timeout", {}).get("read")
            if timeout is not None and self.delay >= timeout:
                self.sleep(timeout)
                raise httpx.ReadTimeout("The read operation timed out", request=request)
            self.sleep(self.delay)
        return answer(request)

    def _fault(self, faults: list[str], request: httpx.Request) -> httpx.Response | None:
        if not faults:
            return None
        fault = faults.pop(0)
        if fault == "down":
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        if fault == "timeout":
            raise httpx.ReadTimeout("The read operation timed out", request=request)
        if fault == "http500":
            return httpx.Response(500, text="Internal Server Error", request=request)
        if fault == "html":
            headers = {"content-type": "text/html; charset=utf-8"}
            return httpx.Response(200, text=FIREWALL_PAGE, headers=headers, request=request)
        if fault == "malformed":
            return httpx.Response(
                200, text='{"cod":200,"message":"SUCCESS","found":[{"date_gen', request=request
            )
        if fault == "rate_limited":
            return _json(429, {"cod": 429, "message": "Too Many Requests"}, request)
        return _json(
            200,
            {"actionSucceed": False, "errorWrappers": [{"error": fault, "message": fault}]},
            request,
        )

    # -- ANAF --------------------------------------------------------------------------------

    def _anaf(self, request: httpx.Request) -> httpx.Response:
        now = self.clock()
        try:
            body = json.loads(request.content)
            asked = [(str(int(item["cui"])), str(item["data"])) for item in body]
        except (ValueError, TypeError, KeyError):
            return _json(400, {"cod": 400, "message": "Request invalid"}, request)
        if self.enforce_limits:
            if self.anaf_calls and now - self.anaf_calls[-1][0] < MIN_INTERVAL_SECONDS - 1e-9:
                self.violations.append(f"rate: {now - self.anaf_calls[-1][0]:.3f}s")
                self.anaf_calls.append((now, [c for c, _ in asked]))
                return _json(429, {"cod": 429, "message": "Too Many Requests"}, request)
            if len(asked) > MAX_CUIS_PER_CALL:
                self.violations.append(f"size: {len(asked)} CUIs")
                self.anaf_calls.append((now, [c for c, _ in asked]))
                message = "Numarul maxim de CUI-uri intr-un request este 100"
                return _json(400, {"cod": 400, "message": message}, request)
        self.anaf_calls.append((now, [c for c, _ in asked]))
        spoiled = self._fault(self.anaf_faults, request)
        if spoiled is not None:
            return spoiled
        found, not_found = [], []
        for cui, day in asked:
            company = self.companies.get(cui)
            if company is None:
                not_found.append(int(cui))
            else:
                found.append(company.v9_entry(day))
        data = {"cod": 200, "message": "SUCCESS", "found": found, "notFound": not_found}
        return _json(200, data, request)

    # -- VIES --------------------------------------------------------------------------------

    def _vies(self, request: httpx.Request) -> httpx.Response:
        try:
            body = json.loads(request.content)
            country, number = str(body["countryCode"]).upper(), str(body["vatNumber"]).upper()
        except (ValueError, TypeError, KeyError):
            return _json(400, {"actionSucceed": False, "errorWrappers": []}, request)
        self.vies_calls.append(country + number)
        spoiled = self._fault(self.vies_faults, request)
        if spoiled is not None:
            return spoiled
        if country in self.vies_unavailable:
            error = {"error": "MS_UNAVAILABLE", "message": MS_UNAVAILABLE_TEXT}
            return _json(200, {"actionSucceed": False, "errorWrappers": [error]}, request)
        if country not in EU_PREFIXES or not number.isalnum():
            error = {"error": "INVALID_INPUT", "message": "The provided CountryCode is invalid"}
            return _json(200, {"actionSucceed": False, "errorWrappers": [error]}, request)
        trader = self.traders.get(country + number)
        data = {
            "countryCode": country,
            "vatNumber": number,
            "requestDate": "2026-12-01T10:00:00.000Z",
            "valid": trader is not None,
            "requestIdentifier": "",
            "name": trader.name if trader else "---",
            "address": trader.address if trader else "---",
            "traderName": "",
            "traderStreet": "",
            "traderPostalCode": "",
            "traderCity": "",
            "traderCompanyType": "",
            "traderNameMatch": "NOT_PROCESSED",
            "traderStreetMatch": "NOT_PROCESSED",
            "traderPostalCodeMatch": "NOT_PROCESSED",
            "traderCityMatch": "NOT_PROCESSED",
            "traderCompanyTypeMatch": "NOT_PROCESSED",
        }
        return _json(200, data, request)
