"""`--json` everywhere (issue 14): every command that lists or shows something accepts `--json`
and prints one JSON document and nothing else (no header, no colour, no progress), on a small
database. The table covers the command tree: a new command must be added to the table or to
the exemptions below, with the reason."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import typer

from factories import stripe_flows as factory
from factories.attention import ADDRESS, broken_charge, ingest
from stripe_efactura import app as use_cases
from stripe_efactura import cli, commands
from stripe_efactura.app import accounts, api_tokens
from stripe_efactura.app.audit_log import Actor
from stripe_efactura.app.context import build_context
from stripe_efactura.config import STARTER_TOML, demo_settings
from stripe_efactura.intake.fake_server import run_in_thread
from stripe_efactura.intake.fake_stripe import FakeStripeReader, create_fake_stripe
from stripe_efactura.registry.fake import FakeRegistry
from stripe_efactura.store import db
from stripe_efactura.store import invoices as invoice_store

NUMBER = "TEST000001"
ADDRESS_ARGS = [
    *("--line1", ADDRESS["line1"], "--city", ADDRESS["city"], "--state", ADDRESS["state"]),
    *("--postal-code", ADDRESS["postal_code"], "--country", "RO"),
]
CLI = Actor(name="cli:test", via="cli")

# command -> (arguments after the command, expected exit code)
JSON_COMMANDS: dict[str, tuple[list[str], int]] = {
    "anaf status": ([], 0),
    "audit": (["--period", "2026-01", "--test", "--no-spv"], 1),  # findings (no signed ZIP)
    "audit-log list": ([], 0),
    "invoices list": ([], 0),
    "invoices show": ([NUMBER], 0),
    "journal": (["--period", "2026-01", "--test"], 0),
    "notices list": ([], 0),
    "oss-report": (["--quarter", "2026Q1", "--test"], 0),
    "payments list": ([], 0),
    "payments timeline": (["ch_flowG"], 0),
    "preview": (["{tmp}/event.json"], 0),
    "system status": ([], 1),  # not ready (no worker, no ANAF authorisation): still JSON
    "user list": ([], 0),
    "user token list": ([], 0),
    "validate": (["{tmp}/invoice.xml"], 0),
    "verify-export": (["{tmp}/period.zip"], 0),
    # acting commands that also answer in JSON (run last: they change the data)
    "invoices resend-email": ([NUMBER], 0),
    "payments override": (["ch_flowG", *ADDRESS_ARGS], 0),
    "invoices storno": ([NUMBER, "--reason", "test", "--amount", "10.00"], 0),
}
"""``system status`` (not ready) and ``audit`` (findings) exit 1 and print their JSON all the
same. A refusal (a
coded error) is one line on stderr and nothing on stdout, as without ``--json``."""

SEEN: dict[str, tuple[Callable[[Any], object], object]] = {
    "anaf status": (lambda d: (d["cui"], d["authorised"]), ("18547290", False)),
    "invoices list": (lambda d: [i["number"] for i in d], [NUMBER]),
    "invoices show": (lambda d: d["number"], NUMBER),
    "notices list": (
        lambda d: [(n["kind"], n["ref"]) for n in d],
        [("payment_problem", "ch_flowG")],
    ),
    "payments list": (
        lambda d: sorted((p["payment_key"], p["status"]) for p in d if p["kind"] == "payment"),
        [("ch_flowG", "needs_attention"), ("pi_flowA", "invoiced")],
    ),
    "user list": (lambda d: [u["email"] for u in d], ["ana@example.ro"]),
    "user token list": (lambda d: [t["name"] for t in d], ["books"]),
    "verify-export": (lambda d: (d["ok"], d["files"], d["problems"]), (True, 4, [])),
}
"""What some of the documents say, read back (the rest are only parsed)."""

COVERED_ELSEWHERE: dict[str, str] = {
    "invoices reissue": "tests/api/test_cli_twins.py runs it with --json (it needs an invoice "
    "not reversed yet; the storno above reverses the only one here)",
}

EXEMPT: dict[str, str] = {
    "anaf login": "acts: prints the authorisation URL to open",
    "anaf token import": "acts: stores tokens",
    "db upgrade": "acts: migrates the database",
    "demo": "acts: runs the demonstration (its account is prose)",
    "export-period": "acts: writes an archive (verify-export shows it)",
    "ingest": "acts: feeds saved events",
    "init": "acts: writes the starter settings and the database",
    "invoices export": "acts: writes the PDF/XML files",
    "invoices retry": "acts: sends an invoice again",
    "notices ack": "acts: acknowledges a notice",
    "payments dispute": "acts: decides a lost dispute",
    "payments retry": "acts: queues a payment again",
    "reconcile": "acts: feeds missed events",
    "serve": "acts: runs the service",
    "user add": "acts: adds a user",
    "user disable": "acts: disables a user",
    "user enable": "acts: enables a user",
    "user passwd": "acts: sets a password",
    "user role": "acts: changes a role",
    "user token create": "acts: prints a new secret once",
    "user token revoke": "acts: revokes a token",
    "validation fetch": "acts: installs the validation artifacts",
    "worker": "acts: runs a worker",
}


def command_tree() -> dict[str, bool]:
    """Every leaf command of the CLI -> whether it has a ``--json`` option."""
    out: dict[str, bool] = {}

    def walk(cmd: object, path: list[str]) -> None:
        children = getattr(cmd, "commands", None)
        if isinstance(children, dict):
            for name, sub in children.items():
                walk(sub, [*path, name])
            return
        opts = [o for p in getattr(cmd, "params", []) for o in getattr(p, "opts", [])]
        out[" ".join(path)] = "--json" in opts

    walk(typer.main.get_command(commands.app), [])
    return out


def test_every_command_is_in_the_table_or_exempt_with_a_reason() -> None:
    tree = command_tree()
    assert set(JSON_COMMANDS) | set(EXEMPT) | set(COVERED_ELSEWHERE) == set(tree)
    assert not set(JSON_COMMANDS) & set(EXEMPT)
    assert {c for c in [*JSON_COMMANDS, *COVERED_ELSEWHERE] if not tree[c]} == set()


@pytest.fixture
def small_db(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str, validation_dir: Path
) -> Iterator[Path]:
    """One invoiced test-mode Checkout payment, one payment needing attention (and its notice),
    a user with an API token (and their audit entries), a saved event, the invoice's XML and a
    period archive; the fake Stripe API for `audit`."""
    paid, broken = factory.flow_a_checkout_card(), broken_charge()
    store = paid.store()
    broken.store(store)
    with run_in_thread(create_fake_stripe(store)) as stripe_url:
        config = tmp_path / "efactura.toml"
        config.write_text(STARTER_TOML, encoding="utf-8")
        for name, value in {
            "EFACTURA_STRIPE_API_KEY": "sk_test_json",
            "EFACTURA_STRIPE_API_BASE": stripe_url,
            "EFACTURA_CONFIG": str(config),
            "EFACTURA_DATA_DIR": str(tmp_path),
            "EFACTURA_DATABASE_URL": db_url,
            "EFACTURA_VALIDATION_DIR": str(validation_dir),
        }.items():
            monkeypatch.setenv(name, value)
        settings = demo_settings(tmp_path, database_url=db_url, validation_dir=validation_dir)
        reader = FakeStripeReader(store)
        ctx = build_context(settings, stripe=reader, registry_transport=FakeRegistry())  # type: ignore[arg-type]
        ctx.clock = lambda: datetime(2026, 1, 2, 9, 0, tzinfo=UTC)
        use_cases.prepare(ctx)
        ingest(ctx, paid)
        ingest(ctx, broken)
        user = accounts.add_user(ctx, CLI, "ana@example.ro", "a long enough pass 1", "admin")
        api_tokens.create_token(ctx, CLI, user.id, "books", "read")
        with db.read(ctx.engine) as conn:
            row = invoice_store.by_number(conn, NUMBER)
        assert row is not None
        ctx.close()
        (tmp_path / "invoice.xml").write_bytes(bytes(row.xml))
        event = paid.event("checkout.session.completed")
        (tmp_path / "event.json").write_text(json.dumps(event), encoding="utf-8")
        archive = ["export-period", "--period", "2026-01", "--test", "--out"]
        assert cli.main([*archive, str(tmp_path / "period.zip")]) == 0
        yield tmp_path


def test_every_listing_prints_one_json_document(
    small_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    wrong: dict[str, str] = {}
    for command, (args, expected) in JSON_COMMANDS.items():
        argv = [*command.split(), *(a.format(tmp=small_db) for a in args), "--json"]
        code = cli.main(argv)
        out, err = capsys.readouterr()
        try:
            json.loads(out)
        except ValueError as exc:
            wrong[command] = f"not one JSON document ({exc}): {out[:200]!r} {err[:300]!r}"
            continue
        if code != expected:
            wrong[command] = f"exit {code}, expected {expected}: {out[:200]!r}"
        elif command in SEEN and SEEN[command][0](json.loads(out)) != SEEN[command][1]:
            wrong[command] = f"says {SEEN[command][0](json.loads(out))!r}"
    assert wrong == {}
