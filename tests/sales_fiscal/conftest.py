"""Fixtures for the fiscal-situation tests: Stripe-shaped sales built, rendered, validated.

Each case goes the whole way a payment goes: Stripe objects -> ``intake.draft.draft_of`` ->
``invoicing.build.build_invoice`` -> ``ubl.render``; the XML is compared byte for byte with a
golden file and run through the official UBL 2.1 XSD and ANAF's CIUS-RO 1.0.9 rules (read from
``../shared/validation``; the validating tests skip when it is absent).

Regenerate the golden files with ``UPDATE_GOLDEN=1`` and review the diff.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from factories.stripe_flows import RO_BILLING
from stripe_efactura.config import Settings, demo_settings
from stripe_efactura.intake.sale import Sale

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
XSLT = "cius-ro-1.0.9/xslt/EN16931-CIUS_RO-UBL-validation.xslt"
XSD = "ubl-2.1/xsd/maindoc/UBL-Invoice-2.1.xsd"
_FINDING = re.compile(r"<svrl:(failed-assert|successful-report)\b([^>]*)>(.*?)</svrl:\1>", re.S)
_ID = re.compile(r'\bid="([^"]*)"')

Validator = Callable[[bytes], list[str]]

CARD: dict[str, Any] = {"type": "card", "card": {"brand": "visa", "last4": "4242"}}
PAID_AT = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def make_sale(
    amount: int,
    currency: str = "RON",
    *,
    owner_type: str = "payment_intent",
    billing: dict[str, Any] | None = None,
    method: dict[str, Any] | None = None,
    paid_at: datetime = PAID_AT,
    **objects: Any,
) -> Sale:
    """A paid Sale: a PaymentIntent and its Charge (``billing``, ``method``) plus ``objects``."""
    objs: dict[str, Any] = {
        "payment_intent": {"id": "pi_1", "metadata": {}},
        "charge": {
            "id": "ch_1",
            "billing_details": RO_BILLING if billing is None else billing,
            "payment_method_details": CARD if method is None else method,
            "metadata": {},
        },
    }
    objs.update(objects)
    return Sale(
        payment_key="pi_1",
        owner_type=owner_type,
        owner_id="pi_1",
        currency=currency,
        amount=amount,
        paid_at=paid_at,
        livemode=False,
        objects=objs,
    )


def golden(name: str, xml: bytes) -> None:
    """Assert ``xml`` equals ``golden/<name>.xml`` byte for byte (write it with UPDATE_GOLDEN)."""
    path = GOLDEN / f"{name}.xml"
    if UPDATE:
        path.write_bytes(xml)
    assert path.read_bytes() == xml


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return demo_settings(tmp_path)


@pytest.fixture(scope="session")
def cius_ro(validation_src: Path) -> Validator:
    """ANAF's CIUS-RO 1.0.9 rules (XSLT 2.0 under saxonche): the ids of the fatal findings."""
    saxonche = pytest.importorskip("saxonche")
    proc = saxonche.PySaxonProcessor(license=False)
    xslt = proc.new_xslt30_processor().compile_stylesheet(
        stylesheet_file=str(validation_src / XSLT)
    )

    def run(xml: bytes) -> list[str]:
        svrl = xslt.transform_to_string(xdm_node=proc.parse_xml(xml_text=xml.decode("utf-8")))
        found = []
        for _, attrs, body in _FINDING.findall(svrl):
            if 'flag="fatal"' in attrs:
                rule = _ID.search(attrs)
                found.append(f"{rule.group(1) if rule else '?'}: {' '.join(body.split())[:160]}")
        return found

    return run


@pytest.fixture(scope="session")
def ubl_xsd(validation_src: Path) -> Validator:
    from lxml import etree

    schema = etree.XMLSchema(etree.parse(str(validation_src / XSD)))

    def run(xml: bytes) -> list[str]:
        doc = etree.fromstring(xml)
        return [] if schema.validate(doc) else [str(e) for e in schema.error_log]

    return run


@pytest.fixture(scope="session")
def validation_dir(validation_src: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The validation artifacts installed once (for the whole issuing path)."""
    from stripe_efactura.ubl import artifacts

    dest = tmp_path_factory.mktemp("validation")
    artifacts.install_from(validation_src, dest)
    return dest
