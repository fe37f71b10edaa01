"""The names and signatures other modules import from the Romanian rule modules."""

from __future__ import annotations

import inspect
from collections.abc import Callable

import pytest

from stripe_efactura.invoicing import deadlines, ro, vat
from stripe_efactura.invoicing.model import VatCategory

API: list[tuple[Callable[..., object], list[str]]] = [
    (ro.validate_cui, ["text"]),
    (ro.validate_cnp, ["text"]),
    (ro.normalize_vat_id, ["text", "country"]),
    (ro.is_eu, ["country"]),
    (ro.normalize_country, ["text"]),
    (ro.county_code, ["text"]),
    (ro.bucharest_sector, ["fields"]),
    (ro.normalize_ro_address, ["line1", "line2", "city", "state", "postal_code"]),
    (vat.rate_for, ["kind", "on"]),
    (vat.rates_in_force, ["on"]),
    (vat.is_valid_rate, ["rate", "on"]),
    (vat.tax_class, ["category", "rate", "exemption_code", "exemption_reason", "on"]),
    (
        vat.stripe_tax_category,
        ["taxability_reason", "rate", "goods", "buyer_country", "zero_default"],
    ),
    (deadlines.romanian_holidays, ["year"]),
    (deadlines.working_days_after, ["start", "n"]),
    (deadlines.upload_deadline, ["issue_date"]),
    (deadlines.is_working_day, ["d"]),
]


@pytest.mark.parametrize(("func", "params"), API, ids=[f.__name__ for f, _ in API])
def test_signature(func: Callable[..., object], params: list[str]) -> None:
    assert callable(func)
    assert list(inspect.signature(func).parameters) == params


def test_tables_exist() -> None:
    assert isinstance(vat.RATE_TABLE, tuple)
    assert set(vat.EXEMPTIONS) == set(VatCategory)
