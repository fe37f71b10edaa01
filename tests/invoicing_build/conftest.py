"""Fixtures for the invoice builder tests: demo settings and a small Sale factory."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from factories.stripe_flows import RO_BILLING
from stripe_efactura.config import Settings, demo_settings
from stripe_efactura.intake.sale import Sale

SaleFactory = Callable[..., Sale]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return demo_settings(tmp_path)


def make_sale(
    amount: int = 12100,
    currency: str = "RON",
    *,
    owner_type: str = "payment_intent",
    paid_at: datetime | None = None,
    billing: dict[str, Any] | None = None,
    **objects: Any,
) -> Sale:
    """A Sale paid by card; ``objects`` are the Stripe objects by role.

    Unless a ``charge`` is given, one is made with ``billing`` (default: a Brașov individual).
    """
    objs: dict[str, Any] = {"payment_intent": {"id": "pi_1", "metadata": {}}}
    objs["charge"] = {
        "id": "ch_1",
        "billing_details": RO_BILLING if billing is None else billing,
        "payment_method_details": {"type": "card", "card": {"brand": "visa", "last4": "4242"}},
        "metadata": {},
    }
    objs.update(objects)
    return Sale(
        payment_key="pi_1",
        owner_type=owner_type,
        owner_id="pi_1",
        currency=currency,
        amount=amount,
        paid_at=paid_at or datetime(2026, 11, 20, 10, 0, tzinfo=UTC),
        livemode=False,
        objects=objs,
    )


@pytest.fixture
def sale_factory() -> SaleFactory:
    return make_sale
