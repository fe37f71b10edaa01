"""A small CIUS-RO-valid UBL invoice written for these tests (and bench/ubl_validate.py).

``invoice_xml(lines=n)``: seller in Cluj, buyer in Bucharest sector 3, RON, ``n`` lines of
2 x 12.50 at 21 % (S): every line 25.00 net, 5.25 VAT. ``credit_note_xml`` is the same as a
UBL CreditNote (381).
"""

from __future__ import annotations

from decimal import Decimal

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
 xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
 xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
<cbc:CustomizationID>urn:cen.eu:en16931:2017#compliant#urn:efactura.mfinante.ro:CIUS-RO:1.0.1</cbc:CustomizationID>
<cbc:ID>SEF000123</cbc:ID>
<cbc:IssueDate>2026-11-20</cbc:IssueDate>
<cbc:DueDate>2026-11-20</cbc:DueDate>
<cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>
<cbc:Note>Plata prin Stripe pi_3Q0example</cbc:Note>
<cbc:DocumentCurrencyCode>RON</cbc:DocumentCurrencyCode>
<cac:AccountingSupplierParty><cac:Party>
<cac:PostalAddress><cbc:StreetName>Str. Memorandumului nr. 28</cbc:StreetName>
<cbc:CityName>Cluj-Napoca</cbc:CityName><cbc:PostalZone>400114</cbc:PostalZone>
<cbc:CountrySubentity>RO-CJ</cbc:CountrySubentity>
<cac:Country><cbc:IdentificationCode>RO</cbc:IdentificationCode></cac:Country></cac:PostalAddress>
<cac:PartyTaxScheme><cbc:CompanyID>RO18547290</cbc:CompanyID>
<cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme>
<cac:PartyLegalEntity><cbc:RegistrationName>Firma Mea SRL</cbc:RegistrationName>
<cbc:CompanyID>J12/1234/2020</cbc:CompanyID></cac:PartyLegalEntity>
<cac:Contact><cbc:ElectronicMail>contabilitate@example.ro</cbc:ElectronicMail></cac:Contact>
</cac:Party></cac:AccountingSupplierParty>
<cac:AccountingCustomerParty><cac:Party>
<cac:PostalAddress><cbc:StreetName>Bd. Unirii nr. 1</cbc:StreetName>
<cbc:CityName>SECTOR3</cbc:CityName><cbc:CountrySubentity>RO-B</cbc:CountrySubentity>
<cac:Country><cbc:IdentificationCode>RO</cbc:IdentificationCode></cac:Country></cac:PostalAddress>
<cac:PartyLegalEntity><cbc:RegistrationName>Ion Popescu</cbc:RegistrationName>
<cbc:CompanyID>0000000000000</cbc:CompanyID></cac:PartyLegalEntity>
</cac:Party></cac:AccountingCustomerParty>
<cac:PaymentMeans><cbc:PaymentMeansCode>54</cbc:PaymentMeansCode></cac:PaymentMeans>
<cac:TaxTotal><cbc:TaxAmount currencyID="RON">{vat}</cbc:TaxAmount>
<cac:TaxSubtotal><cbc:TaxableAmount currencyID="RON">{net}</cbc:TaxableAmount>
<cbc:TaxAmount currencyID="RON">{vat}</cbc:TaxAmount>
<cac:TaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>21</cbc:Percent>
<cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:TaxCategory></cac:TaxSubtotal></cac:TaxTotal>
<cac:LegalMonetaryTotal><cbc:LineExtensionAmount currencyID="RON">{net}</cbc:LineExtensionAmount>
<cbc:TaxExclusiveAmount currencyID="RON">{net}</cbc:TaxExclusiveAmount>
<cbc:TaxInclusiveAmount currencyID="RON">{gross}</cbc:TaxInclusiveAmount>
<cbc:PayableAmount currencyID="RON">{gross}</cbc:PayableAmount></cac:LegalMonetaryTotal>
"""

LINE = """<cac:InvoiceLine><cbc:ID>{n}</cbc:ID>
<cbc:InvoicedQuantity unitCode="H87">2</cbc:InvoicedQuantity>
<cbc:LineExtensionAmount currencyID="RON">25.00</cbc:LineExtensionAmount>
<cac:Item><cbc:Name>Abonament lunar {n}</cbc:Name>
<cac:ClassifiedTaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>21</cbc:Percent>
<cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:ClassifiedTaxCategory></cac:Item>
<cac:Price><cbc:PriceAmount currencyID="RON">12.50</cbc:PriceAmount></cac:Price>
</cac:InvoiceLine>
"""


def credit_note_xml(lines: int = 1) -> bytes:
    """The same document as a UBL CreditNote (type 381) with its own number."""
    text = invoice_xml(lines).decode("utf-8")
    text = text.replace("xsd:Invoice-2", "xsd:CreditNote-2").replace("<Invoice ", "<CreditNote ")
    text = text.replace("</Invoice>", "</CreditNote>").replace("InvoiceLine>", "CreditNoteLine>")
    text = text.replace("InvoicedQuantity", "CreditedQuantity")
    text = text.replace("<cbc:DueDate>2026-11-20</cbc:DueDate>\n", "")
    text = text.replace(
        "<cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>",
        "<cbc:CreditNoteTypeCode>381</cbc:CreditNoteTypeCode>",
    )
    text = text.replace("SEF000123", "SEF000124")
    return text.encode("utf-8")


def invoice_xml(lines: int = 2) -> bytes:
    net = Decimal("25.00") * lines
    vat = Decimal("5.25") * lines
    head = HEAD.format(net=f"{net:.2f}", vat=f"{vat:.2f}", gross=f"{net + vat:.2f}")
    body = "".join(LINE.format(n=i + 1) for i in range(lines))
    return (head + body + "</Invoice>\n").encode("utf-8")
