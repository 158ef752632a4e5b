"""Rerun tests/fixtures/r/regression.R and compare its fresh output with the committed fixtures.

Skipped when Rscript, survival, MASS or brglm2 is missing (CI installs r-base-core, r-cran-survival
and r-cran-brglm2). Numbers must agree to 1e-7 relative / 1e-10 absolute; text and NA positions
exactly. Also checks that make_cohorts.py still writes the committed synthetic cohorts (no R needed).
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from r_output import assert_same_r_csv

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "r"
SCRIPT = FIXTURES / "regression.R"
OUT = FIXTURES / "regression"
# Inputs of regression.R, written by make_cohorts.py and make_demo_subjects.py
INPUTS = {"cohorts.csv", "cohorts_separated.csv", "demo_subjects.csv"}
COMMITTED = sorted(p.name for p in OUT.glob("*.csv") if p.name not in INPUTS)


def _r_ready() -> str | None:
    rscript = shutil.which("Rscript")
    if rscript is None:
        return "Rscript not found"
    check = ('quit(status = if (all(c("survival", "MASS", "brglm2") %in% rownames(installed.packages()))) 0 else 1)')
    if subprocess.run([rscript, "-e", check], capture_output=True, timeout=120).returncode != 0:
        return "R packages survival, MASS and brglm2 not installed"
    return None


@pytest.fixture(scope="module")
def fresh_dir(tmp_path_factory):
    reason = _r_ready()
    if reason:
        pytest.skip(reason)
    out = tmp_path_factory.mktemp("r_regression")
    proc = subprocess.run(["Rscript", str(SCRIPT), str(out)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return out


def test_fixture_set_is_complete(fresh_dir):
    fresh = sorted(p.name for p in fresh_dir.glob("*.csv"))
    assert fresh == COMMITTED


@pytest.mark.parametrize("name", COMMITTED)
def test_fresh_output_matches_committed(fresh_dir, name):
    # R: Rscript tests/fixtures/r/regression.R <tmpdir>
    assert_same_r_csv(OUT / name, fresh_dir / name)


def test_make_cohorts_reproduces_the_committed_csv():
    spec = importlib.util.spec_from_file_location("make_cohorts", OUT / "make_cohorts.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fresh = module.make_cohorts()
    committed = pd.read_csv(OUT / "cohorts.csv")
    assert list(fresh.columns) == list(committed.columns)
    pd.testing.assert_frame_equal(fresh.reset_index(drop=True), committed, check_dtype=False, rtol=1e-12)
    separated = pd.read_csv(OUT / "cohorts_separated.csv")
    assert not separated.loc[separated["cohort"] == "trial", "severe_crs"].any()
    pd.testing.assert_frame_equal(separated.drop(columns="severe_crs"), committed.drop(columns="severe_crs"))
