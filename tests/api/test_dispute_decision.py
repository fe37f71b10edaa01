"""``POST /payments/{key}/dispute-decision``: the merchant decides a lost dispute over the API,
audited as the token's user; anything but a lost dispute is 404 (both databases)."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from factories.waits import lost_dispute
from stripe_efactura.app import audit_log
from stripe_efactura.web.app import create_app

from .conftest import add_users


def test_a_lost_dispute_closed_without_storno(
    tmp_path: Path, db_url: str, validation_dir: Path
) -> None:
    ctx = lost_dispute(tmp_path, db_url, validation_dir)
    tokens = add_users(ctx)
    auth = {"Authorization": f"Bearer {tokens['accountant']}"}
    with TestClient(create_app(ctx)) as client:
        before = client.get("/api/v1/payments/dp_lost", headers=auth).json()
        answer = client.post(
            "/api/v1/payments/dp_lost/dispute-decision", headers=auth, json={"storno": False}
        )
        wrong = client.post(
            "/api/v1/payments/pi_flowA/dispute-decision", headers=auth, json={"storno": True}
        )
        bad = client.post("/api/v1/payments/dp_lost/dispute-decision", headers=auth, json={})
    assert (before["status"], [p["code"] for p in before["problems"]]) == (
        "needs_attention",
        ["P-DISPUTE-DECISION"],
    )
    assert (answer.status_code, answer.json()) == (
        200,
        {
            "ok": True,
            "message": "lost dispute dp_lost: no storno (decided)",
            "detail": {"status": "ignored"},
        },
    )
    assert (wrong.status_code, wrong.json()["code"]) == (404, "E-DISPUTE-UNKNOWN")
    assert (bad.status_code, bad.json()["code"]) == (422, "E-API-INPUT")
    [entry] = audit_log.entries(ctx, action="payment.dispute_decision")
    assert (entry.actor, entry.via, entry.target_id, entry.after) == (
        "accountant@example.ro",
        "api",
        "dp_lost",
        {"decision": "no_storno"},
    )
    ctx.close()
