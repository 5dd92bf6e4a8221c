"""The Examples in the SPC modules' docstrings run (STYLE.md habit 9)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import gapwatch.detectors
import gapwatch.stats

MODULES = [
    f"{pkg.__name__}.{m.name}"
    for pkg in (gapwatch.detectors, gapwatch.stats)
    for m in pkgutil.iter_modules(pkg.__path__)
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
