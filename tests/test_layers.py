"""The floors of the portal read top-down: the imports between its packages hold no circle, and the library none upward.

Read from the source with :mod:`ast`, so every import counts: at module level,
inside functions (the usual way round a circle), under ``TYPE_CHECKING``.
A floor is a package of ``portal`` (``portal.library``) or a module at its top
(``portal.errors``, ``portal.events``); each script of ``bench/`` is one too. The factory (``portal/__init__.py``)
is the roof: it imports every floor to build the application, so its own
imports, and a floor's use of ``create_app`` or ``__version__``, are not edges.
What must follow a lower floor's change on a higher one goes through
:mod:`portal.events`.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

PORTAL = Path(__file__).resolve().parent.parent / "portal"
BENCH = PORTAL.parent / "bench"

#: What the library (rows, names, formats, integrity, trash, catalog, service) never imports: the floors above it.
ABOVE_THE_LIBRARY = (
    "portal.media",
    "portal.jobs",
    "portal.uploads",
    "portal.sharing",
    "portal.backup",
    "portal.http",
    "portal.web",
    "portal.api",
    "portal.ops",
)


@dataclass(frozen=True)
class Import:
    module: str
    target: str
    line: int

    def __str__(self) -> str:
        return f"{self.module} (line {self.line}) imports {self.target}"


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(root: Path) -> list[Import]:
    """Every import of a ``portal`` module by a ``portal`` module, at any depth, its target resolved to a module."""
    modules = {module_name(path, root) for path in root.rglob("*.py")}
    found = []
    for path in sorted(root.rglob("*.py")):
        name = module_name(path, root)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                # ``from portal import errors`` imports the module portal.errors; ``from .models import Video`` a name.
                targets = [
                    f"{source}.{alias.name}" if f"{source}.{alias.name}" in modules else source for alias in node.names
                ]
            else:
                continue
            found += [
                Import(name, target, node.lineno)
                for target in targets
                if target == root.name or target.startswith(root.name + ".")
            ]
    return found


def floor_of(module: str) -> str | None:
    """``portal.library.models`` is on ``portal.library``; the factory, ``portal``, is on none."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else None


def floor_edges(imports: list[Import]) -> dict[str, dict[str, list[Import]]]:
    edges: dict[str, dict[str, list[Import]]] = defaultdict(lambda: defaultdict(list))
    for found in imports:
        source, target = floor_of(found.module), floor_of(found.target)
        if source is not None and target is not None and source != target:
            edges[source][target].append(found)
    return edges


def circles(edges: dict[str, dict[str, list[Import]]]) -> list[list[str]]:
    """The strongly connected groups of floors (Tarjan's), each with more than one floor: every one holds a circle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(floor: str) -> None:
        index[floor] = low[floor] = len(index)
        stack.append(floor)
        on_stack.add(floor)
        for other in sorted(edges.get(floor, {})):
            if other not in index:
                visit(other)
                low[floor] = min(low[floor], low[other])
            elif other in on_stack:
                low[floor] = min(low[floor], index[other])
        if low[floor] == index[floor]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == floor:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for floor in sorted(edges):
        if floor not in index:
            visit(floor)
    return groups


def describe(group: list[str], edges: dict[str, dict[str, list[Import]]]) -> str:
    lines = [" <-> ".join(group)]
    for source in group:
        for target in sorted(edges[source]):
            if target in group:
                lines += [f"  {source} -> {target}: " + "; ".join(str(found) for found in edges[source][target][:3])]
    return "\n".join(lines)


@pytest.fixture(scope="module")
def imports() -> list[Import]:
    return imports_of(PORTAL)


def test_the_library_imports_nothing_of_the_floors_above_it(imports):
    upward = [
        str(found)
        for found in imports
        if floor_of(found.module) == "portal.library" and floor_of(found.target) in ABOVE_THE_LIBRARY
    ]
    assert upward == [], "the library reaches up (publish an event of portal.events instead):\n" + "\n".join(upward)


def test_no_import_circle_between_the_packages_of_the_portal(imports):
    edges = floor_edges(imports)
    found = circles(edges)
    assert found == [], "import circles between floors:\n" + "\n\n".join(describe(group, edges) for group in found)


def test_no_import_circle_between_the_bench_scripts():
    """Each script of bench/ is a floor of its own (``bench.run``); what they share is ``bench.common``."""
    edges = floor_edges(imports_of(BENCH))
    found = circles(edges)
    assert found == [], "import circles between bench scripts:\n" + "\n\n".join(describe(group, edges) for group in found)


def test_the_reading_of_imports_sees_a_circle_through_function_level_and_relative_imports(tmp_path):
    """The checks above are only as good as this reading: a circle made of the imports that hide best is found."""
    root = tmp_path / "portal"
    for package in ("low", "high"):
        (root / package).mkdir(parents=True)
        (root / package / "__init__.py").write_text("")
    (root / "__init__.py").write_text("from .high import work\n")
    (root / "errors.py").write_text("")
    (root / "high" / "work.py").write_text("from .. import errors\nfrom ..low.rows import Row\n")
    (root / "low" / "rows.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from portal import create_app\n"
        "def later():\n    from ..high import work\n"
    )
    edges = floor_edges(imports_of(root))
    assert circles(edges) == [["portal.high", "portal.low"]]
    assert [str(found) for found in edges["portal.high"]["portal.errors"]] == ["portal.high.work (line 1) imports portal.errors"]
    assert "portal" not in edges and all(floor_of(target) for targets in edges.values() for target in targets)
