"""Sales taxed in another member state through the One-Stop-Shop (pure).

A VAT-registered Romanian seller selling goods at a distance or telecommunication, broadcasting
and electronic (and, since 2021, all) services to consumers in other member states owes, above
the EU-wide 10 000 EUR threshold, the VAT of the member state of consumption; under the Union
scheme it declares and pays it in Romania, quarterly, in EUR (Fiscal Code art. 315, Directive
2006/112 art. 369a-369k; the invoicing rules are Romania's, art. 219a of the Directive). Stripe
Tax computes that VAT; the builder keeps its rate and names the member state
(:attr:`..model.Invoice.vat_country`) with the mention :func:`notes` returns.

Such a sale carries no Romanian VAT, so it is outside RO e-Factura's scope: it is uploaded only
when the merchant opts in (``[vat] upload_oss``). The quarterly OSS return is
``stripe-efactura oss-report`` (:mod:`stripe_efactura.app.oss_report`).
"""

from __future__ import annotations

from collections.abc import Iterable

from .line_vat import LineTax

MEMBER_STATES_RO: dict[str, str] = {
    "AT": "Austria", "BE": "Belgia", "BG": "Bulgaria", "HR": "Croația", "CY": "Cipru",
    "CZ": "Cehia", "DK": "Danemarca", "EE": "Estonia", "FI": "Finlanda", "FR": "Franța",
    "DE": "Germania", "GR": "Grecia", "HU": "Ungaria", "IE": "Irlanda", "IT": "Italia",
    "LV": "Letonia", "LT": "Lituania", "LU": "Luxemburg", "MT": "Malta", "NL": "Țările de Jos",
    "PL": "Polonia", "PT": "Portugalia", "RO": "România", "SK": "Slovacia", "SI": "Slovenia",
    "ES": "Spania", "SE": "Suedia",
}  # fmt: skip
"""The member states' names in Romanian (ISO codes; Greece is ``GR``)."""


def vat_country(taxed: Iterable[LineTax]) -> str | None:
    """The member state of the first line taxed through the One-Stop-Shop, or None."""
    return next((t.oss_country for t in taxed if t.oss_country), None)


def notes(country: str | None) -> tuple[str, ...]:
    """BT-22: the mention of an OSS invoice (the member state whose VAT it charges)."""
    if country is None:
        return ()
    name = MEMBER_STATES_RO.get(country, country)
    text = f"TVA datorată în statul membru de consum: {name} ({country}), regimul special OSS"
    return (f"{text} (schema UE, art. 315 Cod fiscal).",)
