"""The profile the core owns, as config.py loads and validates it from efactura.toml."""

from __future__ import annotations

import pytest

from stripe_efactura.config import STARTER_TOML, parse_toml, settings_from
from stripe_efactura.errors import ConfigError
from stripe_efactura.invoicing.model import Address, VatCategory
from stripe_efactura.invoicing.profile import (
    CompanyProfile,
    InvoicingProfile,
    SeriesConfig,
    SeriesSettings,
    VatPolicy,
)

ENV = {"EFACTURA_DATA_DIR": "/tmp/efactura-profile-test"}


def _load(extra: str) -> InvoicingProfile:
    return settings_from(parse_toml(STARTER_TOML + extra), ENV).invoicing


def test_the_starter_profile_is_the_documented_one() -> None:
    s = settings_from(parse_toml(STARTER_TOML), ENV)
    assert s.invoicing == InvoicingProfile(
        company=CompanyProfile(
            name="Firma Mea SRL",
            cui="18547290",
            address=Address(
                line1="Str. Exemplu nr. 1",
                city="SECTOR1",
                country="RO",
                postal_code="010101",
                county="RO-B",
            ),
            trade_register="J40/1234/2020",
            email="contabilitate@example.ro",
            issuer_email="emitent@example.ro",
            iban="RO49AAAA1B31007593840000",
            bank="Banca Exemplu",
            share_capital="200 lei",
        ),
        vat=VatPolicy(),
    )
    assert s.series == SeriesSettings(
        invoice=SeriesConfig(code="invoice", prefix="SEF", padding=6),
        storno=None,
        test=SeriesConfig(code="test", prefix="TEST", padding=6, auto_upload=False),
    )
    assert s.company.vat_id == "RO18547290"


def test_series_and_vat_sections_are_read() -> None:
    text = (
        STARTER_TOML.replace('default_category = "S"', 'default_category = "E"').replace(
            'default_rate = "standard"', 'default_rate = "9"'
        )
        + '\n[series.storno]\nprefix = "STO"\nsuffix = "/X"\npadding = 4\n'
    )
    s = settings_from(parse_toml(text), ENV)
    assert s.series.storno == SeriesConfig(code="storno", prefix="STO", suffix="/X", padding=4)
    assert (s.vat.default_category, s.vat.default_rate) == (VatCategory.EXEMPT, "9")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('default_rate = "standard"', 'default_rate = "lots"', "[vat] default_rate 'lots'"),
        ('default_category = "S"', 'default_category = "X"', "[vat] is invalid"),
        ("padding = 6\nstart = 1", "padding = 13\nstart = 1", "[series.invoice] start must"),
        ("padding = 6\nstart = 1", 'padding = "six"\nstart = 1', "[series.invoice] is invalid"),
    ],
)
def test_an_invalid_profile_is_a_config_error(old: str, new: str, message: str) -> None:
    assert old in STARTER_TOML
    with pytest.raises(ConfigError) as exc:
        settings_from(parse_toml(STARTER_TOML.replace(old, new)), ENV)
    assert exc.value.message.startswith(message)


def test_a_suffix_with_digits_is_refused() -> None:
    with pytest.raises(ConfigError) as exc:
        _load('\n[series.storno]\nsuffix = "2026"\n')
    assert exc.value.message == "[series.storno] suffix must not contain digits"
