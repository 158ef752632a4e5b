"""Firth logistic regression against R (tests/fixtures/r/regression.R, "Firth logistic regression").

Estimates and standard errors: brglm2 0.9,
    glm(formula, family = binomial, data = d, method = "brglmFit", type = "AS_mean")
Profile penalized-likelihood limits and penalized likelihood-ratio tests: regression.R's base-R
implementation of logistf's definitions (brglm2's confint() is Wald only; logistf is not installed),
which reproduces logistf's published endometrial figures (Heinze & Schemper 2002).

Data: brglm2::endometrial (NV separates: all 13 NV = 1 patients are HG = 1), the synthetic cohorts
(tests/fixtures/r/regression/cohorts.csv), the same with no severe CRS in the trial
(cohorts_separated.csv), the trial alone, and the demo bundles (demo_subjects.csv: data/raw/demo and
data/raw/demo_historical through PACER's ingest and derivations; firthmodels alone stalls short of
1e-8 on it, which the polishing step fixes).
"""

from __future__ import annotations

import doctest
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from firthmodels import FirthLogisticRegression
from scipy import stats

import analysis.stats.firth_logistic as firth_module
from analysis.stats.firth_logistic import _profile_limit_by_root, firth_logistic

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "r" / "regression"
TOL_EST = 1e-6
TOL_CI = 1e-4
R = pd.read_csv(FIX / "firth.csv")
COHORT_FORMULA = "severe_crs ~ cohort_trial + log2_marrow_blasts + age_years + prior_hsct"


def _cohorts(name: str) -> pd.DataFrame:
    d = pd.read_csv(FIX / name)
    d["cohort_trial"] = (d["cohort"] == "trial").astype(int)
    d["log2_marrow_blasts"] = np.log2(np.maximum(d["marrow_blast_pct"], 1.0))  # as regression.R
    return d


ENDO = pd.read_csv(FIX / "data_endometrial.csv")
COHORTS = _cohorts("cohorts.csv")
SEPARATED = _cohorts("cohorts_separated.csv")
TRIAL = COHORTS[COHORTS["cohort"] == "trial"]
DEMO = _cohorts("demo_subjects.csv")  # the demo bundles through PACER's ingest and derivations
TERMS = ["cohort_trial", "log2_marrow_blasts", "age_years", "prior_hsct"]

# dataset -> (R formula, data, covariates, outcome)
CASES = {
    "endometrial": ("HG ~ NV + PI + EH", ENDO, ["NV", "PI", "EH"], "HG"),
    "cohorts": (COHORT_FORMULA, COHORTS, TERMS, "severe_crs"),
    "cohorts_separated": (COHORT_FORMULA, SEPARATED, TERMS, "severe_crs"),
    "trial": ("severe_crs ~ log2_marrow_blasts", TRIAL, ["log2_marrow_blasts"], "severe_crs"),
    "demo": (COHORT_FORMULA, DEMO, TERMS, "severe_crs"),
}
FITS = {name: firth_logistic(d[x], d[y]) for name, (_, d, x, y) in CASES.items()}


def r_value(dataset: str, term: str, stat: str) -> float:
    formula = CASES[dataset][0]
    sel = R[(R["dataset"] == dataset) & (R["model"] == formula) & (R["term"] == term) & (R["stat"] == stat)]
    assert len(sel) == 1, (dataset, term, stat)
    return float(sel["value"].iloc[0])


PARAMS = [(ds, term) for ds, fit in FITS.items() for term in fit.terms]


@pytest.mark.parametrize(("dataset", "term"), PARAMS)
def test_estimates_and_se_match_brglm2(dataset, term):
    # R: fit <- glm(formula, family = binomial, data = d, method = "brglmFit", type = "AS_mean")
    #    coef(fit); sqrt(diag(vcov(fit)))
    fit = FITS[dataset]
    j = fit.terms.index(term)
    assert fit.coef[j] == pytest.approx(r_value(dataset, term, "coef"), abs=TOL_EST)
    assert fit.se[j] == pytest.approx(r_value(dataset, term, "se"), abs=TOL_EST)


@pytest.mark.parametrize(("dataset", "term"), PARAMS)
def test_profile_ci_and_penalized_lr_match_r(dataset, term):
    # R (regression.R, firth_reference): uniroot of 2 (l*(b_hat) - max_{b_j = b} l*(b)) = qchisq(.95, 1);
    #    lr = 2 (l*(b_hat) - max_{b_j = 0} l*(b)); pchisq(lr, 1, lower.tail = FALSE)
    fit = FITS[dataset]
    j = fit.terms.index(term)
    assert fit.ci_low[j] == pytest.approx(r_value(dataset, term, "ci_low"), abs=TOL_CI)
    assert fit.ci_high[j] == pytest.approx(r_value(dataset, term, "ci_high"), abs=TOL_CI)
    assert fit.lr_chisq[j] == pytest.approx(r_value(dataset, term, "lr_chisq"), abs=TOL_CI)
    assert fit.p_value[j] == pytest.approx(r_value(dataset, term, "p_value"), abs=TOL_CI)


@pytest.mark.parametrize("dataset", list(CASES))
def test_penalized_loglik_and_counts(dataset):
    # R: sum(y * eta - log1p(exp(eta))) + 0.5 * determinant(crossprod(X, p * (1 - p) * X))$modulus
    fit = FITS[dataset]
    assert fit.pen_loglik == pytest.approx(r_value(dataset, "(model)", "pen_loglik"), abs=TOL_EST)
    assert fit.n == r_value(dataset, "(model)", "n")
    assert fit.events == r_value(dataset, "(model)", "events")
    assert fit.converged


def test_endometrial_published_figures():
    # logistf's endometrial example (Heinze & Schemper 2002), reproduced by R:
    # R: glm(HG ~ NV + PI + EH, family = binomial, data = endometrial, method = "brglmFit")  NV: 2.929273353197094
    # R: regression.R profile limits for NV: 0.60972443630320738, 7.8546317138772741; PLR p = 0.0091236675470854987
    fit = FITS["endometrial"]
    nv = fit.terms.index("NV")
    assert fit.coef[nv] == pytest.approx(2.929273353197094, abs=TOL_EST)
    assert fit.se[nv] == pytest.approx(1.5507637294530392, abs=TOL_EST)
    assert fit.ci_low[nv] == pytest.approx(0.60972443630320738, abs=TOL_CI)
    assert fit.ci_high[nv] == pytest.approx(7.8546317138772741, abs=TOL_CI)
    assert fit.p_value[nv] == pytest.approx(0.0091236675470854987, abs=TOL_CI)
    assert fit.odds_ratio[nv] == pytest.approx(np.exp(2.929273353197094), rel=TOL_EST)
    assert fit.or_ci_low[nv] == pytest.approx(np.exp(0.60972443630320738), rel=TOL_CI)


def test_separation_is_detected_and_estimates_stay_finite():
    # NV = 1 only with HG = 1 (quasi-complete separation); no severe CRS in the separated trial.
    assert FITS["endometrial"].separation and FITS["endometrial"].infinite_ml == ("NV",)
    assert FITS["cohorts_separated"].separation and FITS["cohorts_separated"].infinite_ml == ("cohort_trial",)
    assert not FITS["cohorts"].separation and FITS["cohorts"].infinite_ml == ()
    sep = FITS["cohorts_separated"]
    j = sep.terms.index("cohort_trial")
    # R: regression.R on cohorts_separated.csv: coef -4.855648713646195, profile CI -9.7132595799880335 to -2.8161932237934746
    assert sep.coef[j] == pytest.approx(-4.855648713646195, abs=TOL_EST)
    assert sep.ci_low[j] == pytest.approx(-9.7132595799880335, abs=TOL_CI)
    assert sep.ci_high[j] == pytest.approx(-2.8161932237934746, abs=TOL_CI)
    assert np.all(np.isfinite(sep.ci_low)) and np.all(np.isfinite(sep.ci_high))


def test_fallback_root_search_agrees_with_venzon_moolgavkar_and_r():
    # The bracketing root search used when firthmodels' profile iteration fails.
    d = ENDO
    X = np.column_stack([np.ones(len(d)), d[["NV", "PI", "EH"]].to_numpy(float)])
    y = d["HG"].to_numpy(float)
    fit = FITS["endometrial"]
    crit = stats.chi2.ppf(0.95, 1)
    for j, term in enumerate(fit.terms):
        lo = _profile_limit_by_root(X, y, j, fit.coef, fit.se, crit, -1)
        hi = _profile_limit_by_root(X, y, j, fit.coef, fit.se, crit, +1)
        assert lo == pytest.approx(r_value("endometrial", term, "ci_low"), abs=TOL_CI)
        assert hi == pytest.approx(r_value("endometrial", term, "ci_high"), abs=TOL_CI)


def test_fallback_used_when_profile_iteration_fails(monkeypatch):
    # Force firthmodels' conf_int to report failure (NaN): the limits still match R.
    original = FirthLogisticRegression.conf_int

    def failing(self, *args, **kwargs):
        return np.full_like(np.asarray(original(self, *args, **kwargs)), np.nan)

    monkeypatch.setattr(FirthLogisticRegression, "conf_int", failing)
    d = CASES["trial"][1]
    fit = firth_logistic(d[["log2_marrow_blasts"]], d["severe_crs"])
    for j, term in enumerate(fit.terms):
        assert fit.ci_low[j] == pytest.approx(r_value("trial", term, "ci_low"), abs=TOL_CI)
        assert fit.ci_high[j] == pytest.approx(r_value("trial", term, "ci_high"), abs=TOL_CI)


def test_firthmodels_own_standard_errors_differ_from_r_by_design():
    # firthmodels' bse_ inverts the augmented information X'W(1 + h)X; R's vcov (and ours) X'WX.
    model = FirthLogisticRegression(gtol=1e-8, xtol=1e-8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(ENDO[["NV", "PI", "EH"]].to_numpy(float), ENDO["HG"].to_numpy())
    nv_theirs = model.bse_[0]
    # R: sqrt(diag(vcov(glm(HG ~ NV + PI + EH, family = binomial, data = endometrial, method = "brglmFit"))))["NV"]
    assert abs(nv_theirs - 1.5507637294530392) > 0.05
    assert FITS["endometrial"].se[1] == pytest.approx(1.5507637294530392, abs=TOL_EST)


def test_summary_frame():
    s = FITS["cohorts"].summary()
    assert list(s.index) == ["(Intercept)", *TERMS]
    assert list(s.columns) == ["coef", "se", "or", "or_ci_low", "or_ci_high", "lr_chisq", "p_value", "infinite_ml"]
    assert (s["or_ci_low"] < s["or"]).all() and (s["or"] < s["or_ci_high"]).all()


def test_bad_input():
    X = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0]})
    with pytest.raises(ValueError, match="constant"):
        firth_logistic(X, [0, 0, 0, 0])
    with pytest.raises(ValueError, match="binary"):
        firth_logistic(X, [0, 1, 2, 0])
    with pytest.raises(ValueError, match="missing"):
        firth_logistic(pd.DataFrame({"x": [0.0, np.nan, 2.0, 3.0]}), [0, 1, 1, 0])


def test_docstring_examples():
    assert doctest.testmod(firth_module, optionflags=doctest.NORMALIZE_WHITESPACE).failed == 0
