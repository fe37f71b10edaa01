"""The registry's answer applied to a buyer (pure).

- :func:`registry_layer`: ANAF's record as the last buyer layer: it fills only what no Stripe
  source (or merchant override) gave. Its registered office is one whole address, chosen only
  when no source has a street; its official name is a *business* name, so it comes before a
  person's name from Stripe (the card holder) but after a company name Stripe holds. The
  invoice never shows a card holder's name next to the company's CUI and registered office.
- :func:`taxpayer_problems`: an unknown CUI, an inactive or struck-off taxpayer.
- :func:`with_registry`: the built invoice with the buyer's VAT id as the registry says (``RO``
  + CUI for a VAT payer, none otherwise) and the registry answers on the snapshot.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from ..errors import Problem
from ..invoicing.draft import AddressDraft, BuyerField, BuyerLayer, Sourced
from ..invoicing.model import BuyerKind, BuyerRegistry, Invoice, Party, VatCategory
from ..invoicing.problems import problem
from .anaf_public import Taxpayer
from .vies import VatCheck

SOURCE = "anaf_registry"


def registry_layer(t: Taxpayer) -> BuyerLayer:
    fields: dict[BuyerField, Sourced] = {}
    if t.name:
        fields[BuyerField.BUSINESS_NAME] = Sourced(t.name, f"{SOURCE}.denumire")
    if t.trade_register:
        fields[BuyerField.REG_COM] = Sourced(t.trade_register, f"{SOURCE}.nrRegCom")
    addresses: tuple[AddressDraft, ...] = ()
    if t.address is not None:
        a = t.address
        addresses = (
            AddressDraft(
                source=f"{SOURCE}.adresa_sediu_social",
                line1=a.line1,
                line2=a.line2,
                city=a.city,
                state=a.county,
                postal_code=a.postal_code,
                country=a.country,
            ),
        )
    return BuyerLayer(SOURCE, fields=fields, addresses=addresses)


def romanian_cui(party: Party | None) -> str | None:
    """The CUI to look up: a company buyer identified by a Romanian CUI."""
    if party is None or party.kind is not BuyerKind.COMPANY:
        return None
    legal = party.legal_id or ""
    if not legal.isdigit() or (party.vat_id and not party.vat_id.startswith("RO")):
        return None
    return legal


def taxpayer_problems(
    cui: str, record: Taxpayer | None, day: date, source: str
) -> tuple[Problem, ...]:
    if record is None:
        return (problem("P-BUYER-CUI-UNKNOWN", value=cui, source=source, day=day.isoformat()),)
    if record.deregistered_on or record.inactive:
        struck = bool(record.deregistered_on)
        return (
            problem(
                "P-BUYER-INACTIVE",
                value=cui,
                name=record.name,
                day=day.isoformat(),
                state_ro="radiată" if struck else "inactivă",
                state_en="struck off" if struck else "inactive",
            ),
        )
    return ()


def needs_vies(invoice: Invoice) -> str | None:
    """The buyer's EU VAT id when the invoice exempts the supply (K) or reverse-charges it
    (AE) because of it: VIES must confirm it first."""
    vat_id = invoice.buyer.vat_id or ""
    if not vat_id or vat_id.startswith("RO") or not vat_id[:2].isalpha():
        return None
    special = {VatCategory.REVERSE_CHARGE, VatCategory.INTRA_COMMUNITY}
    if not any(b.tax.category in special for b in invoice.vat_breakdown):
        return None
    return vat_id


def vies_problems(check: VatCheck, day: date) -> tuple[Problem, ...]:
    if check.valid:
        return ()
    return (problem("P-VAT-ID-NOT-IN-VIES", value=check.vat_id, day=day.isoformat()),)


def with_registry(
    invoice: Invoice, day: date, taxpayer: Taxpayer | None, check: VatCheck | None
) -> Invoice:
    """``invoice`` with the buyer's VAT id per ANAF's registry and the answers recorded."""
    answers: list[BuyerRegistry] = []
    buyer = invoice.buyer
    if taxpayer is not None:
        vat_id = f"RO{taxpayer.cui}" if taxpayer.vat_payer else None
        buyer = replace(buyer, vat_id=vat_id)
        answers.append(
            BuyerRegistry(
                source="anaf",
                day=day,
                vat_payer=taxpayer.vat_payer,
                vat_on_collection=taxpayer.vat_on_collection,
            )
        )
    if check is not None:
        answers.append(
            BuyerRegistry(
                source="vies",
                day=day,
                vies_valid=check.valid,
                vies_request_identifier=check.request_identifier,
            )
        )
    if not answers:
        return invoice
    return replace(invoice, buyer=buyer, buyer_registry=tuple(answers))
