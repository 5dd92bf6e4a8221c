"""Replay = demo: ``gapwatch replay`` of a simulated world into ``gapwatch serve --clock event``
gives the signals ``gapwatch demo``'s batch run gives on the same world.

Everything runs through the command line, as a person would: the demo (simulate, ingest,
batch detect), a second workspace served on the event-time clock, the replay over HTTP, and
then the two stores' ``signals`` and ``stream_periods`` tables side by side.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gapwatch.adapters.duckdb_store import DuckDBStore
from gapwatch.live.state import StateSnapshot, compare_states, stored_state_snapshot

CLI = [sys.executable, "-m", "gapwatch"]


def _run(*args: str) -> dict[str, object]:
    out = subprocess.run([*CLI, *args, "--json"], capture_output=True, text=True, check=True, timeout=600)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _snapshot(folder: Path) -> StateSnapshot:
    store = DuckDBStore(folder / "gapwatch.duckdb", read_only=True)
    try:
        return stored_state_snapshot(store.reader())
    finally:
        store.close()


@pytest.mark.slow
def test_replay_into_a_live_server_gives_the_demo_signals(tmp_path: Path) -> None:
    demo, live = tmp_path / "demo", tmp_path / "live"
    _run("demo", "--dir", str(demo), "--customers", "1500", "--days", "60", "--seed", "3")
    _run("init", str(live))
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [*CLI, "serve", "--workspace", str(live), "--port", "0", "--clock", "event"], stderr=log
    )
    try:
        lock = live / "gapwatch-serve.lock"
        deadline = time.monotonic() + 60
        while not lock.exists():
            assert server.poll() is None and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)
        url = json.loads(lock.read_text())["url"]
        token = (live / ".gapwatch-local-token").read_text().strip()
        replayed = _run(
            "replay", str(demo / "sources"), "--url", url, "--token", token, "--config", str(demo)
        )
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=60)
        log.close()
    batch, served = _snapshot(demo), _snapshot(live)
    differences = compare_states(batch, served)
    n_batch, n_live = batch.signals.num_rows, served.signals.num_rows
    print(
        f"\nreplay: {replayed}\nsignals: batch (gapwatch demo) {n_batch}, live (serve --clock event + replay)"
        f" {n_live}; stream-periods {batch.periods.num_rows}; differences: {differences[:5] or 'none'}"
    )
    assert replayed["rejected"] == 0 and replayed["accepted"] == replayed["received"]
    assert n_batch > 0 and differences == []
