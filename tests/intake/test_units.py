"""A shop's free-text unit of measure becomes a UN/ECE rec. 20 code (BT-130, BR-CL-23)."""

from __future__ import annotations

import pytest

from stripe_efactura.intake.units import unit_code

CASES = [
    ("buc", "H87"),
    ("Buc.", "H87"),
    ("bucăți", "H87"),
    ("pcs", "H87"),
    ("each", "H87"),
    ("kg", "KGM"),
    ("Kilograme", "KGM"),
    ("g", "GRM"),
    ("l", "LTR"),
    ("ml", "MLT"),
    ("m", "MTR"),
    ("m²", "MTK"),
    ("mp", "MTK"),
    ("m³", "MTQ"),
    ("oră", "HUR"),
    ("ore", "HUR"),
    ("zi", "DAY"),
    ("lună", "MON"),
    ("an", "ANN"),
    ("săptămână", "WEE"),
    ("pereche", "PR"),
    ("set", "SET"),
    ("kWh", "KWH"),
    ("serviciu", "E48"),
    ("cutie", "XBX"),
    ("pachet", "XPK"),
    ("  luni  ", "MON"),
    # already a code: kept for the official rules to judge
    ("KGM", "KGM"),
    ("H87", "H87"),
    ("XBX", "XBX"),
    ("C62", "C62"),
    # nothing usable: pieces
    (None, "H87"),
    ("", "H87"),
    ("   ", "H87"),
    ("bax de 6", "H87"),
    ("Kgm", "H87"),
]


@pytest.mark.parametrize(("text", "code"), CASES)
def test_units_of_measure(text: str | None, code: str) -> None:
    assert unit_code(text) == code
