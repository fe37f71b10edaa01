"""`init --cui` fills the company block from the registry; start-up warns on differences."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from stripe_efactura import app as use_cases
from stripe_efactura.app import lookups
from stripe_efactura.app.context import AppContext, build_context
from stripe_efactura.config import STARTER_TOML, parse_toml, settings_from
from stripe_efactura.errors import UserInputError
from stripe_efactura.registry.fake import FakeClock, FakeRegistry
from support import toml_table

EPOCH = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake(clock: FakeClock) -> FakeRegistry:
    return FakeRegistry(clock=clock, sleep=clock.sleep)


@pytest.fixture
def ctx(tmp_path: Path, db_url: str, clock: FakeClock, fake: FakeRegistry) -> Iterator[AppContext]:
    path = tmp_path / "efactura.toml"
    path.write_text(STARTER_TOML, encoding="utf-8")
    env = {"EFACTURA_DATA_DIR": str(tmp_path), "EFACTURA_DATABASE_URL": db_url}
    settings = settings_from(parse_toml(STARTER_TOML), env, config_path=path)
    c = build_context(settings)
    use_cases.prepare(c)
    c.clock = lambda: EPOCH + timedelta(seconds=clock() - 1000.0)
    c.sleep = clock.sleep
    c.registry_transport = fake
    yield c
    c.close()


def test_init_cui_fills_the_company_block_and_keeps_the_rest(ctx: AppContext) -> None:
    record = lookups.fill_company_profile(ctx, "RO 12345674")
    assert record.name == "CONSTRUCT MONTAJ VEST SRL"
    data = parse_toml(ctx.settings.config_path.read_text(encoding="utf-8"))
    company = toml_table(data, "company")
    assert {k: company[k] for k in ("name", "cui", "vat_payer", "vat_on_collection")} == {
        "name": "CONSTRUCT MONTAJ VEST SRL",
        "cui": "12345674",
        "vat_payer": True,
        "vat_on_collection": True,
    }
    assert company["trade_register"] == "J12/3456/2012"
    assert company["email"] == "contabilitate@example.ro"  # kept
    assert company["iban"] == "RO49AAAA1B31007593840000"
    assert company["address"] == {
        "line1": "Str. Memorandumului nr. 28",
        "city": "Mun. Cluj-Napoca",
        "county": "RO-CJ",
        "postal_code": "400114",
        "country": "RO",
    }
    assert toml_table(data, "series", "invoice")["prefix"] == "SEF"  # other tables untouched


def test_init_cui_refuses_bad_and_unknown_cuis(ctx: AppContext) -> None:
    before = ctx.settings.config_path.read_text(encoding="utf-8")
    with pytest.raises(UserInputError, match="not a valid CUI"):
        lookups.fill_company_profile(ctx, "12345678")
    with pytest.raises(UserInputError, match="not in ANAF's taxpayer registry"):
        lookups.fill_company_profile(ctx, "13579134")
    assert ctx.settings.config_path.read_text(encoding="utf-8") == before


def test_startup_check_agrees_with_the_starter_profile(ctx: AppContext) -> None:
    assert lookups.seller_profile_warnings(ctx) == []


def test_startup_warns_when_the_vat_status_changed(ctx: AppContext, fake: FakeRegistry) -> None:
    fake.companies["18547290"].vat_payer = False
    fake.companies["18547290"].vat_on_collection = True
    assert lookups.seller_profile_warnings(ctx) == [
        (
            "[W-SELLER-REGISTRY] efactura.toml [company] vat_payer = true but ANAF's registry says "
            "false on 2026-12-01 / efactura.toml [company] vat_payer = true, dar registrul ANAF "
            "arată false la 2026-12-01"
        ),
        (
            "[W-SELLER-REGISTRY] efactura.toml [company] vat_on_collection = false but ANAF's "
            "registry says true on 2026-12-01 / efactura.toml [company] vat_on_collection = false, "
            "dar registrul ANAF arată true la 2026-12-01"
        ),
    ]


def test_startup_check_survives_a_registry_that_is_down(
    ctx: AppContext, fake: FakeRegistry
) -> None:
    fake.anaf_faults = ["down"] * 3
    (line,) = lookups.seller_profile_warnings(ctx)
    assert line.startswith("[W-SELLER-REGISTRY-UNCHECKED]")


def test_init_cui_completes_the_template_and_the_result_passes_the_strict_check(
    ctx: AppContext,
) -> None:
    from stripe_efactura.config import TEMPLATE_TOML
    from stripe_efactura.config_check import check_document

    path = ctx.settings.config_path
    path.write_text(TEMPLATE_TOML, encoding="utf-8")
    lookups.fill_company_profile(ctx, "RO 12345674")
    text = path.read_text(encoding="utf-8")
    data = parse_toml(text)
    assert "template" not in data  # live payments are invoiced once the service restarts
    assert toml_table(data, "company")["name"] == "CONSTRUCT MONTAJ VEST SRL"
    assert [str(f) for f in check_document(data, path)] == []
