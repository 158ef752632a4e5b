"""IPTW against R (tests/fixtures/r/regression.R, "IPTW").

R computes the propensity with glm, the stabilized ATE / ATT weights, the weighted risks, the
risk difference from lm(y ~ trial, weights = w), the odds ratio from glm(quasibinomial, weights = w)
and their HC0 sandwich variances by hand (bread⁻¹ meat bread⁻¹; = sandwich::sandwich(fit), which is
not installed), and the standardized mean differences. Data: the synthetic cohorts, the same with
no severe CRS in the trial (no finite odds ratio), and the demo bundles (demo_subjects.csv).
"""

from __future__ import annotations

import doctest
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import analysis.stats.iptw as iptw_module
from analysis.stats.iptw import iptw, iptw_weights, standardized_mean_differences, weighted_risk_effect
from analysis.stats.logistic import SeparationError

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "r" / "regression"
TOL_EST = 1e-6
TOL_CI = 1e-4
R_EFFECT = pd.read_csv(FIX / "iptw.csv")
R_WEIGHTS = pd.read_csv(FIX / "iptw_weights.csv")
R_SMD = pd.read_csv(FIX / "smd.csv")
COVARIATES = ["log2_marrow_blasts", "age_years", "prior_hsct"]


def _cohorts(name: str) -> pd.DataFrame:
    d = pd.read_csv(FIX / name)
    d["cohort_trial"] = (d["cohort"] == "trial").astype(int)
    d["log2_marrow_blasts"] = np.log2(np.maximum(d["marrow_blast_pct"], 1.0))
    return d


DATA = {
    "cohorts": _cohorts("cohorts.csv"),
    "cohorts_separated": _cohorts("cohorts_separated.csv"),
    "demo": _cohorts("demo_subjects.csv"),
}
CASES = [(ds, est) for ds in DATA for est in ("ATE", "ATT")]
RESULTS = {
    (ds, est): iptw(DATA[ds][COVARIATES], DATA[ds]["cohort_trial"], DATA[ds]["severe_crs"], estimand=est)
    for ds, est in CASES
}
IDS = [f"{ds}:{est}" for ds, est in CASES]


def r_effect(ds: str, est: str, stat: str) -> float:
    sel = R_EFFECT[(R_EFFECT["dataset"] == ds) & (R_EFFECT["model"] == est) & (R_EFFECT["stat"] == stat)]
    assert len(sel) == 1, (ds, est, stat)
    return float(sel["value"].iloc[0])


@pytest.mark.parametrize(("ds", "est"), CASES, ids=IDS)
def test_propensity_and_weights_match_r(ds, est):
    # R: ps <- fitted(glm(cohort_trial ~ log2_marrow_blasts + age_years + prior_hsct, binomial, data))
    #    ATE: ifelse(a == 1, pt / ps, (1 - pt) / (1 - ps));  ATT: ifelse(a == 1, 1, ps / (1 - ps) * (1 - pt) / pt)
    ref = R_WEIGHTS[(R_WEIGHTS["dataset"] == ds) & (R_WEIGHTS["estimand"] == est)]
    res = RESULTS[(ds, est)]
    assert ref["participant_id"].tolist() == DATA[ds]["participant_id"].tolist()
    np.testing.assert_allclose(res.ps, ref["ps"].to_numpy(), atol=TOL_EST, rtol=0)
    np.testing.assert_allclose(res.weights, ref["weight"].to_numpy(), atol=TOL_EST, rtol=0)


@pytest.mark.parametrize(("ds", "est"), CASES, ids=IDS)
def test_weighted_risks_and_risk_difference_match_r(ds, est):
    # R: p1 <- sum(w * y * a) / sum(w * a); rd_fit <- glm(y ~ a, family = gaussian(), weights = w)
    #    rd_se <- sqrt(sandwich_hc0(rd_fit, w)[2, 2]); rd +- qnorm(0.975) * rd_se; 2 * pnorm(-abs(rd / rd_se))
    e = RESULTS[(ds, est)].effect
    assert e.trial_p == pytest.approx(r_effect(ds, est, "trial_p"), abs=TOL_EST)
    assert e.historical_p == pytest.approx(r_effect(ds, est, "historical_p"), abs=TOL_EST)
    assert e.rd == pytest.approx(r_effect(ds, est, "rd"), abs=TOL_EST)
    assert e.rd_se == pytest.approx(r_effect(ds, est, "rd_se"), abs=TOL_EST)
    assert e.rd_ci_low == pytest.approx(r_effect(ds, est, "rd_ci_low"), abs=TOL_CI)
    assert e.rd_ci_high == pytest.approx(r_effect(ds, est, "rd_ci_high"), abs=TOL_CI)
    assert e.rd_p_value == pytest.approx(r_effect(ds, est, "rd_p_value"), abs=TOL_CI)


@pytest.mark.parametrize(("ds", "est"), CASES, ids=IDS)
def test_odds_ratio_matches_r(ds, est):
    # R: or_fit <- glm(y ~ a, family = quasibinomial(), weights = w); lor_se <- sqrt(sandwich_hc0(or_fit, w)[2, 2])
    #    exp(lor +- qnorm(0.975) * lor_se); 2 * pnorm(-abs(lor / lor_se));  NA when a weighted risk is 0 or 1
    e = RESULTS[(ds, est)].effect
    if ds == "cohorts_separated":
        assert math.isnan(r_effect(ds, est, "or"))
        assert all(
            math.isnan(v) for v in (e.log_or, e.log_or_se, e.odds_ratio, e.or_ci_low, e.or_ci_high, e.or_p_value)
        )
        return
    assert e.log_or == pytest.approx(r_effect(ds, est, "log_or"), abs=TOL_EST)
    assert e.log_or_se == pytest.approx(r_effect(ds, est, "log_or_se"), abs=TOL_EST)
    assert e.odds_ratio == pytest.approx(r_effect(ds, est, "or"), abs=TOL_EST)
    assert e.or_ci_low == pytest.approx(r_effect(ds, est, "or_ci_low"), abs=TOL_CI)
    assert e.or_ci_high == pytest.approx(r_effect(ds, est, "or_ci_high"), abs=TOL_CI)
    assert e.or_p_value == pytest.approx(r_effect(ds, est, "or_p_value"), abs=TOL_CI)


@pytest.mark.parametrize(("ds", "est"), CASES, ids=IDS)
def test_effective_sample_sizes_match_r(ds, est):
    # R: ess <- function(v) sum(v)^2 / sum(v^2); ess(w[a == 1]); ess(w[a == 0])
    res = RESULTS[(ds, est)]
    assert res.ess_trial == pytest.approx(r_effect(ds, est, "ess_trial"), abs=TOL_EST)
    assert res.ess_historical == pytest.approx(r_effect(ds, est, "ess_historical"), abs=TOL_EST)
    assert res.weights.min() == pytest.approx(r_effect(ds, est, "weight_min"), abs=TOL_EST)
    assert res.weights.max() == pytest.approx(r_effect(ds, est, "weight_max"), abs=TOL_EST)
    assert (res.n_trial, res.n_historical) == ((36, 36) if ds == "demo" else (40, 60))


@pytest.mark.parametrize(("ds", "est"), CASES, ids=IDS)
def test_smd_match_r(ds, est):
    # R: (m1 - m0) / sqrt((v1 + v0) / 2), v = p(1 - p) for 0/1 covariates, var() otherwise; weighted means after
    ref = R_SMD[(R_SMD["dataset"] == ds) & (R_SMD["model"] == est)].pivot(index="term", columns="stat", values="value")
    smd = RESULTS[(ds, est)].smd
    for cov in COVARIATES:
        for stat in ("mean_trial", "mean_historical", "smd_before", "wmean_trial", "wmean_historical", "smd_after"):
            assert smd.loc[cov, stat] == pytest.approx(ref.loc[cov, stat], abs=TOL_EST), (cov, stat)


def test_ate_weighting_balances_the_cohorts():
    smd = RESULTS[("cohorts", "ATE")].smd
    # R: smd.csv, cohorts, ATE, log2_marrow_blasts: smd_before -0.3655..., smd_after -0.0174...
    assert abs(smd.loc["log2_marrow_blasts", "smd_before"]) > 0.3
    assert (smd["smd_after"].abs() < 0.1).all()


def test_stabilization_changes_neither_effect_nor_sandwich():
    # Documented: rescaling each cohort's weights by a constant leaves the saturated model's
    # estimates and HC0 variances unchanged; stabilization only keeps the weights near 1.
    d = DATA["cohorts"]
    res = RESULTS[("cohorts", "ATE")]
    a = d["cohort_trial"].to_numpy()
    raw = np.where(a == 1, 1 / res.ps, 1 / (1 - res.ps))
    e_raw = weighted_risk_effect(d["severe_crs"], a, raw)
    e = res.effect
    for name in ("trial_p", "historical_p", "rd", "rd_se", "log_or", "log_or_se"):
        assert getattr(e_raw, name) == pytest.approx(getattr(e, name), abs=1e-12)
    assert abs(res.weights.sum() - len(d)) < abs(raw.sum() - len(d))


def test_no_overlap_raises_separation():
    d = DATA["cohorts"].copy()
    d["marker"] = d["cohort_trial"]  # a covariate that identifies the cohort: no overlap at all
    with pytest.raises(SeparationError):
        iptw(d[["marker", "age_years"]], d["cohort_trial"], d["severe_crs"])


def test_weights_and_smd_input_checks():
    with pytest.raises(ValueError, match="strictly between"):
        iptw_weights([0.0, 0.5], [1, 0])
    with pytest.raises(ValueError, match="estimand"):
        iptw_weights([0.5, 0.5], [1, 0], estimand="ATC")
    smd = standardized_mean_differences(pd.DataFrame({"b": [1, 0, 1, 0]}), [1, 1, 0, 0], [1, 1, 1, 1])
    # binary: (0.5 - 0.5) / sqrt((0.25 + 0.25) / 2) = 0
    assert smd.loc["b", "smd_before"] == 0.0


def test_docstring_examples():
    assert doctest.testmod(iptw_module, optionflags=doctest.NORMALIZE_WHITESPACE).failed == 0
