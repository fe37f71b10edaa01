"""Romanian VAT: dated rates, category defaults (VATEX codes, reasons), Stripe Tax mapping.

Pure, no I/O, no clock: every rate question names the day it is about (the tax point, which
for a card payment is the payment date). The rules are documented in ``docs/romania.md``.

Rates (Fiscal Code art. 291 as amended by Law 141/2025, in force 1 Aug 2025):

========== ============================ ==========================================
kind        until 2025-07-31             from 2025-08-01
========== ============================ ==========================================
standard    19 %                         21 %
reduced     9 %                          11 %
reduced2    5 %                          (abolished, merged into 11 %)
housing     9 % (from 2024-01-01)        9 % until 2026-07-31, then abolished
========== ============================ ==========================================
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from types import MappingProxyType

from stripe_efactura.errors import EfacturaError
from stripe_efactura.invoicing.countries import EU_MEMBERS, normalize_country
from stripe_efactura.invoicing.model import TaxClass, VatCategory

__all__ = [
    "EXEMPTIONS",
    "RATE_KINDS",
    "RATE_TABLE",
    "VATEX_CODES",
    "RateEntry",
    "is_valid_rate",
    "rate_for",
    "rate_kind",
    "rates_in_force",
    "stripe_tax_category",
    "tax_class",
]

ZERO = Decimal("0")


@dataclass(frozen=True)
class RateEntry:
    """One VAT rate and the days (both ends inclusive) it is in force."""

    kind: str
    rate: Decimal
    valid_from: date | None
    """First day in force; None: in force since before e-Factura existed."""
    valid_to: date | None
    """Last day in force; None: still in force."""
    basis: str

    def in_force(self, on: date) -> bool:
        return (self.valid_from is None or self.valid_from <= on) and (
            self.valid_to is None or on <= self.valid_to
        )


_LAW_141 = "Legea 141/2025"
RATE_TABLE: tuple[RateEntry, ...] = (
    RateEntry("standard", Decimal("19"), None, date(2025, 7, 31), "Cod fiscal art. 291 (1)"),
    RateEntry("standard", Decimal("21"), date(2025, 8, 1), None, _LAW_141),
    RateEntry("reduced", Decimal("9"), None, date(2025, 7, 31), "Cod fiscal art. 291 (2)"),
    RateEntry("reduced", Decimal("11"), date(2025, 8, 1), None, _LAW_141),
    RateEntry("reduced2", Decimal("5"), None, date(2025, 7, 31), "Cod fiscal art. 291 (3)"),
    RateEntry(
        "housing", Decimal("9"), date(2024, 1, 1), date(2026, 7, 31), "Legea 296/2023; " + _LAW_141
    ),
)
"""Every Romanian VAT rate with the days it applies (by tax point date)."""

RATE_KINDS: tuple[str, ...] = ("standard", "reduced", "reduced2", "housing")


def _rate_error(message: str, **context: str) -> EfacturaError:
    return EfacturaError(message, code="E-VAT-RATE", **context)


def rate_for(kind: str, on: date) -> Decimal:
    """The rate (percent) of ``kind`` in force on ``on``.

    Raises :class:`EfacturaError` with code ``E-VAT-RATE`` for an unknown kind or when that kind
    has no rate that day (``reduced2`` after 2025-07-31, ``housing`` after 2026-07-31).
    """
    if kind not in RATE_KINDS:
        raise _rate_error(f"unknown VAT rate kind {kind!r}", kind=kind, on=on.isoformat())
    for entry in RATE_TABLE:
        if entry.kind == kind and entry.in_force(on):
            return entry.rate
    raise _rate_error(
        f"no {kind} VAT rate is in force in Romania on {on.isoformat()}",
        kind=kind,
        on=on.isoformat(),
    )


def rates_in_force(on: date) -> frozenset[Decimal]:
    """The positive Romanian rates (category S) in force on ``on``."""
    return frozenset(entry.rate for entry in RATE_TABLE if entry.in_force(on))


def is_valid_rate(rate: Decimal, on: date) -> bool:
    """True when ``rate`` (``Decimal('21')`` or ``Decimal('21.00')``) is in force on ``on``.

    Zero is not a rate of category S and gives False.
    """
    return rate in rates_in_force(on)


def rate_kind(rate: Decimal, on: date) -> str | None:
    """The kind of a rate on a day (``21`` -> ``'standard'``; ``9`` after August 2025 ->
    ``'housing'``), None when no such rate is in force."""
    for entry in RATE_TABLE:
        if entry.rate == rate and entry.in_force(on):
            return entry.kind
    return None


# --------------------------------------------------------------------------------------------
# Exemptions

_VATEX_TEXT = (
    "VATEX-EU-79-C VATEX-EU-132 VATEX-EU-132-1A VATEX-EU-132-1B VATEX-EU-132-1C "
    "VATEX-EU-132-1D VATEX-EU-132-1E VATEX-EU-132-1F VATEX-EU-132-1G VATEX-EU-132-1H "
    "VATEX-EU-132-1I VATEX-EU-132-1J VATEX-EU-132-1K VATEX-EU-132-1L VATEX-EU-132-1M "
    "VATEX-EU-132-1N VATEX-EU-132-1O VATEX-EU-132-1P VATEX-EU-132-1Q VATEX-EU-143 "
    "VATEX-EU-143-1A VATEX-EU-143-1B VATEX-EU-143-1C VATEX-EU-143-1D VATEX-EU-143-1E "
    "VATEX-EU-143-1F VATEX-EU-143-1FA VATEX-EU-143-1G VATEX-EU-143-1H VATEX-EU-143-1I "
    "VATEX-EU-143-1J VATEX-EU-143-1K VATEX-EU-143-1L VATEX-EU-309 VATEX-EU-148 "
    "VATEX-EU-148-A VATEX-EU-148-B VATEX-EU-148-C VATEX-EU-148-D VATEX-EU-148-E "
    "VATEX-EU-148-F VATEX-EU-148-G VATEX-EU-151 VATEX-EU-151-1A VATEX-EU-151-1AA "
    "VATEX-EU-151-1B VATEX-EU-151-1C VATEX-EU-151-1D VATEX-EU-151-1E VATEX-EU-G "
    "VATEX-EU-O VATEX-EU-IC VATEX-EU-AE VATEX-EU-D VATEX-EU-F VATEX-EU-I VATEX-EU-J"
)
VATEX_CODES: frozenset[str] = frozenset(_VATEX_TEXT.split())
"""Exemption reason codes ANAF accepts (BR-CL-22 in CIUS-RO 1.0.9)."""

_DIRECTIVE = "Directiva 2006/112/CE"
REASON_NOT_TAXABLE_RO = (
    "Neimpozabil în România: locul livrării/prestării în afara României (art. 275-278 Cod fiscal)"
)
"""O of a VAT-registered seller when nothing more precise is known (Stripe Tax's
``not_collecting``, ``not_subject_to_tax``…): it never claims the seller is not registered."""
REASON_SERVICES_OUTSIDE_RO = "Neimpozabil în România conform art. 278 alin. (2) Cod fiscal"
"""O for services to a business established outside the EU: the place of supply is where the
buyer is established (art. 278 (2)), so the supply is outside the scope of Romanian VAT."""
REASON_NON_PAYER = "Neplătitor de TVA (regim special de scutire, art. 310 Cod fiscal)"
"""O of a seller not registered for VAT (the small-enterprise scheme of art. 310)."""
REASON_REVERSE_EU_SERVICES = (
    f"Taxare inversă (art. 278 alin. (2) Cod fiscal; art. 196 {_DIRECTIVE})"
)
"""AE for services to a business in another member state: the buyer accounts for the VAT
there (art. 196 of the Directive); art. 319 (20) m) wants the words "taxare inversă"."""
REASON_REVERSE_DOMESTIC = "Taxare inversă conform art. 331 alin. (2) Cod fiscal"
"""AE to a buyer registered for VAT in Romania (domestic reverse charge, art. 331)."""

_REASON_E = (
    f"Scutit fără drept de deducere conform art. 292 alin. (1) Cod fiscal (art. 132 {_DIRECTIVE})"
)
EXEMPTIONS: MappingProxyType[VatCategory, tuple[str, str] | None] = MappingProxyType(
    {
        VatCategory.STANDARD: None,
        VatCategory.ZERO: None,
        VatCategory.EXEMPT: ("VATEX-EU-132", _REASON_E),
        VatCategory.REVERSE_CHARGE: ("VATEX-EU-AE", "Taxare inversă"),
        VatCategory.INTRA_COMMUNITY: (
            "VATEX-EU-IC",
            (
                "Scutit cu drept de deducere: livrare intracomunitară, "
                "art. 294 alin. (2) lit. a) Cod fiscal"
            ),
        ),
        VatCategory.EXPORT: (
            "VATEX-EU-G",
            "Scutit cu drept de deducere: export, art. 294 alin. (1) lit. a) Cod fiscal",
        ),
        VatCategory.NOT_SUBJECT: ("VATEX-EU-O", REASON_NOT_TAXABLE_RO),
    }
)
"""Category -> default (BT-121 code, BT-120 Romanian reason); None where none is allowed."""

_MARGIN = {
    "VATEX-EU-D": "Regimul marjei - agenții de turism",
    "VATEX-EU-F": "Regimul marjei - bunuri second-hand",
    "VATEX-EU-I": "Regimul marjei - opere de artă",
    "VATEX-EU-J": "Regimul marjei - obiecte de colecție și antichități",
}
"""The mentions art. 319 (20) n) and o) prescribe word for word (margin schemes, art. 311-312)."""

_FAMILIES = {
    "132": ("Scutit fără drept de deducere", "alin. (1) "),
    "143": ("Scutit la import", "alin. (1) "),
    "148": ("Scutit cu drept de deducere", ""),
    "151": ("Scutit cu drept de deducere", "alin. (1) "),
}
"""Directive article -> (kind of exemption, paragraph of the lettered codes)."""


def _vatex_reason(code: str) -> str | None:
    """The Romanian reason of a VATEX code, citing the exact provision it stands for.

    Art. 319 (20) l) accepts a reference to the Fiscal Code or to Directive 2006/112/CE; the
    code names the Directive's article, paragraph and letter exactly (``VATEX-EU-132-1F`` is
    art. 132 (1) f), so that is what is cited.
    """
    if code in _MARGIN:
        return _MARGIN[code]
    for cat_code, reason in ((d[0], d[1]) for d in EXEMPTIONS.values() if d is not None):
        if code == cat_code:
            return reason
    parts = code.removeprefix("VATEX-EU-").split("-")
    if parts[0] == "79" and parts[1:] == ["C"]:
        return f"Exclus din baza de impozitare conform art. 79 lit. c) din {_DIRECTIVE}"
    if parts[0] == "309":
        return f"Scutit conform art. 309 din {_DIRECTIVE} (agenții de turism, în afara UE)"
    family = _FAMILIES.get(parts[0])
    if family is None:
        return None
    head, paragraph = family
    if len(parts) == 1:
        return f"{head} conform art. {parts[0]} din {_DIRECTIVE}"
    letter = parts[1].removeprefix("1").lower()
    return f"{head} conform art. {parts[0]} {paragraph}lit. {letter}) din {_DIRECTIVE}"


_MAX_REASON = 100  # BR-RO-L100 on BT-120
_ZERO_RATED = frozenset(
    {
        VatCategory.ZERO,
        VatCategory.EXEMPT,
        VatCategory.REVERSE_CHARGE,
        VatCategory.INTRA_COMMUNITY,
        VatCategory.EXPORT,
        VatCategory.NOT_SUBJECT,
    }
)


def _exemption_error(message: str, category: VatCategory, **context: str) -> EfacturaError:
    return EfacturaError(message, code="E-VAT-EXEMPTION", category=category.value, **context)


def _is_percentage(rate: object) -> bool:
    return isinstance(rate, Decimal) and rate.is_finite() and ZERO <= rate <= 100


def _check_rate(category: VatCategory, rate: Decimal | None) -> Decimal:
    if rate is not None and not _is_percentage(rate):
        raise _rate_error(f"VAT rate {rate!r} is not a percentage", category=category.value)
    if category is VatCategory.STANDARD:
        if rate is None or rate <= 0:
            raise _rate_error(
                "category S (standard) needs a positive VAT rate", category=category.value
            )
        return rate
    if rate is not None and rate != 0:
        raise _rate_error(
            f"category {category.value} must have a 0 % VAT rate, not {rate}",
            category=category.value,
        )
    return ZERO


def _default_reason(category: VatCategory, code: str) -> str | None:
    default = EXEMPTIONS[category]
    if default is not None and default[0] == code:
        return default[1]
    return _vatex_reason(code)


def _exemption(
    category: VatCategory, code: str | None, reason: str | None
) -> tuple[str | None, str | None]:
    code = code.strip().upper() or None if code is not None else None
    reason = " ".join(reason.split()) or None if reason is not None else None
    default = EXEMPTIONS[category]
    if default is None:
        if code is not None or reason is not None:
            raise _exemption_error(
                f"category {category.value} must not carry an exemption reason (BR-Z-10/BR-S-10)",
                category,
            )
        return None, None
    if code is not None and code not in VATEX_CODES:
        raise _exemption_error(
            f"exemption code {code!r} is not in ANAF's VATEX list (BR-CL-22)",
            category,
            exemption_code=code,
        )
    if reason is not None and len(reason) > _MAX_REASON:
        raise _exemption_error(
            f"exemption reason longer than {_MAX_REASON} characters (BR-RO-L100)", category
        )
    if code is None and reason is None:
        return default
    if code is None:
        # AE/K/G/O have exactly one code; an E reason may cite any article, so no code is
        # guessed for it (the reason alone satisfies BR-E-10).
        return (None if category is VatCategory.EXEMPT else default[0]), reason
    return code, reason if reason is not None else _default_reason(category, code)


def tax_class(
    category: VatCategory,
    rate: Decimal | None = None,
    exemption_code: str | None = None,
    exemption_reason: str | None = None,
    *,
    on: date | None = None,
) -> TaxClass:
    """A checked :class:`TaxClass` with the defaults of its category filled in.

    - S needs a rate above 0 (and, when ``on`` is given, a Romanian rate in force that day) and
      no exemption;
    - Z, E, AE, K, G and O have rate 0 (``None`` means 0; O's rate is not rendered);
    - Z and S carry no exemption code or reason (BR-Z-10, BR-S-10);
    - E, AE, K, G, O get :data:`EXEMPTIONS` when neither code nor reason is given; a code must
      be in ANAF's VATEX list (BR-CL-22); a missing reason is filled from the code when known;
      reasons are at most 100 characters (BR-RO-L100).

    Raises :class:`EfacturaError` ``E-VAT-RATE`` or ``E-VAT-EXEMPTION``.
    """
    category = VatCategory(category)
    checked_rate = _check_rate(category, rate)
    if category is VatCategory.STANDARD and on is not None and not is_valid_rate(checked_rate, on):
        raise _rate_error(
            f"{checked_rate} % is not a Romanian VAT rate on {on.isoformat()}",
            category=category.value,
            on=on.isoformat(),
        )
    code, reason = _exemption(category, exemption_code, exemption_reason)
    return TaxClass(category, checked_rate, exemption_code=code, exemption_reason=reason)


# --------------------------------------------------------------------------------------------
# Stripe Tax

TAXED_REASONS: frozenset[str] = frozenset(
    {
        "standard_rated",
        "reduced_rated",
        "portion_standard_rated",
        "portion_reduced_rated",
        "proportionally_rated",
        "taxable_basis_reduced",
    }
)
EXEMPT_REASONS: frozenset[str] = frozenset(
    {
        "product_exempt",
        "portion_product_exempt",
        "product_exempt_holiday",
        "customer_exempt",
        "vat_exempt",
    }
)
OUT_OF_SCOPE_REASONS: frozenset[str] = frozenset(
    {
        "not_subject_to_tax",
        "not_collecting",
        "excluded_territory",
        "not_supported",
        "jurisdiction_unsupported",
    }
)


def _goods_leave_eu(buyer_country: str | None, reason: str | None) -> bool:
    """Goods shipped outside the EU VAT area (export, category G)."""
    if reason == "excluded_territory":
        return True
    code = normalize_country(buyer_country)
    return code is not None and code not in EU_MEMBERS and code != "XI"


def _outside_eu_for_services(buyer_country: str | None) -> bool:
    """A country outside the EU for services (Northern Ireland, ``XI``, is the UK for them)."""
    code = normalize_country(buyer_country)
    return code is not None and (code not in EU_MEMBERS or code == "XI")


def _goods_to_other_member_state(buyer_country: str | None) -> bool:
    code = normalize_country(buyer_country)
    return code is not None and code != "RO" and (code in EU_MEMBERS or code == "XI")


def _category_error(message: str, reason: str | None, rate: Decimal) -> EfacturaError:
    return EfacturaError(
        message, code="E-VAT-CATEGORY", taxability_reason=reason or "", rate=str(rate)
    )


def _zero_tax_category(
    reason: str | None, goods: bool, buyer_country: str | None
) -> VatCategory | None:
    """The category a zero-tax ``reason`` names, ``None`` when it names none."""
    if reason == "zero_rated":
        leaves = goods and _goods_leave_eu(buyer_country, reason)
        return VatCategory.EXPORT if leaves else VatCategory.ZERO
    if reason == "reverse_charge":
        if goods and _goods_leave_eu(buyer_country, reason):
            return VatCategory.EXPORT
        intra = goods and _goods_to_other_member_state(buyer_country)
        if not goods and _outside_eu_for_services(buyer_country):
            # The buyer's own country reverse-charges it; for Romania the service is not
            # taxable here at all (art. 278 (2)), not a Romanian reverse charge.
            return VatCategory.NOT_SUBJECT
        return VatCategory.INTRA_COMMUNITY if intra else VatCategory.REVERSE_CHARGE
    if reason in EXEMPT_REASONS:
        return VatCategory.EXEMPT
    if reason in OUT_OF_SCOPE_REASONS:
        leaves = goods and _goods_leave_eu(buyer_country, reason)
        return VatCategory.EXPORT if leaves else VatCategory.NOT_SUBJECT
    return None


def stripe_tax_category(
    taxability_reason: str | None,
    rate: Decimal,
    *,
    goods: bool = False,
    buyer_country: str | None = None,
    zero_default: VatCategory | None = None,
) -> VatCategory:
    """The VAT category of a Stripe tax amount from its ``taxability_reason`` and rate.

    ==================================================== ======================================
    taxability_reason                                    category
    ==================================================== ======================================
    standard_rated, reduced_rated, portion_*_rated,      S (rate > 0), Z (rate 0)
    proportionally_rated, taxable_basis_reduced
    zero_rated                                           Z; G for goods leaving the EU
    reverse_charge                                       AE; K for goods to another member
                                                         state; G for goods leaving the EU; O
                                                         for services to a buyer outside the EU
    product_exempt, portion_product_exempt,              E
    product_exempt_holiday, customer_exempt, vat_exempt
    not_subject_to_tax, not_collecting,                  O; G for goods leaving the EU
    excluded_territory, not_supported,                   (excluded_territory goods: always G)
    jurisdiction_unsupported
    None, not_available or unknown                       S (rate > 0); else ``zero_default``
    ==================================================== ======================================

    ``goods`` says the line is a physical good (Stripe product tax code ``txcd_99999999`` or the
    merchant's setting); ``buyer_country`` is the buyer's (shipping) country. A zero-tax reason
    with a positive rate, or a zero rate nothing explains, raises :class:`EfacturaError`
    ``E-VAT-CATEGORY``.
    """
    reason = (taxability_reason or "").strip().lower() or None
    if not _is_percentage(rate):
        raise _category_error(f"VAT rate {rate!r} is not a percentage", taxability_reason, rate)
    positive = rate > 0
    if reason in TAXED_REASONS:
        return VatCategory.STANDARD if positive else VatCategory.ZERO
    known_zero = reason in EXEMPT_REASONS or reason in OUT_OF_SCOPE_REASONS
    if positive and (known_zero or reason in ("zero_rated", "reverse_charge")):
        raise _category_error(
            f"Stripe says {reason} but the rate is {rate} %", taxability_reason, rate
        )
    zero = _zero_tax_category(reason, goods, buyer_country)
    if zero is not None:
        return zero
    if positive:
        return VatCategory.STANDARD
    if zero_default is not None:
        return zero_default
    raise _category_error(
        f"cannot tell the VAT category of a 0 % tax (taxability reason {reason!r})",
        taxability_reason,
        rate,
    )
