"""Try a source mapping on the first rows of a real file before anything is stored.

``gapwatch check --sample FILE --source S`` runs the whole ingest path (mapping, validation,
scoring) on the file's first rows in a throw-away in-memory store, then reports what would be
accepted, what would be rejected and why (with examples), and a hint for the mistakes a
mapping of a real export usually has: a time column read as a number, segment labels that are
not declared, a span whose columns are swapped, a moment without an expectation.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gapwatch.config.schema import WorkspaceConfig
from gapwatch.ingest.files import ingest_file
from gapwatch.ingest.rejects import list_rejected
from gapwatch.sqlport import rows

__all__ = ["SampleCheck", "check_sample"]

SAMPLE_ROWS = 1000
EXAMPLES = 3


@dataclass
class SampleCheck:
    """What the mapping would do to the sample: counts, reasons with examples and hints, segments."""

    source: str
    file: str
    rows: int
    accepted: int
    rejected: int
    reasons: dict[str, int]
    examples: dict[str, list[dict[str, Any]]]
    hints: dict[str, str]
    segments: dict[str, int] = field(default_factory=dict)
    open_promises: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "file": self.file,
            "rows": self.rows,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "reasons": self.reasons,
            "examples": self.examples,
            "hints": self.hints,
            "segments": self.segments,
            "open_promises": self.open_promises,
        }


def check_sample(
    config: WorkspaceConfig, path: str | Path, source: str, *, rows_wanted: int = SAMPLE_ROWS
) -> SampleCheck:
    """Run ``source``'s mapping on the first ``rows_wanted`` rows of ``path``; nothing is kept.

    Raises :class:`~gapwatch.ingest.files.IngestError` when the file cannot be used at all.
    """
    from gapwatch.adapters.duckdb_store import DuckDBStore

    with DuckDBStore(timezone=config.workspace.timezone) as store:
        result = ingest_file(store, path, source, config=config, max_rows=rows_wanted)
        con = store.reader()
        found = list_rejected(con, limit=10_000)
        examples: dict[str, list[dict[str, Any]]] = {}
        for r in sorted(found, key=lambda r: r.row_number or 0):
            picked = examples.setdefault(r.reason_code, [])
            if len(picked) < EXAMPLES:
                picked.append({"row": r.row_number, "value": r.value, "reason": r.reason})
        segments = {
            str(r["segment"]): int(r["n"])
            for r in rows(con, "SELECT segment, count(*) AS n FROM experiences GROUP BY 1 ORDER BY 2 DESC, 1")
        }
        open_ = rows(con, "SELECT count(*) AS n FROM experiences WHERE value IS NULL")[0]["n"]
        hints = {code: _hint(code, con, config, source) for code in result.counts.reasons}
    return SampleCheck(
        source,
        Path(path).name,
        result.counts.rows,
        result.accepted,
        result.rejected,
        dict(sorted(result.counts.reasons.items(), key=lambda kv: -kv[1])),
        examples,
        {k: v for k, v in hints.items() if v},
        segments,
        int(open_),
    )


def _values(con: Any, code: str) -> list[str]:
    found = rows(
        con,
        "SELECT value, count(*) AS n FROM rejected WHERE reason_code = ? AND value IS NOT NULL"
        " GROUP BY value ORDER BY n DESC, value",
        [code],
    )
    return [str(r["value"]) for r in found]


def _looks_like_times(values: list[str]) -> bool:
    def is_time(text: str) -> bool:
        try:
            dt.datetime.fromisoformat(text.strip().replace(" ", "T", 1))
        except ValueError:
            return False
        return True

    return bool(values) and sum(is_time(v) for v in values) >= max(1, len(values) // 2)


def _hint(code: str, con: Any, config: WorkspaceConfig, source: str) -> str:
    values = _values(con, code)
    if code == "bad_value" and _looks_like_times(values):
        return (
            f"the value holds dates and times (e.g. {values[0]!r}), not numbers: derive a duration "
            "with value: {between: [start_column, end_column], unit: days} (or hours, minutes)"
        )
    if code in ("unknown_segment", "unmapped_label") and values:
        shown = ", ".join(values[:10]) + (f" … ({len(values)} labels)" if len(values) > 10 else "")
        return (
            f"labels not declared: {shown}. Declare them under segments (and map them), or take them "
            "from the data: segment: {column: <column>, labels: auto, max: 100}"
        )
    if code == "negative_span":
        return "the end comes before the start: are the two columns of 'between' swapped?"
    if code == "missing_timestamp" and _has_promise(config, source):
        return (
            "rows without an outcome time: with expected: {between: [start, promised]} an empty outcome "
            "is an open promise (missed once due); map occurred_at to the outcome column"
        )
    if code == "no_expectation":
        return "declare an expectation (for the segment, or for 'all') in force on these days"
    if code == "too_many_segments":
        return "more labels than labels: auto admits: raise max, or map the labels to fewer segments"
    return ""


def _has_promise(config: WorkspaceConfig, source: str) -> bool:
    spec = config.sources.get(source)
    return spec is not None and any(e.expected is not None and e.expected.between for e in spec.experiences)
