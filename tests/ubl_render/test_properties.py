"""Property tests: truncation bounds and well-formed output for arbitrary text."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from factories.ubl_cases import B2C_RO_NO_CNP, CONSUMER_BV
from stripe_efactura.ubl.render import ELLIPSIS, clean_text, render, truncate_text

NS = {"cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"}
ANY_TEXT = st.text(st.characters(codec=None), max_size=400)


@settings(max_examples=300, deadline=None)
@given(ANY_TEXT, st.integers(min_value=2, max_value=300), st.booleans())
def test_truncation_respects_the_limit_and_is_valid_utf8(
    text: str, limit: int, ellipsis: bool
) -> None:
    out = truncate_text(text, limit, ellipsis=ellipsis)
    clean = clean_text(text)
    assert len(out) <= limit
    assert out.encode("utf-8").decode("utf-8") == out
    assert clean_text(out) == out or out.endswith(ELLIPSIS)
    if len(clean) <= limit:
        assert out == clean
    elif ellipsis:
        assert out.endswith(ELLIPSIS)
        assert clean.startswith(out[:-1])
    else:
        assert clean.startswith(out)


@settings(max_examples=100, deadline=None)
@given(ANY_TEXT.filter(lambda s: clean_text(s) != ""))
def test_any_buyer_name_gives_well_formed_xml_with_the_cleaned_name(name: str) -> None:
    xml = render(replace(B2C_RO_NO_CNP, buyer=replace(CONSUMER_BV, name=name)))
    doc = etree.fromstring(xml)
    (written,) = doc.xpath(
        "//*[local-name()='AccountingCustomerParty']//cbc:RegistrationName", namespaces=NS
    )
    assert written.text == truncate_text(name, 200)
