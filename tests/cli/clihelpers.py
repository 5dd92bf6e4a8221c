"""What the CLI tests share: run ``gapwatch`` in process and read its exit code, stdout and stderr."""

from __future__ import annotations

import pytest

from gapwatch.cli import main


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``gapwatch ARGS`` in this process: (exit code, stdout, stderr)."""
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err
