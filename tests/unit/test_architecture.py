"""The domain core has no I/O: domain, stats, detectors and metrics import no adapter or framework."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "gapwatch"
CORE = ("domain", "stats", "detectors", "metrics", "predict")
FORBIDDEN = (
    "duckdb",
    "fastapi",
    "click",
    "uvicorn",
    "starlette",
    "pyspark",
    "httpx",
    "psycopg",
    "gapwatch.adapters",
    "gapwatch.api",
    "gapwatch.cli",
    "gapwatch.service",
    "gapwatch.web",
)


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


@pytest.mark.parametrize("package", CORE)
def test_core_packages_do_no_io(package: str) -> None:
    offenders = [
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in sorted((PACKAGE / package).rglob("*.py"))
        for name in _imports(path)
        if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN)
    ]
    assert offenders == []
