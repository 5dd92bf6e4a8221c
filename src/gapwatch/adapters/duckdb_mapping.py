"""Compile a source mapping into one DuckDB query over a chunk of raw rows.

The query turns every row into its candidate experiences (or outcome) set-wise: cells are
trimmed, labels mapped, numbers and timestamps parsed with ``TRY_CAST`` (a bad cell gives a
rejection code, never an error), and each candidate gets the first rule it breaks, in the
order of :class:`~gapwatch.domain.experience.RejectCode`, with a sentence naming the column
and the bad value. Scoring and dedupe come after (``duckdb_ingest``).
"""

from __future__ import annotations

from dataclasses import dataclass

from gapwatch.adapters.duckdb_derived import (
    SEGMENT_KEY,
    Times,
    late_sql,
    parse_time,
    segment_key_sql,
    span_sql,
)
from gapwatch.adapters.duckdb_sql import ident, in_list, lit, shown
from gapwatch.config.schema import FieldSpec
from gapwatch.domain.bounds import MAX_IDENTIFIER, MAX_MAGNITUDE, IdCase, normalised_id_sql
from gapwatch.domain.experience import (
    ALL_SEGMENTS,
    EVENT_ID_JOIN,
    MAX_EVENT_ID,
    MAX_TEXT,
    METRIC_SUFFIX,
    IngestJob,
    JsonType,
    RejectCode,
)

ROW = "__gw_row"
# The accepted event-time window: arguments of the stage macro (``duckdb_ingest``), or columns
# of the chunk when the sentences of rejects are computed.
EARLIEST, LATEST = "__gw_lo", "__gw_hi"
PROMISE_AHEAD_DAYS = 366  # how far past the window an open promise may fall due
TYPES = "__gw_types"  # the JSON types of the typed cells, as one JSON list (JSON lines of the record)
# json_type() names of each JSON type of the record (NULL: absent, 'NULL': null).
JSON_TYPES: dict[JsonType, tuple[str, ...]] = {
    "string": ("VARCHAR",),
    "number": ("BIGINT", "UBIGINT", "DOUBLE", "HUGEINT"),
    "object": ("OBJECT",),
}
# An offset after a time of day ("…10:00:00+05:30"): it must lie within ±14:00 (RFC 3339 / ISO 8601;
# DuckDB would read +25:00 or -99:99 as a shift of days).
_SIGNED = r"\d:\d{2}(:\d{2}([.,]\d*)?)?\s*[+-]"
_OFFSET = r"\d:\d{2}(:\d{2}([.,]\d*)?)?\s*[+-]((0\d|1[0-3])(:?[0-5]\d)?|14(:?00)?)$"
# Columns every stage query yields (experience sources add moment, segment, metric, expected, text).
STAGED = (
    f"{ROW}, entry, code, message, bad_value, event_id, customer_id, anonymous_id, occurred_at, period, "
    "value, "
    "attributes"
)
OK = "__gw_ok"


@dataclass(frozen=True, slots=True)
class Field:
    """One mapped field: its value (VARCHAR), its raw cell, whether its label is unmapped."""

    sql: str
    raw: str
    unmapped: str
    where: str


@dataclass(frozen=True, slots=True)
class Check:
    code: RejectCode
    when: str
    message: str
    shown: str = "NULL"  # the offending cell (what ``gapwatch rejected`` shows as the value)


def _trim(cell: str) -> str:
    """``NULLIF(trim(cell), '')``; ``trim`` runs only on a cell that starts or ends with a blank.

    Most cells have none, and two byte tests are much cheaper than ``trim`` on every cell.
    """
    blank = f"prefix({cell}, ' ') OR suffix({cell}, ' ')"
    return f"NULLIF(CASE WHEN {blank} THEN trim({cell}) ELSE {cell} END, '')"


class Cells:
    """Trimmed text of every column the mapping reads, computed once per row."""

    def __init__(self, columns: list[str], id_case: IdCase = "lower") -> None:
        self.alias = {name: f"__gw_c{i}" for i, name in enumerate(dict.fromkeys(columns))}
        self.id_case = id_case
        self._trimmed: set[str] = set()
        self._ids: set[str] = set()

    def trimmed(self, name: str) -> str:
        """The cell without surrounding blanks (NULL when blank), computed once per row."""
        self._trimmed.add(name)
        return self.alias[name].replace("__gw_c", "__gw_t")

    def identifier(self, name: str) -> str:
        """The cell as an identifier: every blank of either end stripped, the source's case rule."""
        self._ids.add(name)
        return self.alias[name].replace("__gw_c", "__gw_i")

    def _identifier_sql(self, name: str) -> str:
        # The one normalisation of customer and anonymous ids, before keying, before the
        # suppression check, and in every lookup by id (``customers/``), so a padded, tabbed
        # or differently cased id is the same customer.
        return f"({normalised_id_sql(f'CAST({ident(name)} AS VARCHAR)', self.id_case)})"

    def select(self) -> str:
        # Only '' is made NULL in every cell: trimming all of them costs more than parsing,
        # and TRY_CAST to a number ignores surrounding blanks anyway. Labels and times get a
        # trimmed twin, used wherever they are compared; ids their normalised one.
        plain = [f"NULLIF(CAST({ident(n)} AS VARCHAR), '') AS {a}" for n, a in self.alias.items()]
        trimmed = [
            f"{_trim(f'CAST({ident(n)} AS VARCHAR)')} AS {self.trimmed(n)}" for n in sorted(self._trimmed)
        ]
        ids = [f"{self._identifier_sql(n)} AS {self.identifier(n)}" for n in sorted(self._ids)]
        return ", ".join(plain + trimmed + ids)

    def select_identifiers(self, names: list[str]) -> str:
        """Only the normalised ids of ``names`` (a narrow select is much cheaper to plan)."""
        return ", ".join(f"{self._identifier_sql(n)} AS {self.identifier(n)}" for n in names)

    def times(self, spec: FieldSpec) -> Times:
        """The two time cells of a ``between`` or ``late`` field."""
        start, end = spec.between or spec.late or ("", "")
        a, b = self.trimmed(start), self.trimmed(end)
        return Times(a, b, parse_time(a, spec.format), parse_time(b, spec.format), start, end)

    def field(
        self,
        spec: FieldSpec | None,
        fallback: str | None = None,
        *,
        trim: bool = True,
        identifier: bool = False,
    ) -> Field:
        """Compile one field spec; ``fallback`` is the value when the spec is absent or empty."""
        if spec is None:
            return Field(lit(fallback), "NULL", "FALSE", "the mapping's default")
        if spec.derived:
            times = self.times(spec)
            return Field(times.raw, times.raw, "FALSE", times.where)
        if spec.column is None:
            constant = lit(str(spec.value))
            value = normalised_id_sql(constant, self.id_case) if identifier else constant
            return Field(f"({value})", constant, "FALSE", "the mapping's constant")
        if identifier:
            cell = self.identifier(spec.column)
        elif trim or spec.map is not None:
            cell = self.trimmed(spec.column)
        else:
            cell = self.alias[spec.column]
        where = f"column '{spec.column}'"
        # `default` stands for an empty cell and for a label the map does not know; without
        # one, an empty cell takes the field's fallback and an unknown label is rejected.
        empty = spec.default if spec.default is not None else fallback
        if spec.map is None:
            value = cell if empty is None else f"coalesce({cell}, {lit(empty)})"
            return Field(value, cell, "FALSE", where)
        cases = " ".join(
            f"WHEN {lit(k)} THEN {lit(None if v is None else str(v))}" for k, v in spec.map.items()
        )
        lookup = f"(CASE {cell} {cases} ELSE {lit(spec.default)} END)"
        mapped = f"(CASE WHEN {cell} IS NULL THEN {lit(empty)} ELSE {lookup} END)"
        unmapped = (
            "FALSE"
            if spec.default is not None
            else f"({cell} IS NOT NULL AND NOT {in_list(cell, list(spec.map))})"
        )
        return Field(mapped, cell, unmapped, where)


def mapped_columns(job: IngestJob) -> list[str]:
    """Every column of the file the mapping reads (a missing one makes the file unusable)."""
    src = job.source
    specs = [src.customer_id, src.anonymous_id, src.occurred_at, src.moment, src.segment, src.text, src.value]
    for entry in src.experiences:
        specs += [entry.metric, entry.value, entry.expected]
    columns = list(src.event_id) + [c for s in specs if s is not None for c in s.columns]
    return list(dict.fromkeys([*columns, *src.attributes]))


def _number(field: Field, spec: FieldSpec | None, cells: Cells | None = None) -> str:
    if spec is not None and cells is not None and spec.derived:
        times = cells.times(spec)
        return span_sql(times, spec) if spec.between is not None else late_sql(times)
    scale = f" * {lit(float(spec.scale))}" if spec is not None and spec.scale is not None else ""
    return f"(TRY_CAST({field.sql} AS DOUBLE){scale})"


def _timestamp(field: Field, spec: FieldSpec) -> str:
    return parse_time(field.sql, spec.format)


def _watched(moment_metrics: dict[str, tuple[str, ...]]) -> str:
    """Whether ``metric`` is watched at ``moment`` (no string built per row)."""
    cases = " ".join(
        f"WHEN {lit(m)} THEN {in_list('metric', metrics)}" for m, metrics in moment_metrics.items()
    )
    return f"coalesce(CASE moment {cases} END, FALSE)" if cases else "FALSE"


def _outside(column: str, domains: dict[str, tuple[float, float]]) -> str:
    """Whether ``column`` lies outside its metric's domain (FALSE when NULL or undeclared).

    The bounds are looked up in two constant lists, not a CASE over every metric: a small
    expression is cheaper for DuckDB to plan on every chunk of a live request.
    """
    if not domains:
        return "FALSE"
    names = "[" + ", ".join(lit(m) for m in domains) + "]"
    lows = "[" + ", ".join(lit(lo) for lo, _ in domains.values()) + "]"
    highs = "[" + ", ".join(lit(hi) for _, hi in domains.values()) + "]"
    at = f"list_position({names}, metric)"
    return f"coalesce({column} < {lows}[{at}] OR {column} > {highs}[{at}], FALSE)"


def _domain_text(domains: dict[str, tuple[float, float]]) -> str:
    if not domains:
        return "''"
    cases = " ".join(f"WHEN {lit(m)} THEN {lit(f'{lo:g}..{hi:g}')}" for m, (lo, hi) in domains.items())
    return f"coalesce(CASE metric {cases} END, '')"


def _bad_number(raw: str, num: str) -> str:
    return f"({raw} IS NOT NULL AND ({num} IS NULL OR NOT isfinite({num})))"


def _unmapped(raw: str, where: str, what: str) -> str:
    """Message for a label the map does not know; ``where`` is a SQL expression."""
    return f"'the label ' || {shown(raw)} || ' in ' || {where} || ' ({what}) is not in the mapping''s map'"


class Compiler:
    """Build the stage query of one ingest job; ``relation`` holds the chunk's raw cells."""

    def __init__(self, job: IngestJob, relation: str, *, messages: bool = True) -> None:
        self.job = job
        self.relation = relation
        # Without messages only the reject code is computed: the sentences are long SQL that
        # every small chunk would pay to plan, and only rejected rows need them (see
        # ``duckdb_ingest``, which computes them again, with the sentences, when a chunk has any).
        # The window's bounds are then bound parameters ($lo, $hi) instead of macro arguments.
        self.messages = messages
        self.cells = Cells(mapped_columns(job), job.id_case)
        src = job.source
        self.customer = self.cells.field(src.customer_id, identifier=True)
        self.anonymous = self.cells.field(src.anonymous_id, identifier=True)
        self.when = self.cells.field(src.occurred_at)
        self.ts = _timestamp(self.when, src.occurred_at)

    def _event_id(self) -> str:
        parts = [self.cells.trimmed(c) for c in self.job.source.event_id]
        missing = " OR ".join(f"{p} IS NULL" for p in parts)
        if len(parts) == 1:
            return parts[0]
        joined = f" || {lit(EVENT_ID_JOIN)} || ".join(parts)
        return f"(CASE WHEN {missing} THEN NULL ELSE {joined} END)"

    def _no_customer(self) -> str:
        given = [
            (f, what)
            for f, what in ((self.customer, "customer id"), (self.anonymous, "anonymous id"))
            if f.sql != "NULL"
        ]
        parts = " and ".join(f"the {what} ({f.where})" for f, what in given)
        return f"no customer: {parts} {'is' if len(given) == 1 else 'are both'} empty"

    def _typed(self) -> list[tuple[str, JsonType]]:
        """The typed cells (JSON lines only): each column with the JSON type it must have."""
        return list(self.job.types) if self.job.layout == "jsonl" else []

    def _type_check(self) -> Check:
        """Each typed cell has its JSON type (or is null / absent): one regular expression over
        the list of types, a small expression to plan on every chunk; the sentence names the field."""
        typed = self._typed()
        allowed = [
            "(" + "|".join(['"NULL"', "null", *(f'"{t}"' for t in JSON_TYPES[kind])]) + ")"
            for _, kind in typed
        ]
        pattern = r"\[" + ",".join(allowed) + r"\]"
        which = "CASE " + " ".join(
            f"WHEN coalesce(json_extract_string({TYPES}, '$[{i}]'), 'NULL') NOT IN "
            f"('NULL', {', '.join(lit(t) for t in JSON_TYPES[kind])}) "
            f"THEN {lit(f'{column} must be a {kind}, not ')} || lower(json_extract_string({TYPES}, '$[{i}]'))"
            for i, (column, kind) in enumerate(typed)
        )
        return Check(RejectCode.BAD_TYPE, f"NOT regexp_full_match({TYPES}, {lit(pattern)})", f"{which} END")

    def _bad_time(self) -> str:
        """A time that did not parse, is infinite, or has an offset beyond ±14:00.

        ``occurred_at`` is the time judged at (an open promise's due time when nothing was
        observed yet); ``__gw_at`` is the observed cell, which must parse when it is given.
        """
        bad = (
            "occurred_at IS NULL OR NOT isfinite(occurred_at) "
            "OR (__gw_at IS NULL AND __gw_ts_raw IS NOT NULL)"
        )
        if self.job.source.occurred_at.format:
            return bad
        # Only a time with a sign after its hour is read again (most have Z or no offset): the
        # cheap test of the characters after the date spares the regular expressions.
        signed = "(contains(substr(__gw_ts_raw, 11), '+') OR contains(substr(__gw_ts_raw, 14), '-'))"
        return (
            f"{bad} OR ({signed} AND regexp_matches(__gw_ts_raw, {lit(_SIGNED)}) "
            f"AND NOT regexp_matches(__gw_ts_raw, {lit(_OFFSET)}))"
        )

    def _window(self) -> tuple[str, str]:
        if self.messages:
            return "$lo::TIMESTAMPTZ", "$hi::TIMESTAMPTZ"
        return EARLIEST, LATEST

    def _window_checks(self) -> list[Check]:
        lo, hi = self._window()

        def utc(expr: str) -> str:
            return f"strftime({expr} AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ')"

        shown_at = utc("occurred_at")
        return [
            Check(
                RejectCode.TOO_EARLY,
                f"occurred_at < {lo}",
                f"'occurred_at ' || {shown_at} || ' is before the accepted window (from ' || "
                f"{utc(lo)} || ': the workspace''s start minus its history)'",
                shown_at,
            ),
            Check(
                RejectCode.IN_FUTURE,
                # An open promise (nothing observed yet) is judged when it falls due: its due time
                # may lie ahead, up to a year, not further (it would be pending for ever).
                f"CASE WHEN __gw_at IS NULL THEN occurred_at > {hi} + INTERVAL {PROMISE_AHEAD_DAYS} DAY "
                f"ELSE occurred_at > {hi} END",
                f"'occurred_at ' || {shown_at} || ' is ahead of the clock (accepted up to ' || "
                f"{utc(hi)} || CASE WHEN __gw_at IS NULL "
                f"THEN ', a promise up to {PROMISE_AHEAD_DAYS} days later' ELSE '' END || ')'",
                shown_at,
            ),
        ]

    def _common_checks(self) -> list[Check]:
        cols = ", ".join(f"'{c}'" for c in self.job.source.event_id)
        fmt = self.job.source.occurred_at.format
        hint = (
            f"expected format {fmt}"
            if fmt
            else "ISO 8601 expected, e.g. 2025-03-01T14:30:00+01:00; offsets within ±14:00"
        )
        checks = []
        if self.job.layout == "jsonl":
            checks.append(Check(RejectCode.NOT_JSON, f"NOT {OK}", lit("the line is not a JSON object")))
        if self._typed():
            checks.append(self._type_check())
        ids = [
            c
            for f, c in ((self.customer, "customer_id"), (self.anonymous, "anonymous_id"))
            if f.sql != "NULL"
        ]
        # strlen (bytes, read off the string's header) >= length (characters, counted): the
        # count runs only for the rare id that could be too long.
        too_long = (
            " OR ".join(
                f"coalesce(strlen({c}) > {MAX_IDENTIFIER} AND length({c}) > {MAX_IDENTIFIER}, FALSE)"
                for c in ids
            )
            or "FALSE"
        )
        longest = ", ".join(f"coalesce(length({c}), 0)" for c in ids) or "0"
        return [
            *checks,
            Check(
                RejectCode.MISSING_EVENT_ID,
                "__gw_eid IS NULL",
                lit(f"the event id is empty (column(s) {cols})"),
            ),
            Check(
                RejectCode.EVENT_ID_TOO_LONG,
                f"length(event_id) > {MAX_EVENT_ID}",
                f"'the event id ' || {shown('event_id', 40)} || '... is ' || length(event_id) || "
                f"' characters long; at most {MAX_EVENT_ID} are allowed'",
                "left(event_id, 40)",
            ),
            Check(
                RejectCode.ID_TOO_LONG,
                too_long,
                f"'a customer or anonymous id is longer than {MAX_IDENTIFIER} characters (' "
                f"|| greatest({longest}, 0) || ')'",
            ),
            Check(
                RejectCode.UNMAPPED_LABEL,
                self.customer.unmapped,
                _unmapped(self.customer.raw, lit(self.customer.where), "customer id"),
            ),
            Check(
                RejectCode.MISSING_CUSTOMER,
                "customer_id IS NULL AND anonymous_id IS NULL",
                lit(self._no_customer()),
            ),
            Check(
                RejectCode.MISSING_TIMESTAMP,
                # an open promise without its own time is judged at its due time
                "__gw_ts_raw IS NULL AND occurred_at IS NULL",
                lit(f"occurred_at is empty ({self.when.where})"),
            ),
            Check(
                RejectCode.BAD_TIMESTAMP,
                self._bad_time(),
                f"'occurred_at ' || {shown('__gw_ts_raw')} || ' in ' || {lit(self.when.where)} || "
                f"' is not a date and time ({hint})'",
                "__gw_ts_raw",
            ),
            *self._window_checks(),
        ]

    def _row_fields(self) -> list[str]:
        attrs = self.job.source.attributes
        attributes = (
            "json_object(" + ", ".join(f"{lit(a)}, {self.cells.alias[a]}" for a in attrs) + ")"
            if attrs
            else "NULL"
        )
        return [
            f"{self._event_id()} AS __gw_eid",
            f"{self.customer.sql} AS customer_id",
            f"{self.anonymous.sql} AS anonymous_id",
            f"{self.when.sql} AS __gw_ts_raw",
            f"{self.ts} AS __gw_at",
            f"{attributes}::JSON AS attributes",
        ]

    def sql(self) -> str:
        """The stage query: one row per candidate, with its first broken rule (or NULL)."""
        raise NotImplementedError

    def _inner(self) -> str:
        extra = [OK] if self.job.layout == "jsonl" else []
        extra += [TYPES] if self._typed() else []
        picks = "".join(f", {e}" for e in extra)
        return f"SELECT {ROW}{picks}, {self.cells.select()} FROM {self.relation}"

    def ids_sql(self) -> str:
        """Distinct (id, kind) of the chunk's customer and anonymous ids, to key them once.

        An id over the length limit gets no key (its row is rejected, and no identity is kept).
        """
        src = self.job.source
        columns = sorted({f.column for f in (src.customer_id, src.anonymous_id) if f and f.column})
        if columns:  # normalised once per distinct cell, not once per row
            cells = ", ".join(ident(c) for c in columns)
            ids = self.cells.select_identifiers(columns)
            inner = f"SELECT {ids} FROM (SELECT DISTINCT {cells} FROM {self.relation})"
        else:  # (constant ids)
            inner = f"SELECT 1 AS __gw_one FROM {self.relation}"
        parts = [
            f"SELECT DISTINCT {f.sql} AS id, {lit(kind)} AS kind FROM ({inner})"
            for f, kind in ((self.customer, "customer"), (self.anonymous, "anonymous"))
            if f.sql != "NULL"
        ]
        union = " UNION ALL ".join(parts) if parts else "SELECT NULL::VARCHAR AS id, NULL AS kind"
        # Materialised first: a filter pushed below the DISTINCT would normalise every id three times.
        return (
            f"WITH __gw_ids AS MATERIALIZED ({union}) "
            f"SELECT id, kind FROM __gw_ids WHERE id IS NOT NULL AND length(id) <= {MAX_IDENTIFIER}"
        )

    def _assemble(
        self,
        fields: list[str],
        outer: list[str],
        checks: list[Check],
        entries: int,
        rows: tuple[list[str], ...] = (),
    ) -> str:
        """The nested stage: cells → row fields (→ ``rows`` layers) → one row per entry → checks.

        ``outer`` must define ``occurred_at`` (the time an experience is judged at).
        """
        inner = f"SELECT *, {', '.join(fields)} FROM ({self._inner()})"
        for layer in rows:  # window layers over the rows (e.g. ranking new segment labels)
            inner = f"SELECT *, {', '.join(layer)} FROM ({inner})"
        # The first broken rule's number, then its code and sentence: several rules share a
        # code (an unmapped label of the segment or of the metric) but not a sentence.
        first = "CASE " + " ".join(f"WHEN {c.when} THEN {i}" for i, c in enumerate(checks)) + " END"
        code = "CASE __gw_check " + " ".join(
            f"WHEN {i} THEN {lit(c.code.value)}" for i, c in enumerate(checks)
        )
        message = "CASE __gw_check " + " ".join(f"WHEN {i} THEN {c.message}" for i, c in enumerate(checks))
        message = f"{message} END" if self.messages else "NULL::VARCHAR"
        bad = "CASE __gw_check " + " ".join(f"WHEN {i} THEN {c.shown}" for i, c in enumerate(checks))
        bad = f"CAST({bad} END AS VARCHAR)" if self.messages else "NULL::VARCHAR"
        expand = "" if entries <= 1 else f" CROSS JOIN range({entries}) AS __gw_e(__gw_entry)"
        entry = "0" if entries <= 1 else "__gw_entry"
        return (
            f"SELECT *, {code} END AS code, {message} AS message, {bad} AS bad_value FROM ("
            f"SELECT *, {first} AS __gw_check FROM ("
            f"SELECT *, CAST(occurred_at AS DATE) AS period FROM ("
            f"SELECT *, {entry}::INTEGER AS entry, {', '.join(outer)} FROM ("
            f"{inner}){expand})))"
        )


@dataclass(frozen=True, slots=True)
class Entry:
    """One ``experiences`` entry of the mapping, compiled.

    ``due`` is the moment a promise in time falls due (an ``expected: {between: …}``'s end,
    a ``late`` value's promise), NULL without one; ``outcome`` is the time the promise was
    kept or broken (the value's end time; NULL when unknown) and ``outcome_raw`` its cell,
    empty while the promise is open.
    """

    metric: Field
    value: Field
    expected: Field
    number: str
    expected_number: str
    present: str
    due: str = "NULL"
    outcome: str = "NULL"
    outcome_raw: str = "NULL"
    span: bool = False  # the value is a ``between`` span (a negative one is rejected)
    expected_span: bool = False


LABELS = "__gw_labels"  # the source's segment labels stored so far (auto labels; made per chunk)


def _per_entry(items: list[str], column: str = "entry") -> str:
    """The i-th item for entry i (a plain item when there is one entry)."""
    if len(items) == 1:
        return items[0]
    return f"CASE {column} " + " ".join(f"WHEN {i} THEN {s}" for i, s in enumerate(items)) + " END"


class ExperienceCompiler(Compiler):
    """The stage query of an experience source: one row per candidate experience."""

    def sql(self) -> str:
        src = self.job.source
        moment = self.cells.field(src.moment)
        segment = self._segment()
        text = self.cells.field(src.text, trim=False)
        entries = [self._entry(i) for i in range(len(src.experiences))]
        fields = [
            *self._row_fields(),
            f"{moment.sql} AS moment",
            f"{segment.sql} AS segment",
            f"{text.sql} AS text",
        ]
        for i, e in enumerate(entries):
            open_ = f"({e.due} IS NOT NULL AND {e.outcome_raw} IS NULL)"
            broken = (
                f"(CASE WHEN {e.due} IS NOT NULL AND ({open_} OR {e.outcome} > {e.due}) THEN {e.due} END)"
            )
            fields += [
                f"{e.metric.sql} AS __gw_m{i}",
                f"{e.value.sql} AS __gw_v{i}",
                f"{e.number} AS __gw_n{i}",
                f"{e.expected.sql} AS __gw_x{i}",
                f"{e.expected_number} AS __gw_xn{i}",
                f"{e.present} AS __gw_p{i}",
                f"{e.due} AS __gw_due{i}",
                f"{open_} AS __gw_o{i}",
                f"{broken} AS __gw_br{i}",
            ]
        n = len(entries)

        def pick(prefix: str) -> str:
            return _per_entry([f"{prefix}{i}" for i in range(n)], "__gw_entry")

        event_id = (
            "__gw_eid" if n == 1 else f"__gw_eid || {lit(METRIC_SUFFIX)} || coalesce({pick('__gw_m')}, '?')"
        )
        none = " AND ".join(f"NOT __gw_p{i}" for i in range(n))
        outer = [
            f"{pick('__gw_m')} AS metric",
            f"{pick('__gw_v')} AS __gw_value_raw",
            f"{pick('__gw_n')} AS value",
            f"{pick('__gw_x')} AS __gw_expected_raw",
            f"{pick('__gw_xn')} AS expected",
            f"{event_id} AS event_id",
            f"({none}) AS __gw_none",
            f"CAST({pick('__gw_due')} AS TIMESTAMPTZ) AS due_at",
            f"coalesce({pick('__gw_o')}, FALSE) AS __gw_open",
            # a broken (or still open) promise is judged when it fell due
            f"coalesce({pick('__gw_br')}, __gw_at) AS occurred_at",
        ]
        checks = [
            *self._common_checks(),
            *self._vocabulary_checks(moment, segment, entries),
            *self._value_checks(entries, text),
        ]
        query = self._assemble(fields, outer, checks, n, self._label_layers())
        keep = " OR ".join(f"(entry = {i} AND __gw_p{i})" for i in range(n))
        return (
            f"SELECT {STAGED}, moment, segment, metric, expected, text, due_at FROM ({query}) "
            f"WHERE {keep} OR (entry = 0 AND __gw_none)"
        )

    def _auto(self) -> bool:
        spec = self.job.source.segment
        return spec is not None and spec.labels == "auto"

    def _segment(self) -> Field:
        """The segment field; with ``labels: auto`` each label becomes a key of its own."""
        spec = self.job.source.segment
        if spec is None or spec.labels != "auto" or spec.column is None:
            return self.cells.field(spec, ALL_SEGMENTS)
        cell = self.cells.trimmed(spec.column)
        label = cell
        if spec.map:
            cases = " ".join(
                f"WHEN {lit(k)} THEN {lit(str(v))}" for k, v in spec.map.items() if v is not None
            )
            label = f"(CASE {cell} {cases} ELSE {cell} END)"
        empty = lit(str(spec.default) if spec.default is not None else ALL_SEGMENTS)
        value = f"(CASE WHEN {cell} IS NULL THEN {empty} ELSE {segment_key_sql(label)} END)"
        return Field(value, cell, "FALSE", f"column '{spec.column}'")

    def _label_layers(self) -> tuple[list[str], ...]:
        """Rank the labels new to the source by their first row (``labels: auto`` only)."""
        if not self._auto():
            return ()
        declared = in_list("segment", self.job.vocabulary.segments)
        return (
            [
                f"NOT ({declared} OR segment IN (SELECT segment FROM {LABELS})) AS __gw_seg_new",
                f"min({ROW}) OVER (PARTITION BY segment) AS __gw_seg_first",
                f"(SELECT count(*) FROM {LABELS} WHERE NOT {declared}) AS __gw_seg_known",
            ],
            [
                "CASE WHEN __gw_seg_new THEN dense_rank() OVER "
                "(PARTITION BY __gw_seg_new ORDER BY __gw_seg_first) END AS __gw_seg_rank",
            ],
        )

    def _segment_checks(self, segment: Field) -> list[Check]:
        vocab = self.job.vocabulary
        spec = self.job.source.segment
        if spec is None or spec.labels != "auto":
            return [
                Check(
                    RejectCode.UNMAPPED_LABEL,
                    segment.unmapped,
                    _unmapped(segment.raw, lit(segment.where), "segment"),
                    segment.raw,
                ),
                Check(
                    RejectCode.UNKNOWN_SEGMENT,
                    f"NOT {in_list('segment', vocab.segments)}",
                    f"'the segment ' || {shown('segment')} || ' from ' || {lit(segment.where)} "
                    "|| ' is not declared in gapwatch.yaml'",
                    segment.raw,
                ),
            ]
        where = lit(segment.where)
        return [
            Check(
                RejectCode.BAD_SEGMENT,
                f"NOT regexp_matches(segment, {lit(SEGMENT_KEY)})",
                f"'the segment label ' || {shown(segment.raw)} || ' in ' || {where} || ' gives no usable "
                "segment name (letters and digits, at most 64 characters)'",
                segment.raw,
            ),
            Check(
                RejectCode.TOO_MANY_SEGMENTS,
                f"coalesce(__gw_seg_known + __gw_seg_rank > {spec.max}, FALSE)",
                f"'the segment label ' || {shown(segment.raw)} || ' in ' || {where} || ' would be label ' "
                f"|| (__gw_seg_known + __gw_seg_rank) || ' of source ' || {lit(repr(self.job.source_name))} "
                f"|| '; labels: auto admits at most {spec.max} (raise max, or map the labels)'",
                segment.raw,
            ),
        ]

    def _entry(self, i: int) -> Entry:
        spec = self.job.source.experiences[i]
        value = self.cells.field(spec.value, trim=False)
        expected = self.cells.field(spec.expected, trim=False)
        column = spec.value.column
        present = (
            "TRUE" if not spec.optional or column is None else f"({self.cells.trimmed(column)} IS NOT NULL)"
        )
        due, outcome, outcome_raw = "NULL", "NULL", value.raw
        if spec.value.derived:
            times = self.cells.times(spec.value)
            outcome, outcome_raw = times.end, times.end_raw
            if spec.value.late is not None:
                due = times.start
        elif column is not None:
            outcome_raw = self.cells.trimmed(column)
        if spec.expected is not None and spec.expected.between is not None:
            promise = self.cells.times(spec.expected)
            # without its start the promise is not stated (its expectation is empty too): an
            # empty outcome is then a missing value, not an open promise due at some other time
            due = f"(CASE WHEN {promise.start_raw} IS NULL THEN NULL ELSE {promise.end} END)"
        return Entry(
            self.cells.field(spec.metric),
            value,
            expected,
            _number(value, spec.value, self.cells),
            _number(expected, spec.expected, self.cells),
            present,
            due,
            outcome,
            outcome_raw,
            spec.value.between is not None,
            spec.expected is not None and spec.expected.between is not None,
        )

    def _vocabulary_checks(self, moment: Field, segment: Field, entries: list[Entry]) -> list[Check]:
        vocab = self.job.vocabulary
        metric_where = _per_entry([lit(e.metric.where) for e in entries])
        empty = ", ".join(e.value.where for e in entries)
        return [
            Check(
                RejectCode.UNMAPPED_LABEL,
                moment.unmapped,
                _unmapped(moment.raw, lit(moment.where), "moment"),
                moment.raw,
            ),
            Check(
                RejectCode.UNKNOWN_MOMENT,
                f"moment IS NULL OR NOT {in_list('moment', tuple(vocab.moment_metrics))}",
                f"'the moment ' || coalesce({shown('moment')}, '(empty)') || ' from ' || {lit(moment.where)} "
                "|| ' is not declared in gapwatch.yaml'",
                "moment",
            ),
            Check(
                RejectCode.MOMENT_NOT_ALLOWED,
                "FALSE" if self.job.moments is None else f"NOT {in_list('moment', self.job.moments)}",
                f"'source ' || {lit(repr(self.job.source_name))} || ' may not post moment ' "
                f"|| {shown('moment')} "
                f"|| ' (it may post: ' || {lit(', '.join(self.job.moments or ()) or 'none')} || ')'",
                "moment",
            ),
            *self._segment_checks(segment),
            Check(
                RejectCode.NO_EXPERIENCE,
                "__gw_none",
                lit(f"the row yields no experience: {empty} are all empty"),
            ),
            Check(
                RejectCode.UNMAPPED_LABEL,
                _per_entry([e.metric.unmapped for e in entries]),
                _unmapped(_per_entry([e.metric.raw for e in entries]), metric_where, "metric"),
                _per_entry([e.metric.raw for e in entries]),
            ),
            Check(
                RejectCode.UNKNOWN_METRIC,
                f"metric IS NULL OR NOT {_watched(vocab.moment_metrics)}",
                f"'the metric ' || coalesce({shown('metric')}, '(empty)') || ' is not watched at moment ' "
                f"|| {shown('moment')}",
                "metric",
            ),
        ]

    def _outside(self, column: str) -> str:
        """Whether ``column`` lies outside its metric's domain.

        A metric the mapping names as a constant (most do) has its bounds inlined: a CASE over
        every declared metric on every row costs a tenth of the stage.
        """
        domains = self.job.vocabulary.domains
        constants = [e.metric.value for e in self.job.source.experiences]
        if not all(c is not None and str(c) in domains for c in constants):
            return _outside(column, domains)
        bounds = [domains[str(c)] for c in constants]
        tests = [f"coalesce({column} < {lit(lo)} OR {column} > {lit(hi)}, FALSE)" for lo, hi in bounds]
        return _per_entry(tests)

    def _bad_value_cell(self, i: int) -> str:
        spec = self.job.source.experiences[i].value
        if not spec.derived:
            return "__gw_value_raw"
        times = self.cells.times(spec)
        return f"(CASE WHEN {times.start} IS NULL THEN {times.start_raw} ELSE {times.end_raw} END)"

    def _bad_value_message(self, i: int, where: str) -> str:
        spec = self.job.source.experiences[i].value
        if not spec.derived:
            return f"'the value ' || {shown('__gw_value_raw')} || ' in ' || {where} || ' is not a number'"
        times = self.cells.times(spec)
        both = f"coalesce({shown(times.start_raw, 40)}, '(empty)') || ' and ' || {shown(times.end_raw, 40)}"
        return (
            f"'the times ' || {both} || ' (' || {where} || ') are not both dates and times "
            "(ISO 8601 expected, e.g. 2025-03-01T14:30:00+01:00)'"
        )

    def _value_checks(self, entries: list[Entry], text: Field) -> list[Check]:
        value_where = _per_entry([lit(e.value.where) for e in entries])
        expected_where = _per_entry([lit(e.expected.where) for e in entries])
        bad_value = _per_entry(
            [self._bad_value_message(i, lit(e.value.where)) for i, e in enumerate(entries)]
        )
        span = _per_entry(["TRUE" if e.span else "FALSE" for e in entries])
        expected_span = _per_entry(["TRUE" if e.expected_span else "FALSE" for e in entries])
        return [
            Check(
                RejectCode.MISSING_VALUE,
                "__gw_value_raw IS NULL AND NOT __gw_open",
                f"'the value of metric ' || {shown('metric')} || ' is empty (' || {value_where} || ')'",
            ),
            Check(
                RejectCode.BAD_VALUE,
                "NOT __gw_open AND (value IS NULL OR NOT isfinite(value))",
                bad_value,
                _per_entry([self._bad_value_cell(i) for i in range(len(entries))]),
            ),
            Check(
                RejectCode.NEGATIVE_SPAN,
                f"({span}) AND coalesce(value < 0, FALSE)",
                f"'the value of metric ' || {shown('metric')} || ' is ' || round(value, 3) || ' (' || "
                f"{value_where} || '): the end comes before the start'",
                "CAST(round(value, 3) AS VARCHAR)",
            ),
            Check(
                RejectCode.VALUE_OUT_OF_RANGE,
                self._outside("value"),
                f"'the value ' || value || ' of metric ' || {shown('metric')} || ' lies outside its domain ' "
                f"|| {_domain_text(self.job.vocabulary.domains)}",
                "CAST(value AS VARCHAR)",
            ),
            Check(
                RejectCode.BAD_EXPECTED,
                _bad_number("__gw_expected_raw", "expected"),
                f"'the stated expectation ' || {shown('__gw_expected_raw')} || ' in ' || {expected_where} "
                "|| ' is not a number'",
                "__gw_expected_raw",
            ),
            Check(
                RejectCode.NEGATIVE_SPAN,
                f"({expected_span}) AND coalesce(expected < 0, FALSE)",
                f"'the stated expectation is ' || round(expected, 3) || ' (' || {expected_where} || "
                "'): the promise comes before the start'",
                "CAST(round(expected, 3) AS VARCHAR)",
            ),
            Check(
                RejectCode.EXPECTED_OUT_OF_RANGE,
                self._outside("expected"),
                f"'the stated expectation ' || expected || ' of metric ' || {shown('metric')} "
                f"|| ' lies outside its domain ' || {_domain_text(self.job.vocabulary.domains)}",
                "CAST(expected AS VARCHAR)",
            ),
            Check(
                RejectCode.TEXT_TOO_LONG,
                f"length(text) > {MAX_TEXT}",
                f"'the text in ' || {lit(text.where)} || ' is ' || length(text) || "
                f"' characters long; at most {MAX_TEXT:,} are allowed'",
            ),
        ]


class OutcomeCompiler(Compiler):
    """The stage query of an outcome source (e.g. NPS answers): one row per file row."""

    def sql(self) -> str:
        spec = self.job.source.value
        assert spec is not None  # guaranteed by Source validation
        value = self.cells.field(spec, trim=False)
        fields = [
            *self._row_fields(),
            "__gw_eid AS event_id",
            f"{value.sql} AS __gw_value_raw",
            f"{_number(value, spec)} AS value",
        ]
        checks = [
            *self._common_checks(),
            Check(
                RejectCode.MISSING_VALUE, "__gw_value_raw IS NULL", lit(f"the value is empty ({value.where})")
            ),
            Check(
                RejectCode.BAD_VALUE,
                "value IS NULL OR NOT isfinite(value)",
                f"'the value ' || {shown('__gw_value_raw')} || ' in ' || {lit(value.where)} "
                "|| ' is not a number'",
                "__gw_value_raw",
            ),
            Check(
                RejectCode.VALUE_OUT_OF_RANGE,
                f"abs(value) > {MAX_MAGNITUDE!r}",
                f"'the value ' || value || ' lies beyond ±{MAX_MAGNITUDE:g}'",
                "CAST(value AS VARCHAR)",
            ),
        ]
        return f"SELECT {STAGED} FROM ({self._assemble(fields, ['__gw_at AS occurred_at'], checks, 1)})"


def compiler(job: IngestJob, relation: str, *, messages: bool = True) -> Compiler:
    """The compiler of ``job``'s kind over ``relation`` (raw cells plus ``__gw_row``)."""
    if job.source.kind == "outcome":
        return OutcomeCompiler(job, relation, messages=messages)
    return ExperienceCompiler(job, relation, messages=messages)
