"""Counties (ISO 3166-2:RO), Bucharest sectors and Romanian address normalisation."""

from __future__ import annotations

import pytest

from stripe_efactura.invoicing.ro import (
    COUNTIES,
    bucharest_sector,
    county_code,
    county_name,
    normalize_ro_address,
    sector_from_postal_code,
)

# Each county: the ways people type it. Every row is checked as given, with "Jud. ", "Judetul ",
# "Județul " in front, in upper case, and by its bare and "RO-" codes.
COUNTY_SPELLINGS: dict[str, tuple[str, ...]] = {
    "RO-AB": ("Alba",),
    "RO-AG": ("Argeș", "Arges", "Argeş"),
    "RO-AR": ("Arad",),
    "RO-BC": ("Bacău", "Bacau"),
    "RO-BH": ("Bihor",),
    "RO-BN": ("Bistrița-Năsăud", "Bistrita Nasaud", "Bistriţa-Năsăud", "Bistrita-Nasaud"),
    "RO-BR": ("Brăila", "Braila"),
    "RO-BT": ("Botoșani", "Botosani", "Botoşani"),
    "RO-BV": ("Brașov", "Brasov", "Braşov"),
    "RO-BZ": ("Buzău", "Buzau"),
    "RO-CJ": ("Cluj",),
    "RO-CL": ("Călărași", "Calarasi", "Călăraşi"),
    "RO-CS": ("Caraș-Severin", "Caras Severin", "Caras-Severin", "Caraş Severin"),
    "RO-CT": ("Constanța", "Constanta", "Constanţa"),
    "RO-CV": ("Covasna",),
    "RO-DB": ("Dâmbovița", "Dambovita", "Dîmbovița", "Dimbovita", "Dâmboviţa"),
    "RO-DJ": ("Dolj",),
    "RO-GJ": ("Gorj",),
    "RO-GL": ("Galați", "Galati", "Galaţi"),
    "RO-GR": ("Giurgiu",),
    "RO-HD": ("Hunedoara",),
    "RO-HR": ("Harghita",),
    "RO-IF": ("Ilfov",),
    "RO-IL": ("Ialomița", "Ialomita", "Ialomiţa"),
    "RO-IS": ("Iași", "Iasi", "Iaşi"),
    "RO-MH": ("Mehedinți", "Mehedinti", "Mehedinţi"),
    "RO-MM": ("Maramureș", "Maramures", "Maramureş"),
    "RO-MS": ("Mureș", "Mures", "Mureş"),
    "RO-NT": ("Neamț", "Neamt", "Neamţ"),
    "RO-OT": ("Olt",),
    "RO-PH": ("Prahova",),
    "RO-SB": ("Sibiu",),
    "RO-SJ": ("Sălaj", "Salaj"),
    "RO-SM": ("Satu Mare", "Satu-Mare", "SatuMare"),
    "RO-SV": ("Suceava",),
    "RO-TL": ("Tulcea",),
    "RO-TM": ("Timiș", "Timis", "Timiş"),
    "RO-TR": ("Teleorman",),
    "RO-VL": ("Vâlcea", "Valcea", "Vîlcea", "Vilcea"),
    "RO-VN": ("Vrancea",),
    "RO-VS": ("Vaslui",),
    "RO-B": ("București", "Bucuresti", "Bucureşti", "Bucharest", "Municipiul București"),
}

_PREFIXES = ("", "Jud. ", "jud ", "Judetul ", "Județul ", "JUDEȚUL ", "judeţul ", "Jud.")


def _cases() -> list[tuple[str, str]]:
    cases: list[tuple[str, str]] = []
    for code, names in COUNTY_SPELLINGS.items():
        short = code.removeprefix("RO-")
        cases += [(short, code), (short.lower(), code), (code, code), (code.lower(), code)]
        cases += [(f"RO {short}", code), (f" {short} ", code)]
        for name in names:
            cases += [(p + name, code) for p in _PREFIXES]
            cases += [(name.upper(), code), (name.lower(), code), (f"{name} County", code)]
    return cases


def test_table_covers_all_counties() -> None:
    assert set(COUNTY_SPELLINGS) == set(COUNTIES)
    assert len(COUNTIES) == 42
    assert all(code.startswith("RO-") for code in COUNTIES)


@pytest.mark.parametrize(("text", "expected"), _cases())
def test_county_code(text: str, expected: str) -> None:
    assert county_code(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mun. București", "RO-B"),
        ("Municipiul Bucuresti", "RO-B"),
        ("BUCURESTI", "RO-B"),
        ("Bucureşti Sector 3", "RO-B"),
        ("Bucuresti, sectorul 6", "RO-B"),
        ("Sector 1", "RO-B"),
        ("Sectorul 3 București", "RO-B"),
        ("Bucuresti-Sector 3", "RO-B"),
        ("Sector nr. 2, Bucuresti", "RO-B"),
        ("Ilfov, Sector 3", "RO-IF"),
        ("Bukarest", "RO-B"),
        ("B", "RO-B"),
        ("RO-B", "RO-B"),
        ("Ilfov county", "RO-IF"),
        ("Judet Ilfov", "RO-IF"),
        ("Cluj, Romania", "RO-CJ"),
        ("jud.Cluj", "RO-CJ"),
        # County seats and larger towns, as a fallback.
        ("Cluj-Napoca", "RO-CJ"),
        ("Timișoara", "RO-TM"),
        ("Târgu Mureș", "RO-MS"),
        ("Tg. Mures", "RO-MS"),
        ("Tîrgu-Mureş", "RO-MS"),
        ("Râmnicu Vâlcea", "RO-VL"),
        ("Rm. Valcea", "RO-VL"),
        ("Sfântu Gheorghe", "RO-CV"),
        ("Drobeta-Turnu Severin", "RO-MH"),
        ("Piatra-Neamț", "RO-NT"),
        ("Alba Iulia", "RO-AB"),
        ("Ploiești", "RO-PH"),
        ("Pitești", "RO-AG"),
        ("Voluntari", "RO-IF"),
        ("Otopeni", "RO-IF"),
        ("Popești-Leordeni", "RO-IF"),
        ("Mun. Oradea", "RO-BH"),
        ("Craiova", "RO-DJ"),
        ("Focșani", "RO-VN"),
        ("Miercurea Ciuc", "RO-HR"),
    ],
)
def test_county_code_more(text: str, expected: str) -> None:
    assert county_code(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "Jud.",
        "RO",
        "Romania",
        "XY",
        "RO-XX",
        "Bavaria",
        "Berlin",
        "Sector 7",
        "Cluj Brasov",
        "Jud. Atlantis",
        "12345",
        "Ciudad",
    ],
)
def test_county_code_unknown(text: str) -> None:
    assert county_code(text) is None


def test_county_code_none() -> None:
    assert county_code(None) is None


@pytest.mark.parametrize(
    ("code", "name"),
    [("RO-BV", "Brașov"), ("ro-b", "București"), ("RO-BN", "Bistrița-Năsăud"), ("RO-XX", None)],
)
def test_county_name(code: str, name: str | None) -> None:
    assert county_name(code) == name


# --------------------------------------------------------------------------------------------
# Sectors


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Sector 3", "SECTOR3"),
        ("sector 3", "SECTOR3"),
        ("SECTOR 3", "SECTOR3"),
        ("Sectorul 3", "SECTOR3"),
        ("sectorul 3", "SECTOR3"),
        ("Sect. 3", "SECTOR3"),
        ("sect 3", "SECTOR3"),
        ("sect.3", "SECTOR3"),
        ("SECTOR3", "SECTOR3"),
        ("sector-3", "SECTOR3"),
        ("Sector nr. 3", "SECTOR3"),
        ("S3", "SECTOR3"),
        ("s3", "SECTOR3"),
        ("s.3", "SECTOR3"),
        ("S. 3", "SECTOR3"),
        ("Str. Lipscani 5, sector 1", "SECTOR1"),
        ("Bd. Unirii 10, bl. A, sc. 2, ap. 14, Sectorul 4", "SECTOR4"),
        ("Bucuresti S2", "SECTOR2"),
        ("Bucuresti (sector 5)", "SECTOR5"),
        ("București, Sectorul 6", "SECTOR6"),
        ("SECTORUL 6", "SECTOR6"),
        ("Șos. Kiseleff 1, S1", "SECTOR1"),
        ("Sector 2,", "SECTOR2"),
    ],
)
def test_sector(text: str, expected: str) -> None:
    assert bucharest_sector(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Sector 7",
        "Sector 0",
        "Sector 12",
        "S7",
        "S30",
        "S3A",
        "BS3",
        "DS3 Crossback",
        "Bl. AS3",
        "030167",
        "Str. Sectorului 3x",
        "sc. 3",
        "Scara 3",
        "Str. 3 Martie",
        "Section 3",
        "insect 3",
        "Bucuresti",
        "",
        "nr. 3",
        "sector",
    ],
)
def test_not_a_sector(text: str) -> None:
    assert bucharest_sector(text) is None


def test_sector_from_any_field_long_form_wins() -> None:
    assert bucharest_sector(None, "", "Bl. S2", "Sector 5") == "SECTOR5"
    assert bucharest_sector("Str. X 1", None, "S4") == "SECTOR4"
    assert bucharest_sector("sector 1", "sector 2") == "SECTOR1"
    assert bucharest_sector() is None
    assert bucharest_sector(None, None) is None


@pytest.mark.parametrize(
    ("postal", "expected"),
    [
        ("010011", "SECTOR1"),
        ("021234", "SECTOR2"),
        ("030167", "SECTOR3"),
        ("040101", "SECTOR4"),
        ("050552", "SECTOR5"),
        ("061344", "SECTOR6"),
        ("RO-030167", "SECTOR3"),
        (" 030 167 ", "SECTOR3"),
        ("077190", None),  # Voluntari, Ilfov
        ("000123", None),
        ("400001", None),  # Cluj-Napoca
        ("03016", None),
        ("0301670", None),
        ("abc", None),
        ("", None),
        (None, None),
    ],
)
def test_sector_from_postal_code(postal: str | None, expected: str | None) -> None:
    assert sector_from_postal_code(postal) == expected


# --------------------------------------------------------------------------------------------
# Whole addresses: (line1, line2, city, state, postal) -> (city, county)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        # Bucharest with the sector written somewhere.
        (("Str. Lipscani 5", None, "București", "Sector 3", "030167"), ("SECTOR3", "RO-B")),
        (("Str. Lipscani 5, Sector 1", None, "Bucuresti", "Bucuresti", None), ("SECTOR1", "RO-B")),
        (("Str. X 1", "sectorul 2", "Bucharest", None, None), ("SECTOR2", "RO-B")),
        (("Str. X 1", None, "Sector 4", "", None), ("SECTOR4", "RO-B")),
        (("Str. X 1", None, "Sector 4", "Ilfov", None), ("SECTOR4", "RO-B")),
        (("Str. X 1", None, "Bucuresti S6", None, None), ("SECTOR6", "RO-B")),
        (("Str. X 1", None, "Bucuresti", "RO-B", "050552"), ("SECTOR5", "RO-B")),
        (("Str. X 1", "S.1", "Mun. București", "Municipiul București", None), ("SECTOR1", "RO-B")),
        # The written sector wins over the postal code.
        (("Str. X 1, sector 2", None, "Bucuresti", None, "030167"), ("SECTOR2", "RO-B")),
        # Only the postal code tells the sector.
        (("Str. X 1", None, "Bucuresti", "Bucuresti", "061344"), ("SECTOR6", "RO-B")),
        (("Str. X 1", None, "Bucharest", None, "010011"), ("SECTOR1", "RO-B")),
        # No county, no city county: a sector or a Bucharest postal code means Bucharest.
        (("Str. X 1, sector 3", None, "", None, None), ("SECTOR3", "RO-B")),
        (("Str. X 1", "Bucuresti, S5", "Centru", None, None), ("SECTOR5", "RO-B")),
        (("Str. X 1", None, "Centru", None, "040101"), ("SECTOR4", "RO-B")),
        # Bucharest without any sector: the city stays, the caller reports it.
        (("Str. X 1", None, " Bucuresti ", "Bucuresti", None), ("Bucuresti", "RO-B")),
        (("Str. X 1", None, "Bucuresti", None, "077190"), ("Bucuresti", "RO-B")),
        # Elsewhere: the county from the state, then from the city.
        (("Str. București 10", None, "Ploiești", "Prahova", "100001"), ("Ploiești", "RO-PH")),
        (("Str. X 1", None, "Cluj-Napoca", "Cluj", "400001"), ("Cluj-Napoca", "RO-CJ")),
        (("Str. X 1", None, "Cluj-Napoca", None, None), ("Cluj-Napoca", "RO-CJ")),
        (("Str. X 1", None, "Voluntari", "Ilfov", "077190"), ("Voluntari", "RO-IF")),
        (("Str. X 1", None, "Voluntari", "", "077190"), ("Voluntari", "RO-IF")),
        (("Str. X 1", None, "Brașov", "Jud. Brașov", None), ("Brașov", "RO-BV")),
        (("Str. X 1", None, "Sânpetru", "BV", None), ("Sânpetru", "RO-BV")),
        (
            ("Str. X 1", None, "Sânpetru  de  Jos", "Județul Brașov", None),
            ("Sânpetru de Jos", "RO-BV"),
        ),
        # A street named București or a block named S3 does not move the buyer to Bucharest.
        (("Bl. S3, Str. București", None, "Ploiești", "Prahova", None), ("Ploiești", "RO-PH")),
        (("Str. București 1", None, "Turda", None, None), ("Turda", "RO-CJ")),
        (("Str. București 5", None, "Sânpetru", None, None), ("Sânpetru", None)),
        (("Bl. S3", None, "Sânpetru", None, None), ("Sânpetru", None)),
        # ... but two weak hints do: București in a line, a short sector form, no city.
        (("Str. București 5", None, "", None, None), ("", "RO-B")),
        (("Bl. 2, S3", None, None, None, None), ("SECTOR3", "RO-B")),
        # The county says Bucharest but the city is a known town elsewhere.
        (("Str. X 1", None, "Voluntari", "Bucuresti", "077190"), ("Voluntari", "RO-IF")),
        (("Str. X 1, Sector 1", None, "Voluntari", "Bucuresti", None), ("SECTOR1", "RO-B")),
        # The city says Bucharest whatever the county says.
        (("Str. X 1", None, "Bucuresti", "Ilfov", None), ("Bucuresti", "RO-B")),
        (("Str. X 1", None, "Bucuresti", "Prahova", "030167"), ("SECTOR3", "RO-B")),
        # Unknown everything.
        (("Str. X 1", None, "Sânpetru", None, "507190"), ("Sânpetru", None)),
        ((None, None, None, None, None), ("", None)),
    ],
)
def test_normalize_ro_address(
    fields: tuple[str | None, str | None, str | None, str | None, str | None],
    expected: tuple[str, str | None],
) -> None:
    assert normalize_ro_address(*fields) == expected
