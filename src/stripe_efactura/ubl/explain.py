"""Official validation findings (and ANAF ``nok`` errors) explained in merchant terms.

Each common BR-RO / BR rule maps to the Stripe field that fixes it. Unknown rules still
become a problem with ANAF's own text, so nothing is hidden.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import Problem


@dataclass(frozen=True)
class Fix:
    field: str
    hint: str
    hint_ro: str


ADDRESS = Fix(
    "customer_details.address",
    "Turn on billing address collection in Checkout (billing_address_collection=required) "
    "or add the metadata key `address`, then run `stripe-efactura payments retry`.",
    "Activați colectarea adresei de facturare în Checkout (billing_address_collection="
    "required) sau adăugați cheia de metadata `address`, apoi rulați "
    "`stripe-efactura payments retry`.",
)
COUNTY = Fix(
    "customer_details.address.state",
    "Ask for the county (județ) in the address; for Bucharest write the sector "
    "(e.g. 'Sector 3') in the city or address line.",
    "Cereți județul în adresă; pentru București scrieți sectorul (de ex. 'Sector 3') în "
    "oraș sau în adresă.",
)
BUYER_ID = Fix(
    "metadata.cui",
    "Collect the buyer's CUI (company) with a Checkout custom field or the metadata key "
    "`cui`; individuals may give a CNP or none (0000000000000 is used).",
    "Colectați CUI-ul cumpărătorului (firmă) cu un câmp personalizat în Checkout sau cheia "
    "de metadata `cui`; persoanele fizice pot da CNP sau nimic (se folosește 0000000000000).",
)
SELLER = Fix(
    "efactura.toml [company]",
    "Complete the company profile in efactura.toml (name, CUI, address with county).",
    "Completați profilul firmei în efactura.toml (denumire, CUI, adresă cu județ).",
)
AMOUNTS = Fix(
    "line items",
    "The amounts do not add up; check the line items, taxes and discounts in Stripe.",
    "Sumele nu se potrivesc; verificați produsele, taxele și reducerile în Stripe.",
)
VAT = Fix(
    "efactura.toml [vat]",
    "Check the VAT settings (category, rate, exemption reason) in efactura.toml.",
    "Verificați setările de TVA (categorie, cotă, motiv de scutire) din efactura.toml.",
)

RULES: dict[str, Fix] = {
    "BR-RO-082": ADDRESS,
    "BR-RO-092": ADDRESS,
    "BR-RO-101": COUNTY,
    "BR-RO-111": COUNTY,
    "BR-RO-120": BUYER_ID,
    "BR-RO-081": SELLER,
    "BR-RO-091": SELLER,
    "BR-RO-100": SELLER,
    "BR-RO-110": SELLER,
    "BR-RO-065": SELLER,
    "BR-O-02": VAT,
    "BR-AE-10": VAT,
    "BR-E-10": VAT,
    "BR-S-08": AMOUNTS,
    "BR-CO-10": AMOUNTS,
    "BR-CO-13": AMOUNTS,
    "BR-CO-14": AMOUNTS,
    "BR-CO-15": AMOUNTS,
    "BR-CO-16": AMOUNTS,
    "BR-27": AMOUNTS,
}
GENERIC = Fix(
    "invoice",
    "Read ANAF's message; if the data comes from Stripe, fix it there and retry the payment.",
    "Citiți mesajul ANAF; dacă datele vin din Stripe, corectați-le acolo și reluați plata.",
)


def explain(rule_id: str, message_ro: str, message_en: str, location: str = "") -> Problem:
    fix = RULES.get(rule_id, GENERIC)
    return Problem(
        code=f"V-{rule_id}",
        field=fix.field,
        message_ro=message_ro or message_en,
        message_en=message_en or message_ro,
        hint=fix.hint,
        hint_ro=fix.hint_ro,
        context=(("location", location),) if location else (),
    )


def explain_all(findings: Iterable[object]) -> tuple[Problem, ...]:
    """Findings with ``rule_id``, ``message_ro``, ``message_en`` and ``location``."""
    out = []
    for f in findings:
        out.append(
            explain(
                str(getattr(f, "rule_id", "")),
                str(getattr(f, "message_ro", "") or ""),
                str(getattr(f, "message_en", "") or ""),
                str(getattr(f, "location", "") or ""),
            )
        )
    return tuple(out)
