"""Every setting of the starter ``efactura.toml`` is known to the strict start-up check
(``config_check.SCHEMA``): a new key added to ``STARTER_TOML`` without its schema entry would
make every command refuse the starter file (``E-CONFIG-KEY``)."""

from __future__ import annotations

from pathlib import Path

from stripe_efactura.config import STARTER_TOML, TEMPLATE_TOML, parse_toml
from stripe_efactura.config_check import check_document


def test_the_starter_file_passes_the_strict_check() -> None:
    for text in (STARTER_TOML, TEMPLATE_TOML):
        assert [str(f) for f in check_document(parse_toml(text), Path("efactura.toml"))] == []
