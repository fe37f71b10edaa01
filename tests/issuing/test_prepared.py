"""The numbered XML and snapshot, prepared before the write transaction (``issuing.prepare``),
are byte for byte what rendering the numbered invoice inside it gave."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import cast

import pytest

from factories import invoices as factory
from stripe_efactura.app import issuing
from stripe_efactura.app.context import AppContext
from stripe_efactura.invoicing.model import Invoice
from stripe_efactura.invoicing.serialize import invoice_to_json
from stripe_efactura.ubl.render import RenderError, render

CTX = cast(AppContext, None)  # render_xml does not use the context
CASES: list[Callable[[], Invoice]] = [
    factory.standard_invoice,
    factory.storno_invoice,
    factory.eur_invoice,
    factory.reverse_charge_invoice,
    factory.long_invoice,
]
NUMBERS = [
    "SEF000001",
    "FCT-2026-0000042",
    "A&B<1>\"'",  # escaped in XML and in JSON
    "Ș-Ț/ă 0042",  # not ASCII
    "  X \t Y\n7  ",  # whitespace cleaned in the XML, kept in the snapshot
    "e\u0301-9",  # NFC in the XML
    "N" * 199 + "1",  # the longest BT-1
]


@pytest.mark.parametrize("make", CASES, ids=lambda f: f.__name__)
def test_prepared_documents_equal_the_rendered_ones(make: Callable[[], Invoice]) -> None:
    validated = make()
    prepared = issuing.prepare(CTX, validated)
    assert prepared is not None
    for number in NUMBERS:
        numbered = replace(validated, number=number)
        xml, snapshot = prepared.numbered(number)
        assert xml == render(numbered), number
        assert snapshot == invoice_to_json(numbered), number


def test_a_number_render_refuses_is_refused_the_same_way() -> None:
    prepared = issuing.prepare(CTX, factory.standard_invoice())
    assert prepared is not None
    for number in ("", "N" * 201):
        with pytest.raises(RenderError, match="BT-1"):
            render(replace(factory.standard_invoice(), number=number))
        with pytest.raises(RenderError, match="BT-1"):
            prepared.numbered(number)


def test_a_token_found_twice_is_not_prepared(monkeypatch: pytest.MonkeyPatch) -> None:
    fixed = uuid.UUID(int=7)
    monkeypatch.setattr(issuing.uuid, "uuid4", lambda: fixed)
    validated = factory.standard_invoice()
    clash = replace(validated, buyer=replace(validated.buyer, name=f"NUMBER{fixed.hex}"))
    assert issuing.prepare(CTX, clash) is None
    assert issuing.prepare(CTX, validated) is not None
