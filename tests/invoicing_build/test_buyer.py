"""Buyer extraction: every precedence step, company/individual, Romanian ids and addresses."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from stripe_efactura.intake.buyer import buyer_draft
from stripe_efactura.invoicing.buyer import ANONYMOUS_ID, BuyerOverrides, resolve_buyer
from stripe_efactura.invoicing.model import Address, BuyerKind
from stripe_efactura.invoicing.problems import CATALOGUE
from stripe_efactura.invoicing.ro import cnp_check_digit

from .conftest import make_sale

ADDR_BV = {
    "line1": "Str. Lungă 5",
    "city": "Brașov",
    "state": "Brașov",
    "postal_code": "500001",
    "country": "RO",
}
ADDR_CJ = {"line1": "Str. Memorandumului 1", "city": "Cluj-Napoca", "state": "CJ", "country": "RO"}
ADDR_IS = {"line1": "Bd. Independenței 10", "city": "Iași", "state": "Iasi", "country": "RO"}
ADDR_B = {
    "line1": "Calea Victoriei 12",
    "city": "București",
    "state": "Sector 1",
    "postal_code": "010061",
    "country": "RO",
}
CNP = "1800101420010"
CNP2 = "2850203" + "12345" + str(cnp_check_digit("285020312345"))


def _session(**kw: Any) -> dict[str, Any]:
    return {"id": "cs_1", "metadata": {}, **kw}


def _sale(billing: dict[str, Any] | None = None, **objects: Any):
    return make_sale(billing=billing if billing is not None else {}, **objects)


PRECEDENCE = [
    pytest.param(
        {
            "overrides": BuyerOverrides(
                name="Din Dashboard", line1="Str. Nouă 1", city="Iași", state="IS", country="RO"
            )
        },
        {
            "payment_intent": {
                "id": "pi_1",
                "metadata": {
                    "name": "Din Metadate",
                    "address": '{"line1":"x","city":"Brașov","state":"BV","country":"RO"}',
                },
            }
        },
        ("Din Dashboard", "overrides.name", "overrides.address", "Iași"),
        id="0-overrides",
    ),
    pytest.param(
        {},
        {
            "payment_intent": {
                "id": "pi_1",
                "metadata": {
                    "customer_name": "Din Metadate",
                    "address.line1": "Str. M 1",
                    "address.city": "Iași",
                    "address.state": "Iași",
                    "address.country": "RO",
                },
            },
            "checkout_session": _session(
                customer_details={"name": "Din Checkout", "address": ADDR_CJ}
            ),
        },
        (
            "Din Metadate",
            "payment_intent.metadata.customer_name",
            "payment_intent.metadata.address.*",
            "Iași",
        ),
        id="1-metadata",
    ),
    pytest.param(
        {},
        {
            "checkout_session": _session(
                custom_fields=[
                    {
                        "key": "firma",
                        "label": {"custom": "Denumire firmă", "type": "custom"},
                        "type": "text",
                        "text": {"value": "Firma Din Câmp SRL"},
                    },
                    {
                        "key": "cui",
                        "label": {"custom": "CUI", "type": "custom"},
                        "type": "numeric",
                        "numeric": {"value": "18547290"},
                    },
                ],
                customer_details={
                    "name": "Din Checkout",
                    "business_name": "Business Stripe",
                    "address": ADDR_CJ,
                },
            )
        },
        (
            "Firma Din Câmp SRL",
            "checkout_session.custom_fields[0](firma)",
            "checkout_session.customer_details.address",
            "Cluj-Napoca",
        ),
        id="2-custom-fields",
    ),
    pytest.param(
        {"billing": {"name": "Din Card", "address": ADDR_BV}},
        {
            "checkout_session": _session(
                customer_details={"name": "Din Checkout", "address": ADDR_CJ}
            )
        },
        (
            "Din Checkout",
            "checkout_session.customer_details.name",
            "checkout_session.customer_details.address",
            "Cluj-Napoca",
        ),
        id="3-customer-details",
    ),
    pytest.param(
        {"billing": {"name": "Din Card", "address": ADDR_BV}},
        {
            "invoice": {
                "id": "in_1",
                "customer_name": "Din Factura Stripe",
                "customer_address": ADDR_IS,
            }
        },
        ("Din Factura Stripe", "invoice.customer_name", "invoice.customer_address", "Iași"),
        id="3-invoice-customer",
    ),
    pytest.param(
        {"billing": {"name": "Din Card", "address": ADDR_BV}},
        {"payment_intent": {"id": "pi_1", "shipping": {"name": "Curier", "address": ADDR_CJ}}},
        ("Din Card", "charge.billing_details.name", "charge.billing_details.address", "Brașov"),
        id="4-billing-details",
    ),
    pytest.param(
        # Checkout gave only country + postal code: the shipping address (with a street) wins.
        {
            "billing": {
                "name": "Din Card",
                "address": {"country": "RO", "postal_code": "700001", "line1": None},
            }
        },
        {"payment_intent": {"id": "pi_1", "shipping": {"name": "Destinatar", "address": ADDR_IS}}},
        ("Din Card", "charge.billing_details.name", "payment_intent.shipping.address", "Iași"),
        id="5-shipping-address-only",
    ),
    pytest.param(
        {},
        {
            "checkout_session": _session(
                collected_information={"shipping_details": {"name": "X", "address": ADDR_CJ}},
                customer_details={"name": "Ana"},
            )
        },
        (
            "Ana",
            "checkout_session.customer_details.name",
            "checkout_session.collected_information.shipping_details.address",
            "Cluj-Napoca",
        ),
        id="5-collected-shipping",
    ),
    pytest.param(
        {},
        {
            "customer": {
                "id": "cus_1",
                "name": "Din Customer",
                "email": "c@example.ro",
                "address": ADDR_BV,
            }
        },
        ("Din Customer", "customer.name", "customer.address", "Brașov"),
        id="6-customer",
    ),
]


@pytest.mark.parametrize(("opts", "objects", "expected"), PRECEDENCE)
def test_precedence(
    opts: dict[str, Any], objects: dict[str, Any], expected: tuple[Any, ...]
) -> None:
    sale = _sale(opts.get("billing"), **objects)
    res = resolve_buyer(buyer_draft(sale), opts.get("overrides"))
    name, name_src, addr_src, city = expected
    assert res.party is not None
    key = "business_name" if res.party.kind is BuyerKind.COMPANY else "name"
    assert (res.party.name, res.sources[key]) == (name, name_src)
    assert res.sources["address"] == addr_src
    assert res.party.address.city == city
    assert res.problems == ()


def test_custom_field_cui_makes_a_company_with_business_name() -> None:
    sale = _sale(
        checkout_session=_session(
            custom_fields=[
                {
                    "key": "cuicif",
                    "label": {"custom": "CUI/CIF", "type": "custom"},
                    "type": "text",
                    "text": {"value": "RO 18547290"},
                },
                {
                    "key": "regcom",
                    "label": {"custom": "Nr. Reg. Com.", "type": "custom"},
                    "type": "text",
                    "text": {"value": "J40/1234/2020"},
                },
            ],
            customer_details={
                "name": "Ion Popescu",
                "business_name": "Firma Mea SRL",
                "address": ADDR_B,
                "tax_ids": [{"type": "eu_vat", "value": "DE123456789"}],
            },
        )
    )
    res = resolve_buyer(buyer_draft(sale))
    p = res.party
    assert p is not None and res.problems == ()
    assert (p.kind, p.name, p.vat_id, p.legal_id, p.trade_register) == (
        BuyerKind.COMPANY,
        "Firma Mea SRL",
        "RO18547290",
        "18547290",
        "J40/1234/2020",
    )
    assert p.address == Address(
        line1="Calea Victoriei 12",
        city="SECTOR1",
        country="RO",
        postal_code="010061",
        county="RO-B",
    )
    assert res.sources["legal_id"] == "checkout_session.custom_fields[0](cuicif)"


@pytest.mark.parametrize(
    ("ids", "expected"),
    [
        # (kind, vat_id, legal_id)
        ({"metadata": {"cui": "18547290"}}, (BuyerKind.COMPANY, None, "18547290")),
        ({"metadata": {"cui": "RO18547290"}}, (BuyerKind.COMPANY, "RO18547290", "18547290")),
        ({"metadata": {"cif": "ro 18.547.290"}}, (BuyerKind.COMPANY, "RO18547290", "18547290")),
        (
            {
                "metadata": {
                    "address": '{"line1":"a","city":"Brașov","state":"BV",'
                    '"country":"RO","cui":"18547290"}'
                }
            },
            (BuyerKind.COMPANY, None, "18547290"),
        ),
        (
            {"tax_ids": [{"type": "eu_vat", "value": "RO18547290"}]},
            (BuyerKind.COMPANY, "RO18547290", "18547290"),
        ),
        (
            {"tax_ids": [{"type": "ro_tin", "value": "18547290"}]},
            (BuyerKind.COMPANY, None, "18547290"),
        ),
        ({"tax_ids": [{"type": "ro_tin", "value": CNP}]}, (BuyerKind.INDIVIDUAL, None, CNP)),
        (
            {"tax_ids": [{"type": "gb_vat", "value": "GB 123 4567 89"}]},
            (BuyerKind.COMPANY, "GB123456789", None),
        ),
        ({"metadata": {"cnp": CNP2}}, (BuyerKind.INDIVIDUAL, None, CNP2)),
        ({}, (BuyerKind.INDIVIDUAL, None, ANONYMOUS_ID)),
        (
            {"metadata": {"tax_ids": '[{"type":"eu_vat","value":"RO18547290"}]'}},
            (BuyerKind.COMPANY, "RO18547290", "18547290"),
        ),
    ],
)
def test_identifiers(ids: dict[str, Any], expected: tuple[Any, ...]) -> None:
    sale = _sale(
        {"name": "Cumpărător", "address": ADDR_BV},
        payment_intent={"id": "pi_1", "metadata": ids.get("metadata", {})},
        checkout_session=_session(customer_details={"tax_ids": ids.get("tax_ids", [])}),
    )
    res = resolve_buyer(buyer_draft(sale))
    assert res.problems == ()
    assert res.party is not None
    assert (res.party.kind, res.party.vat_id, res.party.legal_id) == expected


@pytest.mark.parametrize(
    ("metadata", "tax_ids", "code", "field"),
    [
        ({"cui": "18547291"}, [], "P-CUI-INVALID", "buyer.legal_id"),
        ({"cui": "RO123"}, [], "P-CUI-INVALID", "buyer.legal_id"),
        ({"cui": "DE12"}, [], "P-VAT-ID-INVALID", "buyer.vat_id"),
        ({}, [{"type": "eu_vat", "value": "DE12"}], "P-VAT-ID-INVALID", "buyer.vat_id"),
        ({}, [{"type": "ro_tin", "value": "123"}], "P-CUI-INVALID", "buyer.legal_id"),
        ({"cnp": "1800101420011"}, [], "P-CNP-INVALID", "buyer.legal_id"),
    ],
)
def test_invalid_identifiers_are_problems(
    metadata: dict[str, str], tax_ids: list[dict[str, str]], code: str, field: str
) -> None:
    sale = _sale(
        {"name": "X", "address": ADDR_BV},
        payment_intent={"id": "pi_1", "metadata": metadata},
        checkout_session=_session(customer_details={"tax_ids": tax_ids}),
    )
    res = resolve_buyer(buyer_draft(sale))
    assert [(p.code, p.field) for p in res.problems] == [(code, field)]
    assert res.problems[0].fatal


def test_invalid_higher_precedence_id_is_not_skipped() -> None:
    sale = _sale(
        {"name": "X", "address": ADDR_BV},
        payment_intent={"id": "pi_1", "metadata": {"cui": "18547291"}},
        checkout_session=_session(
            customer_details={"tax_ids": [{"type": "eu_vat", "value": "RO18547290"}]}
        ),
    )
    res = resolve_buyer(buyer_draft(sale))
    assert [p.code for p in res.problems] == ["P-CUI-INVALID"]
    assert res.problems[0].context == (
        ("source", "payment_intent.metadata.cui"),
        ("value", "18547291"),
    )


@pytest.mark.parametrize(
    ("address", "codes"),
    [
        (
            {"country": "RO", "postal_code": "500001"},
            ["P-BUYER-ADDRESS-MISSING", "P-BUYER-CITY-MISSING"],
        ),
        ({"line1": "Str. X 1", "country": "RO", "state": "BV"}, ["P-BUYER-CITY-MISSING"]),
        (
            {"line1": "Str. X 1", "city": "Satu Nou", "state": "Nicăieri", "country": "RO"},
            ["P-BUYER-COUNTY-UNKNOWN"],
        ),
        ({"line1": "Str. X 1", "city": "București", "country": "RO"}, ["P-BUYER-SECTOR-UNKNOWN"]),
        ({"line1": "Str. X 1", "city": "Paris"}, ["P-BUYER-COUNTRY-MISSING"]),
        (
            {"line1": "Str. X 1", "city": "Paris", "country": "Atlantis"},
            ["P-BUYER-COUNTRY-INVALID"],
        ),
        ({"line1": "Str. X 1", "city": "Paris", "country": "FR"}, []),
    ],
)
def test_address_problems(address: dict[str, str], codes: list[str]) -> None:
    res = resolve_buyer(buyer_draft(_sale({"name": "X", "address": address})))
    assert [p.code for p in res.problems] == codes


def test_missing_address_hint_says_how_to_fix_in_stripe() -> None:
    res = resolve_buyer(buyer_draft(_sale({"name": "X"})))
    p = next(p for p in res.problems if p.code == "P-BUYER-ADDRESS-MISSING")
    assert "billing_address_collection=required" in p.hint
    assert p.message_ro == "Adresa cumpărătorului (strada) lipsește."


def test_name_missing() -> None:
    res = resolve_buyer(buyer_draft(_sale({"address": ADDR_BV})))
    assert [p.code for p in res.problems] == ["P-BUYER-NAME-MISSING"]


def test_country_inferred_for_cui_and_borrowed_from_other_address() -> None:
    sale = _sale(
        {"name": "X", "address": {"line1": "Str. A 1", "city": "Brașov", "state": "Brașov"}},
        payment_intent={"id": "pi_1", "metadata": {"cui": "18547290"}},
    )
    res = resolve_buyer(buyer_draft(sale))
    assert res.problems == () and res.party is not None
    assert (res.party.address.country, res.party.address.county) == ("RO", "RO-BV")
    sale2 = _sale(
        {"name": "X", "address": {"line1": "Str. A 1", "city": "Iași"}},
        customer={"id": "cus_1", "address": {"country": "RO"}},
    )
    res2 = resolve_buyer(buyer_draft(sale2))
    assert res2.problems == () and res2.party is not None
    assert (res2.party.address.country, res2.party.address.county) == ("RO", "RO-IS")


def test_customer_object_tax_ids_and_metadata() -> None:
    sale = _sale(
        {"name": "Firma Y", "address": ADDR_BV},
        customer={"id": "cus_1", "tax_ids": {"data": [{"type": "eu_vat", "value": "RO18547290"}]}},
    )
    res = resolve_buyer(buyer_draft(sale))
    assert res.party is not None and res.party.vat_id == "RO18547290"
    assert res.sources["legal_id"] == "customer.tax_ids[0]"
    sale2 = _sale(
        {"name": "Firma Y", "address": ADDR_BV},
        customer={"id": "cus_1", "metadata": {"cui": "18547290"}},
    )
    res2 = resolve_buyer(buyer_draft(sale2))
    assert res2.party is not None and res2.party.legal_id == "18547290"


def test_overrides_individual_and_json_round_trip() -> None:
    o = BuyerOverrides.from_json(
        f'{{"name": "Ana Pop", "cnp": "{CNP}", "individual": true, "zzz": 1}}'
    )
    assert o == BuyerOverrides(name="Ana Pop", cnp=CNP, individual=True)
    assert BuyerOverrides.from_json(o.to_json()) == o
    sale = _sale(
        {"name": "X", "address": ADDR_BV},
        payment_intent={"id": "pi_1", "metadata": {"cui": "18547290"}},
    )
    res = resolve_buyer(buyer_draft(sale), o)
    assert res.party is not None
    assert (res.party.kind, res.party.name, res.party.legal_id) == (
        BuyerKind.INDIVIDUAL,
        "Ana Pop",
        CNP,
    )
    with pytest.raises(ValueError):
        BuyerOverrides.from_json("[1]")


def test_email_phone_and_tax_exempt() -> None:
    sale = _sale(
        {"name": "X", "address": ADDR_BV, "email": "card@example.ro", "phone": "+40 700 000 000"},
        checkout_session=_session(
            customer_details={"email": "checkout@example.ro", "tax_exempt": "reverse"}
        ),
    )
    res = resolve_buyer(buyer_draft(sale))
    assert res.party is not None
    assert (res.party.email, res.party.phone, res.tax_exempt) == (
        "checkout@example.ro",
        "+40 700 000 000",
        "reverse",
    )


def test_country_from_foreign_vat_prefix() -> None:
    sale = _sale(
        {"name": "Muster GmbH", "address": {"line1": "Hauptstr. 1", "city": "Berlin"}},
        checkout_session=_session(
            customer_details={"tax_ids": [{"type": "eu_vat", "value": "DE123456789"}]}
        ),
    )
    res = resolve_buyer(buyer_draft(sale))
    assert res.problems == () and res.party is not None
    assert (res.party.address.country, res.party.vat_id) == ("DE", "DE123456789")


_J = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=10)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(
                [
                    "name",
                    "address",
                    "line1",
                    "city",
                    "state",
                    "country",
                    "type",
                    "value",
                    "tax_ids",
                    "custom",
                    "label",
                    "key",
                    "text",
                    "email",
                    "business_name",
                ]
            ),
            inner,
            max_size=4,
        ),
    ),
    max_leaves=12,
)


@hsettings(max_examples=200, deadline=None)
@given(
    details=_J,
    custom=_J,
    billing=_J,
    shipping=_J,
    customer=_J,
    overrides=st.builds(
        BuyerOverrides,
        name=st.none() | st.text(max_size=8),
        cui=st.none() | st.text(max_size=12),
        cnp=st.none() | st.text(max_size=14),
        country=st.none() | st.text(max_size=4),
    ),
)
def test_junk_stripe_buyer_data_never_crashes(
    details: Any, custom: Any, billing: Any, shipping: Any, customer: Any, overrides: BuyerOverrides
) -> None:
    sale = _sale(
        billing if isinstance(billing, dict) else {},
        checkout_session={"id": "cs_1", "customer_details": details, "custom_fields": custom},
        payment_intent={"id": "pi_1", "shipping": shipping},
        customer=customer,
    )
    res = resolve_buyer(buyer_draft(sale), overrides)
    assert res.party is not None
    assert all(p.code in CATALOGUE for p in res.problems)
