"""The layer rules of docs/architecture.md, checked on the source (AST, no import).

Each rule names the modules it applies to and what they may not import or use; a violation
lists the file, the line and the name, so a new import that crosses a layer fails here.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "stripe_efactura"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    keep = len(base) - node.level + (1 if is_package else 0)
    prefix = ".".join(base[:keep])
    return f"{prefix}.{node.module}" if node.module else prefix


def imports(path: Path, module: str | None = None) -> Iterator[tuple[int, str]]:
    """(line, imported module) of every import in ``path`` (named ``module``, by default from
    its place under ``src``), relative ones resolved; ``from x import y`` yields both ``x`` and
    ``x.y`` (y may be a module). Imports under ``if TYPE_CHECKING:`` are imports too."""
    module = module or _module_name(path)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, node, path.name == "__init__.py")
            yield node.lineno, target
            for alias in node.names:
                yield node.lineno, f"{target}.{alias.name}"


def environ_reads(path: Path) -> Iterator[int]:
    """Lines that read the process environment (``os.environ``, ``os.getenv``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {"environ", "getenv", "environb"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id == "os" and node.attr in names:
                yield node.lineno
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            yield from (node.lineno for a in node.names if a.name in names)


SQL = re.compile(
    r"^\s*(SELECT\s.+|INSERT\s+INTO\s|UPDATE\s+\w+\s+SET\s|DELETE\s+FROM\s|PRAGMA\s"
    r"|BEGIN\s+IMMEDIATE|CREATE\s+(TABLE|INDEX|SCHEMA)\s|DROP\s+(TABLE|SCHEMA)\s)",
    re.I | re.S,
)


def sql_strings(path: Path) -> Iterator[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.match(node.value):
            yield node.lineno


@dataclass(frozen=True)
class Rule:
    name: str
    modules: tuple[str, ...]
    """Module prefixes (``stripe_efactura.invoicing``) or exact modules the rule covers."""
    forbidden: tuple[str, ...]
    """Module prefixes they may not import."""

    def covers(self, module: str) -> bool:
        return any(module == m or module.startswith(m + ".") for m in self.modules)


P = "stripe_efactura"
CORE = (f"{P}.invoicing", f"{P}.ubl.render", f"{P}.ubl.writer", f"{P}.pdf")
KERNEL = (f"{P}.errors", f"{P}.money", f"{P}.tz", f"{P}.files", f"{P}.jsontypes")
ADAPTERS = (f"{P}.cli", f"{P}.commands", f"{P}.web", f"{P}.demo")
EDGES = (f"{P}.store", f"{P}.jobs", f"{P}.intake", f"{P}.anaf", f"{P}.mail")
IO_LIBRARIES = ("sqlalchemy", "httpx", "stripe", "smtplib", "aiosmtpd", "psycopg", "alembic")

RULES = [
    Rule(
        "the pure core does no I/O and knows no outer layer",
        CORE,
        (
            f"{P}.store",
            f"{P}.web",
            f"{P}.app",
            f"{P}.commands",
            f"{P}.cli",
            f"{P}.jobs",
            f"{P}.anaf",
            f"{P}.mail",
            f"{P}.demo",
            f"{P}.ubl.validate",
            f"{P}.ubl.artifacts",
            *IO_LIBRARIES,
        ),
    ),
    Rule(
        "the shared kernel depends on nothing of the project but itself",
        KERNEL,
        tuple(
            f"{P}.{p}"
            for p in (
                "invoicing",
                "ubl",
                "pdf",
                "store",
                "jobs",
                "intake",
                "anaf",
                "mail",
                "app",
                "commands",
                "web",
                "demo",
                "config",
                "cli",
            )
        ),
    ),
    Rule(
        "the edges never call up into the application or the adapters",
        EDGES,
        (f"{P}.app", f"{P}.commands", f"{P}.web", f"{P}.cli", f"{P}.demo"),
    ),
    Rule(
        "the application layer never depends on an adapter",
        (f"{P}.app",),
        (f"{P}.commands", f"{P}.web", f"{P}.cli", f"{P}.demo"),
    ),
    Rule(
        "the application layer reads and writes tables only through store/",
        (f"{P}.app",),
        (f"{P}.store.tables", f"{P}.migrations"),
    ),
    Rule(
        "the command line and the web app run no SQL: they call a use case",
        (f"{P}.cli", f"{P}.commands", f"{P}.web"),
        ("sqlalchemy", f"{P}.store.tables", f"{P}.migrations"),
    ),
]


def _sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def violations(rule: Rule) -> list[str]:
    found: list[str] = []
    for path in _sources():
        module = _module_name(path)
        if not rule.covers(module):
            continue
        for line, name in imports(path):
            if any(name == f or name.startswith(f + ".") for f in rule.forbidden):
                found.append(f"{path.relative_to(SRC)}:{line} imports {name}")
    return sorted(set(found))


@pytest.mark.parametrize("rule", RULES, ids=[r.name for r in RULES])
def test_layer_rule(rule: Rule) -> None:
    assert violations(rule) == []


def test_only_config_reads_the_environment() -> None:
    found = [
        f"{path.relative_to(SRC)}:{line}"
        for path in _sources()
        if _module_name(path) != f"{P}.config"
        for line in environ_reads(path)
    ]
    assert found == []


SQL_TEXT_EXEMPT: set[str] = set()


def test_no_sql_text_in_the_adapters_and_the_application_layer() -> None:
    found = [
        f"{path.relative_to(SRC)}:{line}"
        for path in _sources()
        if any(_module_name(path).startswith(p) for p in (*ADAPTERS, f"{P}.app"))
        and _module_name(path) not in SQL_TEXT_EXEMPT
        for line in sql_strings(path)
    ]
    assert found == []


def test_the_checks_see_a_violation(tmp_path: Path) -> None:
    """The checkers are not vacuous: they find what they look for in a sample module."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import os\nimport sqlalchemy as sa\nfrom os import environ\n"
        "Q = 'SELECT 1'\nx = os.environ['A']\n",
        encoding="utf-8",
    )
    assert list(environ_reads(sample)) == [3, 5]
    assert list(sql_strings(sample)) == [4]
    inside = PACKAGE / "pdf" / "render.py"
    assert (1, "sqlalchemy") not in list(imports(inside))
    assert any(name.startswith("reportlab") for _line, name in imports(inside))


CONTEXT = f"{P}.app.context"
ALREADY_LOADED = (P, f"{P}.app")
"""The packages ``app.context`` lives in: Python has imported them before it runs a line of
``context.py``, and ``from . import x`` names the package only to import ``x``."""


def imported_back(start: str, files: dict[str, Path]) -> list[str]:
    """Modules of ``files`` that ``start`` imports, directly or through others (imports under
    ``TYPE_CHECKING`` included), and that import ``start`` back: each as its import chain."""
    chains = {start: [start]}
    todo = [start]
    found: list[str] = []
    while todo:
        module = todo.pop()
        for line, name in imports(files[module], module):
            if name == start and module != start:
                found.append(f"{' -> '.join(chains[module])} -> {name} (line {line})")
            elif name in files and name not in chains and name not in ALREADY_LOADED:
                chains[name] = [*chains[module], name]
                todo.append(name)
    return sorted(found)


def test_nothing_the_context_imports_imports_it_back() -> None:
    """``app/context.py`` names the types of its fields; their modules (and all they import)
    must not import the context, not even for type checking: no import cycle at all."""
    files = {_module_name(path): path for path in _sources()}
    assert imported_back(CONTEXT, files) == []


def test_the_cycle_check_sees_a_type_only_cycle(tmp_path: Path) -> None:
    sources = {
        "a": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from p.b import B\n",
        "b": "from p.c import C\n",
        "c": "import os\nfrom p import a\n",
    }
    for name, text in sources.items():
        (tmp_path / f"{name}.py").write_text(text, encoding="utf-8")
    files = {f"p.{name}": tmp_path / f"{name}.py" for name in sources}
    assert imported_back("p.a", files) == ["p.a -> p.b -> p.c -> p.a (line 2)"]
