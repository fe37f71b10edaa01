"""Fixtures for the ANAF client/fake tests: a fixed clock, the fake app, a client wired to it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from stripe_efactura.anaf.client import AnafClient
from stripe_efactura.anaf.fake import FakeAnafState, FakeAnafTransport, FakeClock, create_fake_anaf

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # 12:00 in Bucharest
SELLER = "12345678"
BASE = "http://anaf.fake"


def invoice_xml(
    number: str = "STR-0001",
    issue_date: str = "2026-03-02",
    seller: str = f"RO{SELLER}",
    *,
    with_id: bool = True,
) -> bytes:
    """A small UBL invoice: enough for the fake's checks (BT-1, BT-2, seller and buyer ids)."""
    id_line = f"  <cbc:ID>{number}</cbc:ID>\n" if with_id else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"'
        ' xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"'
        ' xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">\n'
        "  <cbc:CustomizationID>urn:cen.eu:en16931:2017#compliant#urn:efactura.mfinante.ro:"
        "CIUS-RO:1.0.1</cbc:CustomizationID>\n"
        f"{id_line}"
        f"  <cbc:IssueDate>{issue_date}</cbc:IssueDate>\n"
        "  <cac:AccountingSupplierParty><cac:Party><cac:PartyTaxScheme>"
        f"<cbc:CompanyID>{seller}</cbc:CompanyID>"
        "<cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme>"
        "</cac:Party></cac:AccountingSupplierParty>\n"
        "  <cac:AccountingCustomerParty><cac:Party><cac:PartyLegalEntity>"
        "<cbc:CompanyID>87654321</cbc:CompanyID></cac:PartyLegalEntity>"
        "</cac:Party></cac:AccountingCustomerParty>\n"
        "</Invoice>\n"
    ).encode()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def state(clock: FakeClock) -> FakeAnafState:
    return FakeAnafState(clock=clock, processing_polls=1, processing_delay=None)


@pytest.fixture
def transport(state: FakeAnafState) -> FakeAnafTransport:
    return FakeAnafTransport(create_fake_anaf(state))


@pytest.fixture
def token(state: FakeAnafState) -> dict[str, str]:
    """A mutable holder for the access token the client sends."""
    return {"access": str(state.mint_tokens()["access_token"])}


@pytest.fixture
def client(transport: FakeAnafTransport, token: dict[str, str]) -> Iterator[AnafClient]:
    with AnafClient(
        BASE, "test", lambda: token["access"], transport=transport, timeout=5.0, public_base=BASE
    ) as anaf:
        yield anaf
