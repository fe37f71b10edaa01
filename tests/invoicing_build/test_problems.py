"""The problem catalogue: complete texts, formatting, and docs/errors.md in step."""

from __future__ import annotations

from pathlib import Path

import pytest

from stripe_efactura.invoicing.problems import CATALOGUE, catalogue_markdown, problem

DOCS = Path(__file__).resolve().parents[2] / "docs" / "errors.md"


def test_docs_list_every_code_exactly() -> None:
    assert catalogue_markdown() in DOCS.read_text(encoding="utf-8")


@pytest.mark.parametrize("code", sorted(CATALOGUE))
def test_every_entry_is_complete_and_formats(code: str) -> None:
    spec = CATALOGUE[code]
    assert code.startswith("P-") and code.upper() == code
    assert all([spec.field, spec.message_ro, spec.message_en, spec.hint, spec.hint_ro])
    p = problem(
        code,
        key="k",
        value="v",
        source="s",
        reason="r",
        line=1,
        name="n",
        currency="RON",
        collected="1",
        rounded="1",
        lines_total="1",
        tax="1",
        taxable="1",
        rate="21",
        day="2026-12-01",
        since="2026-12-01 08:00",
        state_ro="inactivă",
        state_en="inactive",
        paid_on="15.07.2025",
        issued_on="01.12.2026",
        deadline="15.08.2025",
    )
    assert p.code == code and p.fatal is spec.fatal
    for text in (p.field, p.message_ro, p.message_en):
        assert "{" not in text and "?" not in text.replace("?)", "")


def test_problem_context_and_field_override() -> None:
    p = problem("P-CUI-INVALID", value="123", source="payment_intent.metadata.cui")
    assert (
        p.message_en == "The CUI/CIF '123' (from payment_intent.metadata.cui) is not valid "
        "(wrong format or check digit)."
    )
    assert (
        p.message_ro == "CUI/CIF-ul „123” (din payment_intent.metadata.cui) nu este valid "
        "(cifra de control nu corespunde sau format greșit)."
    )
    assert p.context == (("source", "payment_intent.metadata.cui"), ("value", "123"))
    assert p.to_dict()["context"] == {"source": "payment_intent.metadata.cui", "value": "123"}
    assert (
        problem("P-LINE-QUANTITY-INVALID", field="metadata.quantity", line=1).field
        == "metadata.quantity"
    )
    assert problem("P-METADATA-ORDER-ITEM-INVALID").message_en.startswith("Metadata '?' = '?'")
    with pytest.raises(KeyError):
        problem("P-NOPE")
