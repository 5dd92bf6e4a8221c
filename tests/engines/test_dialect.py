"""The DuckDB → Spark rewrite, checked without Spark: grammar guards, rewrites, bound arguments."""

from __future__ import annotations

import datetime as dt
import itertools
import math
import re

import duckdb
import pytest
import sqlglot
from hypothesis import given, settings
from hypothesis import strategies as st

from gapwatch.adapters.duckdb_ingest import prepare
from gapwatch.config import load_config
from gapwatch.domain.experience import IngestJob
from gapwatch.engines.dialect import NUMBER, bind, to_spark
from gapwatch.ingest.jobs import ingest_job
from gapwatch.ingest.lake import macro_args
from gapwatch.workspace import init_workspace

CON = duckdb.connect()
# Java's \s (what Spark's RLIKE uses) is ASCII white space; so is DuckDB's.
GUARD = re.compile(NUMBER.replace(r"\s", r"[ \t\n\r\f\v]"))
DUCKDB_ONLY = (
    *("prefix(", "suffix(", "isfinite(", "json_object(", "try_strptime(", "::", "exclude", "hash("),
    *(
        "strlen(",
        "list_position(",
        "strip_accents(",
        "epoch(",
        "at time zone",
        "materialized",
        "regexp_matches(",
    ),
)


def _duckdb_reads(cell: str) -> bool:
    value = CON.execute("SELECT TRY_CAST(? AS DOUBLE)", [cell]).fetchone()
    return value is not None and value[0] is not None and math.isfinite(value[0])


def _guard_reads(cell: str) -> bool:
    return GUARD.search(cell) is not None and math.isfinite(float(re.sub(r"_|\+(?=-)", "", cell)))


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet="0123456789_.eE+- \tx,", min_size=0, max_size=8))
def test_the_number_guard_reads_what_duckdb_reads(cell: str) -> None:
    assert _guard_reads(cell) == _duckdb_reads(cell)


@pytest.mark.parametrize(
    "cell", ["1_000", "+-4", " 3 ", ".5", "5.", "1E+05", "3e2_1", "1d", "0x10", "inf", "NaN", "1e400", "١٢"]
)
def test_the_number_guard_on_known_cells(cell: str) -> None:
    assert _guard_reads(cell) == _duckdb_reads(cell)


@pytest.fixture(scope="module")
def jobs(tmp_path_factory: pytest.TempPathFactory) -> list[IngestJob]:
    folder = init_workspace(tmp_path_factory.mktemp("ws") / "ws")
    config = load_config(folder)
    layouts = {"columns": "x.csv", "jsonl": "x.jsonl"}
    return [
        ingest_job(name, source, config, file, layout=layout)  # type: ignore[arg-type]
        for name, source in config.sources.items()
        for layout, file in layouts.items()
    ]


def test_every_compiled_query_becomes_spark_sql(jobs: list[IngestJob]) -> None:
    now = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
    for job, inline in itertools.product(jobs, (False, True)):
        prep = prepare(job, messages_inline=inline)
        stage = bind(prep.stage, macro_args(prep, now))
        queries = [prep.ids, stage, prep.messages, prep.cells or "SELECT 1"]
        for query in queries:
            spark = to_spark(query)
            sqlglot.parse_one(spark, read="spark")  # Spark SQL that parses
            lowered = spark.lower()
            found = [f for f in DUCKDB_ONLY if re.search(r"(?<![a-z_])" + re.escape(f), lowered)]
            assert not found, (job.source_name, job.layout, found)
            assert "try_cast(" not in lowered or "rlike" in lowered  # every cast of a cell is guarded


def test_bind_replaces_the_macro_arguments_only() -> None:
    import datetime as dt

    sql = "SELECT coalesce(period <= CAST(__gw_late AS DATE), FALSE) AS late, t.__gw_late AS kept FROM t"
    bound = bind(sql, {"__gw_late": dt.date(2025, 3, 1)})
    assert "'2025-03-01'" in bound and "t.__gw_late" in bound
    assert CON.execute(bind("SELECT CAST(__gw_late AS DATE) AS d", {"__gw_late": None})).fetchone() == (None,)


def test_strip_accents_lists_match_duckdb() -> None:
    """Spark's stand-in for strip_accents (translate) gives DuckDB's answer letter by letter."""
    import unicodedata

    from gapwatch.engines.dialect import _accents

    marked, base = _accents()
    spark_like = {c: base[i] if i < len(base) else "" for i, c in enumerate(marked)}
    chars = [chr(p) for p in range(0xC0, 0x2100) if unicodedata.category(chr(p)) != "Cn"]
    found = CON.execute("SELECT strip_accents(c) FROM unnest(?) AS t(c)", [chars]).fetchall()
    differ = [c for c, (duck,) in zip(chars, found, strict=True) if duck != spark_like.get(c, c)]
    assert not differ and len(marked) > 500


def test_time_patterns_quote_their_literal_text() -> None:
    from gapwatch.engines.dialect import _java_pattern

    assert _java_pattern("%Y-%m-%dT%H:%M:%SZ") == "yyyy-MM-dd'T'HH:mm:ss'Z'"
    assert _java_pattern("%d/%m/%Y %H:%M") == "dd/MM/yyyy HH:mm"
