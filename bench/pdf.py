"""Benchmark: ms per one-page invoice PDF (target <= 30 ms).

Run ``.venv/bin/python bench/pdf.py`` from the repository root. It renders the hand-built test
invoices of ``tests/factories/invoices.py`` (a 3-line RON invoice with two VAT rates and a
15-line one, both one A4 page) with :func:`stripe_efactura.pdf.render.render_pdf`, prints the
result and rewrites only the ``## pdf`` section of ``bench/README.md``.
"""

from __future__ import annotations

import importlib.util
import io
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pypdf
from readme_section import no_arguments, write_section

from stripe_efactura.invoicing.model import Invoice
from stripe_efactura.pdf.fonts import load_fonts
from stripe_efactura.pdf.render import render_pdf

ROOT = Path(__file__).resolve().parents[1]
HEADING = "## pdf"
TARGET_MS = 30.0
ROUNDS = 7
PER_ROUND = 20


def load_factory() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "invoice_factory", ROOT / "tests" / "factories" / "invoices.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def measure(invoice: Invoice) -> tuple[float, float, float, int, int]:
    """(median wall ms, best wall ms, median CPU ms, bytes, pages) per render.

    ROUNDS rounds of PER_ROUND renders. CPU time (``time.process_time``) is what one render
    costs; wall time also counts the waiting for a core on this shared machine.
    """
    pdf = render_pdf(invoice)  # warm-up
    pages = len(pypdf.PdfReader(io.BytesIO(pdf)).pages)
    wall: list[float] = []
    cpu: list[float] = []
    for _ in range(ROUNDS):
        start, start_cpu = time.perf_counter(), time.process_time()
        for _ in range(PER_ROUND):
            render_pdf(invoice)
        wall.append((time.perf_counter() - start) * 1000 / PER_ROUND)
        cpu.append((time.process_time() - start_cpu) * 1000 / PER_ROUND)
    return statistics.median(wall), min(wall), statistics.median(cpu), len(pdf), pages


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def main() -> int:
    no_arguments(__doc__)
    factory = load_factory()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    fonts_ms = timed(load_fonts)
    first_ms = timed(lambda: render_pdf(factory.standard_invoice()))
    fonts = load_fonts()
    rows = []
    for label, invoice in (
        ("3 lines, 2 VAT rates, RON", factory.standard_invoice()),
        ("15 lines, EUR-style table", factory.long_invoice(15)),
    ):
        median, best, cpu, size, pages = measure(invoice)
        verdict = "meets" if cpu <= TARGET_MS else "MISSES"
        rows.append(
            f"| {label} | {pages} | {size // 1024} KB | {cpu:.1f} | {median:.1f} | {best:.1f} | "
            f"<= {TARGET_MS:.0f} ms CPU ({verdict}) |"
        )
    section = (
        f"{HEADING}\n\n"
        "`bench/pdf.py`: `stripe_efactura.pdf.render.render_pdf()` of the hand-built test "
        f"invoices (`tests/pdf/invoice_factory.py`); {ROUNDS} rounds of {PER_ROUND} renders "
        f"each, after one warm-up render. Font: `{fonts.files.regular}` ({fonts.files.source}), "
        "embedded as a subset.\n\n"
        "| invoice | pages | PDF size | median CPU ms | median wall ms | best wall ms | target |\n"
        "|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n\n"
        f"Load average when measured: {load}. CPU ms is what a render costs; wall ms also "
        "counts waiting for a core, so on a busy machine it is higher.\n\n"
        f"Once per process: finding and parsing the TTF files {fonts_ms:.0f} ms; the first "
        f"render after that {first_ms:.0f} ms (ReportLab imports, glyph tables).\n\n"
        f"Machine: Python {platform.python_version()} on {platform.machine()}, "
        "2 shared cores (other work running).\n"
    )
    write_section(HEADING, section)
    print(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
