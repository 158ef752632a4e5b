"""`pacer stopping-rule`: a rule designed without trial data, as table, CSV or JSON, quickly.

The example is R stoppingrule's README (30 patients, p0 = 0.20, α = 0.10, Beta(0.6, 2.4)); its
figures are checked in tests/stats/test_stopping_design.py, here only that the command prints them.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from pipelines.cli import app

runner = CliRunner()
README = ["stopping-rule", "--method", "bb", "--n", "30", "--p0", "0.20", "--alpha", "0.10", "--prior", "0.6", "2.4"]
README += ["--rates", "0.20,0.25,0.30,0.35,0.40"]


def test_json_holds_the_design_the_boundaries_and_the_oc() -> None:
    result = runner.invoke(app, [*README, "--format", "json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["design"][0]["method"] == "bb_calibrated"
    assert out["design"][0]["threshold"] == pytest.approx(0.9630826917, abs=1e-10)
    assert [b["boundary"] for b in out["boundaries"]][:5] == [None, None, 3, 3, 4]
    assert out["condensed"][0] == {"n_from": 3, "n_to": 4, "stop_if_at_least": 3}
    assert [round(r["prob_stop"], 8) for r in out["operating_characteristics"]] == [
        0.09957367,
        0.23832301,
        0.43615256,
        0.64555222,
        0.81491087,
    ]


def test_table_and_csv() -> None:
    table = runner.invoke(app, README)
    assert table.exit_code == 0, table.output
    assert "# condensed" in table.output and "# operating_characteristics" in table.output
    assert "    29    30                11" in table.output  # stop if >= 11 events among 29-30
    assert "0.963083" in table.output and "0.0995737" in table.output
    text = runner.invoke(app, [*README, "--format", "csv"]).output
    blocks = {part.split("\n", 1)[0]: part.split("\n", 1)[1] for part in text.split("# ")[1:]}
    rows = list(csv.DictReader(io.StringIO(blocks["boundaries"])))
    assert rows[0] == {"n_evaluated": "1", "boundary": ""} and rows[-1] == {"n_evaluated": "30", "boundary": "11"}


@pytest.mark.parametrize(
    "extra",
    [
        ["--method", "wald"],
        ["--looks", "10,20"],  # the last look must be --n
        ["--format", "xml"],
        ["--method", "sprt"],  # no --p1
    ],
)
def test_bad_options_are_user_errors(extra: list[str]) -> None:
    result = runner.invoke(app, [*README, *extra])
    assert result.exit_code == 2
    assert "error:" in result.output


def test_no_prefect_and_no_pandas_on_its_path() -> None:
    # what keeps n = 100 with calibration under a second: numpy and scipy.special only
    code = (
        "import sys\n"
        "from pipelines.cli import app\n"
        "sys.argv = ['pacer', 'stopping-rule', '--n', '100', '--p0', '0.1', '--alpha', '0.05', '--format', 'json']\n"
        "try:\n    app()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('prefect', 'pandas', 'matplotlib')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
    assert json.loads(result.stdout.rsplit("\n[", 1)[0])["design"][0]["type1_error"] <= 0.05
