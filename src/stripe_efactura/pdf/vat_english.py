"""English for the VAT mentions on the bilingual PDF of a buyer outside Romania (pure).

The Romanian mention is the legal one and is printed first; the English follows it
(``Neimpozabil în România conform art. 278 alin. (2) Cod fiscal / Not subject to VAT in
Romania (Fiscal Code art. 278 (2))``). The fixed mentions of :mod:`..invoicing.vat` are listed;
the per-VATEX-code mentions, which cite Directive 2006/112/CE, are translated by their pattern.
A mention a merchant typed is left in Romanian only.
"""

from __future__ import annotations

import re

from ..invoicing import vat

_FIXED: dict[str, str] = {
    vat.REASON_SERVICES_OUTSIDE_RO: "Not subject to VAT in Romania (Fiscal Code art. 278 (2))",
    vat.REASON_NOT_TAXABLE_RO: (
        "Not subject to VAT in Romania: place of supply outside Romania (Fiscal Code art. 275-278)"
    ),
    vat.REASON_NON_PAYER: (
        "Supplier not registered for VAT (small-enterprise scheme, Fiscal Code art. 310)"
    ),
    vat.REASON_REVERSE_EU_SERVICES: (
        "Reverse charge (Fiscal Code art. 278 (2); Directive 2006/112/EC art. 196)"
    ),
    vat.REASON_REVERSE_DOMESTIC: "Reverse charge (Fiscal Code art. 331 (2))",
    "Scutit cu drept de deducere: livrare intracomunitară, art. 294 alin. (2) lit. a) Cod fiscal": (
        "Exempt with right of deduction: intra-Community supply, Fiscal Code art. 294 (2) (a)"
    ),
    "Scutit cu drept de deducere: export, art. 294 alin. (1) lit. a) Cod fiscal": (
        "Exempt with right of deduction: export, Fiscal Code art. 294 (1) (a)"
    ),
    "Scutit fără drept de deducere conform art. 292 alin. (1) Cod fiscal "
    "(art. 132 Directiva 2006/112/CE)": (
        "Exempt without right of deduction, Fiscal Code art. 292 (1) "
        "(Directive 2006/112/EC art. 132)"
    ),
    "Regimul marjei - agenții de turism": "Margin scheme - travel agents",
    "Regimul marjei - bunuri second-hand": "Margin scheme - second-hand goods",
    "Regimul marjei - opere de artă": "Margin scheme - works of art",
    "Regimul marjei - obiecte de colecție și antichități": (
        "Margin scheme - collector's items and antiques"
    ),
}

_HEADS = {
    "Scutit fără drept de deducere": "Exempt without right of deduction",
    "Scutit cu drept de deducere": "Exempt with right of deduction",
    "Scutit la import": "Exempt on importation",
    "Scutit": "Exempt",
    "Exclus din baza de impozitare": "Excluded from the taxable amount",
}
_DIRECTIVE = re.compile(
    r"^(?P<head>.+?) conform art\. (?P<art>\d+)(?: alin\. \((?P<par>\d)\))?"
    r"(?: lit\. (?P<let>[a-z]+)\))? din Directiva 2006/112/CE(?P<tail>.*)$"
)
_TAILS = {"": "", " (agenții de turism, în afara UE)": " (travel agents, outside the EU)"}


def vat_english(ro: str) -> str | None:
    """The English of a VAT mention the builder writes, ``None`` for any other text."""
    if ro in _FIXED:
        return _FIXED[ro]
    m = _DIRECTIVE.match(ro)
    if m is None or m["head"] not in _HEADS or m["tail"] not in _TAILS:
        return None
    where = f"art. {m['art']}" + (f" ({m['par']})" if m["par"] else "")
    where += f" ({m['let']})" if m["let"] else ""
    return f"{_HEADS[m['head']]} under Directive 2006/112/EC {where}{_TAILS[m['tail']]}"
