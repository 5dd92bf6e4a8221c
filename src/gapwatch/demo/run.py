"""The demo use case: simulate a world, ingest it, detect during the fact, compare with NPS after the fact.

Detection and the NPS use only what is in the workspace (the ingested source files and survey
answers); ``truth.json`` is read afterwards, only to score the demo: for each injected incident,
the first signal on its stream (or on its moment's parent stream, when that signal's excess
misses come mostly from the incident's segment) from its start to ``GRACE_DAYS`` after its end,
and the first weekly NPS drop in a week starting between its start and ``NPS_WINDOW_DAYS`` after
its end.  A systemic incident (every segment of a moment, ``segment: all``) counts on the moment's
parent stream or any of its segments, with ``SYSTEMIC_NPS_WINDOW_DAYS`` for the NPS.  Signals on
streams without an incident, and NPS drops outside every incident's window, are false alarms.
The customers each incident let down come from the truth, as context only.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gapwatch.demo.score import (
    NPS_WINDOW_DAYS,
    SYSTEMIC_NPS_WINDOW_DAYS,
    count_false_alarms,
    count_nps_false_alarms,
    is_systemic,
    score_incidents,
)
from gapwatch.monitor.nps import NpsChart, compute_nps
from gapwatch.monitor.run import MonitorResult, run_monitor
from gapwatch.monitor.summary import StreamState, stream_states
from gapwatch.report import IncidentLine, render_report, write_report
from gapwatch.report.figures import FigureContext

__all__ = ["NPS_WINDOW_DAYS", "SYSTEMIC_NPS_WINDOW_DAYS", "DemoResult", "default_size", "run_demo"]

GRACE_DAYS = 7
AFFECTED = ("customers", "customers_missed", "customers_missed_answered")  # truth.json, per incident
SOURCES_DIR = "sources"
REPORT_FILE = "report.html"
DEFAULT_CUSTOMERS, DEFAULT_DAYS, DEFAULT_SEED = 150_000, 180, 42

Step = Callable[[str], None]


def default_size() -> tuple[int, int, int]:
    """Customers, days and seed of the default demo (about a minute on a 2-core machine)."""
    return DEFAULT_CUSTOMERS, DEFAULT_DAYS, DEFAULT_SEED


@dataclass
class DemoResult:
    """What the demo shows: stream states, incidents scored, false alarms, files written."""

    workspace: Path
    report: Path
    streams: list[StreamState]
    incidents: list[IncidentLine]
    false_alarms: int
    weeks_monitored: float
    nps: NpsChart | None
    ingested: dict[str, dict[str, int]]
    seconds: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    nps_false_alarms: int = 0
    # per incident id, from truth.json (context, never used to detect): customers with an event on
    # the stream during the incident, those let down (a miss there), and how many of those answered
    affected: dict[str, dict[str, int]] = field(default_factory=dict)
    systemic: list[str] = field(default_factory=list)  # ids of the systemic incidents (all segments)

    @property
    def false_alarms_per_week(self) -> float | None:
        return self.false_alarms / self.weeks_monitored if self.weeks_monitored > 0 else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "workspace": str(self.workspace),
            "report": str(self.report),
            "incidents": [
                {**_incident_dict(i), "systemic": i.id in self.systemic, "truth": self.affected.get(i.id, {})}
                for i in self.incidents
            ],
            "false_alarms": self.false_alarms,
            "weeks_monitored": round(self.weeks_monitored, 2),
            "nps_false_alarms": self.nps_false_alarms,
            "nps_window_days": NPS_WINDOW_DAYS,
            "systemic_nps_window_days": SYSTEMIC_NPS_WINDOW_DAYS,
            "false_alarms_per_week": self.false_alarms_per_week,
            "streams": [s.to_dict() for s in self.streams],
            "nps": self.nps.to_dict() if self.nps else None,
            "ingested": self.ingested,
            "seconds": self.seconds,
            "notes": self.notes,
        }


def _incident_dict(i: IncidentLine) -> dict[str, Any]:
    return {
        "id": i.id,
        "moment": i.moment,
        "segment": i.segment,
        "metric": i.metric,
        "size": i.size,
        "start": i.start.isoformat(),
        "end": i.end.isoformat(),
        "detected": i.detected.isoformat() if i.detected else None,
        "detected_by": i.detected_by or None,
        "delay_days": i.delay_days,
        "nps": i.nps_day.isoformat() if i.nps_day else None,
    }


def _prepare(folder: Path) -> None:
    """Start from an empty folder; only a previous demo (or an empty folder) is replaced."""
    if folder.exists() and any(folder.iterdir()):
        if not (folder / "gapwatch.yaml").exists() and not (folder / SOURCES_DIR).exists():
            raise FileExistsError(f"{folder} exists and is not a gapwatch demo folder; choose another --dir")
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)


def run_demo(folder: Path, customers: int, days: int, seed: int, *, step: Step | None = None) -> DemoResult:
    """Simulate, ingest, detect, score against the truth, and write the report."""
    from gapwatch.simulate import TRUTH_FILE, simulate, write_world
    from gapwatch.workspace import Workspace, init_workspace

    say = step or (lambda _: None)
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[name] = round(now - clock, 2)
        clock = now

    _prepare(folder)
    say("simulate")
    world = simulate(customers, days, seed)
    write_world(world, folder / SOURCES_DIR)
    lap("simulate")
    init_workspace(folder)
    with Workspace.open(folder) as ws:
        ingested, notes = _ingest_all(ws, folder / SOURCES_DIR, say)
        lap("ingest")
        say("detect")
        result = run_monitor(ws.store, ws.config, clock="event")
        lap("detect")
        say("nps")
        nps = _nps(ws.store.reader(), result, ws.config.detection.baseline_days)
        truth = json.loads((folder / SOURCES_DIR / TRUTH_FILE).read_text(encoding="utf-8"))
        incidents = score_incidents(result, truth["incidents"], nps)
        false_alarms = count_false_alarms(result, truth["incidents"])
        nps_false = count_nps_false_alarms(nps, truth["incidents"])
        affected = {
            str(i.get("id", "")): {k: int(i[k]) for k in AFFECTED if k in i} for i in truth["incidents"]
        }
        weeks = _weeks_monitored(result, ws.config.detection.baseline_days)
        streams = stream_states(result, ws.lifecycle)
        say("report")
        ctx = FigureContext(
            ws.config.detection, result.L, result.first_period, result.last_period, result.closed_through
        )
        reader = ws.store.reader()
        try:  # the same figures the web app draws, from what the monitor stored
            html = render_report(
                reader,
                ws.config,
                ws.lifecycle,
                ctx,
                nps=nps,
                incidents=incidents,
                title="gapwatch demo: during the fact vs after the fact",
                notes=_report_notes(customers, days, seed, false_alarms, weeks, notes),
            )
        finally:
            reader.close()
        report = write_report(folder / REPORT_FILE, html)
        lap("report")
    systemic = [str(i.get("id", "")) for i in truth["incidents"] if is_systemic(i)]
    return DemoResult(
        folder.resolve(),
        report,
        streams,
        incidents,
        false_alarms,
        weeks,
        nps,
        ingested,
        seconds,
        notes,
        nps_false,
        affected,
        systemic,
    )


def _ingest_all(ws: Any, sources: Path, say: Step) -> tuple[dict[str, dict[str, int]], list[str]]:
    from gapwatch.ingest.files import ingest_file

    ingested: dict[str, dict[str, int]] = {}
    notes: list[str] = []
    for name in ws.config.sources:
        path = sources / f"{name}.csv"
        if not path.exists():
            continue
        say(f"ingest {name}")
        try:
            res = ingest_file(ws, path, name)
        except Exception as exc:  # one unusable source must not hide the others
            notes.append(f"{name}.csv could not be ingested: {str(exc).splitlines()[0]}")
            continue
        ingested[name] = {"accepted": res.accepted, "duplicate": res.duplicate, "rejected": res.rejected}
    return ingested, notes


def _nps(con: Any, result: MonitorResult, baseline_days: int) -> NpsChart | None:
    if result.first_period is None:
        return None
    return compute_nps(con, result.first_period, baseline_days, last_day=result.last_period)


def _weeks_monitored(result: MonitorResult, baseline_days: int) -> float:
    if result.first_period is None or result.last_period is None:
        return 0.0
    return max((result.last_period - result.first_period).days + 1 - baseline_days, 0) / 7.0


def _report_notes(
    customers: int, days: int, seed: int, false_alarms: int, weeks: float, notes: list[str]
) -> list[str]:
    rate = f"{false_alarms / weeks:.2f} a week" if weeks else "n/a"
    return [
        f"Simulated world: {customers:,} people over {days} days (seed {seed}); detection used only the "
        "ingested files, never truth.json.",
        f"False alarms (signals on streams with no incident): {false_alarms} in {weeks:.1f} weeks "
        f"monitored after the baseline ({rate}).",
        "NPS showed it: the day the first weekly NPS drop (a week below its lower limit) was known, in a "
        f"week starting between the incident's start and {NPS_WINDOW_DAYS} days after its end "
        f"({SYSTEMIC_NPS_WINDOW_DAYS} for a systemic incident, segment 'all'); otherwise never.",
        *notes,
    ]
