"""Romanian VAT rates by date, category defaults and the Stripe Tax mapping (invoicing.vat)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from stripe_efactura.errors import EfacturaError
from stripe_efactura.invoicing.model import TaxClass, VatCategory
from stripe_efactura.invoicing.vat import (
    EXEMPTIONS,
    VATEX_CODES,
    is_valid_rate,
    rate_for,
    rate_kind,
    rates_in_force,
    stripe_tax_category,
    tax_class,
)

D = Decimal
V = VatCategory


@pytest.mark.parametrize(
    ("kind", "on", "expected"),
    [
        ("standard", date(2024, 1, 1), D("19")),
        ("standard", date(2025, 7, 31), D("19")),
        ("standard", date(2025, 8, 1), D("21")),
        ("standard", date(2026, 11, 21), D("21")),
        ("reduced", date(2025, 7, 31), D("9")),
        ("reduced", date(2025, 8, 1), D("11")),
        ("reduced", date(2027, 1, 1), D("11")),
        ("reduced2", date(2025, 7, 31), D("5")),
        ("housing", date(2024, 1, 1), D("9")),
        ("housing", date(2025, 7, 31), D("9")),
        ("housing", date(2025, 8, 1), D("9")),
        ("housing", date(2026, 7, 31), D("9")),
    ],
)
def test_rate_for(kind: str, on: date, expected: Decimal) -> None:
    assert rate_for(kind, on) == expected


@pytest.mark.parametrize(
    ("kind", "on"),
    [
        ("reduced2", date(2025, 8, 1)),
        ("reduced2", date(2026, 1, 1)),
        ("housing", date(2026, 8, 1)),
        ("housing", date(2023, 12, 31)),
        ("luxury", date(2026, 1, 1)),
        ("", date(2026, 1, 1)),
    ],
)
def test_rate_for_not_in_force(kind: str, on: date) -> None:
    with pytest.raises(EfacturaError) as info:
        rate_for(kind, on)
    assert info.value.code == "E-VAT-RATE"
    assert info.value.context["on"] == on.isoformat()


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (date(2025, 7, 31), {D("19"), D("9"), D("5")}),
        (date(2025, 8, 1), {D("21"), D("11"), D("9")}),
        (date(2026, 7, 31), {D("21"), D("11"), D("9")}),
        (date(2026, 8, 1), {D("21"), D("11")}),
        (date(2023, 6, 1), {D("19"), D("9"), D("5")}),
    ],
)
def test_rates_in_force(on: date, expected: set[Decimal]) -> None:
    assert rates_in_force(on) == frozenset(expected)


@pytest.mark.parametrize(
    ("rate", "on", "expected"),
    [
        (D("21"), date(2025, 8, 1), True),
        (D("21.00"), date(2025, 8, 1), True),
        (D("21"), date(2025, 7, 31), False),
        (D("19"), date(2025, 7, 31), True),
        (D("19.00"), date(2025, 8, 1), False),
        (D("9"), date(2026, 7, 31), True),
        (D("9"), date(2026, 8, 1), False),
        (D("5"), date(2025, 8, 1), False),
        (D("11"), date(2026, 12, 1), True),
        (D("0"), date(2026, 12, 1), False),
        (D("20"), date(2026, 12, 1), False),
    ],
)
def test_is_valid_rate(rate: Decimal, on: date, expected: bool) -> None:
    assert is_valid_rate(rate, on) is expected


@pytest.mark.parametrize(
    ("rate", "on", "expected"),
    [
        (D("21"), date(2026, 1, 1), "standard"),
        (D("19"), date(2025, 1, 1), "standard"),
        (D("9"), date(2025, 1, 1), "reduced"),
        (D("9"), date(2025, 9, 1), "housing"),
        (D("9"), date(2026, 9, 1), None),
        (D("5"), date(2025, 7, 1), "reduced2"),
        (D("11"), date(2025, 7, 1), None),
    ],
)
def test_rate_kind(rate: Decimal, on: date, expected: str | None) -> None:
    assert rate_kind(rate, on) == expected


# --------------------------------------------------------------------------------------------
# Exemption defaults: each cites the exact provision (art. 319 (20) l) accepts the Fiscal Code
# or Directive 2006/112/CE; the VATEX code names the Directive's article, paragraph and letter)

E_DEFAULT = (
    "Scutit fără drept de deducere conform art. 292 alin. (1) Cod fiscal "
    "(art. 132 Directiva 2006/112/CE)"
)
IC_REASON = (
    "Scutit cu drept de deducere: livrare intracomunitară, art. 294 alin. (2) lit. a) Cod fiscal"
)
G_REASON = "Scutit cu drept de deducere: export, art. 294 alin. (1) lit. a) Cod fiscal"
O_REASON = (
    "Neimpozabil în România: locul livrării/prestării în afara României (art. 275-278 Cod fiscal)"
)


def test_exemptions_table() -> None:
    assert dict(EXEMPTIONS) == {
        V.STANDARD: None,
        V.ZERO: None,
        V.EXEMPT: ("VATEX-EU-132", E_DEFAULT),
        V.REVERSE_CHARGE: ("VATEX-EU-AE", "Taxare inversă"),
        V.INTRA_COMMUNITY: ("VATEX-EU-IC", IC_REASON),
        V.EXPORT: ("VATEX-EU-G", G_REASON),
        V.NOT_SUBJECT: ("VATEX-EU-O", O_REASON),
    }


def test_every_vatex_code_has_a_reason_citing_its_provision() -> None:
    """Art. 319 (20) l): the mention cites the provision; every ANAF code has one, <= 100.
    The words the law prescribes instead (m: "taxare inversă", n/o: "regimul marjei") stand
    alone."""
    prescribed = ("Taxare inversă", "Regimul marjei")
    for code in VATEX_CODES:
        got = tax_class(V.EXEMPT, None, code)
        assert got.exemption_reason, code
        assert len(got.exemption_reason) <= 100, code
        reason = got.exemption_reason
        assert "art. " in reason or reason.startswith(prescribed), code


def test_default_codes_are_accepted_by_anaf() -> None:
    assert len(VATEX_CODES) == 57
    for default in EXEMPTIONS.values():
        if default is not None:
            assert default[0] in VATEX_CODES
            assert len(default[1]) <= 100


def test_vatex_codes_match_the_cius_ro_code_list(validation_src: object) -> None:
    from pathlib import Path

    assert isinstance(validation_src, Path)
    sch = validation_src / "cius-ro-1.0.9/schematron/codelist/EN16931-UBL-codes.sch"
    text = sch.read_text(encoding="utf-8")
    rule = text[text.index('<rule context="cbc:TaxExemptionReasonCode"') :]
    listed = rule[rule.index("contains(' ") + len("contains(' ") : rule.index(" ', concat")]
    assert frozenset(listed.split()) == VATEX_CODES


# --------------------------------------------------------------------------------------------
# tax_class


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((V.STANDARD, D("21")), TaxClass(V.STANDARD, D("21"))),
        ((V.STANDARD, D("11.00")), TaxClass(V.STANDARD, D("11.00"))),
        ((V.ZERO,), TaxClass(V.ZERO, D("0"))),
        ((V.ZERO, D("0.00")), TaxClass(V.ZERO, D("0"))),
        (
            (V.REVERSE_CHARGE,),
            TaxClass(V.REVERSE_CHARGE, D("0"), "VATEX-EU-AE", "Taxare inversă"),
        ),
        (
            (V.REVERSE_CHARGE, D("0"), None, "Taxare inversă art. 331 Cod fiscal"),
            TaxClass(V.REVERSE_CHARGE, D("0"), "VATEX-EU-AE", "Taxare inversă art. 331 Cod fiscal"),
        ),
        (
            (V.INTRA_COMMUNITY,),
            TaxClass(
                V.INTRA_COMMUNITY,
                D("0"),
                "VATEX-EU-IC",
                IC_REASON,
            ),
        ),
        (
            (V.EXPORT, None),
            TaxClass(
                V.EXPORT,
                D("0"),
                "VATEX-EU-G",
                G_REASON,
            ),
        ),
        (
            (V.NOT_SUBJECT,),
            TaxClass(
                V.NOT_SUBJECT,
                D("0"),
                "VATEX-EU-O",
                O_REASON,
            ),
        ),
        (
            (V.EXEMPT,),
            TaxClass(V.EXEMPT, D("0"), "VATEX-EU-132", E_DEFAULT),
        ),
        # A merchant-configured code: the reason follows the code's article when known.
        (
            (V.EXEMPT, None, "vatex-eu-132-1i"),
            TaxClass(
                V.EXEMPT,
                D("0"),
                "VATEX-EU-132-1I",
                "Scutit fără drept de deducere conform art. 132 alin. (1) lit. i) "
                "din Directiva 2006/112/CE",
            ),
        ),
        (
            (V.EXEMPT, None, "VATEX-EU-143-1FA"),
            TaxClass(
                V.EXEMPT,
                D("0"),
                "VATEX-EU-143-1FA",
                "Scutit la import conform art. 143 alin. (1) lit. fa) din Directiva 2006/112/CE",
            ),
        ),
        (
            (V.EXEMPT, None, "VATEX-EU-151-1A"),
            TaxClass(
                V.EXEMPT,
                D("0"),
                "VATEX-EU-151-1A",
                "Scutit cu drept de deducere conform art. 151 alin. (1) lit. a) "
                "din Directiva 2006/112/CE",
            ),
        ),
        # Margin schemes: the words art. 319 (20) o) prescribes.
        (
            (V.EXEMPT, None, "VATEX-EU-F"),
            TaxClass(V.EXEMPT, D("0"), "VATEX-EU-F", "Regimul marjei - bunuri second-hand"),
        ),
        # A reason without a code: E gets no guessed code, the others get theirs.
        (
            (V.EXEMPT, None, None, "Neimpozabil în România conform art. 278 alin. (2)"),
            TaxClass(V.EXEMPT, D("0"), None, "Neimpozabil în România conform art. 278 alin. (2)"),
        ),
        (
            (V.NOT_SUBJECT, None, None, "  Furnizor   neplătitor de TVA "),
            TaxClass(V.NOT_SUBJECT, D("0"), "VATEX-EU-O", "Furnizor neplătitor de TVA"),
        ),
        (
            (V.EXEMPT, D("0"), "VATEX-EU-132-1A", "Servicii poștale"),
            TaxClass(V.EXEMPT, D("0"), "VATEX-EU-132-1A", "Servicii poștale"),
        ),
    ],
)
def test_tax_class(args: tuple[object, ...], expected: TaxClass) -> None:
    assert tax_class(*args) == expected  # type: ignore[arg-type]


def test_tax_class_accepts_plain_category_strings() -> None:
    assert tax_class("AE") == tax_class(V.REVERSE_CHARGE)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("args", "code"),
    [
        ((V.STANDARD,), "E-VAT-RATE"),
        ((V.STANDARD, D("0")), "E-VAT-RATE"),
        ((V.STANDARD, D("-21")), "E-VAT-RATE"),
        ((V.STANDARD, D("101")), "E-VAT-RATE"),
        ((V.STANDARD, D("NaN")), "E-VAT-RATE"),
        ((V.STANDARD, D("Infinity")), "E-VAT-RATE"),
        ((V.ZERO, D("5")), "E-VAT-RATE"),
        ((V.EXEMPT, D("21")), "E-VAT-RATE"),
        ((V.REVERSE_CHARGE, D("19")), "E-VAT-RATE"),
        ((V.INTRA_COMMUNITY, D("0.01")), "E-VAT-RATE"),
        ((V.EXPORT, D("21")), "E-VAT-RATE"),
        ((V.NOT_SUBJECT, D("21")), "E-VAT-RATE"),
        ((V.STANDARD, D("21"), "VATEX-EU-AE"), "E-VAT-EXEMPTION"),
        ((V.STANDARD, D("21"), None, "Scutit"), "E-VAT-EXEMPTION"),
        ((V.ZERO, None, None, "Cotă zero"), "E-VAT-EXEMPTION"),
        ((V.ZERO, None, "VATEX-EU-G"), "E-VAT-EXEMPTION"),
        ((V.EXEMPT, None, "VATEX-EU-999"), "E-VAT-EXEMPTION"),
        ((V.EXEMPT, None, "ART-292"), "E-VAT-EXEMPTION"),
        ((V.EXEMPT, None, None, "x" * 101), "E-VAT-EXEMPTION"),
    ],
)
def test_tax_class_rejects(args: tuple[object, ...], code: str) -> None:
    with pytest.raises(EfacturaError) as info:
        tax_class(*args)  # type: ignore[arg-type]
    assert info.value.code == code


def test_tax_class_checks_the_romanian_rate_of_the_day() -> None:
    assert tax_class(V.STANDARD, D("21"), on=date(2025, 8, 1)).rate == D("21")
    assert tax_class(V.STANDARD, D("9"), on=date(2026, 7, 31)).rate == D("9")
    for rate, on in ((D("19"), date(2025, 8, 1)), (D("9"), date(2026, 8, 1))):
        with pytest.raises(EfacturaError) as info:
            tax_class(V.STANDARD, rate, on=on)
        assert info.value.code == "E-VAT-RATE"
    # A foreign (OSS) rate passes when no day is given.
    assert tax_class(V.STANDARD, D("19")).rate == D("19")


def test_reason_of_exactly_100_characters_passes() -> None:
    assert tax_class(V.EXEMPT, None, None, "y" * 100).exemption_reason == "y" * 100


# --------------------------------------------------------------------------------------------
# Stripe Tax


@pytest.mark.parametrize(
    ("reason", "rate", "kwargs", "expected"),
    [
        ("standard_rated", D("21"), {}, V.STANDARD),
        ("reduced_rated", D("11"), {}, V.STANDARD),
        ("portion_standard_rated", D("21"), {}, V.STANDARD),
        ("portion_reduced_rated", D("11"), {}, V.STANDARD),
        ("proportionally_rated", D("15.5"), {}, V.STANDARD),
        ("taxable_basis_reduced", D("21"), {}, V.STANDARD),
        ("standard_rated", D("0"), {}, V.ZERO),
        ("zero_rated", D("0"), {}, V.ZERO),
        ("zero_rated", D("0"), {"goods": True, "buyer_country": "DE"}, V.ZERO),
        ("zero_rated", D("0"), {"goods": True, "buyer_country": "US"}, V.EXPORT),
        ("zero_rated", D("0"), {"goods": False, "buyer_country": "US"}, V.ZERO),
        ("reverse_charge", D("0"), {}, V.REVERSE_CHARGE),
        ("reverse_charge", D("0"), {"buyer_country": "DE"}, V.REVERSE_CHARGE),
        ("reverse_charge", D("0"), {"goods": True, "buyer_country": "DE"}, V.INTRA_COMMUNITY),
        ("reverse_charge", D("0"), {"goods": True, "buyer_country": "EL"}, V.INTRA_COMMUNITY),
        ("reverse_charge", D("0"), {"goods": True, "buyer_country": "XI"}, V.INTRA_COMMUNITY),
        ("reverse_charge", D("0"), {"goods": True, "buyer_country": "RO"}, V.REVERSE_CHARGE),
        ("reverse_charge", D("0"), {"goods": True}, V.REVERSE_CHARGE),
        ("product_exempt", D("0"), {}, V.EXEMPT),
        ("portion_product_exempt", D("0"), {}, V.EXEMPT),
        ("product_exempt_holiday", D("0"), {}, V.EXEMPT),
        ("customer_exempt", D("0"), {}, V.EXEMPT),
        ("not_subject_to_tax", D("0"), {}, V.NOT_SUBJECT),
        ("not_collecting", D("0"), {}, V.NOT_SUBJECT),
        ("not_collecting", D("0"), {"buyer_country": "US"}, V.NOT_SUBJECT),
        ("not_collecting", D("0"), {"goods": True, "buyer_country": "US"}, V.EXPORT),
        ("not_collecting", D("0"), {"goods": True, "buyer_country": "FR"}, V.NOT_SUBJECT),
        ("not_subject_to_tax", D("0"), {"goods": True, "buyer_country": "CH"}, V.EXPORT),
        ("excluded_territory", D("0"), {}, V.NOT_SUBJECT),
        ("excluded_territory", D("0"), {"goods": True, "buyer_country": "ES"}, V.EXPORT),
        ("not_supported", D("0"), {}, V.NOT_SUBJECT),
        ("jurisdiction_unsupported", D("0"), {}, V.NOT_SUBJECT),
        (" Standard_Rated ", D("21"), {}, V.STANDARD),
        (None, D("21"), {}, V.STANDARD),
        ("not_available", D("19"), {}, V.STANDARD),
        ("some_future_reason", D("21"), {}, V.STANDARD),
        (None, D("0"), {"zero_default": V.EXEMPT}, V.EXEMPT),
        ("not_available", D("0"), {"zero_default": V.NOT_SUBJECT}, V.NOT_SUBJECT),
    ],
)
def test_stripe_tax_category(
    reason: str | None, rate: Decimal, kwargs: dict[str, object], expected: VatCategory
) -> None:
    assert stripe_tax_category(reason, rate, **kwargs) is expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("reason", "rate"),
    [
        (None, D("0")),
        ("not_available", D("0")),
        ("some_future_reason", D("0")),
        ("reverse_charge", D("21")),
        ("zero_rated", D("5")),
        ("product_exempt", D("9")),
        ("not_collecting", D("19")),
        ("standard_rated", D("-1")),
        ("standard_rated", D("NaN")),
    ],
)
def test_stripe_tax_category_cannot_tell(reason: str | None, rate: Decimal) -> None:
    with pytest.raises(EfacturaError) as info:
        stripe_tax_category(reason, rate)
    assert info.value.code == "E-VAT-CATEGORY"
