"""The project's import graph between its top-level packages, and the layer rules it must keep.

`python -m tools.import_graph` prints each package's imports of the others and any violation.
Layers point down (docs/DESIGN.md): `core` imports none of ours; `features`, `models` and
`quality` import nothing from `jobs`, `dags` or `tools`; `jobs` nothing from `dags` or `tools`;
and no two packages import each other, directly or through others.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable
from pathlib import Path

PACKAGES = ("core", "features", "models", "quality", "simulator", "jobs", "dags", "tools")
# package -> packages of ours it must never import
FORBIDDEN = {
    "core": set(PACKAGES) - {"core"},
    "features": {"jobs", "dags", "tools"},
    "models": {"jobs", "dags", "tools"},
    "quality": {"jobs", "dags", "tools"},
    "simulator": {"jobs", "dags", "tools"},
    "jobs": {"dags", "tools"},
}


def imported_modules(source: str) -> Iterable[str]:
    """Every absolute module an import statement names, wherever it sits (functions included)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            # `from core import tables` names the module core.tables
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def module_edges(root: Path, packages: Iterable[str] = PACKAGES) -> set[tuple[str, str]]:
    """(importing module file, imported package) for imports between our packages."""
    ours = set(packages)
    edges = set()
    for pkg in ours:
        for path in sorted((root / pkg).rglob("*.py")):
            for name in imported_modules(path.read_text()):
                top = name.split(".", 1)[0]
                if top in ours and top != pkg:
                    edges.add((str(path.relative_to(root)), top))
    return edges


def package_graph(root: Path, packages: Iterable[str] = PACKAGES) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {p: set() for p in packages}
    for module, target in module_edges(root, packages):
        graph[module.split("/", 1)[0]].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[tuple[str, ...]]:
    """Each pair of packages that reach each other (a cycle, however long), once."""

    def reach(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for nxt in graph.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    reachable = {p: reach(p) for p in graph}
    return sorted(
        {
            tuple(sorted((a, b)))
            for a in graph
            for b in reachable[a]
            if a != b and a in reachable.get(b, set())
        }
    )


def violations(root: Path, packages: Iterable[str] = PACKAGES) -> list[str]:
    """Forbidden imports (with the module that makes them) and cycles; empty when clean."""
    out = [
        f"{module} imports {target} (layer {module.split('/', 1)[0]} must not)"
        for module, target in sorted(module_edges(root, packages))
        if target in FORBIDDEN.get(module.split("/", 1)[0], set())
    ]
    out += [f"cycle between {a} and {b}" for a, b in cycles(package_graph(root, packages))]
    return out


def main(argv: list[str] | None = None) -> int:
    root = Path(argv[0] if argv else Path(__file__).resolve().parent.parent)
    for pkg, targets in package_graph(root).items():
        print(f"{pkg:<10} -> {', '.join(sorted(targets)) or '-'}")
    bad = violations(root)
    for line in bad:
        print("VIOLATION", line)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
