"""The stopping rules' ARD rows (analysis/stats/stopping_ard.py; outputs.md v3 ``stopping_rule``,
``stopping_oc``, ``stopping_status``), from small derived tables worked by hand.

Eight CRS-evaluable participants in study-identifier order P01 … P08: grade ≥ 4 CRS in P02 and P05,
a treatment-related death in P07; P09 is not CRS-evaluable and died of a treatment-related cause
(not counted). Default rules (Thall–Simon, Beta(1, 1), threshold 0.90, looks 5 … 40):

- grade ≥ 4 CRS, p_u = 0.25, n = 8: P(p > 0.25 | x, 8) = P(Bin(9, 0.25) ≤ x);
  x = 3: 0.8342 < 0.90; x = 4: 0.9511 ≥ 0.90 → boundary 4; 2 events → not crossed,
  posterior P(Bin(9, 0.25) ≤ 2) = 0.6007;
- treatment-related death, p_u = 0.10, n = 8: x = 1: P(Bin(9, 0.1) ≤ 1) = 0.7748 < 0.90;
  x = 2: 0.9470 → boundary 2; 1 event → not crossed.

The exact OC rows are checked against R (tests/fixtures/r/stopping.R, designs ``thall_simon_crs``
and ``thall_simon_trd``: the same default rules at the settings' true rates).
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from scipy.stats import binom

from analysis.settings import StoppingRules
from analysis.stats.ard import to_frame
from analysis.stats.stopping_ard import rule_event_paths, stopping_rows

R_OC = pd.read_csv(Path(__file__).resolve().parents[1] / "fixtures" / "r" / "stopping" / "oc.csv")
IDS = [f"P0{k}" for k in range(1, 10)]


def tables(evaluable: int = 8) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(endpoints, adsl): P01 … P0<evaluable> CRS-evaluable; rows deliberately not in identifier order."""
    adsl = pd.DataFrame({"participant_id": IDS[::-1]})
    adsl["crs_evaluable"] = [int(pid[1:]) <= min(evaluable, 8) for pid in adsl["participant_id"]]
    adsl["treatment_related_death"] = pd.array(
        [None if pid == "P08" else pid in ("P07", "P09") for pid in adsl["participant_id"]], dtype="boolean"
    )
    members = adsl.loc[adsl["crs_evaluable"], "participant_id"]
    endpoints = pd.DataFrame({"participant_id": members, "crs_grade4plus": members.isin(["P02", "P05"])})
    return endpoints, adsl


def value(frame: pd.DataFrame, analysis: str, group: str, variable: str, stat: str) -> float:
    row = frame[
        (frame["analysis"] == analysis)
        & (frame["group"] == group)
        & (frame["variable"] == variable)
        & (frame["stat_name"] == stat)
    ]
    assert len(row) == 1, (analysis, group, variable, stat)
    return float(row["stat_value"].iloc[0])


@pytest.fixture(scope="module")
def ard() -> pd.DataFrame:
    return to_frame(stopping_rows(*tables(), StoppingRules()))


def test_paths_follow_the_identifiers_and_the_evaluable_set():
    paths = rule_event_paths(*tables())
    assert paths["crs_grade4plus"] == [False, True, False, False, True, False, False, False]
    assert paths["treatment_related_death"] == [False, False, False, False, False, False, True, False]


def test_status_at_the_cut(ard):
    assert value(ard, "stopping_status", "crs_grade4plus", "cut", "events") == 2
    assert value(ard, "stopping_status", "crs_grade4plus", "cut", "evaluated") == 8
    assert value(ard, "stopping_status", "crs_grade4plus", "cut", "boundary") == 4
    assert value(ard, "stopping_status", "crs_grade4plus", "cut", "crossed") == 0
    posterior = value(ard, "stopping_status", "crs_grade4plus", "cut", "posterior")
    assert posterior == pytest.approx(binom.cdf(2, 9, 0.25), abs=1e-12)
    assert posterior == pytest.approx(0.6007, abs=1e-4)
    assert value(ard, "stopping_status", "treatment_related_death", "cut", "boundary") == 2
    assert value(ard, "stopping_status", "treatment_related_death", "cut", "events") == 1
    path = [value(ard, "stopping_status", "crs_grade4plus", f"n_{k}", "events") for k in range(1, 9)]
    assert path == [0, 1, 1, 1, 2, 2, 2, 2]


def test_boundaries_and_design(ard):
    rule = ard[(ard["analysis"] == "stopping_rule") & (ard["group"] == "crs_grade4plus")]
    assert set(rule["method"]) == {"thall_simon"}
    assert sorted(rule.loc[rule["variable"] != "design", "variable"], key=lambda v: int(v[2:])) == [
        f"n_{k}" for k in range(1, 41)
    ]
    assert all(math.isnan(value(ard, "stopping_rule", "crs_grade4plus", f"n_{k}", "boundary")) for k in range(1, 5))
    assert value(ard, "stopping_rule", "crs_grade4plus", "n_5", "boundary") == 3
    assert value(ard, "stopping_rule", "crs_grade4plus", "n_8", "boundary") == 4
    assert value(ard, "stopping_rule", "treatment_related_death", "n_5", "boundary") == 2
    design = {
        stat: value(ard, "stopping_rule", "crs_grade4plus", "design", stat)
        for stat in ("threshold", "p0", "type1_error", "first_look", "max_evaluated", "prior_a", "prior_b")
    }
    assert design == {
        "threshold": 0.9,
        "p0": 0.25,
        "type1_error": pytest.approx(
            R_OC.query("design == 'thall_simon_crs' and true_rate == 0.25")["prob_stop"].item()
        ),
        "first_look": 5,
        "max_evaluated": 40,
        "prior_a": 1,
        "prior_b": 1,
    }
    assert math.isnan(value(ard, "stopping_rule", "crs_grade4plus", "design", "alpha"))


@pytest.mark.parametrize(
    ("group", "design"), [("crs_grade4plus", "thall_simon_crs"), ("treatment_related_death", "thall_simon_trd")]
)
def test_exact_oc_rows_match_r(ard, group, design):
    # R: Rscript tests/fixtures/r/stopping.R (oc.csv)
    oc = ard[(ard["analysis"] == "stopping_oc") & (ard["group"] == group)]
    assert set(oc["method"]) == {"exact"}
    expected = R_OC[R_OC["design"] == design]
    assert sorted(set(oc["variable"])) == sorted(f"p_{rate:g}" for rate in expected["true_rate"])
    for row in expected.itertuples():
        for stat in ("prob_stop", "expected_events", "expected_n"):
            got = value(ard, "stopping_oc", group, f"p_{row.true_rate:g}", stat)
            assert got == pytest.approx(getattr(row, stat), abs=1e-11), (row.true_rate, stat)
    assert "p_0.25" in set(oc["variable"])


def test_a_calibrated_method_from_the_settings():
    frame = to_frame(stopping_rows(*tables(), StoppingRules(method="obf", alpha=0.05)))
    assert set(frame.loc[frame["analysis"] == "stopping_rule", "method"]) == {"obf"}
    assert value(frame, "stopping_rule", "crs_grade4plus", "design", "alpha") == 0.05
    assert value(frame, "stopping_rule", "crs_grade4plus", "design", "type1_error") <= 0.05
    status = frame[(frame["analysis"] == "stopping_status") & (frame["variable"] == "cut")]
    assert "posterior" not in set(status["stat_name"])  # the O'Brien–Fleming rule has none


def test_nobody_evaluable_yet():
    frame = to_frame(stopping_rows(*tables(evaluable=0), StoppingRules()))
    assert value(frame, "stopping_status", "crs_grade4plus", "cut", "evaluated") == 0
    assert math.isnan(value(frame, "stopping_status", "crs_grade4plus", "cut", "boundary"))
    assert value(frame, "stopping_status", "crs_grade4plus", "cut", "crossed") == 0
    status = frame[frame["analysis"] == "stopping_status"]
    assert set(status["variable"]) == {"cut"}
