"""Benchmark: official validation (UBL 2.1 XSD + our compiled CIUS-RO schematron) per invoice.

Steady state, one process: a 20-line RON invoice (tests/ubl_validate/sample.py) validated by
``Validator.validate`` (parse, XSD, schematron, SVRL -> findings), against the reference
phive-compiled XSLT run by the same Saxon processor on the same document. Also reports the
one-off costs (compile from .sch, load from the disk cache).

    .venv/bin/python bench/ubl_validate.py [--rounds 7] [--n 50]

Needs ../shared/validation (or EFACTURA_SHARED_DIR); artifacts go to a temp folder.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from stripe_efactura.ubl import artifacts, schematron
from stripe_efactura.ubl.validate import Validator

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("EFACTURA_SHARED_DIR", REPO.parent / "shared"))
REFERENCE = SHARED / "validation/cius-ro-1.0.9/xslt/EN16931-CIUS_RO-UBL-validation.xslt"


def _sample() -> Callable[[int], bytes]:
    spec = importlib.util.spec_from_file_location("sample", REPO / "tests/ubl_validate/sample.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fn: Callable[[int], bytes] = module.invoice_xml
    return fn


def _cpu_ms_per_call(fn: Callable[[], object], n: int) -> float:
    start = time.process_time()
    for _ in range(n):
        fn()
    return (time.process_time() - start) * 1000 / n


def _wall_ms_per_call(fn: Callable[[], object], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) * 1000 / n


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--lines", type=int, default=20)
    args = parser.parse_args()
    if not REFERENCE.is_file():
        print(f"needs {SHARED / 'validation'}", file=sys.stderr)
        return 2
    xml = _sample()(args.lines)
    text = xml.decode("utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        installed = artifacts.install_from(SHARED / "validation", Path(tmp))
        t0 = time.perf_counter()
        compiled_text = schematron.compile_schematron(installed.schematron_entry)
        t1 = time.perf_counter()
        validator = Validator(Path(tmp))
        validator.load()  # compiles again (empty cache) and writes the cache
        t2 = time.perf_counter()
        Validator(Path(tmp)).load()  # from the disk cache: verify + XSD + Saxon compile
        t3 = time.perf_counter()
        reference = schematron.CompiledSchematron(REFERENCE.read_text(encoding="utf-8"))
        t4 = time.perf_counter()
        assert validator.validate(xml).findings == ()
        ours = schematron.CompiledSchematron(compiled_text)
        assert schematron.rule_ids(ours.run(text)) == schematron.rule_ids(reference.run(text))

        cases: dict[str, Callable[[], object]] = {
            "Validator.validate (parse + XSD + schematron + findings)": lambda: validator.validate(
                xml
            ),
            "our schematron only (Saxon parse + transform + SVRL parse)": lambda: ours.run(text),
            "reference XSLT only (same)": lambda: reference.run(text),
        }
        for fn in cases.values():
            for _ in range(10):
                fn()
        cpu: dict[str, list[float]] = {k: [] for k in cases}
        wall: dict[str, list[float]] = {k: [] for k in cases}
        for _ in range(args.rounds):
            for name, fn in cases.items():  # interleaved: same machine load for all three
                cpu[name].append(_cpu_ms_per_call(fn, args.n))
                wall[name].append(_wall_ms_per_call(fn, args.n))
    print(f"invoice: {args.lines} lines, {len(xml)} bytes; {args.rounds} rounds of {args.n}")
    print("| case | median CPU ms | median wall ms | best wall ms |")
    print("|---|---|---|---|")
    for name in cases:
        print(
            f"| {name} | {statistics.median(cpu[name]):.1f} | "
            f"{statistics.median(wall[name]):.1f} | {min(wall[name]):.1f} |"
        )
    ratio = statistics.median(cpu[list(cases)[1]]) / statistics.median(cpu[list(cases)[2]])
    print(f"ours / reference (schematron only, median CPU): {ratio:.2f}x")
    print(
        f"once per process: compile .sch -> XSLT {t1 - t0:.2f} s; first load with empty cache "
        f"{t2 - t1:.2f} s; load from cache {t3 - t2:.2f} s; reference XSLT load {t4 - t3:.2f} s"
    )
    print(f"load average: {os.getloadavg()}; Python {platform.python_version()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
