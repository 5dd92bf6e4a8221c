"""The Python face: the CLI's and the API's verbs on an open workspace, for notebooks and scripts.

``gapwatch.open(path)`` gives a :class:`Gapwatch`; its methods carry the names of the CLI
commands and API routes (``ingest``, ``detect``, ``streams``, ``signals``, ``alerts``,
``customer``, ``export``) and call the same room functions they call. Lists come back as
:class:`Results`: typed rows (dataclasses) that also convert to Arrow, pandas and Polars.

Examples
--------
>>> import tempfile, pathlib
>>> import gapwatch
>>> folder = pathlib.Path(tempfile.mkdtemp()) / "shop"
>>> _ = gapwatch.init(folder)
>>> orders = folder / "orders.csv"
>>> _ = orders.write_text(
...     "order_no,cust_no,ordered_at,delivered_at,customer_tier,delivery_days,promised_days,carrier,region\\n"
...     "A1,C1,2025-02-23,2025-03-01T10:00:00Z,STD,6,,DHL,north\\n"
...     "A2,C2,2025-02-24,2025-03-01T11:00:00Z,PREM,2,,DHL,south\\n"
...     "A3,C3,2025-02-24,2025-03-01T12:00:00Z,STD,soon,,DHL,south\\n"
... )
>>> with gapwatch.open(folder) as gw:
...     print(gw.ingest(orders, source="orders").summary())
...     found = gw.detect(clock="event")
...     streams = gw.streams()
...     print(len(found.signals), streams[0].moment, type(streams.to_arrow()).__name__)
...     print(gw.customer("C1").steps[0].status)
2 accepted / 0 duplicate / 1 rejected
0 delivery Table
missed
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar, overload

import pyarrow as pa

from gapwatch.customers.erasure import Erasure, erase_customer
from gapwatch.customers.journey import Journey, journey
from gapwatch.domain.bounds import id_cases
from gapwatch.export import Written, export_reader, write_export
from gapwatch.ingest.files import IngestResult, ingest_file, ingest_table
from gapwatch.ingest.rejects import RejectedRow, list_rejected
from gapwatch.ingest.sample import SampleCheck, check_sample
from gapwatch.live.read import StreamSummary, list_streams
from gapwatch.monitor.charts import Signal
from gapwatch.monitor.run import run_monitor
from gapwatch.monitor.store import stored_signals
from gapwatch.monitor.summary import StreamState, stream_states
from gapwatch.quality.alerts import Alert, list_alerts
from gapwatch.sqlport import has_tables
from gapwatch.workspace import Workspace, init_workspace

T = TypeVar("T")

__all__ = ["Detection", "Gapwatch", "Results", "init", "open"]


class Results(Sequence[T], Generic[T]):
    """Typed rows that convert to a table: ``to_arrow()``, ``to_pandas()``, ``to_polars()``.

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class Row:
    ...     name: str
    ...     n: int
    >>> rows = Results([Row("a", 1), Row("b", 2)])
    >>> rows[1].n, len(rows), rows.to_arrow().column("name").to_pylist()
    (2, 2, ['a', 'b'])
    """

    def __init__(self, rows: Sequence[T]) -> None:
        self._rows = list(rows)

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> Results[T]: ...

    def __getitem__(self, index: int | slice) -> T | Results[T]:
        if isinstance(index, slice):
            return Results(self._rows[index])
        return self._rows[index]

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[T]:
        return iter(self._rows)

    def __repr__(self) -> str:
        kind = type(self._rows[0]).__name__ if self._rows else "rows"
        return f"<Results: {len(self._rows)} {kind}>"

    def to_dicts(self) -> list[dict[str, Any]]:
        """Each row as a dict (dataclass fields; nested values as they are)."""
        return [_as_dict(r) for r in self._rows]

    def to_arrow(self) -> pa.Table:
        """An Arrow table, one column per field (lists and dicts nest as Arrow types)."""
        return pa.Table.from_pylist(self.to_dicts())

    def to_pandas(self) -> Any:
        """A pandas DataFrame (needs pandas: ``pip install gapwatch[tables]``)."""
        return self.to_arrow().to_pandas()

    def to_polars(self) -> Any:
        """A Polars DataFrame (needs polars: ``pip install gapwatch[tables]``)."""
        import polars as pl

        return pl.from_arrow(self.to_arrow())


def _as_dict(row: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(row) and not isinstance(row, type):
        out = {f.name: getattr(row, f.name) for f in dataclasses.fields(row)}
        # enums become their values, so the columns are plain strings and numbers
        return {k: (v.value if isinstance(v, Enum) else v) for k, v in out.items()}
    if isinstance(row, dict):
        return dict(row)
    raise TypeError(f"cannot turn a {type(row).__name__} into a row")


@dataclass(frozen=True)
class Detection:
    """What ``detect`` found: the state of every stream and the signals, judged with limits ±L·σ."""

    streams: Results[StreamState]
    signals: Results[Signal]
    L: float
    closed_through: dt.date


class Gapwatch:
    """An open workspace with the verbs of the CLI and the API (use ``gapwatch.open``)."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    @property
    def path(self) -> Path:
        return self.workspace.root

    def ingest(self, data: str | Path | Any, *, source: str, progress: bool = False) -> IngestResult:
        """Ingest a file (CSV, CSV.gz, Parquet, JSONL) or a pandas / Polars / Arrow table.

        Like ``gapwatch ingest FILE --source S``: bad rows are kept in ``rejected`` with their reason.
        """
        if isinstance(data, str | Path):
            return ingest_file(self.workspace, data, source, progress=progress)
        return ingest_table(self.workspace, data, source)

    def detect(self, *, clock: Literal["wall", "event"] = "wall") -> Detection:
        """Aggregate every stream, run the charts chosen by volume, store signals (``gapwatch detect``)."""
        result = run_monitor(self.workspace.store, self.workspace.config, clock=clock)
        states = stream_states(result, self.workspace.lifecycle)
        return Detection(Results(states), Results(result.signals), result.L, result.closed_through)

    def streams(
        self, *, silo: str | None = None, stage: str | None = None, state: str | None = None
    ) -> Results[StreamSummary]:
        """Every watched stream with its state, in lifecycle order (``GET /v1/streams``)."""
        with self._reader() as con:
            if not has_tables(con, "stream_periods", "signals"):
                return Results([])
            return Results(list_streams(con, self.workspace.lifecycle, silo=silo, stage=stage, state=state))

    def signals(self, *, moment: str | None = None) -> Results[Signal]:
        """The stored signals of the last detection, oldest first."""
        with self._reader() as con:
            return Results(stored_signals(con, moment=moment) if has_tables(con, "signals") else [])

    def alerts(
        self, *, silo: str | None = None, state: str | None = None, limit: int = 100
    ) -> Results[Alert]:
        """Alerts raised by the service, newest first (``GET /v1/alerts``); empty before any was raised."""
        with self._reader() as con:
            if not has_tables(con, "alerts", "cases"):
                return Results([])
            return Results(list_alerts(con, silo=silo, state=state, limit=limit))

    def rejected(
        self, *, source: str | None = None, reason: str | None = None, limit: int = 100
    ) -> Results[RejectedRow]:
        """Rejected rows with row number, reason and the refused value (``gapwatch rejected``)."""
        with self._reader() as con:
            return Results(list_rejected(con, source=source, reason=reason, limit=limit))

    def check_sample(self, path: str | Path, *, source: str, rows: int = 1000) -> SampleCheck:
        """Try a source mapping on a file's first rows; nothing is stored (``gapwatch check --sample``)."""
        return check_sample(self.workspace.config, path, source, rows_wanted=rows)

    def customer(self, customer_id: str) -> Journey:
        """One customer's journey across every silo (``GET /v1/customers/{id}``).

        Raises ``gapwatch.customers.journey.CustomerNotFound`` for an unknown or erased customer.
        """
        with self._reader() as con:
            return journey(con, customer_id, id_cases(self.workspace.config))

    def erase(self, customer_id: str, actor: str = "library") -> Erasure:
        """Erase a customer's personal data for good (``DELETE /v1/customers/{id}``).

        Their experiences stay for the statistics, unlinked; later events for them are
        suppressed on every ingest path; the store's file is rewritten so no byte is left.
        """
        ws = self.workspace
        return erase_customer(ws.store, customer_id, actor, id_cases(ws.config))

    # -- insight: perspectives, text, outcome risk, drivers (gapwatch perspectives / text / predict / drivers)

    def ingest_perceptions(self, path: str | Path, *, source: str = "perceptions") -> Any:
        """Store a perception survey file (``gapwatch perspectives ingest FILE``); returns the counts."""
        from gapwatch.insight.perspectives_service import ingest_perceptions

        return ingest_perceptions(self.workspace.store, self.workspace.config, Path(path), source)

    def perspectives(self, *, period: str | None = None, pooled: bool = False) -> Any:
        """Scores and gaps per dimension × silo × period (``gapwatch perspectives show``)."""
        from gapwatch.insight.perspectives_service import perspectives_report

        with self._reader() as con:
            return perspectives_report(con, self.workspace.config, period=period, pooled=pooled)

    def analyse_text(self) -> Any:
        """Analyse new comments and add the text streams (``gapwatch text analyse``)."""
        from gapwatch.insight.models import load_text_model
        from gapwatch.insight.text_service import analyse_texts

        model = load_text_model(self.path)
        return analyse_texts(self.workspace.store, self.workspace.config, model=model)

    def predict(
        self,
        *,
        outcome: str | None = None,
        positive: str | None = None,
        evaluate: bool = False,
        retrain: bool = False,
        precision: float = 0.8,
        seed: int = 0,
    ) -> Any:
        """The journey model (``gapwatch predict --workspace``): ``evaluate`` gives the time-split
        evaluation, ``retrain`` fits and stores the model, otherwise the customers' risks (riskiest first).
        Outcome and positive class default to gapwatch.yaml's ``risk:`` (nps, ``<=6``)."""
        from gapwatch.insight import journey_service as js
        from gapwatch.insight.models import JOURNEY, load_journey_model, save_model
        from gapwatch.insight.retraining import risk_target

        outcome, positive = risk_target(self.workspace.config.risk, outcome, positive)
        with self._reader() as con:
            data = js.load_data(con, outcome)
        if evaluate:
            return js.evaluate(data, outcome, positive, precision, seed)
        if retrain:
            model = js.train(data, outcome, positive, seed, precision)
            save_model(self.path, JOURNEY, model)
            return model
        model = load_journey_model(self.path)
        if model is None:
            raise LookupError("no journey model yet: predict(retrain=True) first")
        lc = self.workspace.lifecycle
        return Results(js.score_customers(data, model, {m: lc.silo_of(m) for m in lc.moments}))

    def drivers(self, *, outcome: str = "nps", positive: str | None = "<=6", seed: int = 0) -> Any:
        """Moments of truth driving the outcome, with intervals and what-if (``gapwatch drivers``)."""
        from gapwatch.insight.drivers_service import workspace_drivers
        from gapwatch.insight.models import load_journey_model

        with self._reader() as con:
            return workspace_drivers(
                con,
                self.workspace.config,
                load_journey_model(self.path),
                outcome=outcome,
                positive=positive,
                seed=seed,
            )

    def report(self, out: str | Path | None = None, *, clock: Literal["wall", "event"] = "wall") -> Path:
        """Write every chart of every signalled stream, the NPS and the lifecycle as one HTML file.

        Like ``gapwatch report`` (default file: the workspace's ``report.html``); returns its path.
        Raises ``gapwatch.report.NothingDetected`` before the first ``detect``.
        """
        from gapwatch.report import report_of_workspace, write_report

        target = Path(out) if out is not None else self.path / "report.html"
        return write_report(target, report_of_workspace(self.workspace, clock))

    def export(
        self,
        what: str,
        out: str | Path,
        *,
        format: Literal["parquet", "csv"] = "parquet",
        since: dt.date | None = None,
        text: bool = False,
        force: bool = False,
    ) -> Written:
        """Export ``what`` (experiences, signals, alerts, cases, streams) to ``out`` (``gapwatch export``).

        Experiences as Parquet are a folder partitioned by period; pseudonymous ids only.
        """
        with self._reader() as con:
            return write_export(
                export_reader(con, what, since, text=text), what, format, Path(out), force=force
            )

    def close(self) -> None:
        self.workspace.close()

    def __enter__(self) -> Gapwatch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Gapwatch {self.path}>"

    def _reader(self) -> Any:
        return _Closing(self.workspace.store.reader())


class _Closing:
    """A reader connection as a context manager that closes it."""

    def __init__(self, con: Any) -> None:
        self.con = con

    def __enter__(self) -> Any:
        return self.con

    def __exit__(self, *exc: object) -> None:
        self.con.close()


def open(path: str | Path = ".", *, read_only: bool = False) -> Gapwatch:
    """Open a workspace folder (``gapwatch init`` made it); use as a context manager to close it."""
    return Gapwatch(Workspace.open(path, read_only=read_only))


def init(path: str | Path, *, force: bool = False) -> Path:
    """Create a workspace from the default template (``gapwatch init``); returns its folder."""
    return init_workspace(path, force=force)
