"""Deliberate truncation to the CIUS-RO length limits (BR-RO-Lnnn), exact strings."""

from __future__ import annotations

from dataclasses import replace

from lxml import etree

from factories.ubl_cases import B2C_RO_NO_CNP, CONSUMER_BV, EU_REVERSE_CHARGE_EUR, SELLER, Validator
from stripe_efactura.ubl.render import clean_text, render, truncate_text

NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
LICENCE = (
    "Licență anuală pentru platforma de facturare electronică, inclusiv suport tehnic "
    "prioritar și actualizări gratuite pe toată durata contractului"
)


def texts(xml: bytes, path: str) -> list[str]:
    return [e.text or "" for e in etree.fromstring(xml).xpath(path, namespaces=NS)]


def test_short_text_is_only_normalised() -> None:
    assert truncate_text("  Abonament   Pro\n\tlunar ", 100) == "Abonament Pro lunar"


def test_cut_on_a_word_boundary_with_ellipsis() -> None:
    assert truncate_text(LICENCE, 100) == (
        "Licență anuală pentru platforma de facturare electronică, inclusiv suport tehnic "
        "prioritar și…"
    )


def test_trailing_punctuation_is_dropped_before_the_ellipsis() -> None:
    text = "Pachet complet de servicii: găzduire, mentenanță, monitorizare, copii de siguranță"
    assert truncate_text(text, 60) == "Pachet complet de servicii: găzduire, mentenanță…"


def test_one_long_word_is_cut_mid_word() -> None:
    assert truncate_text("A" * 120, 100) == "A" * 99 + "…"


def test_cut_exactly_at_a_space_keeps_the_whole_word() -> None:
    assert truncate_text("abcd efgh ijkl", 10) == "abcd efgh…"


def test_never_separates_a_letter_from_its_combining_mark() -> None:
    # q + COMBINING DOT ABOVE has no precomposed form, so NFC keeps two code points
    text = "x" * 98 + "q\u0307" + "yyy"
    assert truncate_text(text, 100) == "x" * 98 + "…"


def test_never_splits_an_emoji_zwj_sequence() -> None:
    text = "x" * 97 + "\U0001f469\u200d\U0001f4bb" + "z"
    assert truncate_text(text, 100) == "x" * 97 + "…"


def test_astral_characters_count_as_one_and_no_surrogates_appear() -> None:
    out = truncate_text("\U0001f600" * 150, 100)
    assert out == "\U0001f600" * 99 + "…"
    assert out.encode("utf-8").decode("utf-8") == out


def test_lone_surrogates_and_control_characters_are_removed() -> None:
    assert clean_text("abc\ud800def\x01\x0bghi") == "abcdefghi"


def test_identifier_cut_is_hard_and_without_ellipsis() -> None:
    assert truncate_text("1234567890 1234567890 1234", 20, ellipsis=False) == "1234567890 123456789"


def test_render_applies_every_limit_and_stays_valid(cius_ro: Validator, ubl_xsd: Validator) -> None:
    # given a buyer, a line and notes longer than every CIUS-RO limit
    address = replace(
        CONSUMER_BV.address,
        line1="Strada " + "Trandafirilor " * 12,
        line2="Bloc " + "B" * 120,
        city="Satul Foarte Lung Din Comuna Cu Nume Si Mai Lung De Atat",
        postal_code="1234567890123456789012345",
    )
    buyer = replace(
        CONSUMER_BV,
        name="Popescu " * 30,
        address=address,
        email="x" * 95 + "@example.com",
    )
    item = replace(B2C_RO_NO_CNP.lines[0], name=LICENCE, description=LICENCE + " " + LICENCE)
    notes = tuple(f"Nota {i}: " + "text " * 70 for i in range(25))
    inv = replace(B2C_RO_NO_CNP, buyer=buyer, lines=(item,), notes=notes)
    xml = render(inv)
    party = "//cac:AccountingCustomerParty/cac:Party"
    # then each field is cut as documented in docs/ubl.md
    assert texts(xml, f"{party}/cac:PartyName/cbc:Name") == [("Popescu " * 25).strip() + "…"]
    assert texts(xml, f"{party}//cbc:StreetName") == [
        "Strada " + ("Trandafirilor " * 10).strip() + "…"
    ]
    assert texts(xml, f"{party}//cbc:AdditionalStreetName") == ["Bloc " + "B" * 94 + "…"]
    assert texts(xml, f"{party}//cbc:CityName") == [
        "Satul Foarte Lung Din Comuna Cu Nume Si Mai Lung…"
    ]
    assert texts(xml, f"{party}//cbc:PostalZone") == ["12345678901234567890"]
    assert texts(xml, f"{party}//cbc:ElectronicMail") == []
    assert texts(xml, "//cac:Item/cbc:Name") == [truncate_text(LICENCE, 100)]
    assert texts(xml, "//cac:Item/cbc:Description") == [
        LICENCE + " Licență anuală pentru platforma de facturare…"
    ]
    written = texts(xml, "/*/cbc:Note")
    assert len(written) == 20
    assert written[0] == "Nota 0: " + ("text " * 58).strip() + "…"
    assert written[-1].startswith("Nota 19: ")
    assert ubl_xsd(xml) == []
    assert cius_ro(xml) == []


def test_exchange_rate_note_survives_the_twenty_note_cap() -> None:
    inv = replace(EU_REVERSE_CHARGE_EUR, notes=tuple(f"N{i}" for i in range(30)))
    written = texts(render(inv), "/*/cbc:Note")
    assert written == [f"N{i}" for i in range(19)] + [
        "Curs BNR din 19.11.2026: 1 EUR = 5,0875 RON. Total TVA: 0,00 RON."
    ]


def test_seller_legal_info_is_limited_to_1000_characters() -> None:
    seller = replace(SELLER, trade_register="J12/" + "9" * 1200)
    xml = render(replace(B2C_RO_NO_CNP, seller=seller))
    (legal,) = texts(xml, "//cbc:CompanyLegalForm")
    assert legal == "Nr. Reg. Com. J12/" + "9" * 981 + "…"
    assert len(legal) == 1000
