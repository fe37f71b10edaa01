"""Small modules and functions (docs/architecture.md): no module over 500 lines, no function
over 60 lines, and half of the functions 12 lines or shorter (the median; migrations aside,
they are schema snapshots). The exemptions below are exact and each says why; remove one when
its module or function is split."""

from __future__ import annotations

import ast
import statistics
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "stripe_efactura"
MAX_MODULE = 500
MAX_FUNCTION = 60
MAX_MEDIAN_FUNCTION = 12

MODULE_EXEMPT = {
    "anaf/fake.py": "the ANAF fake (a whole web service, kept faithful to ANAF's wire format)",
    "intake/fake_stripe.py": "the Stripe fake",
}
FUNCTION_EXEMPT = {
    # demo samples are data, not logic
    "demo/samples.py:_b2c_checkout": "demo sample data",
    "demo/samples.py:_b2b_checkout": "demo sample data",
    "demo/sample_subscription.py:subscription_renewal": "demo sample data",
}


def _modules() -> list[tuple[str, Path]]:
    return [(str(p.relative_to(SRC)), p) for p in sorted(SRC.rglob("*.py"))]


def test_no_module_over_500_lines() -> None:
    long = {
        name: n
        for name, path in _modules()
        if (n := path.read_text(encoding="utf-8").count("\n")) > MAX_MODULE
    }
    assert sorted(set(long) - set(MODULE_EXEMPT)) == []


def _function_sizes() -> dict[str, list[int]]:
    """Lines per function (``def`` to its last line), by ``module:name`` (a name defined
    twice in a module, e.g. nested helpers, has one size each)."""
    sizes: dict[str, list[int]] = {}
    for name, path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                size = (node.end_lineno or node.lineno) - node.lineno + 1
                sizes.setdefault(f"{name}:{node.name}", []).append(size)
    return sizes


def test_no_function_over_60_lines() -> None:
    long = {name for name, sizes in _function_sizes().items() if max(sizes) > MAX_FUNCTION}
    assert sorted(long - set(FUNCTION_EXEMPT)) == []


def test_the_median_function_is_12_lines_or_shorter() -> None:
    sizes = [
        size
        for name, found in _function_sizes().items()
        if not name.startswith("migrations/")
        for size in found
    ]
    assert len(sizes) > 1000  # the whole package was read
    assert statistics.median(sizes) <= MAX_MEDIAN_FUNCTION
