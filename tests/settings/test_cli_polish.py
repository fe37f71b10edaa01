"""``preview`` as text (issue 14): one money format, and the degraded-mode warning shown
instead of hidden in the JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from factories import stripe_flows as factory
from stripe_efactura import cli
from stripe_efactura.config import STARTER_TOML


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cfg = tmp_path / "efactura.toml"
    cfg.write_text(STARTER_TOML, encoding="utf-8")
    monkeypatch.setenv("EFACTURA_CONFIG", str(cfg))
    monkeypatch.setenv("EFACTURA_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def test_preview_text_shows_the_degraded_mode_and_its_warning(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flow = factory.flow_a_checkout_card()
    event = env / "event.json"
    event.write_text(json.dumps(flow.event("checkout.session.completed")), encoding="utf-8")
    assert cli.main(["preview", str(event)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "payment pi_flowA (checkout_session:cs_flowA), RON",
        "buyer: Exemplu Soft SRL 18547290",
        "  1 x Plată online: 100,00 RON + S 21%",
        "total: 100,00 RON + TVA 21,00 RON = 121,00 RON",
        (
            "DEGRADED: built from the event alone (no Stripe API key, no --objects): one line for "
            "the whole amount; pass --objects DIR to preview the real lines"
        ),
        (
            "WARNING P-LINES-DEGRADED (lines): Without a Stripe API key the invoice has one line "
            "for the whole amount (from the webhook payload alone). -> Set "
            "EFACTURA_STRIPE_API_KEY (a restricted read-only key is enough) so line items, tax "
            "rates and products can be fetched, or put the lines in metadata (`Order Item #N`)."
        ),
    ]
    assert not (env / "data").exists()
