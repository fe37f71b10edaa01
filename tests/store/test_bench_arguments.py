"""The benches that rewrite their section of ``bench/README.md`` and take no arguments refuse
any (``--help`` says what they do): a mistyped option no longer runs the bench and rewrites
the README with the results of a machine that was busy with something else."""

from __future__ import annotations

import subprocess
import sys

import pytest

import support


@pytest.mark.parametrize("name", ["pdf", "issue", "ubl_render"])
def test_help_and_unknown_arguments_measure_nothing(name: str) -> None:
    script = support.BENCH / f"{name}.py"
    readme = (support.BENCH / "README.md").read_bytes()
    shown = subprocess.run(
        [sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=60
    )
    assert shown.returncode == 0 and "usage:" in shown.stdout
    refused = subprocess.run(
        [sys.executable, str(script), "--runs", "3"], capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 2 and "unrecognized arguments: --runs 3" in refused.stderr
    assert (support.BENCH / "README.md").read_bytes() == readme


def test_no_arguments_parses_an_empty_command_line() -> None:
    section = support.bench_script("readme_section")
    section.no_arguments("A bench.\n\nMore.", [])
    with pytest.raises(SystemExit) as refused:
        section.no_arguments("A bench.", ["x"])
    assert refused.value.code == 2


@pytest.mark.parametrize(
    ("name", "given", "expected"),
    [
        ("anaf_quota", [], 1000),
        ("anaf_quota", ["40"], 40),
        ("audit", [], 10_000),
        ("audit", ["300"], 300),
        ("fuzz", [], (10_000, 16)),
        ("fuzz", ["50"], (50, 16)),
        ("fuzz", ["50", "7"], (50, 7)),
    ],
)
def test_the_sized_benches_read_their_command_line_with_argparse(
    name: str, given: list[str], expected: object
) -> None:
    """``anaf_quota``, ``audit`` and ``fuzz`` take sizes (and a seed): ``--help`` answers and
    anything else is refused with argparse's usage, where ``int(sys.argv[1])`` raised a
    ``ValueError`` traceback."""
    script = support.bench_script(name)
    assert script.arguments(given) == expected
    with pytest.raises(SystemExit) as refused:
        script.arguments(["many"])
    assert refused.value.code == 2
