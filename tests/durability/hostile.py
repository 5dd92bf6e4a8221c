"""Hypothesis strategies for hostile experience records (not a test module).

Every field of the record is drawn from a mix of what a careful client sends and what a
careless client or an attacker sends: extreme dates and offsets, numbers beyond any scale
(huge, negative, 2^64, booleans, numerals as strings), the wrong JSON types, lengths just
under and over every limit, padded and cased ids, and unicode of every category JSON can
carry (controls, combining marks, right-to-left, astral planes; lone surrogates cannot be
sent as JSON and are tried as raw bodies instead).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import strategies as st

from gapwatch.config import default_config

CONFIG = default_config()
MOMENTS = [m.key for stage in CONFIG.lifecycle for m in stage.moments]
METRICS = list(CONFIG.metrics)
SEGMENTS = ["all", *CONFIG.segments]
ABSENT = object()  # a key left out of the event
TODAY = dt.datetime.now(dt.UTC)

text = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
long_text = st.sampled_from([0, 1, 127, 128, 129, 255, 256, 257, 3999, 4000, 4001, 20_000]).map(
    lambda n: "x" * n
)
json_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    text,
)
json_value = st.recursive(
    json_scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(text, inner, max_size=4)),
    max_leaves=12,
)
offsets = st.sampled_from(
    ["Z", "+00:00", "-05:00", "+14:00", "+14:01", "+25:00", "-99:99", "+0530", "+05", ""]
)
dates = st.one_of(
    st.dates().map(lambda d: d.isoformat()),
    st.dates(min_value=dt.date(2016, 1, 1), max_value=dt.date(2030, 1, 1)).map(lambda d: d.isoformat()),
)
times = st.one_of(
    st.builds(
        lambda d, h, m, o: f"{d}T{h:02d}:{m:02d}:00{o}",
        dates,
        st.integers(0, 29),
        st.integers(0, 70),
        offsets,
    ),
    st.sampled_from(
        [
            "9999-12-31",
            "9999-12-31T23:59:59Z",
            "0001-01-01",
            "1970-01-01T00:00:00Z",
            "infinity",
            "-infinity",
            "epoch",
            "now",
            "-2025-03-01",
            "294247-01-01",
            "2026-02-30",
            "2026-03-01T10:00:00 Europe/Paris",
            "2026-03-01 10:00:00",
            "",
            " ",
        ]
    ),
    text,
    st.integers(),
)
numbers = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0, -1, 1e308, -1e308, 2**64, -(2**63), 1e-320, 99, 3.5, 1e12, 1e13]),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.sampled_from(["4", "nan", "Infinity", "1e309", "", "x"]),
    st.booleans(),
)
ids = st.one_of(
    st.sampled_from(["C-1", " C-1 ", "c-1\t", "C-2", "\u00a0C-3", "alice@example.com", "ALICE@EXAMPLE.COM"]),
    text,
    long_text,
    st.integers(),
    st.lists(st.integers(), max_size=2),
)


def _field(good: st.SearchStrategy[Any], *bad: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly a good value, sometimes absent, null or hostile."""
    return st.one_of(good, good, good, st.just(ABSENT), st.none(), *bad)


def _metric_for(moment: Any) -> st.SearchStrategy[Any]:
    watched = next((m.metrics for s in CONFIG.lifecycle for m in s.moments if m.key == moment), METRICS)
    return st.sampled_from(list(watched))


@st.composite
def events(draw: st.DrawFn, pool: list[str]) -> dict[str, Any]:
    """One hostile experience record; ``pool`` holds event ids to repeat (duplicates, conflicts)."""
    moment = draw(_field(st.sampled_from(MOMENTS), text, json_value))
    fields: dict[str, Any] = {
        "event_id": draw(_field(st.one_of(st.sampled_from(pool), text.filter(bool)), long_text, json_value)),
        "customer_id": draw(_field(ids, json_value)),
        "anonymous_id": draw(st.one_of(st.just(ABSENT), ids)),
        "occurred_at": draw(_field(times)),
        "moment": moment,
        "metric": draw(_field(_metric_for(moment), text, json_value)),
        "value": draw(_field(st.floats(0, 10).map(lambda v: round(v, 2)), numbers, json_value)),
        "segment": draw(st.one_of(st.just(ABSENT), st.sampled_from(SEGMENTS), text, json_value)),
        "expected": draw(st.one_of(st.just(ABSENT), numbers)),
        "text": draw(st.one_of(st.just(ABSENT), text, long_text, json_value)),
        "attributes": draw(
            st.one_of(
                st.just(ABSENT),
                st.dictionaries(
                    st.one_of(
                        text, st.sampled_from(["__gw_row", "__gw_line", "event_id", "", "a b", "x" * 70])
                    ),
                    json_value,
                    max_size=40,
                ),
                json_value,
            )
        ),
    }
    extra = draw(st.dictionaries(text, json_value, max_size=2))  # unknown top-level keys
    return {**extra, **{k: v for k, v in fields.items() if v is not ABSENT}}


@st.composite
def valid_events(draw: st.DrawFn, pool: list[str]) -> dict[str, Any]:
    """A record a careful client sends: the accepted path (scoring, dedupe, detection) is exercised too."""
    moment = draw(st.sampled_from(MOMENTS))
    metric = draw(_metric_for(moment))
    scale = CONFIG.metrics[metric].scale
    value = draw(st.floats(scale[0], scale[1]) if scale else st.floats(0, 100))
    when = TODAY - dt.timedelta(minutes=draw(st.integers(0, 60 * 24 * 60)))
    event = {
        "event_id": draw(st.one_of(st.sampled_from(pool), st.uuids().map(str))),
        "customer_id": draw(st.sampled_from(["C-1", " C-1 ", "c-1\t", "C-2", "alice@example.com"])),
        "occurred_at": when.isoformat(),
        "moment": moment,
        "metric": metric,
        "value": round(value, 3),
    }
    if draw(st.booleans()):
        event["segment"] = draw(st.sampled_from(SEGMENTS))
    return event


@st.composite
def one_wrong(draw: st.DrawFn, pool: list[str]) -> dict[str, Any]:
    """A careful record with one field replaced by a hostile one."""
    event = draw(valid_events(pool))
    hostile = draw(events(pool))
    key = draw(st.sampled_from(sorted(hostile)))
    return {**event, key: hostile[key]}


def batches(pool: list[str]) -> st.SearchStrategy[list[dict[str, Any]]]:
    record = st.one_of(valid_events(pool), valid_events(pool), one_wrong(pool), events(pool))
    return st.lists(record, min_size=1, max_size=25)


raw_bodies = st.sampled_from(
    [
        b'{"source": "api", "events": [{"event_id": "n", "value": NaN}]}',
        b'{"source": "api", "events": [{"event_id": "n", "value": 1e999999}]}',
        b'{"source": "api", "events": [{"event_id": "\\ud800"}]}',
        b'{"source": "api", "events": [{"event_id": "\xff\xfe"}]}',
        b'{"source": "api", "events": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        b'{"source": "api", "events": [' + b"{}," * 20_000 + b"{}]}",
        b'{"source": "api", "events": []}',
        b'{"source": "api", "events": {}}',
        b'{"source": "../etc", "events": [{}]}',
        b'{"source": "api", "events": [1, "x", null]}',
        b"",
        b"null",
        b"[]",
        b'{"source": "api", "events": [{"event_id": "' + b"9" * 400_000 + b'"}]}',
    ]
)
