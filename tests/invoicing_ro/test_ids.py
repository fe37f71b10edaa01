"""CUI, CNP, EU VAT ids and countries (invoicing.ro / invoicing.countries)."""

from __future__ import annotations

import pytest

from stripe_efactura.invoicing.countries import normalize_country
from stripe_efactura.invoicing.ro import is_eu, normalize_vat_id, validate_cnp, validate_cui

# --------------------------------------------------------------------------------------------
# CUI. Worked example for 18547290: body 1854729 padded to 001854729, weights 753217532:
# 0+0+3+16+5+28+35+6+18 = 111; 111*10 mod 11 = 10 -> check digit 0.
# 1234 -> padded 000001234: 7+10+9+8 = 34; 340 mod 11 = 10 -> 0, so 12340.
# 123456789: 7+10+9+8+5+42+35+24+18 = 158; 1580 mod 11 = 7, so 1234567897.
# 1 -> 000000001: 2; 20 mod 11 = 9, so 19.


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("18547290", "18547290"),
        ("14399840", "14399840"),
        ("RO 18547290", "18547290"),
        ("ro18547290", "18547290"),
        ("Ro 18 547 290", "18547290"),
        ("18.547.290", "18547290"),
        ("RO-14399840", "14399840"),
        ("  14399840\n", "14399840"),
        ("CUI 14399840", "14399840"),
        ("CIF: RO14399840", "14399840"),
        ("C.U.I. RO 18547290", "18547290"),
        ("cod fiscal 18547290", "18547290"),
        ("19", "19"),
        ("12340", "12340"),
        ("1234567897", "1234567897"),
        ("RO1234567897", "1234567897"),
        ("42839", "42839"),
        ("15900825", "15900825"),
        ("23456783", "23456783"),
    ],
)
def test_valid_cui(text: str, expected: str) -> None:
    assert validate_cui(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "18547291",  # last digit off
        "18547280",
        "14399841",
        "14399850",
        "14389840",
        "1234567890",  # check digit should be 7
        "12345678970",  # 11 digits
        "1",  # too short
        "10",  # 1 -> check 9, not 0
        "018547290",  # leading zero
        "0000000000000",
        "",
        "RO",
        "RO ",
        "ROX18547290",
        "18547290RO",
        "DE18547290",
        "1854729O",  # letter O
        "١٨٥٤٧٢٩٠",  # Arabic-Indic digits
        "18547290 a",
    ],
)
def test_invalid_cui(text: str) -> None:
    assert validate_cui(text) is None


def test_cui_none() -> None:
    assert validate_cui(None) is None


# --------------------------------------------------------------------------------------------
# CNP: valid ones are built here with an independent check-digit computation.

_KEY = "279146358279"


def _with_check(first12: str) -> str:
    rest = sum(int(a) * int(b) for a, b in zip(first12, _KEY, strict=True)) % 11
    return first12 + str(1 if rest == 10 else rest)


def test_cnp_check_digit_worked_example() -> None:
    # 1 96 01 01 12 345 x 279146358279: 2+63+54+0+4+0+3+5+16+6+28+45 = 226; 226 mod 11 = 6.
    assert _with_check("196010112345") == "1960101123456"
    assert validate_cnp("1960101123456") == "1960101123456"


@pytest.mark.parametrize(
    "first12",
    [
        "196010112345",  # man, 1996-01-01
        "285123140001",  # woman, 1985-12-31
        "600022940123",  # woman, 2000-02-29 (leap)
        "500010152111",  # man, 2000-01-01
        "612031112345",  # woman, 2012-03-11
        "400070112345",  # woman, 1800-07-01
        "780050546001",  # foreign resident, (19|20)80-05-05
        "800022970100",  # foreign resident, 2000-02-29 valid in the 2000s only
        "900123012300",  # foreign person, (19|20)00-12-30
        "900022912345",  # foreign person, 2000-02-29 (1900-02-29 does not exist)
        "170061741002",  # man, 1970-06-17, county 41
        "270061770002",  # county 70 (new allocation): not checked
    ],
)
def test_valid_cnp(first12: str) -> None:
    cnp = _with_check(first12)
    assert validate_cnp(cnp) == cnp
    assert validate_cnp(f" {cnp[:7]} {cnp[7:]} ") == cnp


@pytest.mark.parametrize(
    "first12",
    [
        "019601011234",  # sex digit 0
        "196130112345",  # month 13
        "196000112345",  # month 00
        "196010012345",  # day 00
        "196023012345",  # 1996-02-30
        "195022912345",  # 1995-02-29 (not leap)
        "196043112345",  # 1996-04-31
        "300022940123",  # 1800-02-29 (not leap)
        "501022940123",  # 2001-02-29
        "600023140123",  # 2000-02-31
        "800023012345",  # foreign resident, 02-30 in any century
    ],
)
def test_invalid_cnp_dates(first12: str) -> None:
    assert validate_cnp(_with_check(first12)) is None


@pytest.mark.parametrize(
    "text",
    [
        "1960101123455",  # wrong check digit (6 is right)
        "1960101123450",
        "196010112345",  # 12 digits
        "19601011234545",  # 14 digits
        "0000000000000",
        "1960101I23454",
        "",
        "abcdefghijklm",
    ],
)
def test_invalid_cnp(text: str) -> None:
    assert validate_cnp(text) is None


def test_cnp_check_digit_ten_becomes_one() -> None:
    # Search the serials for the first CNP whose weighted sum is 10 mod 11.
    candidates = [f"1960101{serial:03d}01" for serial in range(1000)]
    first12 = next(
        c
        for c in candidates
        if sum(int(a) * int(b) for a, b in zip(c, _KEY, strict=True)) % 11 == 10
    )
    # 1 96 01 01 009 01: 2+63+54+0+4+0+3+0+0+18+0+9 = 153; 153 mod 11 = 10 -> check digit 1.
    assert first12 == "196010100901"
    assert validate_cnp(first12 + "1") == first12 + "1"
    assert validate_cnp(first12 + "0") is None


# --------------------------------------------------------------------------------------------
# EU VAT ids


@pytest.mark.parametrize(
    ("text", "country", "expected"),
    [
        ("DE123456789", None, "DE123456789"),
        ("de 123 456 789", None, "DE123456789"),
        ("DE-123.456.789", "FR", "DE123456789"),  # the written prefix wins
        ("123456789", "DE", "DE123456789"),
        ("123456789", "Germany", "DE123456789"),
        ("ATU12345678", None, "ATU12345678"),
        ("U12345678", "AT", "ATU12345678"),
        ("BE0123456789", None, "BE0123456789"),
        ("BE 1234.567.890", None, "BE1234567890"),
        ("BG123456789", None, "BG123456789"),
        ("BG1234567890", None, "BG1234567890"),
        ("CY12345678X", None, "CY12345678X"),
        ("CZ12345678", None, "CZ12345678"),
        ("CZ1234567890", None, "CZ1234567890"),
        ("DK12345678", None, "DK12345678"),
        ("EE123456789", None, "EE123456789"),
        ("EL123456789", None, "EL123456789"),
        ("el 123456789", None, "EL123456789"),
        ("GR123456789", None, "EL123456789"),
        ("123456789", "GR", "EL123456789"),
        ("123456789", "EL", "EL123456789"),
        ("123456789", "Greece", "EL123456789"),
        ("ESX1234567X", None, "ESX1234567X"),
        ("ES12345678Z", None, "ES12345678Z"),
        ("ESB12345678", None, "ESB12345678"),
        ("FI12345678", None, "FI12345678"),
        ("FR12345678901", None, "FR12345678901"),
        ("FRAB123456789", None, "FRAB123456789"),
        ("AB123456789", "FR", "FRAB123456789"),
        ("HR12345678901", None, "HR12345678901"),
        ("HU12345678", None, "HU12345678"),
        ("IE1234567T", None, "IE1234567T"),
        ("IE1234567WA", None, "IE1234567WA"),
        ("IE1S23456T", None, "IE1S23456T"),
        ("IT12345678901", None, "IT12345678901"),
        ("LT123456789", None, "LT123456789"),
        ("LT123456789012", None, "LT123456789012"),
        ("LU12345678", None, "LU12345678"),
        ("LV12345678901", None, "LV12345678901"),
        ("MT12345678", None, "MT12345678"),
        ("NL123456789B01", None, "NL123456789B01"),
        ("nl 1234.56.789.b.01", None, "NL123456789B01"),
        ("PL1234567890", None, "PL1234567890"),
        ("PT123456789", None, "PT123456789"),
        ("RO18547290", None, "RO18547290"),
        ("ro 14399840", None, "RO14399840"),
        ("14399840", "RO", "RO14399840"),
        ("14399840", "România", "RO14399840"),
        ("RO19", None, "RO19"),
        ("SE123456789001", None, "SE123456789001"),
        ("SI12345678", None, "SI12345678"),
        ("SK1234567890", None, "SK1234567890"),
        ("XI123456789", None, "XI123456789"),
        ("XIGD123", None, "XIGD123"),
        ("123456789", "XI", "XI123456789"),
    ],
)
def test_valid_vat_id(text: str, country: str | None, expected: str) -> None:
    assert normalize_vat_id(text, country) == expected


@pytest.mark.parametrize(
    ("text", "country"),
    [
        ("RO18547291", None),  # CUI check digit
        ("RO018547290", None),  # leading zero
        ("RO12345678901", None),  # 11 digits
        ("18547291", "RO"),
        ("DE12345678", None),  # 8 digits
        ("DE1234567890", None),
        ("ATU1234567", None),
        ("AT12345678", None),  # missing U
        ("BE2123456789", None),
        ("ES123456789", None),  # Spanish ids need a letter
        ("FRIO123456789", None),  # I and O are not used in the French key
        ("NL123456789A01", None),
        ("SE123456789002", None),
        ("GB123456789", None),  # not EU
        ("CHE123456789", None),
        ("123456789", None),  # no prefix, no country
        ("123456789", "US"),
        ("123456789", "Narnia"),
        ("", "DE"),
        ("DE", None),
        ("DE12345678Ä", None),
    ],
)
def test_invalid_vat_id(text: str, country: str | None) -> None:
    assert normalize_vat_id(text, country) is None


# --------------------------------------------------------------------------------------------
# Countries


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("RO", "RO"),
        ("ro", "RO"),
        (" Ro ", "RO"),
        ("Romania", "RO"),
        ("România", "RO"),
        ("ROMÂNIA", "RO"),
        ("Rumänien", "RO"),
        ("Germany", "DE"),
        ("Deutschland", "DE"),
        ("Germania", "DE"),
        ("Österreich", "AT"),
        ("United Kingdom", "GB"),
        ("UK", "GB"),
        ("GB", "GB"),
        ("EL", "GR"),
        ("Greece", "GR"),
        ("España", "ES"),
        ("Italia", "IT"),
        ("France", "FR"),
        ("Republica Moldova", "MD"),
        ("United States", "US"),
        ("usa", "US"),
        ("the Netherlands", "NL"),
        ("Țările de Jos", "NL"),
        ("XI", "XI"),
        ("XK", "1A"),
        ("Kosovo", "1A"),
        ("zw", "ZW"),
        ("AQ", "AQ"),
    ],
)
def test_normalize_country(text: str, expected: str) -> None:
    assert normalize_country(text) == expected


@pytest.mark.parametrize("text", ["", "XX", "ZZ", "Narnia", "ROU", "R", "123", None])
def test_normalize_country_unknown(text: str | None) -> None:
    assert normalize_country(text) is None


@pytest.mark.parametrize(
    ("country", "expected"),
    [
        ("RO", True),
        ("de", True),
        ("EL", True),
        ("GR", True),
        ("Croatia", True),
        ("CY", True),
        ("GB", False),
        ("XI", False),
        ("CH", False),
        ("NO", False),
        ("US", False),
        ("", False),
        ("??", False),
    ],
)
def test_is_eu(country: str, expected: bool) -> None:
    assert is_eu(country) is expected


def test_eu_has_27_members() -> None:
    from stripe_efactura.invoicing.countries import EU_MEMBERS, ISO_ALPHA2

    assert len(EU_MEMBERS) == 27
    assert EU_MEMBERS <= ISO_ALPHA2
    assert len(ISO_ALPHA2) == 249
