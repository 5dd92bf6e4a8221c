"""The architecture holds: imports only run down the floors, no cycles, I/O libraries only at the edges.

The rules and the graph come from ``tools/imports.py`` (``python tools/imports.py`` prints the
same figures), so the contract checked here and the one a developer reads are one piece of code.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "src" / "gapwatch"


def _load_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gapwatch_imports_tool", REPO / "tools" / "imports.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


tool = _load_tool()


@pytest.fixture(scope="module")
def found() -> dict[str, object]:
    return tool.report(tool.read_graph(PACKAGE))


def test_every_package_has_a_floor(found: dict[str, object]) -> None:
    per = found["modules_per_package"]
    assert isinstance(per, dict)
    assert [pkg for pkg in per if pkg not in tool.FLOOR_OF] == []


@pytest.mark.parametrize(
    "key", ["upward_imports", "package_cycles", "module_cycles", "io_imports_outside_adapters_and_faces"]
)
def test_contract(found: dict[str, object], key: str) -> None:
    assert found[key] == []


def test_core_imports_only_core() -> None:
    graph = tool.read_graph(PACKAGE)
    core = set(tool.FLOORS[0][1])
    offenders = [
        f"{m} -> {d}"
        for m, d in graph.edges()
        if graph.package_of(m) in core and graph.package_of(d) not in core
    ]
    assert offenders == []


def _write(root: Path, files: dict[str, str]) -> Path:
    pkg = root / "gapwatch"
    for name, text in files.items():
        path = pkg / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return pkg


def test_the_checker_finds_what_breaks_the_contract(tmp_path: Path) -> None:
    pkg = _write(
        tmp_path,
        {
            "__init__.py": "",
            "domain/__init__.py": "",
            "domain/gap.py": "def f():\n    from gapwatch.monitor import run\n",  # upward, inside a function
            "monitor/__init__.py": "",
            "monitor/run.py": "from gapwatch.monitor.store import x\nimport duckdb\n",
            "monitor/store.py": "from .run import y\n",  # relative import closing a cycle
            "quality/__init__.py": "",
            "quality/alerts.py": "from gapwatch.customers.journey import z\n",
            "customers/__init__.py": "",
            "customers/journey.py": "from gapwatch.quality import alerts\n",
            "mystery/__init__.py": "",
        },
    )
    found = tool.report(tool.read_graph(pkg))
    assert found["upward_imports"] == ["gapwatch.domain.gap -> gapwatch.monitor.run"]
    assert found["package_cycles"] == [["customers", "quality"]]
    assert ["gapwatch.monitor.run", "gapwatch.monitor.store"] in found["module_cycles"]
    assert found["io_imports_outside_adapters_and_faces"] == ["gapwatch.monitor.run imports duckdb"]
    assert "mystery" not in tool.FLOOR_OF and "mystery" in found["modules_per_package"]
