"""The VAT mentions of the PDF (art. 319 (20) l), m), n), o)): the builder's exact legal
mention, in Romanian, followed by its English on the bilingual PDF of a foreign buyer."""

from __future__ import annotations

from dataclasses import replace

import pytest

from factories.ubl_cases import NON_EU_US, O_OUTSIDE_RO
from stripe_efactura.invoicing import vat
from stripe_efactura.invoicing.model import TaxClass, VatCategory
from stripe_efactura.pdf.labels import Words
from stripe_efactura.pdf.mentions import vat_mentions

BILINGUAL = Words(bilingual=True)


@pytest.mark.parametrize("code", sorted(vat.VATEX_CODES))
def test_every_vatex_mention_has_english(code: str) -> None:
    reason = vat.tax_class(VatCategory.EXEMPT, None, code).exemption_reason
    assert reason is not None
    english = BILINGUAL.english(reason)
    assert english, code
    # the provision cited in Romanian is cited in English too
    for number in ("132", "143", "148", "151", "292", "294", "309", "79"):
        if f"art. {number}" in reason:
            assert f"art. {number}" in english, code


def test_services_to_a_business_outside_the_eu_art_278_2() -> None:
    """A US company's invoice (O, art. 278 (2)) states the mention in both languages, and
    never says the (VAT-registered) seller is not registered."""
    o278 = TaxClass(VatCategory.NOT_SUBJECT, O_OUTSIDE_RO.rate, "VATEX-EU-O",
                    vat.REASON_SERVICES_OUTSIDE_RO)  # fmt: skip
    inv = replace(
        NON_EU_US,
        lines=tuple(replace(ln, tax=o278) for ln in NON_EU_US.lines),
        vat_breakdown=tuple(replace(b, tax=o278) for b in NON_EU_US.vat_breakdown),
    )
    both = (
        "Neimpozabil în România conform art. 278 alin. (2) Cod fiscal / "
        "Not subject to VAT in Romania (Fiscal Code art. 278 (2))"
    )
    assert vat_mentions(inv, BILINGUAL) == [both]
    assert vat_mentions(inv, Words()) == [vat.REASON_SERVICES_OUTSIDE_RO]


def test_a_typed_mention_stays_romanian_only() -> None:
    assert BILINGUAL("Scutit conform contractului nr. 7") == "Scutit conform contractului nr. 7"
