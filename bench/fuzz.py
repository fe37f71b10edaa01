"""Long fuzz run of the webhook endpoint and the worker (issue 16): ``python bench/fuzz.py
[CASES] [SEED]`` (default 10,000 cases, seed 16).

The cases are those of ``tests/web/test_fuzz.py`` (``tests/fuzzcases.py``): forged, replayed
and garbage deliveries, and signed mutations of the recorded Stripe shapes
(``../shared/fixtures/stripe``; the built-in shapes when it is absent), plus 32 unsigned
50 MB bodies as in the issue. They go through the real web app (ASGI, body limit, writer
thread) on SQLite; then the worker processes every stored event. Reported: answers by
status, 5xx count, forged/replayed bodies accepted, stored events without a coded outcome,
and the process's resident memory (current and peak) before and after.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from readme_section import parser

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "web"))

from starlette.testclient import TestClient  # noqa: E402
from test_fuzz import drain_intake, post, stored  # noqa: E402

import fuzzcases  # noqa: E402
from stripe_efactura import app as use_cases  # noqa: E402
from stripe_efactura.config import demo_settings  # noqa: E402
from stripe_efactura.web.app import create_app  # noqa: E402

CODED = re.compile(r"^[EI]-[A-Z0-9-]+: ")


def rss_kb() -> tuple[int, int]:
    """(VmRSS, VmHWM) of this process in kB."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def main(cases: int = 10_000, seed: int = 16) -> None:
    import random

    shared = Path(os.environ.get("EFACTURA_SHARED_DIR", ROOT.parent / "shared"))
    shared = shared / "fixtures" / "stripe"
    shapes = fuzzcases.recorded_shapes(shared) if shared.is_dir() else fuzzcases.builtin_shapes()
    rng = random.Random(seed)
    statuses: Counter[int] = Counter()
    forged_accepted = 0
    with tempfile.TemporaryDirectory() as tmp:
        settings = demo_settings(Path(tmp), stripe_webhook_secrets=(fuzzcases.SECRET,))
        ctx = use_cases.build_context(settings)
        use_cases.prepare(ctx)
        app = create_app(ctx)
        with TestClient(app):
            start_rss = rss_kb()
            started = time.perf_counter()
            for _ in range(cases):
                c = fuzzcases.case(rng, shapes)
                status, _answer = post(app, c.body, c.header)
                statuses[status] += 1
                forged_accepted += c.kind != "signed" and status == 200
            big = b"x" * (50 * 1024 * 1024)
            for _ in range(32):
                status, _answer = post(app, big, None)
                statuses[status] += 1
            del big
            web_seconds = time.perf_counter() - started
            after_rss = rss_kb()
        drain_intake(ctx)
        events = stored(ctx)
        uncoded = [
            e
            for e, (outcome, reason) in events.items()
            if outcome not in {"processed", "duplicate", "ignored", "failed"}
            or (outcome in {"ignored", "failed"} and not (reason and CODED.match(reason)))
        ]
        outcomes = Counter(o for o, _ in events.values())
        ctx.close()
    print(f"cases: {cases} + 32 unsigned 50 MB bodies, seed {seed}, shapes: {len(shapes)}")
    print(f"answers by status: {dict(sorted(statuses.items()))}")
    print(f"5xx: {sum(n for s, n in statuses.items() if s >= 500)}")
    print(f"forged or replayed bodies accepted: {forged_accepted}")
    print(f"stored events: {len(events)}, outcomes: {dict(sorted(outcomes.items()))}")
    print(f"stored events without a coded outcome: {len(uncoded)}")
    print(
        f"RSS before {start_rss[0] // 1024} MB, after {after_rss[0] // 1024} MB, "
        f"peak {after_rss[1] // 1024} MB; web part {web_seconds:.0f} s"
    )


def arguments(argv: list[str] | None = None) -> tuple[int, int]:
    """CASES and SEED from the command line (``--help`` says what the script does)."""
    command = parser(__doc__)
    command.add_argument("cases", type=int, nargs="?", default=10_000, help="cases (10,000)")
    command.add_argument("seed", type=int, nargs="?", default=16, help="seed (16)")
    parsed = command.parse_args(argv)
    return int(parsed.cases), int(parsed.seed)


if __name__ == "__main__":
    main(*arguments())
