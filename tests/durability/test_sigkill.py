"""Nothing lost: SIGKILL the server again and again during a sustained replay (issue 4).

Three client threads replay a simulated world (with invalid events and repeats mixed in)
into a real ``gapwatch serve`` subprocess on loopback, through the Python client, which
retries every request until it is answered (posting is idempotent). Meanwhile the server
is killed with SIGKILL at random moments — mostly while batches are being written and
committed, sometimes while it is still starting — at least ten times, and started again
each time. Then:

* every event the server acknowledged is stored, exactly once, and nothing else is: the
  ``experiences`` table equals, row for row, a batch ingest of the same requests through
  the same service function (same secret, so even the pseudonymous keys agree);
* nothing is half-written: every stored customer key has its identity, every invalid
  event is in ``rejected`` once, and the request answers add up;
* the detector state equals a batch recomputation: the ``stream_periods`` and ``signals``
  the server maintained itself (live detection, rebuilt at every restart) equal
  ``gapwatch detect``'s recomputation on the recovered store (live/state.py), and
  ``gapwatch detect`` on the recovered store equals it on the reference store.
"""

from __future__ import annotations

import random
import shutil
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from durahelpers import ServerProcess, cli, free_port

from gapwatch.adapters.service_schema import ensure_service_schema
from gapwatch.client.http import GapwatchClient
from gapwatch.client.replay import world_records
from gapwatch.config import load_config
from gapwatch.ingest.batches import ingest_records
from gapwatch.live.clock import ServiceClock
from gapwatch.live.state import batch_state_snapshot, compare_states, stored_state_snapshot
from gapwatch.workspace import Workspace, init_workspace

pytestmark = pytest.mark.slow

KILLS = 12
SENDERS = 3
BATCH = 250
SEED = 20261126
Batch = tuple[str, list[dict[str, Any]]]


def _batches(world: Path, ws: Path, rng: random.Random) -> list[Batch]:
    """The world's records in event-time order, one source per batch; 4 % invalid, 2 % repeats."""
    buffers: dict[str, list[dict[str, Any]]] = {}
    out: list[Batch] = []
    sent: list[tuple[str, dict[str, Any]]] = []
    for source, record in world_records(world, load_config(ws)):
        roll = rng.random()
        if roll < 0.02:
            record = {**record, "moment": "no_such_moment"}
        elif roll < 0.04:
            record = {**record, "value": "not a number"}
        elif roll < 0.06 and sent:
            source, record = rng.choice(sent)  # an event sent before: a duplicate
        sent.append((source, record))
        buffer = buffers.setdefault(source, [])
        buffer.append(record)
        if len(buffer) == BATCH:
            out.append((source, buffer))
            buffers[source] = []
    out += [(s, b) for s, b in buffers.items() if b]
    return out


class Replay:
    """Client threads posting batches until told to stop; every batch is retried until answered."""

    def __init__(self, url: str, token: str, batches: list[Batch]) -> None:
        self.url, self.token = url, token
        self._todo: Iterator[Batch] = iter(batches)
        self._lock = threading.Lock()
        self.feeding = threading.Event()
        self.feeding.set()
        self.answers: list[tuple[Batch, dict[str, Any]]] = []
        self.acks = 0
        self.exhausted = False
        self.errors: list[BaseException] = []
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(SENDERS)]

    def _take(self) -> Batch | None:
        with self._lock:
            if not self.feeding.is_set():
                return None
            batch = next(self._todo, None)
            self.exhausted = batch is None
            return batch

    def _run(self) -> None:
        try:
            with GapwatchClient(self.url, self.token, max_retries=400, backoff=0.05, timeout=60) as client:
                while (batch := self._take()) is not None:
                    source, records = batch
                    answer = client.request("POST", "/v1/events", json={"source": source, "events": records})
                    with self._lock:
                        self.answers.append((batch, answer))
                        self.acks += 1
        except BaseException as exc:  # reported by the test, not lost in a thread
            self.errors.append(exc)

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def join(self) -> None:
        for t in self.threads:
            t.join(timeout=300)


def _kill_at_random_moments(server: ServerProcess, replay: Replay, rng: random.Random) -> int:
    kills = 0
    while kills < KILLS:
        if rng.random() < 0.75:  # mostly mid-write: after this run of the server has answered something
            seen = replay.acks
            deadline = time.monotonic() + 60
            while replay.acks == seen and time.monotonic() < deadline and not replay.errors:
                time.sleep(0.005)
            assert replay.acks > seen, "no request was answered after a restart"
            time.sleep(rng.uniform(0.0, 0.5))
        else:  # or while it starts: opening the store, replaying its write-ahead log
            time.sleep(rng.uniform(0.0, 0.3))
        server.kill()
        kills += 1
        server.start()
    return kills


def _table(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[Any, ...]]:
    """Rows in a stable order; floats to 10 significant digits (sums depend on the rows' physical order)."""
    rows = [
        tuple(float(f"{v:.10g}") if isinstance(v, float) else v for v in r)
        for r in con.execute(sql).fetchall()
    ]
    return sorted(rows, key=repr)


EXPERIENCES = (  # every column but ingested_at (the wall clock) and late (the service clock's verdict)
    "SELECT * EXCLUDE (ingested_at, late) FROM experiences"
)
REJECTED = "SELECT source, event_id, reason_code, CAST(raw AS VARCHAR), customer_key FROM rejected"


def _reference(ws: Path, ref: Path, batches: list[Batch]) -> None:
    """The same requests, in order, through the same service function into a store of the same secret."""
    init_workspace(ref)
    for name in ("gapwatch.yaml", ".gapwatch-secret"):
        shutil.copy(ws / name, ref / name)
    workspace = Workspace.open(ref)
    try:
        with workspace.store.transaction() as con:
            ensure_service_schema(con)
        for source, records in batches:
            ingest_records(workspace.store, records, source, workspace.config)
    finally:
        workspace.close()


def _server_state_differences(ws: Path) -> list[str]:
    """How the detector state the server kept differs from a batch recomputation on its store.

    The server maintains ``stream_periods`` and ``signals`` incrementally (live/monitor.py)
    and rebuilds them from the store at every start, so after the kills its stored state must
    be what ``gapwatch detect`` computes from the events that survived, on the same clock.
    """
    workspace = Workspace.open(ws, read_only=True)
    try:
        reader = workspace.store.reader()
        clock = ServiceClock("wall", workspace.config.workspace.timezone)
        kept = stored_state_snapshot(reader)
        recomputed = batch_state_snapshot(reader, workspace.config, clock=clock)
        assert recomputed.periods.num_rows, "the recomputation found no stream periods"
        return compare_states(kept, recomputed)
    finally:
        workspace.close()


def test_sigkill_during_sustained_replay_loses_nothing(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    world, ws, ref = tmp_path / "world", tmp_path / "ws", tmp_path / "ref"
    init_workspace(ws)
    cli("simulate", "--customers", "3000", "--days", "120", "--seed", "5", "--out", str(world))
    batches = _batches(world, ws, rng)
    token = str(cli("token", "create", "--workspace", str(ws), "--role", "admin")["token"])

    server = ServerProcess(ws, free_port(), tmp_path / "server.log")
    server.start()
    replay = Replay(server.url, token, batches)
    started = time.monotonic()
    try:
        replay.start()
        kills = _kill_at_random_moments(server, replay, rng)
        assert not replay.exhausted, "the replay ran out of events before the last kill"
        # A slow (shared) machine answers fewer batches between kills: let the replay go on
        # until it is sustained, so the volume check below tests the kills, not the machine.
        until = time.monotonic() + 180
        while (
            sum(len(b[1]) for b, _ in list(replay.answers)) < 5_000
            and not replay.exhausted
            and time.monotonic() < until
        ):
            time.sleep(0.05)
        replay.feeding.clear()  # no new batches; those in flight are retried until answered
        replay.join()
    finally:
        server.stop()
    seconds = time.monotonic() - started
    assert not replay.errors, replay.errors[:3]
    assert kills >= 10
    posted = [batch for batch, _ in replay.answers]
    events = sum(len(b[1]) for b in posted)
    assert events >= 5_000, f"only {events} events were replayed: the kills did not hit a sustained replay"

    statuses: Counter[str] = Counter()
    acked: set[tuple[str, str]] = set()
    for (source, records), answer in replay.answers:
        assert answer["received"] == len(records) == len(answer["results"])
        assert answer["received"] == answer["accepted"] + answer["duplicate"] + answer["rejected"]
        for record, result in zip(records, answer["results"], strict=True):
            assert result["event_id"] == record["event_id"]
            statuses[result["status"]] += 1
            if result["status"] != "rejected":
                acked.add((source, record["event_id"]))

    _reference(ws, ref, posted)
    differences = _server_state_differences(ws)
    assert not differences, differences[:10]
    got = duckdb.connect(str(ws / "gapwatch.duckdb"), read_only=True)
    want = duckdb.connect(str(ref / "gapwatch.duckdb"), read_only=True)
    try:
        stored = {(s, e) for s, e in got.execute("SELECT source, event_id FROM experiences").fetchall()}
        twice = got.execute(
            "SELECT count(*) FROM (SELECT 1 FROM experiences GROUP BY source, event_id HAVING count(*) > 1)"
        ).fetchone()
        orphans = got.execute(
            "SELECT count(*) FROM experiences e WHERE e.customer_key IS NOT NULL AND NOT EXISTS "
            "(SELECT 1 FROM identities i WHERE i.customer_key = e.customer_key AND i.kind = 'customer')"
        ).fetchone()
        lost = acked - stored
        assert not lost, f"{len(lost)} acknowledged events are not stored, e.g. {sorted(lost)[:5]}"
        assert twice == (0,), "an event is stored twice"
        assert stored == acked, "stored events that were never acknowledged"
        assert orphans == (0,), "half-written: experiences without their identity"
        assert _table(got, EXPERIENCES) == _table(want, EXPERIENCES)
        assert _table(got, REJECTED) == _table(want, REJECTED)
        assert len(_table(got, REJECTED)) == len(set(_table(got, REJECTED)))
    finally:
        got.close()
        want.close()

    # The detector state: a batch recomputation on the recovered store equals one on the reference.
    periods, signals = "SELECT * FROM stream_periods", "SELECT * FROM signals"
    cli("detect", "--workspace", str(ws))
    cli("detect", "--workspace", str(ref))
    got = duckdb.connect(str(ws / "gapwatch.duckdb"), read_only=True)
    want = duckdb.connect(str(ref / "gapwatch.duckdb"), read_only=True)
    try:
        recomputed = _table(got, periods)
        assert recomputed, "detect computed no stream periods"
        assert recomputed == _table(want, periods)
        assert _table(got, signals) == _table(want, signals)
    finally:
        got.close()
        want.close()
    print(
        f"\n{kills} SIGKILLs in {seconds:.0f} s over {server.starts} server starts; {len(posted)} requests, "
        f"{events} events answered ({dict(statuses)}); {len(acked)} acknowledged, "
        f"{len(acked - stored)} lost, {int(twice[0]) if twice else 0} stored twice; the server's "
        "detector state equals a batch recomputation"
    )
