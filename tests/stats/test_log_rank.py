"""Log-rank test against R survival::survdiff (tests/fixtures/r/regression.R, "Log-rank test").

Data: survival::lung by sex (2 groups) and by ECOG score (4 groups, one with a single patient), the
synthetic cohorts' and the demo bundles' (demo_subjects.csv) OS and EFS by cohort.
"""

from __future__ import annotations

import doctest
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lifelines.statistics import multivariate_logrank_test

import analysis.stats.log_rank as log_rank_module
from analysis.stats.log_rank import log_rank_test

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "r" / "regression"
TOL_EST = 1e-6
TOL_CI = 1e-4
R = pd.read_csv(FIX / "logrank.csv")

LUNG = pd.read_csv(FIX / "data_lung.csv")
COHORTS = pd.read_csv(FIX / "cohorts.csv")
DEMO = pd.read_csv(FIX / "demo_subjects.csv")
CASES = {
    ("lung", "Surv(time, status) ~ sex"): (LUNG["time"], LUNG["status"], LUNG["sex"]),
    ("lung", "Surv(time, status) ~ ph_ecog"): (LUNG["time"], LUNG["status"], LUNG["ph_ecog"]),
    ("cohorts", "Surv(os_aval, os_event) ~ cohort"): (COHORTS["os_aval"], COHORTS["os_cnsr"] == 0, COHORTS["cohort"]),
    ("cohorts", "Surv(efs_aval, efs_event) ~ cohort"): (
        COHORTS["efs_aval"],
        COHORTS["efs_cnsr"] == 0,
        COHORTS["cohort"],
    ),
    ("demo", "Surv(os_aval, os_event) ~ cohort"): (DEMO["os_aval"], DEMO["os_cnsr"] == 0, DEMO["cohort"]),
    ("demo", "Surv(efs_aval, efs_event) ~ cohort"): (DEMO["efs_aval"], DEMO["efs_cnsr"] == 0, DEMO["cohort"]),
}
RESULTS = {key: log_rank_test(*args) for key, args in CASES.items()}
IDS = [f"{k[0]}:{k[1]}" for k in CASES]


def r_value(key, term, stat) -> float:
    sel = R[(R["dataset"] == key[0]) & (R["model"] == key[1]) & (R["term"] == str(term)) & (R["stat"] == stat)]
    assert len(sel) == 1, (key, term, stat)
    return float(sel["value"].iloc[0])


@pytest.mark.parametrize("key", list(CASES), ids=IDS)
def test_chisq_df_p_match_survdiff(key):
    # R: sd <- survdiff(formula, data = d); sd$chisq; pchisq(sd$chisq, sum(sd$exp > 0) - 1, lower.tail = FALSE)
    res = RESULTS[key]
    assert res.chisq == pytest.approx(r_value(key, "(test)", "chisq"), abs=TOL_CI)
    assert res.df == r_value(key, "(test)", "df")
    assert res.p_value == pytest.approx(r_value(key, "(test)", "p_value"), abs=TOL_CI)


@pytest.mark.parametrize("key", list(CASES), ids=IDS)
def test_observed_expected_variance_match_survdiff(key):
    # R: sd$n; sd$obs; sd$exp; diag(sd$var)
    res = RESULTS[key]
    for i, g in enumerate(res.groups):
        assert res.n[i] == r_value(key, g, "n")
        assert res.observed[i] == pytest.approx(r_value(key, g, "observed"), abs=TOL_EST)
        assert res.expected[i] == pytest.approx(r_value(key, g, "expected"), abs=TOL_EST)
        assert res.variance[i, i] == pytest.approx(r_value(key, g, "variance"), abs=TOL_EST)


def test_lung_by_sex_by_hand():
    # R: survdiff(Surv(time, status) ~ sex, data = lung)   Chisq = 10 on 1 df, p = 0.002
    #    (complete cases of age, sex, ph.ecog: 227 patients) -> chisq 10.008174..., expected 90.957903, 73.042097
    res = RESULTS[("lung", "Surv(time, status) ~ sex")]
    assert res.groups == (1, 2)
    assert res.expected == pytest.approx([90.957903, 73.042097], abs=1e-6)
    assert res.chisq == pytest.approx(r_value(("lung", "Surv(time, status) ~ sex"), "(test)", "chisq"), abs=1e-10)


def test_agrees_with_lifelines():
    # lifelines' multivariate_logrank_test computes the same statistic (no timefix, no near-ties here).
    for key, (t, e, g) in CASES.items():
        ll = multivariate_logrank_test(np.asarray(t, float), np.asarray(g), np.asarray(e, int))
        assert ll.test_statistic == pytest.approx(RESULTS[key].chisq, abs=1e-8)


def test_summary_and_errors():
    s = RESULTS[("cohorts", "Surv(os_aval, os_event) ~ cohort")].summary()
    assert list(s.index) == ["historical", "trial"]
    assert list(s.columns) == ["n", "observed", "expected", "oe2_e", "oe2_v"]
    with pytest.raises(ValueError, match="two groups"):
        log_rank_test([1, 2, 3], [1, 0, 1], ["a", "a", "a"])


def test_docstring_examples():
    assert doctest.testmod(log_rank_module, optionflags=doctest.NORMALIZE_WHITESPACE).failed == 0
