"""The command-line twins of the API's actions call the same use cases: `payments override`,
`invoices storno` (full or partial), `invoices reissue`, `notices list|ack`, each audited as
the person at the command line, each refusal one coded line (both databases)."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import pytest

from factories.attention import ADDRESS, broken_charge, ingest
from stripe_efactura import app as use_cases
from stripe_efactura import cli
from stripe_efactura.app import audit_log
from stripe_efactura.app.context import build_context
from stripe_efactura.config import STARTER_TOML, demo_settings
from stripe_efactura.intake.fake_stripe import FakeStripeReader

ME = f"cli:{getpass.getuser()}"
ADDRESS_ARGS = [
    "--line1",
    ADDRESS["line1"],
    "--city",
    ADDRESS["city"],
    "--state",
    ADDRESS["state"],
    "--postal-code",
    ADDRESS["postal_code"],
    "--country",
    "RO",
]


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str, validation_dir: Path) -> Path:
    config = tmp_path / "efactura.toml"
    config.write_text(STARTER_TOML, encoding="utf-8")
    for name, value in {
        "EFACTURA_CONFIG": str(config),
        "EFACTURA_DATA_DIR": str(tmp_path),
        "EFACTURA_DATABASE_URL": db_url,
        "EFACTURA_VALIDATION_DIR": str(validation_dir),
    }.items():
        monkeypatch.setenv(name, value)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_override_storno_reissue_and_notices_from_the_command_line(
    env: Path, db_url: str, validation_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flow = broken_charge()
    settings = demo_settings(env, database_url=db_url, validation_dir=validation_dir)
    ctx = build_context(settings, stripe=FakeStripeReader(flow.store()))  # type: ignore[arg-type]
    use_cases.prepare(ctx)
    ingest(ctx, flow)
    key = str(flow.payment_key)

    code, out, err = run(capsys, "notices", "list", "--state", "open", "--json")
    [notice] = json.loads(out)
    assert (code, notice["kind"], notice["ref"], notice["state"]) == (
        0,
        "payment_problem",
        key,
        "open",
    )

    code, out, err = run(
        capsys, "payments", "override", key, "--cnp", "1234567890123", *ADDRESS_ARGS
    )
    assert (code, out) == (1, "")
    assert err.splitlines()[0] == (
        "  P-CNP-INVALID (buyer.legal_id): The CNP '1234567890123' (from overrides.cnp) is not "
        "valid. / CNP-ul „1234567890123” (din overrides.cnp) nu este valid."
    )
    assert err.splitlines()[-1] == (
        "[E-OVERRIDE-INVALID] The buyer data break the invoicing rules: P-CNP-INVALID / "
        "Datele cumpărătorului încalcă regulile de facturare: P-CNP-INVALID"
    )
    code, out, err = run(capsys, "payments", "override", key)
    assert (code, err.splitlines()[0][:9]) == (2, "[E-USAGE]")

    code, out, err = run(capsys, "payments", "override", key, *ADDRESS_ARGS, "--json")
    assert (code, json.loads(out)) == (
        0,
        {
            "payment_key": key,
            "status": "invoiced",
            "invoice": "TEST000001",
            "anaf_state": "not_uploaded",
            "problems": [],
        },
    )
    code, out, err = run(capsys, "notices", "list", "--state", "open", "--json")
    # the payment's problem is fixed, so resolved; issuing it now, late, is a new notice
    assert [(n["kind"], n["ref"], n["problems"][0]["code"]) for n in json.loads(out)] == [
        ("deadline", "TEST000001", "P-ISSUED-LATE")
    ]
    code, out, err = run(capsys, "notices", "list", "--state", "resolved", "--json")
    assert [(n["id"], n["acknowledged_at"]) for n in json.loads(out)] == [(notice["id"], None)]
    code, out, err = run(capsys, "notices", "ack", str(notice["id"]))
    assert (code, out) == (0, f"{notice['id']}: resolved (by {ME})\n")

    code, out, err = run(
        capsys, "invoices", "storno", "TEST000001", "--reason", "x", "--amount", "1e9"
    )
    assert (code, err.split("]")[0]) == (1, "[E-STORNO-AMOUNT")
    code, out, err = run(capsys, "invoices", "storno", "TEST000001", "--reason", " ")
    assert (code, err.split("]")[0]) == (1, "[E-STORNO-REASON")

    company = ["--name", "Dante International SA", "--vat-id", "RO14399840", *ADDRESS_ARGS]
    reason = ["--reason", "Clientul cere factura pe firmă"]
    code, out, err = run(capsys, "invoices", "reissue", "TEST000001", *reason, *company, "--json")
    assert (code, json.loads(out)) == (
        0,
        {
            "invoice": "TEST000001",
            "storno": "TEST000002",
            "new_invoice": "TEST000003",
            "reason": "Clientul cere factura pe firmă",
        },
    )
    code, out, err = run(capsys, "invoices", "storno", "TEST000001", *reason)
    assert (code, err.split("]")[0]) == (1, "[E-STORNO-NOTHING-LEFT")
    code, out, err = run(capsys, "invoices", "storno", "TEST000003", *reason, "--amount", "10")
    assert (code, out) == (0, "TEST000003: storno TEST000004 of 10\n")
    code, out, err = run(capsys, "invoices", "reissue", "TEST000003", *reason, *company)
    assert (code, err.split("]")[0]) == (1, "[E-REISSUE-PARTIAL")
    # `invoices list --search` is the API's `q`: number, payment id, buyer name, ids, e-mail
    code, out, err = run(capsys, "invoices", "list", "--search", "DANTE", "--json")
    assert (code, [r["number"] for r in json.loads(out)]) == (0, ["TEST000003", "TEST000004"])
    code, out, err = run(capsys, "invoices", "list", "--search", "G~STORNO", "--json")
    assert (code, [r["number"] for r in json.loads(out)]) == (0, ["TEST000002"])
    code, out, err = run(capsys, "invoices", "list", "--search", "nobody")
    assert (code, out) == (0, "no invoice matches 'nobody' / nicio factură nu conține 'nobody'\n")
    # `payments list --search` is the API's `q` too (the ignored events are left out)
    code, out, err = run(capsys, "payments", "list", "--search", key.upper(), "--json")
    assert (code, [(r["payment_key"], r["kind"]) for r in json.loads(out)]) == (
        0,
        [(f"{key}~reissue-1", "reissue"), (key, "payment")],
    )
    code, out, err = run(capsys, "payments", "list", "--search", "nobody")
    assert (code, out) == (0, "no payment matches 'nobody' / nicio plată nu conține 'nobody'\n")

    trail = [
        (e.action, e.target_id, e.actor, e.via) for e in reversed(audit_log.entries(ctx, limit=20))
    ]
    assert trail == [
        ("payment.override", key, ME, "cli"),
        ("notice.acknowledge", str(notice["id"]), ME, "cli"),
        ("invoice.reissue", "TEST000001", ME, "cli"),
        ("invoice.storno", "TEST000003", ME, "cli"),
    ]
    ctx.close()
