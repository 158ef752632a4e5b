"""Rerun tests/fixtures/r/regression.R and compare its fresh output with the committed fixtures.

Skipped when Rscript, survival, MASS or brglm2 is missing (CI installs r-base-core, r-cran-survival
and r-cran-brglm2). Numbers must agree to 1e-7 relative / 1e-10 absolute; text and NA positions
exactly. Also checks that make_cohorts.py still writes the committed synthetic cohorts (no R needed).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest
from r_output import assert_same_r_csv, run_r_script

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "r"
SCRIPT = FIXTURES / "regression.R"
OUT = FIXTURES / "regression"
# Inputs of regression.R, written by make_cohorts.py and make_demo_subjects.py
INPUTS = {"cohorts.csv", "cohorts_separated.csv", "demo_subjects.csv"}
COMMITTED = sorted(p.name for p in OUT.glob("*.csv") if p.name not in INPUTS)


@pytest.fixture(scope="module")
def fresh_dir(tmp_path_factory):
    return run_r_script(SCRIPT, tmp_path_factory.mktemp("r_regression"), ("survival", "MASS", "brglm2"))


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
