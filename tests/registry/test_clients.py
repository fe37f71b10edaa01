"""The registry clients against the in-process fake: wire formats, faults, retries, limits."""

from __future__ import annotations

import json
from datetime import date

import httpx
import pytest

from stripe_efactura.invoicing.model import Address
from stripe_efactura.registry.anaf_public import AnafPublicClient, Taxpayer, parse_answer
from stripe_efactura.registry.fake import FakeClock, FakeCompany, FakeRegistry
from stripe_efactura.registry.http import RegistryRejected, RegistryUnavailable
from stripe_efactura.registry.vies import ViesClient, parse_check

BASE = "https://fake-registry.invalid"
DAY = date(2026, 12, 1)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake(clock: FakeClock) -> FakeRegistry:
    return FakeRegistry(clock=clock, sleep=clock.sleep)


def anaf(fake: FakeRegistry, clock: FakeClock, **kw: object) -> AnafPublicClient:
    return AnafPublicClient(BASE, transport=fake, clock=clock, sleep=clock.sleep, **kw)  # type: ignore[arg-type]


def vies(fake: FakeRegistry, clock: FakeClock, **kw: object) -> ViesClient:
    return ViesClient(BASE, transport=fake, clock=clock, sleep=clock.sleep, **kw)  # type: ignore[arg-type]


def test_found_and_not_found_with_statuses(fake: FakeRegistry, clock: FakeClock) -> None:
    answer = anaf(fake, clock).lookup(["RO41833563", "12345674", "22334451", "13579134"], DAY)
    assert answer.not_found == frozenset({"13579134"})
    atelier = answer.found["41833563"]
    assert atelier == Taxpayer(
        cui="41833563",
        day=DAY,
        name="ATELIER DIGITAL NORD SRL",
        address=Address(
            line1="Bd. Decebal nr. 14",
            city="SECTOR3",
            country="RO",
            line2="Bl. S5, Sc. 2, Ap. 21",
            postal_code="030964",
            county="RO-B",
        ),
        address_text="JUD. MUNICIPIUL BUCUREŞTI, Sector 3 Mun. Bucureşti, Bd. Decebal, NR.14",
        trade_register="J40/11223/2019",
        vat_payer=True,
        e_factura=True,
        registration_state="INREGISTRAT din data 01.03.2015",
    )
    assert answer.found["12345674"].vat_on_collection is True
    assert answer.found["12345674"].address is not None
    assert answer.found["12345674"].address.county == "RO-CJ"
    assert answer.found["22334451"].inactive is True
    # the wire: one POST, the documented body
    assert fake.anaf_calls == [(1000.0, ["41833563", "12345674", "22334451", "13579134"])]
    assert Taxpayer.from_json(json.loads(json.dumps(atelier.to_json()))) == atelier


def test_request_body_is_the_documented_array(clock: FakeClock) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200, json={"cod": 200, "message": "SUCCESS", "found": [], "notFound": [18547290]}
        )

    client = AnafPublicClient(
        BASE, transport=httpx.MockTransport(handler), clock=clock, sleep=clock.sleep
    )
    assert client.lookup(["18547290"], DAY).not_found == frozenset({"18547290"})
    assert str(seen[0].url) == f"{BASE}/api/PlatitorTvaRest/v9/tva"
    assert json.loads(seen[0].content) == [{"cui": 18547290, "data": "2026-12-01"}]


def test_more_than_100_cuis_are_split_and_spaced(fake: FakeRegistry, clock: FakeClock) -> None:
    cuis = [str(10_000_000 + i) for i in range(250)]
    answer = anaf(fake, clock).lookup(cuis, DAY)
    assert len(answer.not_found) == 250
    assert [len(c) for _, c in fake.anaf_calls] == [100, 100, 50]
    assert [t for t, _ in fake.anaf_calls] == [1000.0, 1001.0, 1002.0]
    assert fake.violations == []


@pytest.mark.parametrize(
    "fault", ["down", "timeout", "http500", "html", "malformed", "rate_limited"]
)
def test_one_bad_answer_is_retried_with_backoff(
    fake: FakeRegistry, clock: FakeClock, fault: str
) -> None:
    fake.anaf_faults = [fault]
    answer = anaf(fake, clock).lookup(["18547290"], DAY)
    assert answer.found["18547290"].name == "FIRMA MEA SRL"
    assert len(fake.anaf_calls) == 2
    assert fake.anaf_calls[1][0] - fake.anaf_calls[0][0] == 1.0  # backoff 1 s
    assert fake.violations == []


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("down", "network"),
        ("timeout", "timeout"),
        ("http500", "http_500"),
        ("html", "html"),
        ("malformed", "malformed"),
        ("rate_limited", "rate_limited"),
    ],
)
def test_registry_down_raises_unavailable_after_retries(
    fake: FakeRegistry, clock: FakeClock, fault: str, reason: str
) -> None:
    fake.anaf_faults = [fault] * 3
    with pytest.raises(RegistryUnavailable) as info:
        anaf(fake, clock, retries=2, backoff=1.0).lookup(["18547290"], DAY)
    assert info.value.reason == reason
    assert [t for t, _ in fake.anaf_calls] == [1000.0, 1001.0, 1003.0]  # 1 s then 2 s


def test_html_firewall_page_with_200_is_never_not_found(
    fake: FakeRegistry, clock: FakeClock
) -> None:
    fake.anaf_faults = ["html"]
    with pytest.raises(RegistryUnavailable) as info:
        anaf(fake, clock, retries=0).lookup(["13579134"], DAY)
    assert info.value.reason == "html"
    assert "HTML page (HTTP 200)" in str(info.value)


def test_slow_registry_times_out_then_answers(clock: FakeClock) -> None:
    fake = FakeRegistry(clock=clock, sleep=clock.sleep, delay=12.0)
    with pytest.raises(RegistryUnavailable) as info:
        anaf(fake, clock, timeout=10.0, retries=1).lookup(["18547290"], DAY)
    assert info.value.reason == "timeout"
    assert clock() == 1000.0 + 10.0 + 1.0 + 10.0  # two read timeouts and the 1 s backoff
    fake.delay = 3.0
    answer = anaf(fake, clock, timeout=10.0).lookup(["18547290"], DAY)
    assert answer.found["18547290"].vat_payer is True


def test_malformed_shapes_are_unavailable_not_answers() -> None:
    data: object
    for data in (
        [],
        {"cod": 200},
        {"found": "x"},
        {"found": [{"date_generale": {}}]},
        {"found": [], "notFound": "12"},
    ):
        with pytest.raises(RegistryUnavailable):
            parse_answer(data)


def test_a_cui_missing_from_both_lists_is_unavailable(clock: FakeClock) -> None:
    empty = {"cod": 200, "message": "SUCCESS", "found": [], "notFound": []}
    transport = httpx.MockTransport(lambda r: httpx.Response(200, json=empty))
    client = AnafPublicClient(BASE, transport=transport, clock=clock, sleep=clock.sleep, retries=0)
    with pytest.raises(RegistryUnavailable, match="did not answer"):
        client.lookup(["18547290"], DAY)


def test_rate_limited_answer_honours_retry_after(clock: FakeClock) -> None:
    answers = [
        httpx.Response(429, headers={"Retry-After": "7"}, json={"cod": 429}),
        httpx.Response(200, json={"cod": 200, "found": [], "notFound": [18547290]}),
    ]
    times: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        times.append(clock())
        return answers.pop(0)

    client = AnafPublicClient(
        BASE, transport=httpx.MockTransport(handler), clock=clock, sleep=clock.sleep
    )
    client.lookup(["18547290"], DAY)
    assert times == [1000.0, 1007.0]


def test_the_fake_counts_calls_that_break_anafs_limits(fake: FakeRegistry) -> None:
    with httpx.Client(transport=fake) as http:
        body = [{"cui": 18547290, "data": "2026-12-01"}]
        assert http.post(f"{BASE}/api/PlatitorTvaRest/v9/tva", json=body).status_code == 200
        assert http.post(f"{BASE}/api/PlatitorTvaRest/v9/tva", json=body).status_code == 429
        fake.clock = lambda: 2000.0
        big = [{"cui": 10_000_000 + i, "data": "2026-12-01"} for i in range(101)]
        assert http.post(f"{BASE}/api/PlatitorTvaRest/v9/tva", json=big).status_code == 400
    assert fake.violations == ["rate: 0.000s", "size: 101 CUIs"]


# --- VIES -------------------------------------------------------------------------------------


def test_vies_valid_and_invalid(fake: FakeRegistry, clock: FakeClock) -> None:
    client = vies(fake, clock)
    ok = client.check("DE268519733")
    assert (ok.valid, ok.name, ok.address) == (
        True,
        "Nordlicht Software GmbH",
        "Torstraße 109 10119 Berlin",
    )
    bad = client.check("NL123456789B01")
    assert (bad.valid, bad.name, bad.address) == (False, None, None)
    assert fake.vies_calls == ["DE268519733", "NL123456789B01"]


def test_vies_ms_unavailable_is_retried_then_unavailable(
    fake: FakeRegistry, clock: FakeClock
) -> None:
    fake.vies_unavailable = {"DE"}
    with pytest.raises(RegistryUnavailable) as info:
        vies(fake, clock, retries=2).check("DE268519733")
    assert info.value.reason == "MS_UNAVAILABLE"
    assert fake.vies_calls == ["DE268519733"] * 3
    fake.vies_unavailable = set()
    fake.vies_faults = ["MS_UNAVAILABLE"]
    assert vies(fake, clock).check("DE268519733").valid is True


def test_vies_user_error_shape_and_invalid_input() -> None:
    with pytest.raises(RegistryUnavailable):
        parse_check("DE1", {"isValid": False, "userError": "MS_UNAVAILABLE"})
    assert parse_check("DE1", {"isValid": True, "userError": "VALID", "name": "---"}).valid
    assert (
        parse_check(
            "XX1", {"actionSucceed": False, "errorWrappers": [{"error": "INVALID_INPUT"}]}
        ).user_error
        == "INVALID_INPUT"
    )
    with pytest.raises(RegistryRejected):
        parse_check(
            "DE1", {"actionSucceed": False, "errorWrappers": [{"error": "INVALID_REQUESTER_INFO"}]}
        )


def test_vies_html_and_down(fake: FakeRegistry, clock: FakeClock) -> None:
    fake.vies_faults = ["html", "down", "http500"]
    with pytest.raises(RegistryUnavailable) as info:
        vies(fake, clock, retries=2).check("DE268519733")
    assert info.value.reason == "http_500"
    assert len(fake.vies_calls) == 3


def test_vies_request_body(clock: FakeClock) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200,
            json={
                "countryCode": "EL",
                "vatNumber": "094014201",
                "valid": True,
                "name": "X",
                "address": "Y",
            },
        )

    client = ViesClient(
        BASE, transport=httpx.MockTransport(handler), clock=clock, sleep=clock.sleep
    )
    assert client.check("GR094014201").vat_id == "EL094014201"
    assert str(seen[0].url) == f"{BASE}/check-vat-number"
    assert json.loads(seen[0].content) == {"countryCode": "EL", "vatNumber": "094014201"}


def test_fake_companies_have_valid_cuis() -> None:
    from stripe_efactura.invoicing import ro
    from stripe_efactura.registry.fake import sample_companies

    for c in sample_companies():
        assert ro.validate_cui(c.cui) == c.cui, c
    assert isinstance(
        FakeCompany("18547290", "X", "S", "1", "C", "B", "B", "1").v9_entry("2026-12-01"), dict
    )
