"""BG-13/BG-15 delivery: written only when the model has it, placed and cut like addresses."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from lxml import etree

from factories.ubl_cases import (
    COMPANY_BUCHAREST,
    EU_INTRA_COMMUNITY_GOODS_EUR,
    EU_REVERSE_CHARGE_EUR,
    K_INTRA_EU,
    WAREHOUSE_HAMBURG,
    Validator,
    line,
    storno_of,
)
from stripe_efactura.invoicing.model import Address
from stripe_efactura.ubl.render import render

NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
ADDRESS = "//cac:Delivery/cac:DeliveryLocation/cac:Address"
K = EU_INTRA_COMMUNITY_GOODS_EUR


def texts(xml: bytes, path: str) -> list[str]:
    return [e.text or "" for e in etree.fromstring(xml).xpath(path, namespaces=NS)]


def names(xml: bytes, path: str) -> list[str]:
    return [etree.QName(e).localname for e in etree.fromstring(xml).xpath(path, namespaces=NS)]


def after_customer(xml: bytes) -> list[str]:
    """The names of the two root children that follow AccountingCustomerParty."""
    top = names(xml, "/*/*")
    i = top.index("AccountingCustomerParty")
    return top[i + 1 : i + 3]


def rule_ids(findings: list[str]) -> list[str]:
    return [f.split(":")[0] for f in findings]


def delivered_to(address: Address) -> bytes:
    return render(replace(K, delivery_address=address))


def test_no_delivery_fields_means_no_delivery_element() -> None:
    assert EU_REVERSE_CHARGE_EUR.delivery_date is None
    assert EU_REVERSE_CHARGE_EUR.delivery_address is None
    assert b"Delivery" not in render(EU_REVERSE_CHARGE_EUR)


def test_delivery_follows_the_customer_and_precedes_payment_means() -> None:
    xml = render(K)
    assert after_customer(xml) == ["Delivery", "PaymentMeans"]
    assert names(xml, "//cac:Delivery/*") == ["ActualDeliveryDate", "DeliveryLocation"]
    assert texts(xml, f"{ADDRESS}/descendant::*[not(*)]") == [
        "Am Sandtorkai 50",
        "Lagerhalle 3, Tor 5",
        "Hamburg",
        "20457",
        "Hamburg",
        "DE",
    ]


def test_date_alone_gives_a_delivery_without_location() -> None:
    xml = render(replace(K, delivery_address=None))
    assert names(xml, "//cac:Delivery/*") == ["ActualDeliveryDate"]
    assert texts(xml, "//cbc:ActualDeliveryDate") == ["2026-11-19"]


def test_k_without_delivery_fails_br_ic_11_and_12(cius_ro: Validator) -> None:
    """The gate the new element closes: a K invoice without BG-13/BG-15 is rejected."""
    bare = replace(K, delivery_date=None, delivery_address=None)
    assert rule_ids(cius_ro(render(bare))) == ["BR-IC-11", "BR-IC-12"]


def test_foreign_address_without_region_repeats_the_city(
    cius_ro: Validator, ubl_xsd: Validator
) -> None:
    # given a German delivery address without a region (Stripe does not ask for one in DE)
    xml = delivered_to(replace(WAREHOUSE_HAMBURG, county=None, city="Hamburg-HafenCity"))
    # then BT-79 repeats the city, which BR-RO-211 accepts, and nothing is fatal
    assert texts(xml, f"{ADDRESS}/cbc:CountrySubentity") == ["Hamburg-HafenCity"]
    assert ubl_xsd(xml) == []
    assert cius_ro(xml) == []


def test_buyer_postal_address_gets_no_invented_region() -> None:
    buyer = replace(K.buyer, address=replace(K.buyer.address, county=None))
    xml = render(replace(K, buyer=buyer))
    assert texts(xml, "//cac:AccountingCustomerParty//cbc:CountrySubentity") == []


def test_romanian_address_without_county_is_not_invented(cius_ro: Validator) -> None:
    ro = Address(line1="Str. Depozitului 1", city="Ploiești", country="RO")
    xml = delivered_to(ro)
    assert texts(xml, f"{ADDRESS}/cbc:CountrySubentity") == []
    assert rule_ids(cius_ro(xml)) == ["BR-RO-211", "BR-RO-212"]


def test_bucharest_delivery_needs_a_sector(cius_ro: Validator) -> None:
    good = COMPANY_BUCHAREST.address
    assert cius_ro(delivered_to(good)) == []
    assert rule_ids(cius_ro(delivered_to(replace(good, city="București")))) == ["BR-RO-202"]


def test_delivery_address_is_cut_like_the_party_addresses(cius_ro: Validator) -> None:
    long = Address(
        line1="Industriestraße " + "sehr lange Zufahrt " * 10,
        line2="Halle " + "B" * 120,
        city="Frankfurt am Main " + "Ost Gewerbegebiet " * 4,
        postal_code="D-60314 " + "9" * 30,
        country="DE",
    )
    xml = delivered_to(long)
    street, street2, city, postal, region, country = texts(xml, f"{ADDRESS}/descendant::*[not(*)]")
    # word cut + "…" at 150 / 100 / 50, hard cut at 20, as for BG-5 and BG-8
    assert street == "Industriestraße " + ("sehr lange Zufahrt " * 7).strip() + "…"
    assert street2 == "Halle " + "B" * 93 + "…"
    assert city == "Frankfurt am Main Ost Gewerbegebiet Ost…"
    assert postal == "D-60314 999999999999"
    assert (len(street), len(street2), len(city)) == (149, 100, 40)
    assert (region, country) == (city, "DE")
    assert cius_ro(xml) == []


def test_k_storno_as_credit_note_keeps_the_delivery(cius_ro: Validator, ubl_xsd: Validator) -> None:
    storno = storno_of(
        K,
        "NDG0000190",
        date(2026, 11, 27),
        (line("1", "Tastatură mecanică artizanală", "-1", "185.00", K_INTRA_EU),),
        "re_3QxK1l2M3n4O5p6Q0r1S2t",
        "Stornare parțială a facturii NDG0000109 din 20.11.2026",
    )
    for credit_note in (False, True):
        xml = render(storno, credit_note=credit_note)
        assert after_customer(xml) == ["Delivery", "PaymentMeans"]
        assert texts(xml, "//cbc:ActualDeliveryDate") == ["2026-11-19"]
        assert ubl_xsd(xml) == []
        assert cius_ro(xml) == []
