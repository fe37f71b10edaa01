"""The curl examples of docs/api.md, run in order against a real server (uvicorn, loopback)."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import uvicorn

from factories import stripe_flows as factory
from stripe_efactura import app as use_cases
from stripe_efactura.app import intake
from stripe_efactura.app.context import AppContext, build_context
from stripe_efactura.config import demo_settings
from stripe_efactura.intake.fake_stripe import FakeStripeReader
from stripe_efactura.web.app import create_app

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def examples() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def broken_charge() -> factory.Flow:
    flow = factory.flow_g_legacy_charge()
    for obj in [*flow.objects, *(e["data"]["object"] for e in flow.events)]:
        if obj.get("object") == "charge":
            obj["billing_details"]["address"] = {"country": "RO", "postal_code": "010101"}
            obj["shipping"] = None
    return flow


def test_the_curl_examples_work(
    tmp_path: Path,
    validation_dir: Path,
    make_users: Callable[[AppContext], dict[str, str]],
) -> None:
    if not Path("/usr/bin/curl").exists():
        pytest.skip("curl is not installed")
    flow = broken_charge()
    settings = demo_settings(
        tmp_path, database_url=f"sqlite:///{tmp_path / 'api.db'}", validation_dir=validation_dir
    )
    ctx = build_context(settings, stripe=FakeStripeReader(flow.store()))  # type: ignore[arg-type]
    use_cases.prepare(ctx)
    tokens = make_users(ctx)
    for e in flow.events:
        intake.accept_event(ctx, json.dumps(e).encode())
    use_cases.make_worker(ctx).drain()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(ctx), log_level="critical", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(500):
        if server.started:
            break
        time.sleep(0.01)
    env = {
        **os.environ,
        "BASE": f"http://127.0.0.1:{port}",
        "TOKEN": tokens["accountant"],
        "ADMIN_TOKEN": tokens["admin"],
    }
    outputs = []
    try:
        for block in examples():
            done = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", block],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert done.returncode == 0, (block, done.stdout, done.stderr)
            outputs.append(done.stdout)
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()
        ctx.close()
    assert len(outputs) == 11
    assert json.loads(outputs[0])["user"]["role"] == "accountant"
    assert [p["payment_key"] for p in json.loads(outputs[1])["items"]] == ["ch_flowG"]
    assert json.loads(outputs[2])["invoice"] == "TEST000001"
    assert (tmp_path / "TEST000001.pdf").read_bytes().startswith(b"%PDF")
    assert json.loads(outputs[4])["new_invoice"] == "TEST000003"
    assert json.loads(outputs[5])["storno"] == "TEST000004"
    found = [i["number"] for i in json.loads(outputs[6])["items"]]
    assert found == ["TEST000004", "TEST000003"]  # the re-issue to Dante and its storno
    assert json.loads(outputs[7])["code"] == "E-STORNO-OF-STORNO"
    assert json.JSONDecoder().raw_decode(outputs[9])[0]["secret"].startswith("sef_")
    assert json.loads(outputs[10])["code"] == "E-AUTH-REQUIRED"
