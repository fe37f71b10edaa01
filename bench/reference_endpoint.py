"""bench/reference_endpoint: the least a durable Stripe webhook endpoint can do, as a yardstick.

The same stack as `stripe-efactura serve` (uvicorn + Starlette, one process) with nothing but
what any durable endpoint must do: check the HMAC-SHA256 of `t.body` against the secret, read
the event id and type with orjson, and store the raw event plus one job row in SQLite (WAL,
`synchronous=FULL`), answering 200 only after the commit. One writer thread group-commits
whatever is waiting, as the real endpoint does. No replay window, no size limit, no API-version
handling, no metrics: `bench/webhook.py` reports the real endpoint as a share of this one.

    .venv/bin/python bench/reference_endpoint.py PORT DATABASE SECRET
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import hmac
import queue
import sqlite3
import sys
import threading
import time

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
  id TEXT PRIMARY KEY, type TEXT NOT NULL, received_at REAL NOT NULL, payload BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
  id INTEGER PRIMARY KEY, task TEXT NOT NULL, event_id TEXT NOT NULL
);
"""

Item = tuple[str, str, bytes, asyncio.AbstractEventLoop, "asyncio.Future[bool]"]


class GroupWriter:
    """One thread commits every waiting insert in one transaction (one fsync per batch)."""

    def __init__(self, path: str) -> None:
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)
        self.waiting: queue.SimpleQueue[Item] = queue.SimpleQueue()
        threading.Thread(target=self._run, name="writer", daemon=True).start()

    def _run(self) -> None:
        while True:
            batch = [self.waiting.get()]
            while True:
                try:
                    batch.append(self.waiting.get_nowait())
                except queue.Empty:
                    break
            self._commit(batch)

    def _commit(self, batch: list[Item]) -> None:
        now = time.time()
        self.db.execute("BEGIN IMMEDIATE")
        created = []
        for event_id, kind, body, _, _ in batch:
            cur = self.db.execute(
                "INSERT OR IGNORE INTO events VALUES (?, ?, ?, ?)", (event_id, kind, now, body)
            )
            created.append(cur.rowcount == 1)
            if cur.rowcount == 1:
                self.db.execute(
                    "INSERT INTO jobs (task, event_id) VALUES ('process_event', ?)", (event_id,)
                )
        self.db.execute("COMMIT")
        for (_, _, _, loop, future), new in zip(batch, created, strict=True):
            loop.call_soon_threadsafe(future.set_result, new)

    async def store(self, event_id: str, kind: str, body: bytes) -> bool:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        self.waiting.put((event_id, kind, body, loop, future))
        return await future


def signed(header: str, body: bytes, secret: bytes) -> bool:
    items = [part.split("=", 1) for part in header.split(",") if "=" in part]
    stamps = [value for key, value in items if key == "t"]
    if len(stamps) != 1:
        return False
    expected = hmac.new(secret, stamps[0].encode() + b"." + body, hashlib.sha256).hexdigest()
    return any(key == "v1" and hmac.compare_digest(value, expected) for key, value in items)


def create_app(database: str, secret: str) -> Starlette:
    writer = GroupWriter(database)
    key = secret.encode()

    async def webhook(request: Request) -> Response:
        body = await request.body()
        if not signed(request.headers.get("stripe-signature", ""), body, key):
            return Response(status_code=400)
        event = orjson.loads(body)
        await writer.store(str(event["id"]), str(event["type"]), body)
        return Response(b'{"received":true}', media_type="application/json")

    return Starlette(routes=[Route("/webhooks/stripe", webhook, methods=["POST"])])


def main() -> None:
    port, database, secret = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    app = create_app(database, secret)
    gc.freeze()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
