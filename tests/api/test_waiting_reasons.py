"""Every waiting payment and invoice carries its reason in the API's listings and details:
waiting for the validation artifacts, for the BNR rate of the day, for ANAF authorisation
(both databases)."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from factories.waits import (
    ANAF_AUTH,
    ARTIFACTS,
    BNR,
    live_invoice_before_anaf,
    make_ctx,
    pending_payment,
)
from stripe_efactura.web.app import create_app

from .conftest import add_users


def get(client: TestClient, tokens: dict[str, str], path: str) -> dict:  # type: ignore[type-arg]
    answer = client.get(f"/api/v1{path}", headers={"Authorization": f"Bearer {tokens['viewer']}"})
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("artifacts", "currency", "expected"),
    [(False, "RON", ARTIFACTS), (True, "EUR", BNR)],
    ids=["validation-artifacts", "bnr-rate"],
)
def test_a_payment_waiting_for_the_artifacts_or_the_bnr_rate(
    tmp_path: Path,
    db_url: str,
    validation_dir: Path,
    artifacts: bool,
    currency: str,
    expected: dict[str, str],
) -> None:
    ctx = make_ctx(tmp_path, db_url, validation_dir if artifacts else tmp_path / "none")
    tokens = add_users(ctx)
    pending_payment(ctx, "pi_waits", currency)
    with TestClient(create_app(ctx)) as client:
        [item] = get(client, tokens, "/payments?status=pending")["items"]
        detail = get(client, tokens, "/payments/pi_waits")
    assert (item["payment_key"], item["waiting"]) == ("pi_waits", expected)
    assert detail["waiting"] == expected
    ctx.close()


def test_an_invoice_waiting_for_anaf_authorisation(
    tmp_path: Path, db_url: str, validation_dir: Path
) -> None:
    ctx = make_ctx(tmp_path, db_url, validation_dir)
    tokens = add_users(ctx)
    number = live_invoice_before_anaf(ctx)
    with TestClient(create_app(ctx)) as client:
        [item] = get(client, tokens, "/invoices")["items"]
        detail = get(client, tokens, f"/invoices/{number}")
        payment = get(client, tokens, "/payments/pi_flowA")
    assert (item["number"], item["anaf_state"], item["waiting"]) == (
        "SEF000001",
        "pending_upload",
        ANAF_AUTH,
    )
    assert detail["waiting"] == ANAF_AUTH
    assert (payment["status"], payment["waiting"]) == ("invoiced", None)
    assert [(i["number"], i["waiting"]) for i in payment["invoices"]] == [("SEF000001", ANAF_AUTH)]
    ctx.close()
