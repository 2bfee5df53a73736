"""The package's shape: no import cycles, a core that knows nothing of Slack, modules of one job.

Imports are read with :mod:`ast` from the source (nothing is imported), counting every import a
module makes, at its top or inside a function, and the ``__init__`` of each package an import
passes through, since Python runs those too.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support.paths import ROOT

PACKAGE = ROOT / "src" / "reviewbot"
CORE_MODULE_MAX_LINES = 450


def module_name(path: Path) -> str:
    """``reviewbot.core.meetings`` for ``src/reviewbot/core/meetings/__init__.py``."""
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    """Every module of the package (migrations excluded: Alembic loads them by path)."""
    return {
        module_name(path): path
        for path in sorted(PACKAGE.rglob("*.py"))
        if "migrations" not in path.relative_to(PACKAGE).parts
    }


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The package's modules that importing *name* runs (directly), with their parent packages."""
    found: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        for target in targets:
            parts = target.split(".")
            for end in range(1, len(parts) + 1):  # a.b.c runs a, a.b and a.b.c
                candidate = ".".join(parts[:end])
                if candidate in known and candidate != name:
                    found.add(candidate)
    return found


def import_graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {name: imports_of(name, path, known) for name, path in found.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as the list of modules on it, or None."""
    state: dict[str, int] = {}  # 1: on the path being walked, 2: done
    path: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            # A package importing its own submodules (a re-exporting __init__) is not a cycle.
            if node.startswith(nxt + "."):
                continue
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := walk(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := walk(start)):
            return cycle
    return None


def test_the_package_has_no_import_cycle():
    graph = import_graph()
    assert graph.get("reviewbot.core.meetings")
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    assert find_cycle({"p": {"p.x"}, "p.x": {"p"}}) is None  # a package and its own submodule


def test_the_core_knows_nothing_of_slack_and_runs_no_adapter():
    graph = import_graph()
    for name, imported in graph.items():
        if name.startswith("reviewbot.core"):
            outside = {m for m in imported if not m.startswith(("reviewbot.core", "reviewbot.store"))}
            assert outside <= {"reviewbot", "reviewbot.wikitext", "reviewbot.config"}, (name, outside)
            assert "slack" not in PACKAGE.joinpath(*name.split(".")[1:]).as_posix().split("/")


def test_no_core_module_is_over_450_lines():
    long = {
        name: count
        for name, path in modules().items()
        if name.startswith("reviewbot.core") and (count := len(path.read_text().splitlines())) > CORE_MODULE_MAX_LINES
    }
    assert not long


def test_every_module_says_what_it_is_for():
    missing = [name for name, path in modules().items() if not ast.get_docstring(ast.parse(path.read_text()))]
    assert not missing
