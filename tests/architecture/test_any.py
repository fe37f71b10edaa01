"""``Any`` only at the JSON edges (docs/architecture.md, "Types").

``mypy --strict`` proves nothing about a value typed ``Any``, so ``Any`` is kept where a
payload crosses the edge before it is parsed, and nowhere else:

- ``intake/``: Stripe objects and event payloads (the Stripe SDK and the webhook JSON);
- ``anaf/``: ANAF's JSON answers and the ANAF fake's wire format;
- ``registry/``, ``web/``: the raw JSON of the public registries and of Starlette requests
  before it is parsed (``object`` + ``isinstance`` is preferred there too);
- third-party hooks with untyped signatures (reportlab's canvas, aiosmtpd's handler, saxonche).

Everything else uses real types: ``jsontypes.JsonValue`` / ``JsonObject`` for JSON,
dataclasses and TypedDicts for shapes, typed records for database rows. The table below is a
ceiling per package (lines that name ``Any``, imports aside): a change that adds ``Any``
fails here; a change that removes some lowers the number in the same commit.
"""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "stripe_efactura"

CEILING = {
    "intake": 78,
    "app": 1,
    "web": 1,
    "anaf": 21,
    "registry": 2,
}


def any_lines(source: str) -> set[int]:
    """Lines of ``source`` that use ``Any`` (``Any`` or ``typing.Any``), imports excluded."""
    lines: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        name = node.id if isinstance(node, ast.Name) else getattr(node, "attr", None)
        if name == "Any" and isinstance(node, ast.Name | ast.Attribute):
            lines.add(node.lineno)
    return lines


def any_per_package() -> Counter[str]:
    """Lines using ``Any`` per top-level package or module of ``src/stripe_efactura``."""
    found: Counter[str] = Counter()
    for path in sorted(SRC.rglob("*.py")):
        package = path.relative_to(SRC).parts[0].removesuffix(".py")
        found[package] += len(any_lines(path.read_text(encoding="utf-8")))
    return found


def test_any_stays_under_the_ceiling() -> None:
    over = {
        package: f"{n} > {CEILING.get(package, 0)}"
        for package, n in any_per_package().items()
        if n > CEILING.get(package, 0)
    }
    assert over == {}


def test_the_counter_sees_any() -> None:
    sample = (
        "from typing import Any\nimport typing\n"
        "x: Any = 1\ny: dict[str, typing.Any] = {}\n# Any in a comment\ns = 'Any'\n"
    )
    assert any_lines(sample) == {3, 4}


def test_settings_changes_name_every_settings_field() -> None:
    """``Settings.with_`` / ``demo_settings`` take ``**SettingsChanges`` instead of ``Any``:
    the TypedDict must list every field of ``Settings`` with the same type."""
    from typing import get_type_hints

    from stripe_efactura.config import Settings, SettingsChanges

    assert get_type_hints(SettingsChanges) == get_type_hints(Settings)
