"""A progress bar on stderr for long ingests (stdout stays for the summary and JSON)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def progress_bar(label: str, total: int, enabled: bool) -> Iterator[Callable[[int, int], None]]:
    """Yield ``advance(position, experiences)``; a no-op when disabled."""
    if not enabled:
        yield lambda position, experiences: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[experiences]:,} experiences"),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(f"ingest {label}", total=total or None, experiences=0)

        def advance(position: int, experiences: int) -> None:
            bar.update(task, completed=position, experiences=experiences)

        yield advance
