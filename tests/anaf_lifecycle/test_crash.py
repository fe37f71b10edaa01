"""Kill -9 a worker process between sending an upload and recording its index, many times: ANAF
(the fake, served by uvicorn on loopback) must count exactly one upload per invoice."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.responses import Response

from stripe_efactura.anaf.fake import FakeAnafState, FakeClock, create_fake_anaf
from stripe_efactura.anaf.oauth import token_set_from_response
from stripe_efactura.app import anaf_tokens
from stripe_efactura.jobs import queue
from stripe_efactura.store import db
from stripe_efactura.store.tables import invoice_log

MODES = ("before", "after_accept", "after_response")
INVOICES = 24
ROUNDS = 12


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


class KillSwitch:
    """ASGI middleware: on the next upload of the armed process, SIGKILL it

    - ``before``: before ANAF sees the request (the upload is not taken),
    - ``after_accept``: after ANAF took the upload, before the answer is sent,
    - ``after_response``: 0-20 ms after the answer was sent (while the index is recorded).
    """

    def __init__(self, app: Any, rng: random.Random) -> None:
        self.app = app
        self.rng = rng
        self.pid: int | None = None
        self.mode = ""
        self.kills: list[str] = []

    def arm(self, pid: int, mode: str) -> None:
        self.pid, self.mode = pid, mode

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if self.pid is None or not path.endswith(("/upload", "/uploadb2c")):
            await self.app(scope, receive, send)
            return
        pid, mode, self.pid = self.pid, self.mode, None
        self.kills.append(mode)
        if mode == "before":
            _kill(pid)
            await Response("gone", status_code=500)(scope, receive, send)
            return
        if mode == "after_accept":
            held: list[Any] = []

            async def hold(message: Any) -> None:
                held.append(message)

            await self.app(scope, receive, hold)
            _kill(pid)
            for message in held:
                try:
                    await send(message)
                except Exception:  # the client is gone
                    return
            return
        await self.app(scope, receive, send)
        asyncio.get_running_loop().call_later(self.rng.uniform(0, 0.02), _kill, pid)


@pytest.mark.slow
def test_kill_between_upload_and_record_never_uploads_twice(
    env, loopback, proc_script, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    state = FakeAnafState(clock=FakeClock(), processing_polls=0, processing_delay=timedelta(0))
    switch = KillSwitch(create_fake_anaf(state), random.Random(20261121))
    numbers = {}
    for i in range(INVOICES):
        invoice_id, number = env.issue(buyer=env.buyer("CONSUMER" if i % 3 == 0 else "COMPANY"))
        numbers[invoice_id] = number
    with db.write(env.ctx.engine) as conn:  # what app.issuing enqueues with each invoice
        for invoice_id in numbers:
            queue.enqueue(conn, "submit_anaf", {"invoice_id": invoice_id})
    with loopback(switch) as server:
        config = {
            "database_url": env.ctx.settings.database_url,
            "data_dir": str(env.ctx.settings.data_dir),
            "anaf_base": server.base,
            "secret_key": env.ctx.settings.secret_key,
        }
        tokens = token_set_from_response(state.mint_tokens(), state.clock.now())
        anaf_tokens.save_tokens(env.ctx, tokens, source="test")
        path = tmp_path / "proc.json"
        path.write_text(json.dumps(config))
        codes = []
        for n in range(ROUNDS + 1):
            proc = subprocess.Popen([sys.executable, str(proc_script), "drive", str(path)])
            if n < ROUNDS:
                switch.arm(proc.pid, MODES[n % len(MODES)])
            codes.append(proc.wait(timeout=120))
    assert switch.kills == list(MODES) * (ROUNDS // len(MODES))
    assert codes == [-signal.SIGKILL] * ROUNDS + [0]
    for invoice_id, number in numbers.items():
        row = env.row(invoice_id)
        (taken,) = state.uploads(number)  # exactly one upload of every invoice
        assert (row.anaf_state, row.upload_index, row.download_id) == (
            "ok",
            taken.index,
            taken.download_id,
        )
        assert row.signed_zip is not None
    with db.read(env.ctx.engine) as conn:
        events = Counter(
            (
                e.event,
                json.loads(e.detail or "{}").get("via")
                or json.loads(e.detail or "{}").get("cause"),
            )
            for e in conn.execute(sa.select(invoice_log))
        )
    # "before" kills end in a deliberate re-upload, "after_accept" ones in the message list
    assert events[("anaf_upload_unknown", "E-WORKER-INTERRUPTED")] >= 8
    assert events[("anaf_reupload", None)] >= 4
    assert events[("anaf_reconciled", "message_list")] >= 4
    assert events[("anaf_reconciled", "duplicate_message")] == 0
