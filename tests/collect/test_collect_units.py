"""The collect room's pieces on their own: paths, bounded bodies, message checks, clock skew, mappings."""

from __future__ import annotations

import datetime as dt
import doctest
import gzip
import importlib
import pkgutil

import pytest
from hypothesis import given
from hypothesis import strategies as st

import gapwatch.collect
from gapwatch.collect.body import BodyError, decode_body, inflate
from gapwatch.collect.messages import read_messages
from gapwatch.config import ConfigError, default_config_text, parse_config
from gapwatch.config.jsonpath import MISSING, PathError, parse_path

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
MODULES = ["gapwatch.config.jsonpath"] + [
    f"gapwatch.collect.{m.name}" for m in pkgutil.iter_modules(gapwatch.collect.__path__)
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    assert doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS).failed == 0


@pytest.mark.parametrize(
    "text", ["", "a..b", "a.", ".a", "a[x]", "a[1", "a['b", "a b", "a" + ".b" * 16, "x" * 300, "a[1234567]"]
)
def test_bad_paths_are_refused(text: str) -> None:
    with pytest.raises(PathError):
        parse_path(text)


def test_paths_read_what_is_there_and_nothing_else() -> None:
    doc = {"a": {"b c": [1, {"d": None}]}, "n": 5}
    assert parse_path('$.a["b c"][0]').get(doc) == 1
    assert parse_path('a["b c"][1].d').get(doc) is None  # JSON null is a value ...
    assert parse_path('a["b c"][2]').get(doc) is MISSING  # ... absence is not
    assert parse_path("n.x").get(doc) is MISSING and parse_path("a[0]").get(doc) is MISSING


def test_a_mapping_with_a_bad_path_is_a_config_problem() -> None:
    text = default_config_text().replace("value: properties.delivery_days", "value: 'properties..x'")
    with pytest.raises(ConfigError) as err:
        parse_config(text)
    assert any("tracking.segment.events[0]" in p.path for p in err.value.problems)


def test_gzip_bodies_are_bounded_while_they_expand() -> None:
    two = gzip.compress(b'{"a": ') + gzip.compress(b"1}")  # members concatenated (gzip allows it)
    assert decode_body(two, "gzip", 100) == {"a": 1}
    with pytest.raises(BodyError) as err:
        inflate(gzip.compress(b"x" * 101), 100)
    assert err.value.status == 413
    bomb = gzip.compress(b"\0" * (50 << 20))  # 50 MB of zeros in about 50 KB
    with pytest.raises(BodyError):
        inflate(bomb, 1 << 20)
    with pytest.raises(BodyError) as err:
        inflate(gzip.compress(b"{}")[:-6], 100)
    assert err.value.status == 400
    with pytest.raises(BodyError) as err:
        decode_body(b"{}", "deflate", 100)
    assert err.value.status == 415


@given(st.binary(max_size=300))
def test_any_bytes_give_a_value_or_a_body_error(data: bytes) -> None:
    for coding in ("gzip", None):
        try:
            decode_body(data, coding, 200)
        except BodyError as exc:
            assert exc.status in (400, 413)


def _when(sent_offset: float, stamp: str = "2026-06-01T11:00:00Z") -> dt.datetime:
    sent = NOW - dt.timedelta(seconds=sent_offset)
    msgs, bad = read_messages(
        [{"type": "track", "event": "E", "userId": "u", "messageId": "m", "timestamp": stamp}],
        sent.isoformat(),
        NOW,
    )
    assert not bad
    return msgs[0].occurred_at


def test_clock_skew_is_corrected_in_whole_minutes() -> None:
    base = dt.datetime(2026, 6, 1, 11, 0, tzinfo=dt.UTC)
    assert _when(0.4) == base  # network and queueing time is no skew
    assert _when(29.0) == _when(31.0) == _when(-90.0) == _when(119.0) == base
    assert _when(150.0) == base + dt.timedelta(minutes=2)  # past two minutes: a wrong clock
    assert _when(-3600 * 3) == base - dt.timedelta(hours=3)  # a clock three hours ahead
    # retries of one message (new sentAt, new receipt) map to the same time, across 30 s too
    assert {_when(x) for x in (0.0, 0.9, 2.5, 11.0, 28.0, 35.0, 60.0)} == {base}


def test_the_future_and_unparseable_times_are_rejected() -> None:
    msgs, bad = read_messages(
        [
            {"type": "page", "userId": "u", "messageId": "a", "timestamp": "2026-06-03T12:00:01Z"},
            {"type": "page", "userId": "u", "messageId": "b", "timestamp": "0001-01-01T00:00:00+14:00"},
            {"type": "page", "userId": "u", "messageId": "c", "timestamp": 1717236000},
            {"type": "page", "userId": "u", "messageId": "d"},
        ],
        None,
        NOW,
    )
    assert [b.code for b in bad] == ["bad_timestamp"] * 3
    assert [m.occurred_at for m in msgs] == [NOW]  # no timestamp: the time of receipt


def test_ids_of_the_sdks_numbers_included_nothing_else() -> None:
    msgs, bad = read_messages(
        [
            {"type": "identify", "userId": 42, "messageId": 7},
            {"type": "identify", "userId": True, "messageId": "x"},
            {"type": "identify", "anonymousId": ["a"], "messageId": "y"},
        ],
        None,
        NOW,
    )
    assert [(m.user_id, m.message_id) for m in msgs] == [("42", "7")]
    assert [b.code for b in bad] == ["bad_id", "bad_id"]
