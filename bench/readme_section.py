"""Shared by the bench scripts: rewrite one ``## heading`` section of ``bench/README.md``."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

README = Path(__file__).resolve().parent / "README.md"


def write_section(heading: str, text: str, readme: Path = README) -> None:
    """Replace the section that starts with ``heading`` by ``text`` (append when absent)."""
    current = readme.read_text(encoding="utf-8") if readme.exists() else "# Benchmarks\n"
    start = current.find(heading + "\n")
    if start < 0:
        updated = current.rstrip("\n") + "\n\n" + text
    else:
        end = current.find("\n## ", start + len(heading))
        tail = current[end + 1 :] if end >= 0 else ""
        updated = current[:start] + text + ("\n" + tail if tail else "")
    readme.write_text(updated, encoding="utf-8")


def parser(doc: str | None) -> argparse.ArgumentParser:
    """A bench's command line, described by the first paragraph of its docstring ``doc``."""
    return argparse.ArgumentParser(description=(doc or "").strip().split("\n\n")[0])


def no_arguments(doc: str | None, argv: Sequence[str] | None = None) -> None:
    """For a bench that takes no arguments: ``--help`` prints what it does and any argument
    is refused (exit 2), before it measures anything or rewrites its section of the README."""
    parser(doc).parse_args(argv)
