"""Negative variants of the sample invoice (and credit note), each aimed at specific CIUS-RO /
EN 16931 rules.

``MUTATIONS``: name -> (mutate(root) in place, the exact sorted ``(rule id, flag)`` pairs the
official rules fire on the result). Every variant stays valid against the UBL 2.1 XSD so the
schematron runs.
"""

from __future__ import annotations

from collections.abc import Callable

from lxml import etree

NS = {
    "ubl": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "cn": "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
SELLER = "cac:AccountingSupplierParty/cac:Party"
BUYER = "cac:AccountingCustomerParty/cac:Party"

Mutate = Callable[[etree._Element], None]


def one(root: etree._Element, path: str) -> etree._Element:
    found = root.xpath(path, namespaces=NS)
    assert isinstance(found, list) and found, path
    node = found[0]
    assert isinstance(node, etree._Element)
    return node


def all_of(root: etree._Element, path: str) -> list[etree._Element]:
    found = root.xpath(path, namespaces=NS)
    assert isinstance(found, list) and found, path
    return [n for n in found if isinstance(n, etree._Element)]


def set_text(path: str, value: str) -> Mutate:
    def mutate(root: etree._Element) -> None:
        for node in all_of(root, path):
            node.text = value

    return mutate


def remove(path: str) -> Mutate:
    def mutate(root: etree._Element) -> None:
        for node in all_of(root, path):
            parent = node.getparent()
            assert parent is not None
            parent.remove(node)

    return mutate


def insert_after(path: str, xml: str, times: int = 1) -> Mutate:
    """Insert ``xml`` (cac/cbc prefixes bound) after the first node at ``path``."""

    def mutate(root: etree._Element) -> None:
        anchor = one(root, path)
        wrapper = etree.fromstring(
            f'<w xmlns:cac="{NS["cac"]}" xmlns:cbc="{NS["cbc"]}">{xml * times}</w>'
        )
        for child in reversed(list(wrapper)):
            anchor.addnext(child)

    return mutate


def chain(*steps: Mutate) -> Mutate:
    def mutate(root: etree._Element) -> None:
        for step in steps:
            step(root)

    return mutate


def currency(code: str) -> Mutate:
    def mutate(root: etree._Element) -> None:
        one(root, "cbc:DocumentCurrencyCode").text = code
        for node in root.iter():
            if node.get("currencyID") is not None:
                node.set("currencyID", code)

    return mutate


def category(code: str, percent: str, vat: str, *extra: Mutate) -> Mutate:
    """Every line and the breakdown in category ``code`` at ``percent`` with VAT ``vat``."""
    return chain(
        set_text("//cac:ClassifiedTaxCategory/cbc:ID | //cac:TaxCategory/cbc:ID", code),
        set_text(
            "//cac:ClassifiedTaxCategory/cbc:Percent | //cac:TaxCategory/cbc:Percent", percent
        ),
        set_text("cac:TaxTotal/cbc:TaxAmount | cac:TaxTotal/cac:TaxSubtotal/cbc:TaxAmount", vat),
        set_text("cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount", "50.00"),
        set_text("cac:LegalMonetaryTotal/cbc:PayableAmount", "50.00"),
        *extra,
    )


LONG = "x" * 101
F, W = "fatal", "warning"

MUTATIONS: dict[str, tuple[Mutate, list[tuple[str, str]]]] = {
    "BR-RO-001 old CIUS-RO id": (
        set_text(
            "cbc:CustomizationID",
            "urn:cen.eu:en16931:2017#compliant#urn:efactura.mfinante.ro:CIUS-RO:1.0.0",
        ),
        [("BR-RO-001", F)],
    ),
    "BR-RO-010 number without digit": (set_text("cbc:ID", "SEF-ABC"), [("BR-RO-010", F)]),
    "BR-RO-020 type code 326": (set_text("cbc:InvoiceTypeCode", "326"), [("BR-RO-020_1", F)]),
    "BR-RO-030 EUR without RON tax currency": (currency("EUR"), [("BR-RO-030", F)]),
    "BR-RO-040 VAT point date code 5": (
        insert_after(
            "cbc:DocumentCurrencyCode",
            "<cac:InvoicePeriod><cbc:DescriptionCode>5</cbc:DescriptionCode></cac:InvoicePeriod>",
        ),
        [("BR-CL-06", F), ("BR-RO-040", F)],
    ),
    "BR-RO-065 seller without any id": (
        chain(
            remove(f"{SELLER}/cac:PartyTaxScheme"),
            remove(f"{SELLER}/cac:PartyLegalEntity/cbc:CompanyID"),
        ),
        [("BR-CO-26", F), ("BR-RO-065", F), ("BR-S-02", F)],
    ),
    "BR-RO-081 seller without street": (
        remove(f"{SELLER}/cac:PostalAddress/cbc:StreetName"),
        [("BR-RO-081", F)],
    ),
    "BR-RO-082 buyer without street": (
        remove(f"{BUYER}/cac:PostalAddress/cbc:StreetName"),
        [("BR-RO-082", F)],
    ),
    "BR-RO-091 seller without city": (
        remove(f"{SELLER}/cac:PostalAddress/cbc:CityName"),
        [("BR-RO-091", F)],
    ),
    "BR-RO-092 buyer without city": (
        remove(f"{BUYER}/cac:PostalAddress/cbc:CityName"),
        [("BR-RO-092", F), ("BR-RO-101", F)],
    ),
    "BR-RO-100 seller in Bucharest, city not a sector": (
        chain(
            set_text(f"{SELLER}/cac:PostalAddress/cbc:CountrySubentity", "RO-B"),
            set_text(f"{SELLER}/cac:PostalAddress/cbc:CityName", "Bucuresti"),
        ),
        [("BR-RO-100", F)],
    ),
    "BR-RO-101 buyer in Bucharest, city not a sector": (
        set_text(f"{BUYER}/cac:PostalAddress/cbc:CityName", "Bucuresti Sector 3"),
        [("BR-RO-101", F)],
    ),
    "BR-RO-110 seller county not ISO 3166-2:RO": (
        set_text(f"{SELLER}/cac:PostalAddress/cbc:CountrySubentity", "Cluj"),
        [("BR-RO-110", F)],
    ),
    "BR-RO-111 buyer county not ISO 3166-2:RO": (
        set_text(f"{BUYER}/cac:PostalAddress/cbc:CountrySubentity", "RO-XX"),
        [("BR-RO-111", F)],
    ),
    "BR-RO-120 buyer without id": (
        remove(f"{BUYER}/cac:PartyLegalEntity/cbc:CompanyID"),
        [("BR-RO-120", F)],
    ),
    "BR-RO-140/150/170 tax representative without street, city, county": (
        insert_after(
            "cac:AccountingCustomerParty",
            "<cac:TaxRepresentativeParty>"
            "<cac:PartyName><cbc:Name>Rep SRL</cbc:Name></cac:PartyName>"
            "<cac:PostalAddress><cac:Country><cbc:IdentificationCode>RO</cbc:IdentificationCode>"
            "</cac:Country></cac:PostalAddress>"
            "<cac:PartyTaxScheme><cbc:CompanyID>RO123456</cbc:CompanyID>"
            "<cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme>"
            "</cac:TaxRepresentativeParty>",
        ),
        [("BR-RO-140", F), ("BR-RO-150", F), ("BR-RO-170", F)],
    ),
    "BR-RO-180/201/211 delivery address incomplete": (
        insert_after(
            "cac:AccountingCustomerParty",
            "<cac:Delivery><cac:DeliveryLocation><cac:Address><cac:Country>"
            "<cbc:IdentificationCode>RO</cbc:IdentificationCode></cac:Country></cac:Address>"
            "</cac:DeliveryLocation></cac:Delivery>",
        ),
        [("BR-RO-180", F), ("BR-RO-201", F), ("BR-RO-211", F), ("BR-RO-212", F)],
    ),
    "BR-RO-A020 21 notes": (
        insert_after("cbc:Note", "<cbc:Note>n</cbc:Note>", times=20),
        [("BR-RO-A020", F)],
    ),
    "BR-RO-L0201 seller post code over 20": (
        set_text(f"{SELLER}/cac:PostalAddress/cbc:PostalZone", "1" * 21),
        [("BR-RO-L0201", F)],
    ),
    "BR-RO-L city over 50": (
        set_text(f"{BUYER}/cac:PostalAddress/cbc:CityName", "C" * 51),
        [("BR-RO-101", F), ("BR-RO-L0502", F)],
    ),
    "BR-RO-L item name over 100": (
        set_text("cac:InvoiceLine[1]/cac:Item/cbc:Name", LONG),
        [("BR-RO-L1024", F)],
    ),
    "BR-RO-L note over 300": (set_text("cbc:Note", "n" * 301), [("BR-RO-L302", F)]),
    "BR-RO-L invoice number over 200": (set_text("cbc:ID", "1" * 201), [("BR-RO-L155", F)]),
    "BR-RO-L seller street over 150": (
        set_text(f"{SELLER}/cac:PostalAddress/cbc:StreetName", "S" * 151),
        [("BR-RO-L151", F)],
    ),
    "BR-DEC-RO three decimals on payable amount": (
        set_text("cac:LegalMonetaryTotal/cbc:PayableAmount", "60.500"),
        [("BR-DEC-18", F), ("BR-DEC-RO-18", F), ("UBL-DT-01", F)],
    ),
    "BR-RO-DT001 issue date with time zone": (
        set_text("cbc:IssueDate", "2026-11-20Z"),
        [("BR-RO-DT001", F)],
    ),
    "BR-RO-DT003 due date with offset": (
        set_text("cbc:DueDate", "2026-11-20+02:00"),
        [("BR-RO-DT003", F)],
    ),
    "BR-27 negative item price": (
        set_text("cac:InvoiceLine[1]/cac:Price/cbc:PriceAmount", "-12.50"),
        [("BR-27", F)],
    ),
    "BR-O-02 not subject to VAT with seller VAT id": (
        category(
            "O",
            "0",
            "0.00",
            remove("//cac:ClassifiedTaxCategory/cbc:Percent | //cac:TaxCategory/cbc:Percent"),
            insert_after(
                "cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:ID",
                "<cbc:TaxExemptionReasonCode>VATEX-EU-O</cbc:TaxExemptionReasonCode>",
            ),
        ),
        [("BR-O-02", F)],
    ),
    "BR-AE-10 reverse charge without exemption reason": (
        category("AE", "0", "0.00"),
        [("BR-AE-10", F)],
    ),
    "BR-E-10 exempt without exemption reason": (category("E", "0", "0.00"), [("BR-E-10", F)]),
    "BR-Z-05 zero rated with a rate": (
        category("Z", "9", "0.00"),
        [("BR-CO-17", F), ("BR-Z-05", F), ("BR-Z-05", F)],
    ),
    "BR-S-08 taxable amount off": (
        set_text("cac:TaxTotal/cac:TaxSubtotal/cbc:TaxableAmount", "49.00"),
        [("BR-S-08", F)],
    ),
    "BR-CO-10 line sum off": (
        set_text("cac:LegalMonetaryTotal/cbc:LineExtensionAmount", "49.99"),
        [("BR-CO-10", F), ("BR-CO-13", F)],
    ),
    "BR-CO-15 total with VAT off": (
        set_text("cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount", "60.51"),
        [("BR-CO-15", F), ("BR-CO-16", F)],
    ),
    "BR-CO-09 seller VAT id without country prefix": (
        set_text(f"{SELLER}/cac:PartyTaxScheme/cbc:CompanyID", "18547290"),
        [("BR-CO-09", F)],
    ),
    "BR-06 seller without name": (
        remove(f"{SELLER}/cac:PartyLegalEntity/cbc:RegistrationName"),
        [("BR-06", F)],
    ),
    "BR-CL-23 unknown unit code": (
        lambda root: one(root, "cac:InvoiceLine[1]/cbc:InvoicedQuantity").set("unitCode", "FOO"),
        [("BR-CL-23", F)],
    ),
    "UBL-CR-005 UUID present": (
        insert_after("cbc:ID", "<cbc:UUID>1234</cbc:UUID>"),
        [("UBL-CR-005", W)],
    ),
    "BR-RO-L email over 100": (
        set_text(f"{SELLER}/cac:Contact/cbc:ElectronicMail", "a" * 95 + "@example.ro"),
        [("BR-RO-L1006", F)],
    ),
}

CREDIT_NOTE_MUTATIONS: dict[str, tuple[Mutate, list[tuple[str, str]]]] = {
    "BR-RO-020_2 credit note type 326": (
        set_text("cbc:CreditNoteTypeCode", "326"),
        [("BR-CL-01", F), ("BR-RO-020_2", F)],
    ),
    "BR-RO-082 credit note buyer without street": (
        remove(f"{BUYER}/cac:PostalAddress/cbc:StreetName"),
        [("BR-RO-082", F)],
    ),
    "BR-27 credit note negative item price": (
        set_text("cac:CreditNoteLine/cac:Price/cbc:PriceAmount", "-12.50"),
        [("BR-27", F)],
    ),
    "BR-RO-L credit note item name over 100": (
        set_text("cac:CreditNoteLine/cac:Item/cbc:Name", LONG),
        [("BR-RO-L1024", F)],
    ),
}
