"""bench/webhook: signed ~5 KB Stripe events over HTTP into `serve --no-worker` on SQLite.

Runs wrk (Debian package `wrk`, 32 connections) against three endpoints on 127.0.0.1, in the
same run: the reference durable endpoint (`bench/reference_endpoint.py`: HMAC check, orjson,
group-committed insert, nothing else), the real server's empty endpoint `POST /livez`, and the
real `POST /webhooks/stripe`, each with the same unique pre-signed events. Accepted events are
counted in each database afterwards. Targets: >= 1,000 accepted events/s, p99 < 50 ms, and
>= 80 % of the reference durable endpoint's accepted events/s (the empty endpoint is reported
for comparison).

    .venv/bin/python bench/webhook.py [--seconds 10] [--connections 32]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import stripe
from procstat import cpu_seconds, machine_cpu, machine_share, thread_seconds
from readme_section import write_section

SECRET = "whsec_bench"
WRK_THREADS = int(os.environ.get("WRK_THREADS", "2"))
LUA = r"""
local lines = {}
local idx = 0
local step = 1
function setup(thread)
  thread:set("tid", #threads_list + 1)
  table.insert(threads_list, thread)
end
threads_list = {}
function init(args)
  -- each thread keeps only its own share of the events (every step-th line), so that
  -- the two threads neither send the same event nor each hold the whole file
  local f = io.open(args[1], "r")
  step = tonumber(args[2])
  local n = 0
  for line in f:lines() do
    if n % step == tid - 1 then
      local tab = line:find("\t", 1, true)
      table.insert(lines, {line:sub(1, tab - 1), line:sub(tab + 1)})
    end
    n = n + 1
  end
  f:close()
end
function request()
  idx = idx + 1
  local item = lines[((idx - 1) % #lines) + 1]
  return wrk.format("POST", nil, {["Content-Type"] = "application/json",
    ["Stripe-Signature"] = item[1]}, item[2])
end
"""


def make_event(n: int) -> bytes:
    lines = [
        {
            "id": f"li_{n}_{i}",
            "object": "item",
            "description": f"Produs de test nr. {i} — ăâîșț",
            "quantity": 1,
            "amount_total": 15466,
            "currency": "ron",
        }
        for i in range(12)
    ]
    event = {
        "id": f"evt_bench_{n:08d}",
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": 1763700000,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": f"req_{n}", "idempotency_key": None},
        "type": "checkout.session.completed",
        "data": {
            "object": {
                "id": f"cs_test_{n:08d}",
                "object": "checkout.session",
                "mode": "payment",
                "status": "complete",
                "payment_status": "paid",
                "amount_subtotal": 46400,
                "amount_total": 46400,
                "currency": "ron",
                "payment_intent": f"pi_bench_{n:08d}",
                "customer_details": {
                    "address": {
                        "city": "București",
                        "country": "RO",
                        "line1": "Strada Exemplului nr. 10, bl. A1, sc. 2, ap. 34",
                        "line2": "Sector 3",
                        "postal_code": "030000",
                        "state": "București",
                    },
                    "email": "client@example.ro",
                    "name": "Ion Popescu",
                    "phone": "+40700000000",
                    "tax_exempt": "none",
                    "tax_ids": [],
                },
                "metadata": {"order_id": str(n), "note": "x" * 480, "extra": "y" * 480},
                "custom_fields": [],
                "line_items_preview": lines,
                "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
            }
        },
    }
    return json.dumps(event, indent=2, ensure_ascii=False).encode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wrk(url: str, seconds: int, conns: int, script: Path, args: list[str]) -> dict[str, float]:
    cmd = ["wrk", f"-t{WRK_THREADS}", f"-c{conns}", f"-d{seconds}s", "--latency"]
    cmd += ["-s", str(script), url, "--", *args]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]

    def pct(p: str) -> float:
        m = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out)
        assert m, out
        v = float(m.group(1))
        return v / 1000 if m.group(2) == "us" else v * 1000 if m.group(2) == "s" else v

    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": rps,
        "requests": total,
        "p50_ms": pct("50"),
        "p99_ms": pct("99"),
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
    }


def empty_script(sample: bytes) -> str:
    """A wrk script posting ``sample`` as it is: a Lua long string holds the UTF-8 bytes
    (JSON's ``\\uXXXX`` escapes are not Lua, and wrk would send no body at all)."""
    text = sample.decode()
    level = 0
    while f"]{'=' * level}]" in text:
        level += 1
    eq = "=" * level
    return (
        'wrk.method = "POST"\n'
        f"wrk.body = [{eq}[{text}]{eq}]\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
    )


def events_script() -> str:
    """The wrk script posting the pre-signed events of ``events.tsv`` (signature, tab, body
    with its newlines written as the two characters backslash and n, restored in Lua)."""
    return LUA.replace(
        "table.insert(lines, {line:sub(1, tab - 1), line:sub(tab + 1)})",
        'table.insert(lines, {line:sub(1, tab - 1), (line:sub(tab + 1):gsub("\\\\n", "\\n"))})',
    )


def events_line(body: bytes, timestamp: int) -> str:
    """One line of ``events.tsv``: the signature header, a tab, the body on one line."""
    sig = stripe.WebhookSignature._compute_signature(f"{timestamp}.{body.decode()}", SECRET)
    return f"t={timestamp},v1={sig}\t{body.decode()}".replace("\n", "\\n") + "\n"


def write_config(path: Path) -> None:
    """The starter configuration (`stripe-efactura init`'s): `serve` refuses to start without
    a `[company]` block."""
    from stripe_efactura.config import STARTER_TOML

    path.write_text(STARTER_TOML, encoding="utf-8")


def wait_for_port(port: int) -> None:
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port}")


def count_rows(database: Path, table: str) -> int:
    db = sqlite3.connect(database)
    try:
        return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    finally:
        db.close()


def run_reference(tmp: Path, opts: argparse.Namespace) -> dict[str, float]:
    """wrk against `bench/reference_endpoint.py` with the same events; accepted = rows."""
    port = free_port()
    database = tmp / "reference.db"
    script = Path(__file__).with_name("reference_endpoint.py")
    server = subprocess.Popen(
        [sys.executable, str(script), str(port), str(database), SECRET],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        result = post_events(f"http://127.0.0.1:{port}", server.pid, tmp, opts)
    finally:
        server.terminate()
        server.wait(timeout=20)
    return with_accepted(result, count_rows(database, "events"), opts)


def post_events(base: str, pid: int, tmp: Path, opts: argparse.Namespace) -> dict[str, float]:
    """wrk posting the pre-signed events to ``base``; the server's CPU seconds meanwhile."""
    settle()
    before, threads_before, machine0 = cpu_seconds(pid), thread_seconds(pid), machine_cpu()
    result = wrk(
        f"{base}/webhooks/stripe",
        opts.seconds,
        opts.connections,
        tmp / "events.lua",
        [str(tmp / "events.tsv"), str(WRK_THREADS)],
    )
    result["cpu_s"] = cpu_seconds(pid) - before
    result["steal"] = machine_share(machine0, machine_cpu(), stolen=True) or 0.0
    after = thread_seconds(pid)
    result["thread_cpu_s"] = sorted(
        (round(t - threads_before.get(tid, 0.0), 3) for tid, t in after.items()), reverse=True
    )
    return result


def settle() -> None:
    """Write out what is still dirty in the page cache before a server is measured: the run's
    events file (500 MB) and the databases of the run before (deleted) would otherwise be
    written back in the middle of a measurement, whichever server's it is, and stall its
    fsyncs (a p99 of 60-75 ms in the run that met the writeback, 11-25 ms in the others)."""
    os.sync()
    time.sleep(1.0)


def with_accepted(
    result: dict[str, float], stored: int, opts: argparse.Namespace
) -> dict[str, float]:
    result["accepted_per_s"] = round(stored / opts.seconds, 1)
    result["cpu_us_per_event"] = round(result["cpu_s"] / max(stored, 1) * 1e6, 1)
    result["thread_us_per_event"] = [
        round(t / max(stored, 1) * 1e6) for t in result["thread_cpu_s"] if t > 0
    ]
    return result


def main() -> int:
    if shutil.which("wrk") is None:
        print("wrk is not installed (Debian: apt-get install wrk)", file=sys.stderr)
        return 2
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--events", type=int, default=100000)
    ap.add_argument("--runs", type=int, default=3)
    opts = ap.parse_args()
    results = [run_once(opts, i) for i in range(opts.runs)]
    write_section(HEADING, section(results, opts))
    ok = all(r["ok"] for r in results)
    print("targets met" if ok else "TARGETS NOT MET")
    return 0 if ok else 1


HEADING = "## webhook"
ANALYSIS = (
    "What limits it. An event is answered 200 only after its row and its job are durable: "
    "one writer thread group-commits whatever is waiting (about 10-12 events per commit at "
    "32 connections), one fsync per commit, in both servers. The rest is CPU under one GIL, "
    "and on 2 cores shared with wrk the ratio follows the CPU per event. The per-thread "
    "columns are utime + stime per accepted event from /proc/PID/task, largest first: ours "
    "the event loop, the writer and the WAL checkpointer; the reference its event loop and "
    "its writer (which checkpoints itself). Before issue 17's writer change (quiet machine): "
    "ours 157 us in the event loop and 80 us in the writer, the reference 108 and 41. The "
    "writer now stores each batch on the raw DB-API connection (store/event_batches.py, no "
    "SQLAlchemy per statement): what is left there is SQLite storing the richer rows (9 "
    "columns, the payload as TEXT, the job with its JSON args, its unique dedupe key and its "
    "(status, run_at) index, where the reference stores 4 columns and a BLOB, 2 columns "
    "and no index). In the event loop ours adds the payload limits of issue 16 (a scan of "
    "the JSON text, 20 us; the value walk it replaces took 70 us), the replay window and the "
    "Stripe SDK's signature check on a decoded copy of the body, the body-size middleware "
    "and the richer answer. `gc.freeze()` at start and WAL checkpoints on their own thread "
    "(both from earlier work) keep the tail short. Before each server is measured the bench "
    "writes out the page cache (`os.sync()`): the run's 500 MB events file and the deleted "
    "databases of the run before were otherwise written back during whichever measurement "
    "met them, and its p99 rose to 60-75 ms (session 28: ours in every second run, where it "
    "went first)."
)


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def section(results: list[dict[str, object]], opts: argparse.Namespace) -> str:
    rows = "\n".join(
        f"| {i} | {r['accepted_events_per_s']:,.0f} | {r['webhook']['p50_ms']} "  # type: ignore[index]
        f"| {r['webhook']['p99_ms']} | {r['reference']['accepted_per_s']:,.0f} "  # type: ignore[index]
        f"| {r['reference']['p99_ms']} | {r['ratio_to_reference']:.0%} "  # type: ignore[index]
        f"| {r['webhook']['cpu_us_per_event']} | {r['reference']['cpu_us_per_event']} "  # type: ignore[index]
        f"| {r['cpu_ratio']:.0%} | {threads(r['webhook'])} | {threads(r['reference'])} "  # type: ignore[arg-type]
        f"| {r['empty']['rps']:,.0f} | {steal(r)} | {r['load']:.1f} |"
        for i, r in enumerate(results, 1)
    )
    load = os.getloadavg()
    all_rate = all(float(r["accepted_events_per_s"]) >= 1000 for r in results)  # type: ignore[arg-type]
    all_p99 = all(float(r["webhook"]["p99_ms"]) < 50 for r in results)  # type: ignore[index]
    all_ratio = all(float(r["ratio_to_reference"]) >= 0.8 for r in results)  # type: ignore[arg-type]
    return (
        f"{HEADING}\n\n"
        "`bench/webhook.py`: `stripe-efactura serve --no-worker` (uvicorn, one process, SQLite in "
        f"WAL with `synchronous=FULL`) on 127.0.0.1; wrk ({WRK_THREADS} threads, "
        f"{opts.connections} connections, {opts.seconds} s) posts unique pre-signed "
        f"{results[0]['event_bytes']}-byte `checkout.session.completed` events; accepted = event "
        "rows (each with its job) in the database afterwards. The reference is "
        "`bench/reference_endpoint.py` (uvicorn + Starlette, HMAC check, orjson, group-committed "
        "durable insert of the event and its job, nothing else) with the same events; the empty "
        "endpoint is `POST /livez` on the real server with the same body; all three in the same "
        "run.\n\n"
        "| run | accepted events/s | p50 ms | p99 ms | reference accepted/s | reference p99 ms "
        "| webhook / reference | server CPU us per event | reference CPU us per event "
        "| reference CPU / ours | ours per thread us | reference per thread us "
        "| empty endpoint req/s | steal, ours / reference | load (1 min) |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
        f"{rows}\n\n"
        f"Targets: >= 1,000 accepted events/s ({verdict(all_rate)}), p99 < 50 ms "
        f"({verdict(all_p99)}), >= 80 % of the reference durable endpoint "
        f"({verdict(all_ratio)}).\n\n"
        f"{ANALYSIS}\n\n"
        f"Load average at the end: {load[0]:.1f}, {load[1]:.1f}, {load[2]:.1f} (each row "
        "gives the 1-minute load of its run). Machine: Python 3.11.7 on x86_64, 2 cores "
        "shared by the server, wrk and whatever else runs: on a loaded machine events/s and "
        "p99 swing from run to run, the CPU per event much less. Steal is the share of the "
        "machine's CPU (from /proc/stat) that the hypervisor took away while each server was "
        "measured: on a VM whose host is busy it lowers both rates, rarely evenly.\n"
    )


def steal(result: dict[str, object]) -> str:
    """The share of the machine's CPU the hypervisor took away while each server was
    measured (ours, then the reference): a VM's steal lowers both rates, rarely evenly."""
    ours, ref = result["webhook"], result["reference"]
    return f"{ours['steal']:.0%} / {ref['steal']:.0%}"  # type: ignore[index]


def threads(result: dict[str, object]) -> str:
    """CPU us per accepted event of each busy thread, largest first (the event loop, then
    the writer, then e.g. the checkpointer)."""
    return " / ".join(str(t) for t in result["thread_us_per_event"] if t >= 1)  # type: ignore[attr-defined]


def run_once(opts: argparse.Namespace, index: int = 0) -> dict[str, object]:
    """One run: the reference and the real server, one after the other (the order swaps from
    one run to the next, so that neither always meets the machine's load first)."""
    tmp = Path(tempfile.mkdtemp(prefix="efactura-bench-"))
    ts = int(time.time())
    sample = make_event(0)
    with open(tmp / "events.tsv", "w", encoding="utf-8") as f:
        for n in range(opts.events):
            f.write(events_line(make_event(n), ts))
    (tmp / "events.lua").write_text(events_script())
    (tmp / "empty.lua").write_text(empty_script(sample), encoding="utf-8")
    if index % 2 == 0:
        reference = run_reference(tmp, opts)
        empty, hook = run_ours(tmp, opts)
    else:
        empty, hook = run_ours(tmp, opts)
        reference = run_reference(tmp, opts)
    result = {
        "event_bytes": len(sample),
        "connections": opts.connections,
        "seconds": opts.seconds,
        "empty": empty,
        "reference": reference,
        "webhook": hook,
        "accepted_events_per_s": hook["accepted_per_s"],
        "ratio_to_empty": round(hook["rps"] / empty["rps"], 3),
        "ratio_to_reference": round(hook["accepted_per_s"] / reference["accepted_per_s"], 3),
        "cpu_ratio": round(reference["cpu_us_per_event"] / hook["cpu_us_per_event"], 3),
        "load": os.getloadavg()[0],
    }
    result["ok"] = (
        hook["accepted_per_s"] >= 1000
        and hook["p99_ms"] < 50
        and result["ratio_to_reference"] >= 0.8
    )
    print(json.dumps(result, indent=2))
    shutil.rmtree(tmp, ignore_errors=True)
    return result


def run_ours(tmp: Path, opts: argparse.Namespace) -> tuple[dict[str, float], dict[str, float]]:
    """`serve --no-worker` on SQLite: the empty endpoint, then the webhook; accepted = rows."""
    port = free_port()
    write_config(tmp / "efactura.toml")
    env = dict(
        os.environ,
        EFACTURA_DATA_DIR=str(tmp / "data"),
        EFACTURA_CONFIG=str(tmp / "efactura.toml"),
        EFACTURA_STRIPE_WEBHOOK_SECRET=SECRET,
        EFACTURA_LOG_LEVEL="WARNING",
    )
    env.pop("EFACTURA_DATABASE_URL", None)
    exe = Path(sys.executable).with_name("stripe-efactura")
    server = subprocess.Popen(
        [str(exe), "serve", "--no-worker", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        base = f"http://127.0.0.1:{port}"
        empty = wrk(f"{base}/livez", opts.seconds, opts.connections, tmp / "empty.lua", [])
        hook = post_events(base, server.pid, tmp, opts)
    finally:
        server.terminate()
        server.wait(timeout=20)
    stored = count_rows(tmp / "data" / "efactura.db", "stripe_events")
    hook["stored_jobs"] = count_rows(tmp / "data" / "efactura.db", "jobs")
    return empty, with_accepted(hook, stored, opts)


if __name__ == "__main__":
    raise SystemExit(main())
