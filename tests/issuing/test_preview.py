"""`stripe-efactura preview EVENT.json --objects DIR`: offline, nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from factories import stripe_flows as factory
from stripe_efactura.cli import main
from stripe_efactura.config import STARTER_TOML


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cfg = tmp_path / "efactura.toml"
    cfg.write_text(STARTER_TOML, encoding="utf-8")
    monkeypatch.setenv("EFACTURA_CONFIG", str(cfg))
    monkeypatch.setenv("EFACTURA_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def write_objects(flow: factory.Flow, folder: Path) -> None:
    folder.mkdir()
    for obj in flow.objects:
        (folder / f"{obj['id']}.json").write_text(json.dumps(obj), encoding="utf-8")
    for sid, items in flow.session_line_items.items():
        (folder / f"{sid}.line_items.json").write_text(json.dumps(items), encoding="utf-8")


def test_preview_checkout_event_json_and_xml(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flow = factory.flow_a_checkout_card()
    event = env / "event.json"
    event.write_text(json.dumps(flow.event("checkout.session.completed")), encoding="utf-8")
    write_objects(flow, env / "objects")
    xml = env / "out.xml"
    code = main(
        ["preview", str(event), "--objects", str(env / "objects"), "--json", "--xml", str(xml)]
    )
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert (data["ok"], data["payment_key"], data["owner"], data["currency"]) == (
        True,
        "pi_flowA",
        "checkout_session:cs_flowA",
        "RON",
    )
    assert [(ln["name"], ln["quantity"], ln["net_amount"]) for ln in data["lines"]] == [
        ("Carte de bucate", "2", "100.00")
    ]
    assert data["totals"]["tax_total"] == "21.00"
    assert data["totals"]["tax_inclusive"] == "121.00"
    assert data["problems"] == []
    assert b"<cbc:ID>TEST000000</cbc:ID>" in xml.read_bytes()
    assert not (env / "data").exists()  # nothing written


def test_preview_ignored_event(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flow = factory.flow_h_nothing_paid()
    event = env / "event.json"
    event.write_text(json.dumps(flow.events[0]), encoding="utf-8")
    assert main(["preview", str(event), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is False and data["ignored"].startswith("I-")
