"""Stopping-rule designs and exact OC against R (tests/fixtures/r/stopping.R, base R).

The script writes out stoppingrule's algorithm (Martens and Logan 2024: calc.rule.bin with
bisection on the critical value, opchars.bin's stagewise recursion with dbinom) for eight designs:
the package's README example and help examples (BB, Pocock, OBF, SPRT), PACER's two default
Thall–Simon rules, and a look after every 10 evaluated. Committed output:
tests/fixtures/r/stopping/{designs,boundaries,oc}.csv.

    Rscript tests/fixtures/r/stopping.R            # regenerate
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from r_output import assert_same_r_csv, run_r_script

from analysis.stats.stopping_design import design_stopping_rule

R_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "r"
FIXTURES = R_DIR / "stopping"
DESIGNS = pd.read_csv(FIXTURES / "designs.csv", na_values=["NA"], keep_default_na=False)
BOUNDARIES = pd.read_csv(FIXTURES / "boundaries.csv", na_values=["NA"], keep_default_na=False)
OC = pd.read_csv(FIXTURES / "oc.csv", na_values=["NA"], keep_default_na=False)


def python_design(row: pd.Series):
    options = {"prior": (row["prior_a"], row["prior_b"])}
    if row["method"] == "thall_simon":
        options["threshold"] = row["threshold"]
    else:
        options["alpha"] = row["alpha"]
    if not math.isnan(row["p1"]):
        options["alternative"] = row["p1"]
    looks = [int(v) for v in row["looks"].split()]
    return design_stopping_rule(row["method"], row["p0"], looks, **options)


@pytest.mark.parametrize("design_id", DESIGNS["design"].tolist())
def test_design_matches_r(design_id: str) -> None:
    row = DESIGNS.set_index("design").loc[design_id]
    rule = python_design(row)
    # R: bisection to 2^-60 of its bracket, from the side at level alpha; here the exact jump point
    assert rule.threshold == pytest.approx(row["threshold"], abs=1e-12)
    assert rule.type1_error == pytest.approx(row["type1_error"], abs=1e-12)
    r_bounds = BOUNDARIES[BOUNDARIES["design"] == design_id]
    assert list(rule.looks) == r_bounds["n"].tolist()
    expected = [None if math.isnan(b) else int(b) for b in r_bounds["boundary"]]
    assert list(rule.boundaries) == expected
    for oc in OC[OC["design"] == design_id].itertuples():
        ours = rule.operating_characteristics([oc.true_rate])[0]
        assert ours["prob_stop"] == pytest.approx(oc.prob_stop, abs=1e-12)
        assert ours["expected_events"] == pytest.approx(oc.expected_events, abs=1e-11)
        assert ours["expected_n"] == pytest.approx(oc.expected_n, abs=1e-11)


def test_every_design_has_boundaries_and_oc() -> None:
    assert set(BOUNDARIES["design"]) == set(OC["design"]) == set(DESIGNS["design"])
    assert len(DESIGNS) == 8


@pytest.fixture(scope="module")
def fresh_dir(tmp_path_factory):
    return run_r_script(R_DIR / "stopping.R", tmp_path_factory.mktemp("r_stopping"), ())


@pytest.mark.parametrize("name", ["designs.csv", "boundaries.csv", "oc.csv"])
def test_fresh_r_output_matches_committed(fresh_dir, name) -> None:
    # R: Rscript tests/fixtures/r/stopping.R <tmpdir>
    assert_same_r_csv(FIXTURES / name, fresh_dir / name)
