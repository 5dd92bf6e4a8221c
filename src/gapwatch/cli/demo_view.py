"""Terminal views of the demo and of `gapwatch detect`: rich tables (stdout) and progress (stderr)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.table import Table

from gapwatch.demo.run import NPS_WINDOW_DAYS, SYSTEMIC_NPS_WINDOW_DAYS, DemoResult
from gapwatch.monitor.summary import StreamState

STATE_STYLE = {"signalled": "bold red", "in control": "green", "too thin": "dim"}
PIPE_WIDTH = 132  # tables printed to a pipe or file: rich would otherwise wrap at 80 columns


def wide_console(stderr: bool = False) -> Console:
    """A console that keeps the tables readable when output is not a terminal."""
    probe = Console(stderr=stderr)
    return probe if probe.is_terminal else Console(stderr=stderr, width=PIPE_WIDTH)


@contextmanager
def progress(console: Console) -> Iterator[Callable[[str], None]]:
    """A spinner with the current step on stderr (silent when stderr is not a terminal)."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description:<18}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as bar:
        task = bar.add_task("starting", total=None)
        yield lambda name: bar.update(task, description=name)


def lifecycle_table(streams: list[StreamState], title: str = "The lifecycle") -> Table:
    table = Table(title=title, title_justify="left")
    for col in ("stage", "silo", "stream", "method", "state"):
        table.add_column(col)
    last = None
    for s in streams:
        first = s.stage != last
        last = s.stage
        table.add_row(
            s.stage if first else "",
            s.silo if first else "",
            s.label,
            s.method,
            f"[{STATE_STYLE.get(s.state, '')}]{s.describe()}[/]",
        )
    return table


def incident_table(result: DemoResult) -> Table:
    table = Table(
        title="Incidents: during the fact (gapwatch) vs after the fact (weekly NPS)", title_justify="left"
    )
    right = ("size", "delay", "let down*\n(answered)")
    for col in (
        "id",
        "stream",
        "size",
        "start → end",
        "gapwatch\nsignalled",
        "delay",
        "NPS\nshowed it",
        right[2],
    ):
        table.add_column(col, justify="right" if col in right else "left", no_wrap=True)
    for i in result.incidents:
        truth = result.affected.get(i.id, {})
        segment = "(all segments)†" if i.id in result.systemic else i.segment
        table.add_row(
            i.id,
            f"{i.moment}/{segment}/{i.metric}",
            f"×{i.size:g}",
            f"{i.start.isoformat()} → {i.end.isoformat()[5:]}",
            i.detected.isoformat() if i.detected else "[red]never[/]",
            f"{i.delay_days} d" if i.delay_days is not None else "",
            i.nps_day.isoformat() if i.nps_day else "never",
            _let_down(truth),
        )
    return table


LEGEND = (
    "gapwatch signalled: first 'worse' signal on the incident's stream (or its moment's parent stream, when "
    "the incident's segment explains most excess misses) from the start to 7 days after the end.",
    f"NPS showed it: the day the first weekly NPS drop (a week below its lower limit) was known, in a week "
    f"starting between the incident's start and {NPS_WINDOW_DAYS} days after its end; otherwise never. "
    "A drop in several incidents' windows goes to the one with the most let-down customers who answered (*).",
    "† systemic: every segment of the moment at once. Its signal may come on the moment's parent stream "
    "(all segments) or any of its segments; its customers are let down at every stage of their journey, so "
    f"its NPS window runs {SYSTEMIC_NPS_WINDOW_DAYS} days after its end.",
    "* from truth.json, for context only (neither view sees it): customers with a missed experience on the "
    "stream during the incident (some would have missed anyway), and how many of them answered the survey "
    "by the end of the window.",
)


def _let_down(truth: dict[str, int]) -> str:
    if "customers_missed" not in truth:
        return ""
    return f"{truth['customers_missed']:,} ({truth.get('customers_missed_answered', 0):,})"


def print_summary(console: Any, result: DemoResult) -> None:
    console.print(lifecycle_table(result.streams))
    console.print(incident_table(result))
    for line in LEGEND:
        console.print(f"[dim]{line}[/]")
    rate = result.false_alarms_per_week
    console.print(
        f"False alarms (signals on streams with no incident): {result.false_alarms} "
        f"in {result.weeks_monitored:.1f} weeks monitored"
        + (f" = {rate:.2f} a week" if rate is not None else "")
    )
    if result.nps is not None:
        nps = result.nps
        console.print(
            f"Weekly NPS: centre {nps.center:.1f}, median {_median(nps.n):.0f} answers a week, "
            f"SE ≈ {_median(nps.se):.1f} points, limits ±{nps.L:g} SE; "
            f"{int(nps.drop.sum())} drops, {result.nps_false_alarms} outside every incident's "
            "window (NPS false alarms)"
        )
    for note in result.notes:
        console.print(f"[yellow]note:[/] {note}")
    console.print(f"Report: {result.report}")


def _median(values: Any) -> float:
    import numpy as np

    return float(np.nanmedian(values))
