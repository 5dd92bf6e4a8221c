"""`gapwatch chart` and `gapwatch arl`: the contract, bad input, the reference cases."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from gapwatch.cli import cli

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT / ".." / "shared"
CHECK = SHARED / "spc" / "check_contract.py"


def run(args: list[str]) -> tuple[int, str, str]:
    res = CliRunner().invoke(cli, args)
    return res.exit_code, res.stdout, res.stderr


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "data.csv"
    path.write_text(text)
    return str(path)


def test_p_chart_json_shape(tmp_path: Path) -> None:
    data = write(tmp_path, "value,size\n" + "".join(f"{v},50\n" for v in [5, 6, 4, 5, 7, 5, 20, 6]))
    code, out, _ = run(["chart", "p", "--data", data, "--param", "phase1=6", "--json"])
    assert code == 0
    res = json.loads(out.strip().splitlines()[-1])
    assert set(res) >= {"chart", "center", "lcl", "ucl", "statistic", "sigma", "signals"}
    assert res["sigma"] is None and len(res["ucl"]) == 8
    assert res["signals"] == [{"index": 6, "rule": "we1"}]


def test_imr_dispersion_and_anhoej_runs(tmp_path: Path) -> None:
    data = write(tmp_path, "value\n" + "\n".join(str(v) for v in [1, 2, 1.5, 1.8, 1.2, 1.9, 1.4, 1.6]) + "\n")
    code, out, _ = run(["chart", "imr", "--data", data, "--param", "rules=we1,anhoej", "--json"])
    res = json.loads(out)
    assert code == 0 and res["dispersion"]["statistic"][0] is None
    assert set(res["runs"]) == {
        "n_useful",
        "longest_run",
        "longest_run_max",
        "n_crossings",
        "n_crossings_min",
        "signal",
    }


def test_cusum_and_ewma_keys(tmp_path: Path) -> None:
    data = write(tmp_path, "value\n" + "\n".join(str(v) for v in [0.1, -0.2, 0.3, 1.2, 1.5, 1.1, 1.9]) + "\n")
    _, out, _ = run(
        [
            "chart",
            "cusum",
            "--data",
            data,
            "--param",
            "target=0",
            "--param",
            "sigma=1",
            "--param",
            "h=2",
            "--json",
        ]
    )
    res = json.loads(out)
    assert res["ucl"][0] == 2 and min(res["statistic_lower"]) >= 0
    assert {"index": 5, "rule": "cusum-upper"} in res["signals"]
    _, out, _ = run(["chart", "ewma", "--data", data, "--param", "target=0", "--param", "sigma=1", "--json"])
    assert json.loads(out)["chart"] == "ewma"


@pytest.mark.parametrize(
    ("chart", "csv", "params", "message"),
    [
        ("p", "value\n1\n2\n", [], "size"),
        ("p", "value,size\n1,10\n-1,10\n", [], "negative"),
        ("p", "value,size\n11,10\n1,10\n", [], "above size"),
        ("imr", "value\n1\n", [], "too few"),
        ("xbar-r", "value\n1\n2\n", [], "subgroup"),
        ("imr", "x\n1\n2\n", [], "missing column 'value'"),
        ("imr", "value\n1\nabc\n", [], "not a number"),
        ("imr", "value\n1\n2\n3\n", ["bogus=1"], "unknown parameter"),
        ("imr", "value\n1\n2\n3\n", ["rules=we7"], "unknown rule"),
        ("bcusum", "value\n0\n2\n", [], "0 or 1"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, chart: str, csv: str, params: list[str], message: str
) -> None:
    data = write(tmp_path, csv)
    args = ["chart", chart, "--data", data, "--json"]
    for p in params:
        args += ["--param", p]
    proc = subprocess.run(
        [sys.executable, "-m", "gapwatch", *args], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and message in proc.stderr
    assert proc.stdout == ""


def test_human_table(tmp_path: Path) -> None:
    data = write(tmp_path, "value\n1\n2\n1.5\n9\n")
    code, out, _ = run(["chart", "imr", "--data", data])
    assert code == 0 and "imr chart" in out


def test_chart_loads_no_store_or_server(tmp_path: Path) -> None:
    """`gapwatch chart` starts fast because it loads only the SPC engine (no DuckDB, Ibis or web stack)."""
    data = write(tmp_path, "value,size\n" + "".join(f"{v},50\n" for v in range(1, 30)))
    probe = (
        "import sys; from gapwatch.cli import main\n"
        "try:\n    main(['chart', 'pprime', '--data', sys.argv[1], '--json'])\n"
        "except SystemExit:\n    pass\n"
        "heavy = {'duckdb', 'ibis', 'fastapi', 'uvicorn', 'pandas', 'polars'}\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & heavy))"
    )
    proc = subprocess.run([sys.executable, "-c", probe, data], capture_output=True, text=True, check=True)
    assert '"chart"' in proc.stdout or "pprime" in proc.stdout
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def test_arl_json() -> None:
    code, out, _ = run(
        ["arl", "--chart", "shewhart", "--shift", "3", "--param", "runs=2000", "--param", "seed=1", "--json"]
    )
    res = json.loads(out)
    assert code == 0 and res["runs"] == 2000 and res["ci"][0] < 2.0 < res["ci"][1]


@pytest.mark.shared
@pytest.mark.skipif(not CHECK.is_file(), reason="../shared/spc/check_contract.py not present")
def test_reference_cases_all_match() -> None:
    proc = subprocess.run(
        [sys.executable, str(CHECK.resolve())],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={"GAPWATCH_CMD": f"{sys.executable} -m gapwatch", "PATH": ""},
    )
    last = proc.stdout.strip().splitlines()[-1]
    k, n = last.rsplit(" ", 1)[-1].split("/")
    assert last.startswith("SPC reference cases matched:") and k == n and int(n) >= 12, proc.stdout
