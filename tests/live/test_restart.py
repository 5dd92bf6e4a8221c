"""State survives restarts: on start-up the detector state is rebuilt from the store.

The rebuild is the batch's own aggregate of ``experiences`` followed by the batch's
detection, so after a restart — also one that killed the service between storing a batch
and judging it — the state equals a batch recomputation, and the replay carries on.
"""

from __future__ import annotations

from pathlib import Path

from livehelpers import SECRET, event_runtime, live_config, replay, stored, synthetic_records

from gapwatch.adapters.duckdb_store import DuckDBStore
from gapwatch.ingest.batches import ingest_records
from gapwatch.live.state import batch_state_snapshot, compare_states, live_state_snapshot


def _open(path: Path, tz: str) -> DuckDBStore:
    return DuckDBStore(path, timezone=tz, secret=SECRET)


def test_restart_rebuilds_the_state_a_batch_recomputation_gives(tmp_path: Path) -> None:
    config = live_config()
    tz = config.workspace.timezone
    records = synthetic_records(days=40)
    first, lost, rest = records[:4000], records[4000:4300], records[4300:]
    path = tmp_path / "gapwatch.duckdb"

    store = _open(path, tz)
    runtime = event_runtime(config, store)
    replay(runtime, first, batch=250)
    before = live_state_snapshot(runtime)
    # a crash between the commit of a batch and its judgement: stored, never seen by the live path
    runtime.writer.call(lambda: ingest_records(store, [r for _, r in lost], "api", config))
    runtime.close()
    store.close()

    store = _open(path, tz)
    runtime = event_runtime(config, store)
    try:
        rebuilt = live_state_snapshot(runtime)
        assert compare_states(rebuilt, batch_state_snapshot(store, config), rtol=0.0) == []
        assert compare_states(stored(runtime, rebuilt.closed_through), rebuilt, rtol=0.0) == []
        assert compare_states(before, rebuilt, closed_only=True) != []  # the lost batch is in
        replay(runtime, rest, batch=250)
        final = batch_state_snapshot(store, config)
        assert compare_states(live_state_snapshot(runtime), final, rtol=0.0, open_rtol=1e-9) == []
        assert compare_states(stored(runtime, final.closed_through), final, rtol=0.0, open_rtol=1e-9) == []
        assert final.signals.num_rows > 0
    finally:
        runtime.close()
        store.close()


def test_rows_written_around_the_live_path_trigger_a_rebuild() -> None:
    config = live_config()
    records = synthetic_records(days=36)
    runtime = event_runtime(config)
    try:
        replay(runtime, records[:3000], batch=300)
        runtime.writer.call(
            lambda: ingest_records(runtime.store, [r for _, r in records[3000:3200]], "api", config)
        )
        assert runtime.live.updates["rebuild"] == 1  # on start-up
        replay(runtime, records[3200:], batch=300)
        assert runtime.live.updates["rebuild"] == 2  # when the next request saw the store had more rows
        assert (
            compare_states(
                live_state_snapshot(runtime), batch_state_snapshot(runtime.store, config), rtol=0.0
            )
            == []
        )
    finally:
        runtime.close()
