"""The NHS GP Friends-and-Family Test export on gapwatch: which surgeries and weeks stand out, and
whether the free-text themes of their negative answers say the same.

    python bench/nhs_fft.py [--data FILE] [--json]

The mapping is the one of ``tests/realdata/test_nhs_fft.py`` (an answer below 3 misses the
adequate level: the miss rate is the negative share; surgeries from the data with ``labels: auto``;
a weekly Laney p′ chart set in ``gapwatch.yaml``). Prints each stream's method, baseline and
signals, and for each signalled week the themes (``improvement_labels``, else ``feedback_labels``)
of its negative answers beside the themes of all of that surgery's negative answers. The data
set (MIT) stays in ../shared.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "realdata"))

DEFAULT = (
    Path(__file__).resolve().parents[1]
    / ".."
    / "shared"
    / "data"
    / "nhs_gp_friends_family_test"
    / "fft_gp_feedback_2023_2024.csv"
)


def _theme(r: dict[str, Any]) -> str:
    return str(r["improvement_labels"] or r["feedback_labels"] or "(no theme)")


def run(data: Path) -> dict[str, Any]:
    from test_nhs_fft import CONFIG

    from gapwatch.ingest.files import ingest_file
    from gapwatch.monitor.run import run_monitor
    from gapwatch.workspace import Workspace, init_workspace

    tmp = Path(tempfile.mkdtemp(prefix="fft-"))
    table = pacsv.read_csv(data, convert_options=pacsv.ConvertOptions(strings_can_be_null=False))
    table = table.append_column("response", pa.array([str(i + 1) for i in range(table.num_rows)]))
    pacsv.write_csv(table, tmp / "fft.csv")
    root = init_workspace(tmp / "ws", config_text=CONFIG)
    with Workspace.open(root) as ws:
        ingested = ingest_file(ws, tmp / "fft.csv", "fft")
        result = run_monitor(ws.store, ws.config, clock="event")
    answers = table.to_pylist()
    negative: dict[str, list[dict[str, Any]]] = {}
    for r in answers:
        if r["rating_score"] in (1.0, 2.0):
            negative.setdefault(r["surgery"], []).append(r)
    names = {s.lower().replace(" @ ", "_").replace(" ", "_").replace("@", ""): s for s in negative}
    streams = []
    for v in result.streams:
        signals = result.signals_of(v.key)
        streams.append(
            {
                "segment": v.key[1],
                "method": v.method,
                "note": v.note,
                "worse": sorted({f"{s.period_start}" for s in signals if s.direction != "better"}),
                "better": sorted({f"{s.period_start}" for s in signals if s.direction == "better"}),
            }
        )
    weeks = []
    for s in result.signals:
        if s.direction == "better" or s.segment == "*":
            continue
        surgery = names.get(s.segment, s.segment)
        mine = negative.get(surgery, [])
        start = s.period_start
        inside = [r for r in mine if start <= r["time"].date() < start + dt.timedelta(days=7)]
        weeks.append(
            {
                "surgery": surgery,
                "week": start.isoformat(),
                "answers": s.n,
                "negative": len(inside),
                "themes": dict(Counter(_theme(r) for r in inside)),
                "surgery_themes": dict(Counter(_theme(r) for r in mine).most_common(5)),
                "surgery_negative": len(mine),
            }
        )
    return {"accepted": ingested.accepted, "rejected": ingested.rejected, "streams": streams, "weeks": weeks}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not args.data.is_file():
        raise SystemExit(f"no FFT export at {args.data} (../shared/data is not in a user's clone)")
    out = run(args.data)
    if args.json:
        print(json.dumps(out))
        return
    print(f"{out['accepted']} answers accepted, {out['rejected']} rejected")
    for s in out["streams"]:
        print(f"{s['segment']}: {s['method']}; {s['note']}")
        if s["worse"] or s["better"]:
            print(f"    worse weeks {s['worse']}, better weeks {s['better']}")
    for w in out["weeks"]:
        print(
            f"{w['surgery']}, week of {w['week']}: {w['negative']} negative of {w['answers']} answers; "
            f"themes {w['themes']}; the surgery's {w['surgery_negative']} negative answers: "
            f"{w['surgery_themes']}"
        )


if __name__ == "__main__":
    main()
