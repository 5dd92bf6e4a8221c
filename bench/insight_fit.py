"""Benchmark: training and scoring time and peak memory of `gapwatch predict` on the airline train file.

    .venv/bin/python bench/insight_fit.py [--file PATH] [--threads 1]

The airline satisfaction train file (103,904 rows, ../shared/data) is split 80/20 (seeded);
gapwatch's outcome model (``gapwatch.insight.flat.fit_file`` then ``score_file``, the path of
``gapwatch predict --train --test``) is fitted on the 80 % and scores the 20 %. Beside it, in the
same process, the baseline: scikit-learn's HistGradientBoostingClassifier with its defaults on
the same typed features. Training (read, type, encode, fit on the train file) and scoring
(read, type, encode and predict the test file) are timed apart (wall and CPU), and the peak
resident memory of a fresh child process per run is reported (ru_maxrss), so one run's memory
does not hide the other's.
A busy machine changes the wall times far more than the CPU times: read the CPU column.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
AIRLINE = SHARED / "airline_passenger_satisfaction" / "train.csv.gz"


def _split(path: Path, folder: Path) -> tuple[Path, Path]:
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pcsv

    from gapwatch.insight.tables import read_flat

    table = read_flat(path).table
    order = np.random.default_rng(0).permutation(table.num_rows)
    cut = int(0.8 * table.num_rows)
    train, test = folder / "train.csv", folder / "test.csv"
    pcsv.write_csv(table.take(pa.array(order[:cut])), train)
    pcsv.write_csv(table.take(pa.array(order[cut:])), test)
    return train, test


def _child(kind: str, train: str, test: str, threads: int) -> None:
    """One measured run (in its own process): prints a JSON line."""
    t0, c0 = time.perf_counter(), time.process_time()
    if kind == "gapwatch":
        from gapwatch.insight.flat import fit_file, score_file

        fitted = fit_file(Path(train), "satisfaction", threads=threads)
        fit, fit_cpu = time.perf_counter() - t0, time.process_time() - c0
        t1, c1 = time.perf_counter(), time.process_time()
        result = score_file(fitted, Path(test))
        score_wall, score_cpu = time.perf_counter() - t1, time.process_time() - c1
        cpu = time.process_time() - c0
        auc, scored = result.auc, result.n_test
    else:
        from sklearn.ensemble import HistGradientBoostingClassifier
        from threadpoolctl import threadpool_limits

        from gapwatch.insight.encode import Encoder
        from gapwatch.insight.outcome import target
        from gapwatch.insight.scores import auc as roc_auc
        from gapwatch.insight.tables import read_flat, type_columns

        with threadpool_limits(limits=threads):
            tr = read_flat(Path(train)).table
            spec = target(tr.column("satisfaction").to_pylist(), None)
            ctr = type_columns(tr, skip=("satisfaction",))
            enc = Encoder().fit(ctr)
            ftr = enc.transform(ctr, tr.num_rows)
            model = HistGradientBoostingClassifier(categorical_features=ftr.categorical, random_state=0)
            model.fit(ftr.x, spec.y)
            fit, fit_cpu = time.perf_counter() - t0, time.process_time() - c0
            t1, c1 = time.perf_counter(), time.process_time()
            te = read_flat(Path(test)).table
            y_te = spec.apply(te.column("satisfaction").to_pylist())
            fte = enc.transform(type_columns(te, skip=("satisfaction",)), te.num_rows)
            p = model.predict_proba(fte.x)[:, 1]
            score_wall, score_cpu = time.perf_counter() - t1, time.process_time() - c1
            cpu = time.process_time() - c0
            auc, scored = roc_auc(y_te, p), te.num_rows
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "kind": kind,
                "wall": fit,
                "cpu": cpu,
                "fit_cpu": fit_cpu,
                "score_wall": score_wall,
                "score_cpu": score_cpu,
                "auc": auc,
                "rows": scored,
                "peak_mib": peak,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=AIRLINE)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--child", nargs=3, metavar=("KIND", "TRAIN", "TEST"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child[0], args.child[1], args.child[2], args.threads)
        return
    if not args.file.exists():
        sys.exit(f"no airline file at {args.file}")
    with tempfile.TemporaryDirectory() as tmp:
        train, test = _split(args.file, Path(tmp))
        print(
            f"{'run':22} {'AUC':>7} {'train wall s':>12} {'train CPU s':>11} {'score wall s':>12} "
            f"{'score CPU s':>11} {'peak MiB':>9}   (train {train.stat().st_size >> 20} MiB CSV; "
            "reading, typing and encoding count in each step)"
        )
        for kind in ("baseline-hgb-default", "gapwatch"):
            out = (
                subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--threads",
                        str(args.threads),
                        "--child",
                        kind,
                        str(train),
                        str(test),
                    ],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                .stdout.strip()
                .splitlines()[-1]
            )
            r = json.loads(out)
            print(
                f"{kind:22} {r['auc']:7.4f} {r['wall']:12.1f} {r['fit_cpu']:11.1f} {r['score_wall']:12.2f} "
                f"{r['score_cpu']:11.2f} {r['peak_mib']:9.0f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
