"""The words of the invoice PDF: Romanian labels, and their English for buyers outside Romania.

An invoice for a buyer outside Romania is bilingual: every label reads ``Romanian / English``
(``Data emiterii / Issue date``). The Romanian text is the legal one and always comes first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..invoicing.model import VatCategory
from .vat_english import vat_english

COUNTY_NAMES: dict[str, str] = {
    "RO-AB": "Alba", "RO-AR": "Arad", "RO-AG": "Argeș", "RO-BC": "Bacău", "RO-BH": "Bihor",
    "RO-BN": "Bistrița-Năsăud", "RO-BT": "Botoșani", "RO-BV": "Brașov", "RO-BR": "Brăila",
    "RO-B": "București", "RO-BZ": "Buzău", "RO-CS": "Caraș-Severin", "RO-CL": "Călărași",
    "RO-CJ": "Cluj", "RO-CT": "Constanța", "RO-CV": "Covasna", "RO-DB": "Dâmbovița",
    "RO-DJ": "Dolj", "RO-GL": "Galați", "RO-GR": "Giurgiu", "RO-GJ": "Gorj",
    "RO-HR": "Harghita", "RO-HD": "Hunedoara", "RO-IL": "Ialomița", "RO-IS": "Iași",
    "RO-IF": "Ilfov", "RO-MM": "Maramureș", "RO-MH": "Mehedinți", "RO-MS": "Mureș",
    "RO-NT": "Neamț", "RO-OT": "Olt", "RO-PH": "Prahova", "RO-SM": "Satu Mare",
    "RO-SJ": "Sălaj", "RO-SB": "Sibiu", "RO-SV": "Suceava", "RO-TR": "Teleorman",
    "RO-TM": "Timiș", "RO-TL": "Tulcea", "RO-VS": "Vaslui", "RO-VL": "Vâlcea",
    "RO-VN": "Vrancea",
}  # fmt: skip
"""ISO 3166-2:RO subdivision code -> county name."""

COUNTRY_NAMES: dict[str, str] = {
    "RO": "România", "AT": "Austria", "BE": "Belgia", "BG": "Bulgaria", "HR": "Croația",
    "CY": "Cipru", "CZ": "Cehia", "DK": "Danemarca", "EE": "Estonia", "FI": "Finlanda",
    "FR": "Franța", "DE": "Germania", "GR": "Grecia", "HU": "Ungaria", "IE": "Irlanda",
    "IT": "Italia", "LV": "Letonia", "LT": "Lituania", "LU": "Luxemburg", "MT": "Malta",
    "NL": "Țările de Jos", "PL": "Polonia", "PT": "Portugalia", "SK": "Slovacia",
    "SI": "Slovenia", "ES": "Spania", "SE": "Suedia", "GB": "Regatul Unit", "US": "SUA",
    "CH": "Elveția", "NO": "Norvegia", "MD": "Republica Moldova", "UA": "Ucraina",
    "RS": "Serbia", "TR": "Turcia", "CA": "Canada",
}  # fmt: skip
"""ISO 3166-1 alpha-2 -> Romanian country name (others print as the code)."""

UNIT_LABELS: dict[str, str] = {
    "H87": "buc", "C62": "buc", "EA": "buc", "XPP": "buc", "SET": "set", "PR": "pereche",
    "HUR": "oră", "MIN": "min", "DAY": "zi", "WEE": "săpt.", "MON": "lună", "ANN": "an",
    "E48": "serv.", "ACT": "activ.", "KGM": "kg", "GRM": "g", "TNE": "t", "MTR": "m",
    "MTK": "m²", "MTQ": "m³", "LTR": "l", "KWH": "kWh", "KMT": "km",
}  # fmt: skip
"""UN/ECE rec. 20 unit code -> Romanian abbreviation (others print as the code)."""

VAT_LABELS: dict[VatCategory, str] = {
    VatCategory.EXEMPT: "scutit",
    VatCategory.REVERSE_CHARGE: "taxare inversă",
    VatCategory.INTRA_COMMUNITY: "scutit (intracom.)",
    VatCategory.EXPORT: "scutit (export)",
    VatCategory.NOT_SUBJECT: "neimpozabil",
}

VAT_MENTIONS: dict[VatCategory, str] = {
    VatCategory.EXEMPT: "Scutit de TVA",
    VatCategory.REVERSE_CHARGE: "Taxare inversă",
    VatCategory.INTRA_COMMUNITY: "Livrare intracomunitară scutită de TVA",
    VatCategory.EXPORT: "Export scutit de TVA",
    VatCategory.NOT_SUBJECT: "Operațiune care nu intră în sfera de aplicare a TVA",
}


SECTOR = re.compile(r"^\s*SECTOR\s*([1-6])\s*$", re.IGNORECASE)

ENGLISH: dict[str, str] = {
    "FACTURĂ": "INVOICE",
    "FACTURĂ STORNO": "CORRECTIVE INVOICE (STORNO)",
    "NOTĂ DE CREDIT": "CREDIT NOTE",
    "Data emiterii": "Issue date",
    "Data scadenței": "Due date",
    "Data încasării": "Payment date",
    "Perioada facturată": "Billing period",
    "Perioada": "Period",
    "Moneda": "Currency",
    "Furnizor": "Supplier",
    "Cumpărător": "Customer",
    "Adresa": "Address",
    "Reg. Com.": "Trade register",
    "Capital social": "Share capital",
    "Banca": "Bank",
    "Telefon": "Phone",
    "Nr. identificare": "ID no.",
    "Cod TVA": "VAT ID",
    "TVA la încasare": "VAT on collection",
    "Neplătitor de TVA": "Not registered for VAT",
    "Nr.": "No.",
    "Denumirea produselor sau a serviciilor": "Goods or services",
    "U.M.": "Unit",
    "Cant.": "Qty",
    "Preț unitar fără TVA": "Unit price excl. VAT",
    "Valoare": "Amount",
    "Cota TVA": "VAT rate",
    "Valoare TVA": "VAT",
    "Bază impozabilă": "Taxable amount",
    "TVA": "VAT",
    "Total fără TVA": "Total excl. VAT",
    "Total factură": "Invoice total",
    "Achitat": "Paid",
    "Rambursat": "Refunded",
    "Total de plată": "Amount due",
    "Stornează factura": "Reverses invoice",
    "Comanda": "Order",
    "Referința cumpărătorului": "Buyer reference",
    "pagina": "page",
    "din": "of",
    "Scutit de TVA": "VAT exempt",
    "Taxare inversă": "Reverse charge",
    "Livrare intracomunitară scutită de TVA": "Exempt intra-Community supply",
    "Export scutit de TVA": "Exempt export",
    "Operațiune care nu intră în sfera de aplicare a TVA": "Outside the scope of VAT",
    "Furnizor neînregistrat în scopuri de TVA": "Supplier not registered for VAT",
    "Rambursat prin Stripe": "Refunded via Stripe",
    "Achitat prin Stripe": "Paid via Stripe",
    "Achitat cu cardul prin Stripe": "Paid by card via Stripe",
    "Achitat prin debit direct prin Stripe": "Paid by direct debit via Stripe",
    "Achitat prin transfer bancar prin Stripe": "Paid by bank transfer via Stripe",
    "referință": "reference",
    "TVA în RON": "VAT in RON",
}
"""Romanian label -> English, for the bilingual invoice of a buyer outside Romania."""


@dataclass(frozen=True)
class Words:
    """The labels of one PDF: Romanian, or ``Romanian / English`` when ``bilingual``."""

    bilingual: bool = False

    def __call__(self, ro: str) -> str:
        """``"Data emiterii"`` -> ``"Data emiterii / Issue date"`` on a bilingual invoice."""
        english = self.english(ro)
        return f"{ro} / {english}" if english else ro

    def english(self, ro: str) -> str | None:
        """The English of ``ro`` on a bilingual invoice (labels, and the VAT mentions the
        builder writes), else ``None``."""
        if not self.bilingual:
            return None
        return ENGLISH.get(ro) or vat_english(ro)
