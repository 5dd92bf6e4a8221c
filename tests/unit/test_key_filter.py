"""The live service's filter of stored event-id hashes: no false "new", few false "seen"."""

from __future__ import annotations

import datetime as dt

import numpy as np

from gapwatch.adapters.duckdb_store import DuckDBStore
from gapwatch.adapters.key_filter import KeyFilter
from gapwatch.adapters.service_schema import ensure_service_schema
from gapwatch.config import default_config
from gapwatch.expectations import sync_expectations
from gapwatch.ingest.batches import ingest_records


def _hashes(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, np.iinfo(np.uint64).max, size=n, dtype=np.uint64, endpoint=True)


def test_every_added_hash_is_found_and_false_positives_stay_near_the_design_rate() -> None:
    rng = np.random.default_rng(3)
    added, other = _hashes(rng, 200_000), _hashes(rng, 200_000)
    known = KeyFilter(len(added))
    known.add(added)
    assert known.might_contain(added).all()  # never "new" for a stored hash: dedupe stays exact
    rate = known.might_contain(other).mean()
    print(f"\nfalse-positive rate at capacity: {rate:.4f} (design about 0.012)")
    assert rate < 0.025
    assert not known.full
    known.add(_hashes(rng, 1))
    assert known.full  # past its capacity: the store rebuilds it


def _records(ids: range) -> list[dict[str, object]]:
    at = dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC).isoformat()
    return [
        {
            "event_id": f"e{i}",
            "customer_id": f"c{i % 7}",
            "occurred_at": at,
            "moment": "checkout",
            "metric": "page_load_seconds",
            "value": 1.0,
        }
        for i in ids
    ]


def test_the_store_dedupes_through_the_filter_and_rebuilds_it_when_full() -> None:
    config = default_config()
    store = DuckDBStore(timezone="UTC")
    with store.transaction() as con:
        ensure_service_schema(con)
    sync_expectations(store, config)
    first = ingest_records(store, _records(range(50)), "web", config)
    store.prepare_live()
    store._known["experiences"] = KeyFilter(8)  # tiny: full after the next chunk
    store._known["experiences"].add(
        store.query("SELECT key_hash FROM experiences").column("key_hash").to_numpy().astype(np.uint64)
    )
    again = ingest_records(store, _records(range(40, 60)), "web", config)
    rebuilt = store._known["experiences"]
    rebuilt_from = rebuilt.count
    third = ingest_records(store, _records(range(55, 70)), "web", config)
    assert first.count("accepted") == 50
    assert (again.count("accepted"), again.count("duplicate")) == (10, 10)
    assert rebuilt.capacity > 8 and rebuilt_from == 60  # rebuilt from the store's 60 hashes
    assert (third.count("accepted"), third.count("duplicate")) == (10, 5)
    assert store.query("SELECT count(*) AS n FROM experiences").column("n")[0].as_py() == 70
