"""DuckDB SQL as Spark SQL: one definition of every step, two engines.

gapwatch writes its set-wise steps (mapping, validation, scoring, keys, dedupe) once, as
DuckDB SQL (``adapters/duckdb_mapping`` and friends). The Spark engine runs the same text
after this module has rewritten it with sqlglot: syntax is sqlglot's job, and the few
places where the two engines would *accept different input* or *compute different values*
are rewritten here so that both give the same rows:

* a number cell: DuckDB's ``TRY_CAST(x AS DOUBLE)`` accepts digits with ``_`` separators and
  not Java's ``1d``/``1f`` suffixes; Spark gets a guard with DuckDB's grammar (finite
  decimals only: ``inf``/``nan`` are rejected on both, as the mapping's ``isfinite`` does);
* a time cell: Spark's cast reads ``2025`` or a space before the offset as a time; it gets a
  guard with the ISO 8601 forms DuckDB reads (:data:`TIMESTAMP_FORMS`);
* ``try_strptime`` formats become Java patterns (``try_to_timestamp``);
* ``json_object`` becomes ``to_json(named_struct(..))`` (the session keeps null fields, as
  DuckDB does), ``hash`` a null-aware ``xxhash64``, ``range(n)`` joins Spark's ``range``.

The cross-engine tests (``tests/engines``) run every mapping feature on both engines and
compare reject codes, counts and rows; a construct this module does not know fails there.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.dialects.duckdb import DuckDB
from sqlglot.dialects.spark import Spark
from sqlglot.time import format_time

__all__ = ["NUMBER", "TIMESTAMP_FORMS", "bind", "to_spark"]

# The decimal numbers DuckDB reads (digits may be grouped by single underscores, a "+-" sign
# reads as "-"), with surrounding white space, which both engines' casts ignore.
_DIGITS = r"[0-9](_?[0-9])*"
NUMBER = rf"^\s*(\+-|[+-])?({_DIGITS}(\.({_DIGITS})?)?|\.{_DIGITS})([eE][+-]?{_DIGITS})?\s*$"
# The ISO 8601 forms both engines read alike: a date, optionally a time of day (hour and
# minute of one or two digits, seconds and a fraction optional) and an offset or UTC.
TIMESTAMP_FORMS = (
    r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}"
    r"([T ][0-9]{1,2}:[0-9]{1,2}(:[0-9]{1,2}(\.[0-9]{1,9})?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?| ?UTC)?)?$"
)


def _rlike(this: exp.Expression, pattern: str) -> exp.Expression:
    return exp.RegexpLike(this=this, expression=exp.Literal.string(pattern))


def _inner(node: exp.Expression) -> exp.Expression:
    """``node`` rewritten (a rewritten node's children are not visited again by ``transform``)."""
    return node.transform(_transform)


def _guarded(test: exp.Expression, then: exp.Expression) -> exp.Expression:
    return exp.Case(ifs=[exp.If(this=test, true=then)])


def _call(name: str, *args: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this=name, expressions=list(args))


def _try_cast(node: exp.TryCast) -> exp.Expression:
    to = node.to
    cell = node.this
    if to.is_type("double", "float", "decimal"):
        plain = _call("regexp_replace", cell.copy(), exp.Literal.string("_|\\+(?=-)"), exp.Literal.string(""))
        return _guarded(_rlike(cell, NUMBER), exp.TryCast(this=plain, to=to, safe=True))
    if to.is_type("timestamptz", "timestamp", "timestampltz"):
        ts = exp.DataType.build("timestamp")
        return _guarded(_rlike(cell, TIMESTAMP_FORMS), exp.TryCast(this=cell.copy(), to=ts, safe=True))
    return node


def _java_pattern(fmt: str) -> str:
    """A DuckDB (strftime) format as a Java pattern; literal text quoted (``T`` is no field)."""
    out = []
    for code, text in re.findall(r"(%-?.)|([^%]+)", fmt):
        if code:
            python = format_time(code, DuckDB.TIME_MAPPING, DuckDB.TIME_TRIE)
            out.append(str(format_time(python or code, Spark.INVERSE_TIME_MAPPING, Spark.INVERSE_TIME_TRIE)))
        else:
            out.append("'" + text.replace("'", "''") + "'" if re.search("[A-Za-z']", text) else text)
    return "".join(out)


@lru_cache(maxsize=1)
def _accents() -> tuple[str, str]:
    """``translate`` lists of DuckDB's ``strip_accents``: each letter with marks, its base letter.

    Spark has no such function; a letter whose canonical decomposition is one base letter and
    marks maps to that letter, a mark is dropped (``tests/engines/test_dialect.py`` holds the
    lists to DuckDB's own function on U+00C0…U+20FF).
    """
    marked, base, marks = [], [], []
    for point in range(0xC0, 0x2100):
        char = chr(point)
        if unicodedata.category(char).startswith("M"):
            marks.append(char)  # a mark on its own is dropped (past the end of the second list)
            continue
        bare = "".join(
            c for c in unicodedata.normalize("NFD", char) if not unicodedata.category(c).startswith("M")
        )
        if bare != char and len(bare) == 1:
            marked.append(char)
            base.append(bare)
    return "".join(marked + marks), "".join(base)


# DuckDB writes a DOUBLE as the shortest text that reads back (Python's repr: '2.5', '1e+21',
# '1e-05', '10000000.0'); Spark's cast is Java's (scientific from 1e7 and below 1e-3, '3.0E21').
# Reject sentences show values this way, so Spark's text is brought to DuckDB's.
_DOUBLE_TEXT = r"""CASE WHEN __gw_x IS NULL THEN NULL
 WHEN __gw_x = 0 OR (abs(__gw_x) >= 0.001D AND abs(__gw_x) < 10000000D) THEN CAST(__gw_x AS STRING)
 WHEN abs(__gw_x) >= 1e16D OR abs(__gw_x) < 0.0001D THEN replace(regexp_replace(regexp_replace(
   regexp_replace(CAST(__gw_x AS STRING), '\\.0E', 'E'), 'E([0-9])', 'E+$1'),
   'E([+-])([0-9])$', 'E$10$2'), 'E', 'e')
 ELSE regexp_replace(regexp_replace(CAST(CAST(__gw_x AS DECIMAL(38, 20)) AS STRING), '0+$', ''), '\\.$', '.0')
 END"""
_DOUBLES = ("value", "expected")  # the stage's DOUBLE columns that reject sentences show


def _is_double(node: exp.Expression) -> bool:
    return (isinstance(node, exp.Column) and node.name in _DOUBLES) or isinstance(node, exp.Round)


def _double_text(node: exp.Expression) -> exp.Expression:
    template = sqlglot.parse_one(_DOUBLE_TEXT, read="spark")
    inner = _inner(node)
    return template.transform(
        lambda n: inner.copy() if isinstance(n, exp.Column) and n.name == "__gw_x" else n
    )


def _utc_text(node: exp.TimeToStr) -> exp.Expression:
    """``strftime(t AT TIME ZONE 'UTC', fmt)``: Spark formats in the session zone, so the
    instant is shifted to show its UTC wall time first."""
    at = node.this
    assert isinstance(at, exp.AtTimeZone) and at.args["zone"].name.upper() == "UTC", node.sql()
    shifted = _call("to_utc_timestamp", _inner(at.this), _call("current_timezone"))
    return _call("date_format", shifted, exp.Literal.string(_java_pattern(node.args["format"].name)))


def _epoch(node: exp.TimeToUnix) -> exp.Expression:
    """``epoch(t)``: seconds with the microseconds (Spark's ``unix_timestamp`` drops them)."""
    double = exp.DataType.build("double")
    micros = exp.Cast(this=_call("unix_micros", _inner(node.this)), to=double)
    return exp.Div(this=micros, expression=exp.Cast(this=exp.Literal.number(1_000_000), to=double))


def _not_finite(x: exp.Expression) -> exp.Expression:
    inf = exp.Cast(this=exp.Literal.string("Infinity"), to=exp.DataType.build("double"))
    return exp.Or(
        this=_call("isnan", x.copy()),
        expression=exp.EQ(this=exp.Abs(this=x.copy()), expression=inf),
    )


def _anonymous(node: exp.Anonymous) -> exp.Expression:
    name = str(node.this).lower()
    args = list(node.expressions)
    if name == "prefix":
        return _call("startswith", *args)
    if name == "suffix":
        return _call("endswith", *args)
    if name == "isfinite":
        if isinstance(args[0], exp.Column) and args[0].name == "occurred_at":
            # a time: Spark's have no infinities (the time guard refuses 'infinity')
            return exp.true()
        return exp.Not(this=exp.Paren(this=_not_finite(args[0])))
    if name == "strlen":  # bytes, not characters
        return _call("octet_length", *map(_inner, args))
    if name == "list_position":  # 1-based, NULL when absent (Spark's array_position gives 0)
        found = exp.Cast(this=_call("array_position", *map(_inner, args)), to=exp.DataType.build("int"))
        return exp.Nullif(this=found, expression=exp.Literal.number(0))
    if name == "strip_accents":
        marked, base = _accents()
        return _call("translate", _inner(args[0]), exp.Literal.string(marked), exp.Literal.string(base))
    if name == "hash":
        # Spark's hashes skip NULLs, so (NULL, 'a') and ('a', NULL) would collide: each value
        # is followed by whether it is NULL.
        flagged = [e for a in args for e in (a, exp.Is(this=a.copy(), expression=exp.Null()))]
        return _call("xxhash64", *flagged)
    if name == "json_valid":
        return exp.Not(this=exp.Is(this=_call("try_parse_json", args[0]), expression=exp.Null()))
    if name == "try_strptime":
        pattern = _java_pattern(args[1].name)
        return _call("try_to_timestamp", args[0], exp.Literal.string(pattern))
    return node


# Spark's names of JSON types (schema_of_variant) as DuckDB's json_type() gives them.
_JSON_TYPES = {"STRING": "VARCHAR", "DECIMAL": "DOUBLE", "VOID": "NULL"}


def _json_type(node: exp.JSONType) -> exp.Expression:
    spark_name = _call(
        "regexp_extract",
        _call("schema_of_variant", _call("try_parse_json", node.this)),
        exp.Literal.string("^[A-Z]+"),
        exp.Literal.number(0),
    )
    ifs = [
        exp.If(
            this=exp.EQ(this=spark_name.copy(), expression=exp.Literal.string(k)), true=exp.Literal.string(v)
        )
        for k, v in _JSON_TYPES.items()
    ]
    return exp.Case(ifs=ifs, default=spark_name)


def _spark_path(path: str) -> str:
    """A DuckDB JSON path of one key (``$."a b"``) in Spark's bracket form (``$['a b']``)."""
    if path.startswith('$."') and path.endswith('"'):
        key = path[3:-1].replace('\\"', '"')
        return "$['" + key.replace("'", "\\'") + "']"
    return path


def _json_extract(node: exp.JSONExtractScalar) -> exp.Expression:
    paths = node.expression
    if not isinstance(paths, exp.Array):
        return _call("get_json_object", node.this, exp.Literal.string(_spark_path(paths.name)))
    gets = [
        _call("get_json_object", node.this.copy(), exp.Literal.string(_spark_path(p.name)))
        for p in paths.expressions
    ]
    return exp.Array(expressions=gets)


def _json_object(node: exp.JSONObject) -> exp.Expression:
    pairs = [e for kv in node.expressions for e in (kv.this, kv.expression)]
    return _call("to_json", _call("named_struct", *pairs))


def _transform(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.DPipe) and (_is_double(node.this) or _is_double(node.expression)):
        parts = [_double_text(e) if _is_double(e) else _inner(e) for e in (node.this, node.expression)]
        return exp.DPipe(this=parts[0], expression=parts[1], safe=node.args.get("safe"))
    if isinstance(node, exp.Cast) and node.to.is_type("varchar", "text") and _is_double(node.this):
        return _double_text(node.this)
    if isinstance(node, exp.TimeToStr) and isinstance(node.this, exp.AtTimeZone):
        return _utc_text(node)
    if isinstance(node, exp.TimeToUnix):
        return _epoch(node)
    if isinstance(node, exp.Bracket) and not all(isinstance(e, exp.Literal) for e in node.expressions):
        # a list index computed per row: 1-based in DuckDB and in Spark's element_at (NULL past the end)
        return _call("try_element_at", _inner(node.this), *map(_inner, node.expressions))
    if isinstance(node, exp.CTE) and node.args.get("materialized"):
        node.set("materialized", None)  # a hint to DuckDB's planner; Spark plans a CTE itself
        return node
    if isinstance(node, exp.TryCast):
        return _try_cast(node)
    if isinstance(node, exp.Anonymous):
        return _anonymous(node)
    if isinstance(node, exp.JSONObject):
        return _json_object(node)
    if isinstance(node, exp.JSONType):
        return _json_type(node)
    if isinstance(node, exp.JSONExtractScalar):
        return _json_extract(node)
    if isinstance(node, exp.Cast) and node.to.is_type("json"):
        return _transform(node.this)  # Spark has no JSON type: the text is the value
    if isinstance(node, exp.Table) and isinstance(node.this, exp.GenerateSeries):
        series = node.this
        ranged = _call("range", series.args["start"], series.args["end"])
        return exp.Table(this=ranged, alias=node.args.get("alias"))
    return node


@lru_cache(maxsize=256)
def to_spark(sql: str) -> str:
    """The Spark SQL text of a DuckDB query (parameters ``$x`` become ``:x``)."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    return tree.transform(_transform).sql(dialect="spark")


def _literal(value: Any) -> exp.Expression:
    if isinstance(value, dt.datetime):  # an instant (naive: UTC), as TIMESTAMPTZ in UTC
        utc = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
        return exp.Cast(this=exp.Literal.string(utc.isoformat()), to=exp.DataType.build("timestamptz"))
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return exp.Cast(this=exp.Literal.string(value.isoformat()), to=exp.DataType.build("date"))
    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | float):
        return exp.Literal.number(value)
    return exp.Literal.string(str(value))


def bind(sql: str, values: Mapping[str, Any]) -> str:
    """``sql`` (DuckDB) with the macro arguments named in ``values`` replaced by literals.

    The stage query of an ingest is a table macro whose arguments (the last closed day, …)
    are bare names in its text; outside the macro they are bound here. A key with a ``$``
    binds a query parameter of that name (``$lo``) the same way.
    """
    if not values:
        return sql

    def swap(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column) and not node.table and node.name in values:
            return _literal(values[node.name])
        if isinstance(node, exp.Placeholder) and f"${node.name}" in values:
            return _literal(values[f"${node.name}"])
        return node

    return sqlglot.parse_one(sql, read="duckdb").transform(swap).sql(dialect="duckdb")
