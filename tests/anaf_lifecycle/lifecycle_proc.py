"""A worker process for the crash and token-race tests (run as a script, killed with SIGKILL).

    python lifecycle_proc.py drive CONFIG.json   # the job worker (anaf jobs) until no work is left
    python lifecycle_proc.py token CONFIG.json   # wait for the start time, print the access token

CONFIG.json: database_url, data_dir, anaf_base, secret_key and, for ``token``, start_at (epoch).
"""

from __future__ import annotations

import json
import sys
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from stripe_efactura import app
from stripe_efactura.app import anaf_tokens, anaf_tuning
from stripe_efactura.app.context import build_context
from stripe_efactura.config import demo_settings
from stripe_efactura.jobs.worker import Worker
from stripe_efactura.registry.fake import FakeRegistry
from stripe_efactura.store import anaf_work, db, invoice_files
from stripe_efactura.store.tables import invoices


def _context(config: dict[str, str]):  # type: ignore[no-untyped-def]
    base = config["anaf_base"]
    settings = demo_settings(
        Path(config["data_dir"]),
        database_url=config["database_url"],
        anaf_api_base=base,
        anaf_oauth_base=base,
        anaf_public_base=base,
        anaf_client_id="fake-client-id",
        anaf_client_secret="fake-client-secret",
        secret_key=config["secret_key"],
    )
    ctx = build_context(settings, registry_transport=FakeRegistry())
    ctx.anaf_tuning = anaf_tuning.Tuning(
        timeout=5.0,
        upload_timeout=5.0,
        inflight_seconds=0.3,
        reconcile_grace_seconds=1.0,
        reconcile_every_seconds=0.2,
        list_lag_seconds=0.0,
        poll_scale=0.0,
    )
    return ctx


def drive(config: dict[str, str]) -> int:
    """The real worker loop (claim, run, complete; leases of 1 s so that the jobs of a killed
    process are taken over quickly), restricted to the ANAF jobs."""
    ctx = _context(config)
    handlers = {k: v for k, v in app.handlers(ctx).items() if k in ("submit_anaf", "anaf_step")}
    worker = Worker(ctx.engine, handlers, lease=timedelta(seconds=1), batch=1)
    while True:
        if worker.run_once():
            continue
        with db.read(ctx.engine) as conn:
            rows = conn.execute(
                sa.select(
                    invoices.c.anaf_state,
                    invoices.c.anaf_messages,
                    sa.not_(invoice_files.has("signed_zip")).label("unarchived"),
                ).where(invoices.c.anaf_state.in_(anaf_work.ACTIVE))
            ).all()
        if not any(
            anaf_work.has_work(
                r.anaf_state, anaf_work.AnafWork.from_json(r.anaf_messages), r.unarchived
            )
            for r in rows
        ):
            return 0
        time.sleep(0.05)


def token(config: dict[str, str]) -> int:
    ctx = _context(config)
    anaf_tokens.load_tokens(ctx)  # connect and read once before the race
    while time.time() < float(config["start_at"]):
        time.sleep(0.001)
    print(anaf_tokens.access_token(ctx), flush=True)
    return 0


if __name__ == "__main__":
    mode, path = sys.argv[1], sys.argv[2]
    cfg = json.loads(Path(path).read_text())
    sys.exit(drive(cfg) if mode == "drive" else token(cfg))
