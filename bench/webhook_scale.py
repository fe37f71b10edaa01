"""bench/webhook_scale: does a second web process add webhook throughput on PostgreSQL?

Issue 17's scale-out sanity check: W `stripe-efactura serve --no-worker` processes and 2
`stripe-efactura worker` processes on one machine and one PostgreSQL database; wrk posts
unique pre-signed ~5 KB events (bench/webhook.py's) for S seconds with 32 connections in all,
split evenly over the web processes (one wrk per process, each with its own share of the
events). Reported per configuration: accepted events/s (rows in `stripe_events`), events/s
the workers finished meanwhile (outcome no longer `pending`), and wrk's p50/p99 (the worst
of the wrk processes). The workers have `process_test_events = false`, so each event costs
them the job claim, the event read, its `ignored` mark and the job's completion: the
database contention of a burst, not the invoicing CPU (that is bench/pipeline.py).

    .venv/bin/python bench/webhook_scale.py [--web 1 2 2 1] [--seconds 10]
        [--pg-url postgresql://root@127.0.0.1:5432/test]

A database `bench_scale_<pid>` is created next to ``--pg-url``'s and dropped afterwards.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
from pipeline import database_url
from procstat import cpu_seconds, machine_cpu, machine_share
from readme_section import write_section
from webhook import (
    SECRET,
    WRK_THREADS,
    events_line,
    events_script,
    free_port,
    make_event,
    settle,
    wait_for_port,
    wrk,
)

HEADING = "## webhook scale-out (PostgreSQL)"
DATABASE = f"bench_scale_{os.getpid()}"
"""Per run: two runs at once (other sessions on the machine) must not drop each other's."""
CONNECTIONS = 32
WARM_SECONDS = 2
"""wrk on every web process before the measured seconds (events of their own, not counted)."""
WARM_EVENTS = 12000


def config_text() -> str:
    from stripe_efactura.config import STARTER_TOML

    text = STARTER_TOML.replace("process_test_events = true", "process_test_events = false")
    assert text != STARTER_TOML
    return text


def fresh_database(pg_url: str) -> str:
    """A new, empty bench database on ``pg_url``'s server, and its URL."""
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {DATABASE}")
    return database_url(pg_url, DATABASE)


def drop_database(pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


def backend_cpu(db_url: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend serving the bench database (from /proc:
    the server runs on this machine)."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        pids = [
            int(r[0])
            for r in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (DATABASE,),
            )
        ]
    out = {}
    for pid in pids:
        with contextlib.suppress(FileNotFoundError, PermissionError):  # gone meanwhile
            out[pid] = cpu_seconds(pid)
    return out


def commits(db_url: str) -> int:
    """Transactions committed in the bench database so far (the statistics collector's)."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = %s", (DATABASE,)
        ).fetchone()
    assert row is not None
    return int(row[0])


def counts(db_url: str) -> tuple[int, int]:
    """(stored events, events the workers finished)."""
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE outcome <> 'pending') FROM stripe_events"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def write_shards(
    tmp: Path, shards: int, per_shard: int, *, first: int = 0, name: str = "events"
) -> list[Path]:
    """One file of distinct signed events per web process (event numbers from ``first``)."""
    stamp = int(time.time())
    paths = []
    for s in range(shards):
        path = tmp / f"{name}{s}.tsv"
        with open(path, "w", encoding="utf-8") as f:
            for n in range(first + s * per_shard, first + (s + 1) * per_shard):
                f.write(events_line(make_event(n), stamp))
        paths.append(path)
    return paths


def start(cmd: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run_config(web: int, opts: argparse.Namespace) -> dict[str, object]:
    """One configuration on a fresh database: W web processes, 2 workers, wrk per web."""
    tmp = Path(tempfile.mkdtemp(prefix="efactura-scale-"))
    (tmp / "efactura.toml").write_text(config_text(), encoding="utf-8")
    (tmp / "events.lua").write_text(events_script())
    shards = write_shards(tmp, web, opts.events // web)
    warm = write_shards(tmp, web, WARM_EVENTS // web, first=opts.events, name="warm")
    db_url = fresh_database(opts.pg_url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("EFACTURA_")}
    env.update(
        EFACTURA_DATA_DIR=str(tmp / "data"),
        EFACTURA_CONFIG=str(tmp / "efactura.toml"),
        EFACTURA_DATABASE_URL=db_url,
        EFACTURA_STRIPE_WEBHOOK_SECRET=SECRET,
        EFACTURA_LOG_LEVEL="WARNING",
    )
    exe = str(Path(sys.executable).with_name("stripe-efactura"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        ports = []
        for _ in range(web):  # one after the other: the first one creates the schema
            ports.append(free_port())
            procs.append(start([exe, "serve", "--no-worker", "--port", str(ports[-1])], env))
            wait_for_port(ports[-1])
        procs += [start([exe, "worker"], env) for _ in range(opts.workers)]
        time.sleep(opts.warm_up)  # the workers' start-up (validator, fonts)
        post_all(ports, warm, tmp, WARM_SECONDS)  # every web process warm, a backlog queued
        settle()  # the events files and the last configuration's database written out first
        result = measure(web, ports, shards, procs, db_url, tmp, opts)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)
    return result


def measure(
    web: int,
    ports: list[int],
    shards: list[Path],
    procs: list[subprocess.Popen[bytes]],
    db_url: str,
    tmp: Path,
    opts: argparse.Namespace,
) -> dict[str, object]:
    stored0, done0 = counts(db_url)
    commits0, pg0 = commits(db_url), backend_cpu(db_url)
    cpu0, machine0 = [cpu_seconds(p.pid) for p in procs], machine_cpu()
    runs = post_all(ports, shards, tmp, opts.seconds)
    stolen = machine_share(machine0, machine_cpu(), stolen=True) or 0.0
    cpu = [round(cpu_seconds(p.pid) - c, 2) for p, c in zip(procs, cpu0, strict=True)]
    pg1, commits1 = backend_cpu(db_url), commits(db_url)
    stored1, done1 = counts(db_url)
    accepted = max(1, stored1 - stored0)
    pg_cpu = sum(v - pg0.get(pid, 0.0) for pid, v in pg1.items())
    result: dict[str, object] = {
        "web": web,
        "workers": opts.workers,
        "accepted_per_s": round((stored1 - stored0) / opts.seconds, 1),
        "worker_done_per_s": round((done1 - done0) / opts.seconds, 1),
        "p50_ms": max(float(r["p50_ms"]) for r in runs),
        "p99_ms": max(float(r["p99_ms"]) for r in runs),
        "non2xx": sum(int(r["non2xx"]) for r in runs),
        "cpu_s_web": cpu[:web],
        "cpu_s_workers": cpu[web:],
        "cpu_s_postgres": round(pg_cpu, 2),
        "ms_per_event": {
            "web": round(1000 * sum(cpu[:web]) / accepted, 3),
            "workers": round(1000 * sum(cpu[web:]) / accepted, 3),
            "postgres": round(1000 * pg_cpu / accepted, 3),
        },
        "commits_per_event": round((commits1 - commits0) / accepted, 3),
        "steal": stolen,
        "load": round(os.getloadavg()[0], 1),
    }
    print(json.dumps(result))
    return result


def post_all(
    ports: list[int], shards: list[Path], tmp: Path, seconds: int
) -> list[dict[str, float]]:
    """wrk on every web process at once, its share of the connections and its own events."""
    with ThreadPoolExecutor(len(ports)) as pool:
        return list(
            pool.map(
                lambda i: wrk(
                    f"http://127.0.0.1:{ports[i]}/webhooks/stripe",
                    seconds,
                    CONNECTIONS // len(ports),
                    tmp / "events.lua",
                    [str(shards[i]), str(WRK_THREADS)],
                ),
                range(len(ports)),
            )
        )


def section(results: list[dict[str, object]], opts: argparse.Namespace) -> str:
    load = os.getloadavg()
    return (
        f"{HEADING}\n\n"
        "`bench/webhook_scale.py`: W `serve --no-worker` + 2 `worker` processes on one "
        f"PostgreSQL database; {CONNECTIONS} wrk connections in all, split over the web "
        f"processes, {WARM_SECONDS} s of warm-up posts then {opts.seconds} s measured per "
        "configuration, fresh database each, configurations alternated; the workers "
        "ignore the test-mode events (`process_test_events = false`), so they load the "
        "database with claims, reads and marks but do no invoicing. CPU per accepted event "
        "from /proc: the web processes, the workers, the PostgreSQL backends of the bench "
        "database; commits per accepted event from `pg_stat_database`; steal is the share of "
        "the machine's CPU (from /proc/stat) the hypervisor took away meanwhile.\n\n"
        "| web + workers | accepted events/s | worker-finished events/s | p50 ms | p99 ms "
        "| non-2xx | CPU ms/event web | workers | PostgreSQL | commits/event | steal "
        "| load (1 min) |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|\n"
        + "\n".join(row(r) for r in results)
        + f"\n\n{means(results)}\n\n"
        f"Load average at the end: {load[0]:.1f}, {load[1]:.1f}, {load[2]:.1f}. Machine: "
        "Python 3.11.7 on x86_64, 2 cores shared by the web processes, the workers, "
        "PostgreSQL and wrk.\n"
    )


def row(r: dict[str, object]) -> str:
    ms = r["ms_per_event"]
    assert isinstance(ms, dict)
    return (
        f"| {r['web']} + {r['workers']} | {r['accepted_per_s']:,.0f} "
        f"| {r['worker_done_per_s']:,.0f} | {r['p50_ms']} | {r['p99_ms']} | {r['non2xx']} "
        f"| {ms['web']:.3f} | {ms['workers']:.3f} | {ms['postgres']:.3f} "
        f"| {r['commits_per_event']} | {r['steal']:.0%} | {r['load']} |"
    )


def means(results: list[dict[str, object]]) -> str:
    """Per configuration: mean and range of the accepted events/s and of the web CPU."""
    by_web: dict[int, list[dict[str, object]]] = {}
    for r in results:
        by_web.setdefault(int(str(r["web"])), []).append(r)
    lines = []
    for web, runs in sorted(by_web.items()):
        rate = [float(str(r["accepted_per_s"])) for r in runs]
        cpu = [float(r["ms_per_event"]["web"]) for r in runs]  # type: ignore[index]
        lines.append(
            f"{web} web: {sum(rate) / len(rate):,.0f} accepted events/s "
            f"({min(rate):,.0f}-{max(rate):,.0f}, {len(runs)} runs), web CPU "
            f"{sum(cpu) / len(cpu):.3f} ms/event ({min(cpu):.3f}-{max(cpu):.3f})"
        )
    return "Mean per configuration: " + "; ".join(lines) + "."


def main() -> int:
    if shutil.which("wrk") is None:
        print("wrk is not installed (Debian: apt-get install wrk)", file=sys.stderr)
        return 2
    ap = argparse.ArgumentParser()
    ap.add_argument("--web", type=int, nargs="+", default=[1, 2, 2, 1, 1, 2])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--events", type=int, default=60000)
    ap.add_argument("--warm-up", type=float, default=8.0, help="seconds before measuring")
    ap.add_argument("--pg-url", default="postgresql://root@127.0.0.1:5432/test")
    ap.add_argument("--no-readme", action="store_true")
    opts = ap.parse_args()
    try:
        results = [run_config(web, opts) for web in opts.web]
    finally:
        drop_database(opts.pg_url)
    if not opts.no_readme:
        write_section(HEADING, section(results, opts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
