"""Every setting of the starter ``efactura.toml`` is known to the strict start-up check
(``config_check.SCHEMA``): a new key added to ``STARTER_TOML`` without its schema entry would
make every command refuse the starter file (``E-CONFIG-KEY``)."""

from __future__ import annotations

import re
from pathlib import Path

from stripe_efactura.config import STARTER_TOML, TEMPLATE_TOML, parse_toml
from stripe_efactura.config_check import check_document


def test_the_starter_file_passes_the_strict_check() -> None:
    for text in (STARTER_TOML, TEMPLATE_TOML):
        assert [str(f) for f in check_document(parse_toml(text), Path("efactura.toml"))] == []


def test_every_key_config_reads_is_in_the_schema() -> None:
    """A key ``config.py`` reads (``raw.get("key")``) but the schema does not know would be
    refused as unknown by every command: add it to ``config_check.SCHEMA`` with its type."""
    from stripe_efactura.config_check import SCHEMA

    package = Path(__file__).resolve().parents[2] / "src" / "stripe_efactura"
    source = "".join(p.read_text(encoding="utf-8") for p in package.glob("config*.py"))
    read = set(re.findall(r'raw\.get\("([a-z0-9_]+)"', source))
    known = {k for keys in SCHEMA.values() for k in keys} | {t.split(".")[-1] for t in SCHEMA}
    assert sorted(read - known) == []
