"""The import graph of gapwatch: modules per package, upward imports, cycles.

Run from the repository: ``python tools/imports.py [PACKAGE_DIR] [--json]`` (default
``src/gapwatch``). Every ``import`` counts, also those inside functions and under
``TYPE_CHECKING``: a cycle hidden in a function is still a cycle in the design.
``tests/unit/test_import_graph.py`` holds the package to these contracts.
"""

from __future__ import annotations

import ast
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

# Floors, lowest first: a module may import its own floor and the floors below it.
FLOORS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("core", ("config", "domain", "stats", "detectors", "metrics")),
    ("ports", ("ports", "sqlport", "settings")),
    ("adapters", ("adapters", "engines")),
    ("workspace", ("expectations", "lockfile", "workspace")),
    (
        "rooms",
        (
            "monitor",
            "quality",
            "auth",
            "live",
            "customers",
            "ingest",
            "insight",
            "collect",
            "simulate",
            "report",
            "demo",
            "serve",
            "service",  # the one room before issue 8; kept so the tool reads older trees
        ),
    ),
    ("faces", ("api", "web", "cli", "client", "library", "__init__", "__main__")),
)
FLOOR_OF = {pkg: i for i, (_, pkgs) in enumerate(FLOORS) for pkg in pkgs}
# Third-party libraries that do I/O or belong to a face: only adapters, engines and faces use them.
IO_LIBRARIES = ("duckdb", "pyspark", "fastapi", "starlette", "uvicorn", "httpx", "click", "jinja2")
IO_ALLOWED = frozenset({"adapters", "engines", "api", "web", "cli", "client", "__main__"})


@dataclass
class Graph:
    modules: dict[str, set[str]] = field(default_factory=dict)  # module -> gapwatch modules it imports
    external: dict[str, set[str]] = field(default_factory=dict)  # module -> third-party top names

    @staticmethod
    def package_of(module: str) -> str:
        parts = module.split(".")
        return parts[1] if len(parts) > 1 else "__init__"

    def edges(self) -> list[tuple[str, str]]:
        return sorted((m, d) for m, deps in self.modules.items() for d in deps if d != m)

    def package_edges(self) -> set[tuple[str, str]]:
        top = self.package_of
        return {(top(m), top(d)) for m, d in self.edges() if top(m) != top(d)}

    def upward(self) -> list[tuple[str, str]]:
        """Imports from a lower floor to a higher one, or into / out of an unplaced package."""
        found = []
        for m, d in self.edges():
            a, b = FLOOR_OF.get(self.package_of(m)), FLOOR_OF.get(self.package_of(d))
            if a is None or b is None or b > a:
                found.append((m, d))
        return found

    def io_imports(self) -> list[tuple[str, str]]:
        return sorted(
            (m, lib)
            for m, libs in self.external.items()
            for lib in libs
            if lib in IO_LIBRARIES and self.package_of(m) not in IO_ALLOWED
        )


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def read_graph(root: Path) -> Graph:
    """Parse every module under ``root`` (a package folder) and resolve its imports."""
    raw: dict[str, set[str]] = {}
    graph = Graph()
    for path in sorted(root.rglob("*.py")):
        name = _module_name(path, root)
        is_package = path.name == "__init__.py"
        names: set[str] = set()
        ext: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    (names if alias.name.startswith(root.name) else ext).add(alias.name)
            elif isinstance(node, ast.ImportFrom):
                module = node.module or ""
                if node.level:  # relative import: resolve against this module's package
                    base = name.split(".") if is_package else name.split(".")[:-1]
                    base = base[: len(base) - node.level + 1]
                    module = ".".join([*base, module] if module else base)
                if module.startswith(root.name):
                    # `from pkg import mod` depends on pkg.mod, not on pkg's __init__ (resolved below)
                    names.update(f"{module}.{a.name}" for a in node.names)
                elif module:
                    ext.add(module)
        raw[name] = names
        graph.external[name] = {e.split(".")[0] for e in ext}
    for name, names in raw.items():
        resolved = set()
        for target in names:
            while target and target not in raw:
                target = target.rpartition(".")[0]
            if target and target != name:
                resolved.add(target)
        graph.modules[name] = resolved
    return graph


def cycles(nodes: set[str], edges: set[tuple[str, str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan's algorithm)."""
    succ: dict[str, list[str]] = {n: [] for n in nodes}
    for a, b in edges:
        succ.setdefault(a, []).append(b)
        succ.setdefault(b, [])
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in succ[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    sys.setrecursionlimit(max(10_000, sys.getrecursionlimit()))
    for v in sorted(succ):
        if v not in index:
            visit(v)
    return sorted(found)


def report(graph: Graph) -> dict[str, object]:
    top = graph.package_of
    module_edges = set(graph.edges())
    return {
        "modules": len(graph.modules),
        "modules_per_package": dict(sorted(Counter(top(m) for m in graph.modules).items())),
        "upward_imports": [f"{m} -> {d}" for m, d in graph.upward()],
        "package_cycles": cycles({top(m) for m in graph.modules}, graph.package_edges()),
        "module_cycles": cycles(set(graph.modules), module_edges),
        "io_imports_outside_adapters_and_faces": [f"{m} imports {lib}" for m, lib in graph.io_imports()],
    }


def main(argv: list[str]) -> int:
    args = [a for a in argv if not a.startswith("--")]
    root = Path(args[0] if args else "src/gapwatch").resolve()
    found = report(read_graph(root))
    if "--json" in argv:
        print(json.dumps(found))
        return 0
    per = found["modules_per_package"]
    assert isinstance(per, dict)
    print(f"{found['modules']} modules in {len(per)} packages:")
    for pkg, n in per.items():
        floor = FLOOR_OF.get(pkg)
        print(f"  {pkg:<14} {n:>3}  floor {FLOORS[floor][0] if floor is not None else 'UNPLACED'}")
    for key in ("upward_imports", "package_cycles", "module_cycles", "io_imports_outside_adapters_and_faces"):
        items = found[key]
        assert isinstance(items, list)
        print(f"{key.replace('_', ' ')}: {len(items)}")
        for item in items:
            print(f"  {' <-> '.join(item) if isinstance(item, list) else item}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
