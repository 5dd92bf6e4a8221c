"""Docs that cannot drift: every setting is in docs/operations.md's one table, and nothing else is."""

from __future__ import annotations

import re
from pathlib import Path

from gapwatch.settings import ENV_PREFIX, Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def test_every_setting_is_documented_once_in_the_table() -> None:
    rows = re.findall(r"^\| `(GAPWATCH_[A-Z0-9_]+)` \|", DOC.read_text(encoding="utf-8"), re.MULTILINE)
    fields = [ENV_PREFIX + name.upper() for name in Settings.model_fields]
    assert sorted(rows) == sorted(fields)
    assert len(rows) == len(set(rows))


def test_each_documented_variable_is_read() -> None:
    env = {ENV_PREFIX + "MAX_BATCH_EVENTS": "7", ENV_PREFIX + "LOG_FORMAT": "text"}
    s = Settings.from_env(env)
    assert (s.max_batch_events, s.log_format) == (7, "text")
