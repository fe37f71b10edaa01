"""Hostile webhook deliveries for the fuzz test (tests/web/test_fuzz.py) and bench/fuzz.py.

Every case is built from a ``random.Random``: the test draws it from hypothesis
(``st.randoms()``, so failures shrink and replay), the long benchmark from a seed. A case is
``forged`` (not signed with the endpoint secret, or the body changed after signing),
``replayed`` (a real signature older than the tolerance, possibly with a fresh ``t=`` added)
or ``signed`` (a correct, fresh signature over a mutated Stripe shape): only a ``signed``
case may ever be answered 200, and no case may get a 5xx.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SECRET = "whsec_fuzz_secret"
TRIGGERS = (
    "payment_intent.succeeded",
    "checkout.session.completed",
    "invoice.paid",
    "charge.succeeded",
    "refund.created",
    "charge.dispute.closed",
    "v1.invoice.paid",
)


@dataclass(frozen=True)
class Case:
    kind: str
    """``forged`` | ``replayed`` | ``signed``."""
    body: bytes
    header: str | None


def sign(body: bytes, ts: int, secret: str = SECRET) -> str:
    """Stripe's scheme over the raw bytes (also for bodies that are not UTF-8)."""
    mac = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={ts},v1={mac}"


def builtin_shapes() -> list[dict[str, Any]]:
    """A few events in the current shapes, for when the recorded fixtures are absent."""
    pi = {
        "id": "pi_f1",
        "object": "payment_intent",
        "amount": 11900,
        "amount_received": 11900,
        "currency": "ron",
        "status": "succeeded",
        "created": 1763700000,
        "latest_charge": "ch_f1",
        "metadata": {"order_id": "1234"},
        "livemode": False,
    }
    session = {
        "id": "cs_f1",
        "object": "checkout.session",
        "amount_total": 5000,
        "currency": "eur",
        "payment_status": "paid",
        "status": "complete",
        "mode": "payment",
        "payment_intent": "pi_f2",
        "created": 1763700100,
        "customer_details": {"email": "a@example.ro", "name": "Ion", "address": {"country": "RO"}},
    }
    return [wrap(pi, "payment_intent.succeeded"), wrap(session, "checkout.session.completed")]


def wrap(obj: Any, etype: str) -> dict[str, Any]:
    return {
        "id": "evt_shape",
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": 1763700000,
        "livemode": False,
        "pending_webhooks": 1,
        "type": etype,
        "data": {"object": obj},
    }


def recorded_shapes(root: Path) -> list[dict[str, Any]]:
    """Every recorded object under ``root`` (``../shared/fixtures/stripe``) as an event."""
    shapes: list[dict[str, Any]] = []
    for f in sorted(root.glob("*/*.json")):
        if f.name == "fixtures3.json":
            for name, obj in json.loads(f.read_text())["resources"].items():
                shapes.append(obj if name == "event" else wrap(obj, f"{name}.updated"))
            continue
        data = json.loads(f.read_text())
        if f.parent.name == "stripe-cli":
            continue  # recipes of API calls, not objects
        obj = data["object"] if isinstance(data.get("object"), dict) else data
        shapes.append(wrap(obj, f.stem if "." in f.stem else f"{obj.get('object')}.updated"))
    return shapes


# --- mutations ----------------------------------------------------------------------------


def _nasty(rng: random.Random) -> Any:
    choice = rng.randrange(14)
    if choice == 0:  # spliced into the JSON text by _dump (json.dumps would recurse)
        return f"{DEEP}{rng.choice([62, 63, 64, 200, 1000, 3000])}"
    return [
        lambda: 2**63 + rng.randrange(3) - 1,
        lambda: -(2**63) - rng.randrange(2),
        lambda: 10 ** rng.randrange(12, 40),
        lambda: rng.choice([10**12, -1, 4_102_444_801, 0]),
        lambda: "x\x00y",
        lambda: "ț" * rng.choice([300, 70_000]),
        lambda: rng.choice([None, True, False, [], {}, "", "12.50", 1.5, -0.0, 1e308]),
        lambda: rng.choice(["\ud800", "\udfff"]),
        lambda: {"object": "list", "data": [None] * rng.randrange(5)},
        lambda: rng.choice(TRIGGERS),
        lambda: rng.randrange(-(10**6), 10**6),
        lambda: "pi_" + "9" * rng.choice([5, 300]),
        lambda: float(rng.choice(["1e400", "-1e400"])),
    ][choice - 1]()


def _paths(value: Any, prefix: tuple[Any, ...] = (), out: list[tuple[Any, ...]] | None = None):  # type: ignore[no-untyped-def]
    out = [] if out is None else out
    if len(prefix) > 12:
        return out
    if isinstance(value, dict):
        for k, v in value.items():
            out.append((*prefix, k))
            _paths(v, (*prefix, k), out)
    elif isinstance(value, list):
        for i, v in enumerate(value[:5]):
            out.append((*prefix, i))
            _paths(v, (*prefix, i), out)
    return out


def mutate(event: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    evt = copy.deepcopy(event)
    evt["id"] = f"evt_fz{rng.getrandbits(40):x}"
    if rng.random() < 0.5:
        evt["type"] = rng.choice(TRIGGERS)
    paths = _paths(evt)
    for _ in range(rng.randrange(1, 4)):
        if not paths:
            break
        path = rng.choice(paths)
        parent: Any = evt
        for step in path[:-1]:
            parent = parent[step]
        if rng.random() < 0.15 and isinstance(parent, dict):
            parent.pop(path[-1], None)
        else:
            parent[path[-1]] = _nasty(rng)
        paths = _paths(evt)
    return evt


DEEP = "@@deep@@"


def _dump(evt: Any, rng: random.Random) -> bytes:
    text = json.dumps(evt, ensure_ascii=rng.random() < 0.5, allow_nan=True)
    while DEEP in text:  # '"@@deep@@N"' -> N levels of arrays and objects
        start = text.index(f'"{DEEP}')
        end = text.index('"', start + 1)
        depth = int(text[start + len(DEEP) + 1 : end])
        opens, closes = rng.choice([("[", "]"), ('{"a":', "}")])
        opens, closes = opens * depth, closes * depth
        text = text[:start] + opens + "1" + closes + text[end + 1 :]
    return text.encode("utf-8", errors="surrogatepass")


# --- cases ---------------------------------------------------------------------------------


def case(rng: random.Random, shapes: list[dict[str, Any]], now: int | None = None) -> Case:
    now = int(time.time()) if now is None else now
    evt = mutate(rng.choice(shapes), rng)
    body = _dump(evt, rng)
    roll = rng.random()
    if roll < 0.45:
        return Case("signed", body, sign(body, now - rng.randrange(0, 250)))
    if roll < 0.6:
        old = sign(body, now - rng.choice([301, 3600, 86_400 * 30]))
        header = rng.choice([old, f"{old},t={now}", f" t={now},{old}", f"{old}, t={now}"])
        return Case("replayed", body, header)
    return _forged(rng, body, now)


def _forged(rng: random.Random, body: bytes, now: int) -> Case:
    good = sign(body, now)
    tamper = body[:-1] + b" }" if body.endswith(b"}") else body + b" "
    options: list[tuple[bytes, str | None]] = [
        (body, None),
        (body, ""),
        (body, sign(body, now, "whsec_someone_else")),
        (tamper, good),
        (rng.randbytes(rng.randrange(0, 2000)), good),
        (body, f"t={now},v1={'0' * 64}"),
        (body, good.replace("v1=", "v0=")),
        (body, f"t={now}" + ",v1=ab" * rng.randrange(1, 200)),
        (body, "t=" + "٣" * 10 + good[good.index(",") :]),
        (body, "\x00garbage=" * rng.randrange(1, 50)),
    ]
    sent, header = rng.choice(options)
    return Case("forged", sent, header)
