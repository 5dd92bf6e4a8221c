"""The Python face (``gapwatch.open``): the CLI's verbs, the same results, tables out."""

from __future__ import annotations

import doctest
import json
import shutil
from pathlib import Path

import pandas as pd
import polars as pl
import pytest

import gapwatch
import gapwatch.library
from gapwatch.cli import main
from gapwatch.customers.journey import CustomerNotFound

SOURCES = ("web", "crm", "orders", "usage", "tickets", "survey")
DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("world")
    main(
        [
            "simulate",
            "--customers",
            "800",
            "--days",
            "70",
            "--seed",
            "5",
            "--incidents",
            "2",
            "--out",
            str(out),
        ]
    )
    return out


def test_docstring_examples_run() -> None:
    assert doctest.testmod(gapwatch.library, optionflags=doctest.ELLIPSIS).failed == 0


def test_the_python_page_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = doctest.testfile(str(DOCS / "python.md"), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 10 and result.failed == 0


def test_library_and_cli_give_the_same_signals(
    world: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lib, cli = tmp_path / "lib", tmp_path / "cli"
    gapwatch.init(lib)
    with gapwatch.open(lib) as gw:
        counts = {s: gw.ingest(world / f"{s}.csv", source=s) for s in SOURCES}
        found = gw.detect(clock="event")
        stored = gw.signals()
        streams = gw.streams()
    assert sum(c.accepted for c in counts.values()) > 1000
    main(["init", str(cli)])
    for s in SOURCES:
        main(["ingest", str(world / f"{s}.csv"), "--source", s, "--workspace", str(cli)])
    capsys.readouterr()
    main(["detect", "--workspace", str(cli), "--clock", "event", "--json"])
    by_cli = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    key = ("moment", "segment", "metric", "period", "chart", "rule", "direction")

    def rows(items: list[dict[str, object]]) -> list[tuple[str, ...]]:
        return sorted(tuple(str(r[k]) for k in key) for r in items)

    assert len(found.signals) > 0
    assert rows(found.signals.to_dicts()) == rows(by_cli["signals"]) == rows(stored.to_dicts())
    assert {(s.moment, s.segment, s.metric) for s in found.streams} >= {
        (s.moment, s.segment, s.metric) for s in streams if s.segment != "*"
    }


def test_results_convert_to_tables_and_tables_ingest(world: Path, tmp_path: Path) -> None:
    gapwatch.init(tmp_path / "ws")
    with gapwatch.open(tmp_path / "ws") as gw:
        frame = pd.read_csv(world / "orders.csv", dtype=str, keep_default_na=False)
        first = gw.ingest(frame, source="orders")
        again = gw.ingest(pl.from_pandas(frame), source="orders")
        assert first.accepted == len(frame) - first.rejected and again.accepted == 0
        assert again.duplicate == first.accepted
        gw.detect(clock="event")
        streams = gw.streams()
        assert len(streams) > 0 and streams[0].moment == "delivery"
        as_pandas = streams.to_pandas()
        as_polars = streams.to_polars()
        assert list(as_pandas["moment"]) == [s.moment for s in streams] == as_polars["moment"].to_list()
        assert streams.to_arrow().num_rows == len(streams) == len(streams[:])
        customer = str(frame["cust_no"].iloc[0])
        journey = gw.customer(customer)
        assert journey.customer_id == customer and journey.steps[0].moment == "delivery"
        with pytest.raises(CustomerNotFound):
            gw.customer("nobody-like-this")
        assert len(gw.alerts()) == 0  # never served: no alert raised yet


def test_open_needs_a_workspace(tmp_path: Path) -> None:
    with pytest.raises(Exception, match=r"gapwatch\.yaml"):
        gapwatch.open(tmp_path)
    gapwatch.init(tmp_path / "w")
    with pytest.raises(FileExistsError):
        gapwatch.init(tmp_path / "w")
    shutil.rmtree(tmp_path / "w")
