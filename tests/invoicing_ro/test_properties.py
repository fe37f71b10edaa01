"""Property tests: the normalisers never crash, and their results are canonical."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from stripe_efactura.errors import EfacturaError
from stripe_efactura.invoicing.countries import normalize_country
from stripe_efactura.invoicing.deadlines import (
    is_working_day,
    orthodox_easter,
    romanian_holidays,
    upload_deadline,
)
from stripe_efactura.invoicing.model import VatCategory
from stripe_efactura.invoicing.ro import (
    COUNTIES,
    bucharest_sector,
    county_code,
    county_name,
    is_eu,
    normalize_ro_address,
    normalize_vat_id,
    sector_from_postal_code,
    validate_cnp,
    validate_cui,
)
from stripe_efactura.invoicing.vat import stripe_tax_category, tax_class

# Text that looks like what people type: Romanian letters, digits, punctuation, plus anything.
_ALPHABET = "0123456789 .-/,:ROroSsectorulJjud.ăâîșşțţĂÂÎȘŞȚŢBbucreştiCJVXLIEG"
typed = st.one_of(st.text(), st.text(alphabet=_ALPHABET, max_size=40))
maybe = st.one_of(st.none(), typed)
SECTORS = {f"SECTOR{n}" for n in range(1, 7)}


@given(typed)
def test_validate_cui_never_crashes_and_is_canonical(text: str) -> None:
    result = validate_cui(text)
    if result is not None:
        assert result.isascii() and result.isdigit() and 2 <= len(result) <= 10
        assert validate_cui(result) == result
        assert validate_cui("RO" + result) == result


@given(st.integers(min_value=1, max_value=999_999_999))
def test_every_cui_body_has_exactly_one_check_digit(body: int) -> None:
    valid = [d for d in range(10) if validate_cui(f"{body}{d}") is not None]
    assert len(valid) == 1


@given(typed)
def test_validate_cnp_never_crashes(text: str) -> None:
    result = validate_cnp(text)
    if result is not None:
        assert len(result) == 13 and result.isdigit()
        assert validate_cnp(result) == result


@given(
    st.sampled_from("123456"),
    st.dates(min_value=date(1800, 1, 1), max_value=date(2099, 12, 31)),
    st.integers(min_value=0, max_value=99_999),
)
def test_cnp_with_a_real_birth_date_has_exactly_one_check_digit(
    sex: str, born: date, rest: int
) -> None:
    century = {"1": 1900, "2": 1900, "3": 1800, "4": 1800, "5": 2000, "6": 2000}[sex]
    if not century <= born.year < century + 100:
        born = born.replace(year=century + born.year % 100, day=min(born.day, 28))
    first12 = f"{sex}{born:%y%m%d}{rest:05d}"
    valid = [d for d in range(10) if validate_cnp(f"{first12}{d}") is not None]
    assert len(valid) == 1


@given(typed, maybe)
def test_normalize_vat_id_never_crashes_and_is_idempotent(text: str, country: str | None) -> None:
    result = normalize_vat_id(text, country)
    if result is not None:
        assert result == result.upper() and " " not in result
        assert normalize_vat_id(result) == result


@given(maybe)
def test_country_helpers_never_crash(text: str | None) -> None:
    code = normalize_country(text)
    assert code is None or len(code) == 2
    assert isinstance(is_eu(text), bool)


@given(maybe)
def test_county_code_never_crashes(text: str | None) -> None:
    code = county_code(text)
    assert code is None or code in COUNTIES
    if code is not None:
        assert county_code(code) == code
        assert county_code(COUNTIES[code]) == code
        assert county_name(code) == COUNTIES[code]


@given(st.lists(maybe, max_size=4))
def test_bucharest_sector_never_crashes(fields: list[str | None]) -> None:
    assert bucharest_sector(*fields) in SECTORS | {None}


@given(maybe)
def test_sector_from_postal_code_never_crashes(text: str | None) -> None:
    assert sector_from_postal_code(text) in SECTORS | {None}


@given(maybe, maybe, maybe, maybe, maybe)
def test_normalize_ro_address_never_crashes(
    line1: str | None,
    line2: str | None,
    city: str | None,
    state: str | None,
    postal: str | None,
) -> None:
    out_city, county = normalize_ro_address(line1, line2, city, state, postal)
    assert county is None or county in COUNTIES
    if out_city in SECTORS:
        assert county == "RO-B"


@given(
    st.one_of(st.none(), st.text(max_size=30)),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.booleans(),
    maybe,
)
def test_stripe_tax_category_returns_or_raises_coded(
    reason: str | None, rate: Decimal, goods: bool, country: str | None
) -> None:
    try:
        category = stripe_tax_category(reason, rate, goods=goods, buyer_country=country)
    except EfacturaError as exc:
        assert exc.code == "E-VAT-CATEGORY"
    else:
        assert isinstance(category, VatCategory)


@given(
    st.sampled_from(list(VatCategory)),
    st.one_of(st.none(), st.decimals(allow_nan=True, allow_infinity=True)),
    maybe,
    maybe,
)
def test_tax_class_returns_or_raises_coded(
    category: VatCategory, rate: Decimal | None, code: str | None, reason: str | None
) -> None:
    try:
        result = tax_class(category, rate, code, reason)
    except EfacturaError as exc:
        assert exc.code in ("E-VAT-RATE", "E-VAT-EXEMPTION")
    else:
        assert result.category is category
        if category in (VatCategory.STANDARD, VatCategory.ZERO):
            assert result.exemption_code is None and result.exemption_reason is None
        else:
            assert result.rate == 0
            assert result.exemption_code is not None or result.exemption_reason is not None


@settings(max_examples=60)
@given(st.dates(min_value=date(2026, 1, 1), max_value=date(2035, 12, 31)))
def test_deadline_is_the_fifth_working_day(issued: date) -> None:
    deadline = upload_deadline(issued)
    assert is_working_day(deadline)
    between = [issued + timedelta(days=i) for i in range(1, (deadline - issued).days + 1)]
    assert sum(is_working_day(d) for d in between) == 5
    # the longest stretch: Christmas (25-26), New Year (1-2), Epiphany and St John (6-7
    # January) and two weekends, e.g. 2030-12-24 -> 2031-01-08 (below)
    assert (deadline - issued).days <= 15


def test_deadline_over_the_winter_holidays_is_fifteen_days_later() -> None:
    assert upload_deadline(date(2030, 12, 24)) == date(2031, 1, 8)


@settings(max_examples=60)
@given(st.dates(min_value=date(2015, 1, 1), max_value=date(2025, 12, 31)))
def test_calendar_deadline_before_2026(issued: date) -> None:
    deadline = upload_deadline(issued)
    assert is_working_day(deadline)
    start = issued + timedelta(days=5)
    assert deadline >= start
    assert not any(
        is_working_day(start + timedelta(days=i)) for i in range((deadline - start).days)
    )


@given(st.integers(min_value=1900, max_value=2099))
def test_orthodox_easter_is_a_spring_sunday(year: int) -> None:
    easter = orthodox_easter(year)
    assert easter.weekday() == 6
    assert date(year, 4, 4) <= easter <= date(year, 5, 8)
    holidays = romanian_holidays(year)
    assert {easter, easter + timedelta(days=1), easter + timedelta(days=50)} <= holidays
    assert all(d.year == year for d in holidays)
