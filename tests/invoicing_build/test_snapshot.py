"""Invoice snapshots: the JSON round trip, and the per-process cache of the parsed invoice."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from factories import invoices as factory
from stripe_efactura.invoicing.model import Invoice
from stripe_efactura.invoicing.serialize import invoice_from_json, invoice_to_json

CASES: list[Callable[[], Invoice]] = [
    factory.standard_invoice,
    factory.storno_invoice,
    factory.eur_invoice,
    factory.reverse_charge_invoice,
]


@pytest.mark.parametrize("make", CASES, ids=lambda f: f.__name__)
def test_round_trip_is_lossless(make: Callable[[], Invoice]) -> None:
    invoice = make()
    text = invoice_to_json(invoice)
    assert invoice_from_json(text) == invoice
    assert invoice_to_json(invoice_from_json(text)) == text


def test_the_same_snapshot_text_is_parsed_once() -> None:
    invoice = factory.standard_invoice()
    text = invoice_to_json(invoice)
    first = invoice_from_json(text)
    # an equal string read again from the database (another object) hits the cache
    again = invoice_from_json("".join(list(text)))
    assert again is first


def test_a_different_snapshot_is_its_own_invoice() -> None:
    invoice = factory.standard_invoice()
    other = replace(invoice, number=invoice.number + "9")
    a = invoice_from_json(invoice_to_json(invoice))
    b = invoice_from_json(invoice_to_json(other))
    assert (a.number, b.number) == (invoice.number, invoice.number + "9")
    assert a is not b
