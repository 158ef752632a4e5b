"""Kaplan–Meier with log-log CI, against R survival::survfit (tests/fixtures/r/reference.R, "Kaplan–Meier").

Data sets: survival::aml (all, Maintained), survival::lung (all, female; status recoded 0/1) and three
small synthetic sets (tied, half, nearly) — all exported to CSV by reference.R.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.stats.ard import NOT_ESTIMABLE_N0, to_frame
from analysis.stats.kaplan_meier import (
    follow_up_ard_rows,
    kaplan_meier,
    km_ard_rows,
    median_follow_up,
    median_survival,
    r_timefix,
    survival_at,
)

R = Path(__file__).resolve().parents[1] / "fixtures" / "r"
TOL_EST = 1e-6
TOL_CI = 1e-4


def _datasets() -> dict[str, pd.DataFrame]:
    aml = pd.read_csv(R / "data_aml.csv")
    lung = pd.read_csv(R / "data_lung.csv")
    syn = pd.read_csv(R / "data_km_synthetic.csv")
    sets = {
        "aml_all": aml,
        "aml_maintained": aml[aml["x"] == "Maintained"],
        "lung_all": lung,
        "lung_female": lung[lung["sex"] == 2],
    }
    for name in ("tied", "half", "nearly"):
        sets[name] = syn[syn["set"] == name]
    return sets


DATA = _datasets()
CURVE = pd.read_csv(R / "km_curve.csv")
TIMES = pd.read_csv(R / "km_times.csv")
MEDIAN = pd.read_csv(R / "km_median.csv")
FOLLOW_UP = pd.read_csv(R / "followup_median.csv")


def _fit(name):
    d = DATA[name]
    return kaplan_meier(d["time"], d["status"])


def _close(actual, expected, tol):
    actual = np.asarray(actual, dtype=float)
    expected = np.asarray(expected, dtype=float)
    assert actual.shape == expected.shape
    assert (np.isnan(actual) == np.isnan(expected)).all(), (actual, expected)
    ok = ~np.isnan(expected)
    np.testing.assert_allclose(actual[ok], expected[ok], rtol=0, atol=tol)


@pytest.mark.parametrize("name", list(DATA))
def test_curve_matches_survfit(name):
    fit = _fit(name).to_frame()
    r = CURVE[CURVE["dataset"] == name]
    # R: fit <- survfit(Surv(time, status) ~ 1, data = d, conf.type = "log-log")
    #    fit$time, fit$n.risk, fit$n.event, fit$n.censor, fit$surv, fit$std.err, fit$lower, fit$upper
    _close(fit["time"], r["time"], TOL_EST)
    _close(fit["n_risk"], r["n_risk"], 0)
    _close(fit["n_event"], r["n_event"], 0)
    _close(fit["n_censor"], r["n_censor"], 0)
    _close(fit["surv"], r["surv"], TOL_EST)
    finite = np.isfinite(r["std_err"].to_numpy())
    _close(fit["std_err"][finite], r["std_err"][finite], TOL_EST)
    assert (np.isinf(fit["std_err"][~finite])).all()  # R: Inf once everyone at risk has died
    _close(fit["lower"], r["lower"], TOL_CI)
    _close(fit["upper"], r["upper"], TOL_CI)


@pytest.mark.parametrize("name", list(DATA))
def test_values_at_times_match_summary(name):
    r = TIMES[TIMES["dataset"] == name]
    at = survival_at(_fit(name), r["time"])
    inside = ~r["beyond_last"].to_numpy()
    # R: summary(fit, times = tt, extend = TRUE)$surv, $lower, $upper, $n.risk
    _close(at["surv"][inside], r["surv"][inside], TOL_EST)
    _close(at["ci_low"][inside], r["lower"][inside], TOL_CI)
    _close(at["ci_high"][inside], r["upper"][inside], TOL_CI)
    _close(at["n_risk"], r["n_risk"], 0)


@pytest.mark.parametrize("name", [n for n in DATA if TIMES.loc[TIMES["dataset"] == n, "beyond_last"].any()])
def test_beyond_follow_up_differs_from_r_by_design(name):
    """outputs.md: beyond the longest follow-up the estimate is NaN and n_risk 0.

    R's summary(extend = TRUE) carries the last estimate forward (n.risk 0); we do not.
    """
    r = TIMES[(TIMES["dataset"] == name) & TIMES["beyond_last"]]
    at = survival_at(_fit(name), r["time"])
    assert at["surv"].isna().all() and at["ci_low"].isna().all() and at["ci_high"].isna().all()
    assert (at["n_risk"] == 0).all() and (r["n_risk"] == 0).all()
    assert at["beyond_follow_up"].all()
    assert r["surv"].notna().all()  # what R reports instead


def test_aml_quoted_figures():
    at = survival_at(_fit("aml_all"), [12, 200])
    # R: summary(survfit(Surv(time, status) ~ 1, aml, conf.type = "log-log"), times = 12)
    #    surv 0.73913043478, lower 0.509209438754, upper 0.8733757817, n.risk 18
    assert at.loc[0, "surv"] == pytest.approx(0.73913043478, abs=1e-9)
    assert at.loc[0, "ci_low"] == pytest.approx(0.509209438754, abs=1e-9)
    assert at.loc[0, "ci_high"] == pytest.approx(0.8733757817, abs=1e-9)
    assert at.loc[0, "n_risk"] == 18
    # R: ... times = 200, extend = TRUE -> surv 0.08281573499, n.risk 0 ; here NaN (outputs.md)
    assert math.isnan(at.loc[1, "surv"]) and at.loc[1, "n_risk"] == 0
    # R: print(survfit(Surv(time, status) ~ 1, aml, conf.type = "log-log"))  ->  median 27, 0.95LCL 13, 0.95UCL 34
    m = median_survival(_fit("aml_all"))
    assert (m.median, m.ci_low, m.ci_high) == (27, 13, 34)


def test_r_rules_at_surv_one_are_kept():
    """Before the first observed time R's survfit0 row gives limits 1, 1; at a censoring time with
    S still 1 the log-log limits are NA. Both are R's and kept (data set "tied": censoring at t = 1)."""
    at = survival_at(_fit("tied"), [0.5, 1.0, 1.5])
    # R: summary(fit, times = c(0.5, 1, 1.5))$lower  ->  1 NA NA
    assert at.loc[0, "ci_low"] == 1.0 and at.loc[0, "ci_high"] == 1.0
    assert at.loc[1:, "ci_low"].isna().all() and at.loc[1:, "ci_high"].isna().all()
    assert (at["surv"] == 1.0).all()


@pytest.mark.parametrize("name", list(DATA))
def test_median_matches_print_survfit(name):
    r = MEDIAN[MEDIAN["dataset"] == name].iloc[0]
    m = median_survival(_fit(name))
    # R: summary(fit)$table[c("median", "0.95LCL", "0.95UCL")]  (as print(fit))
    _close([m.median], [r["median"]], TOL_EST)
    _close([m.ci_low, m.ci_high], [r["lcl"], r["ucl"]], TOL_CI)


def test_median_midpoint_when_surv_is_exactly_half():
    # R: print(survfit(Surv(time, status) ~ 1, data = half))  ->  median 5.5 (S = 0.5 on [5, 6))
    assert median_survival(_fit("half")).median == 5.5


@pytest.mark.parametrize("name", list(DATA))
def test_reverse_km_follow_up_matches_r(name):
    d = DATA[name]
    r = FOLLOW_UP[FOLLOW_UP["dataset"] == name].iloc[0]
    m = median_follow_up(d["time"], d["status"])
    # R: summary(survfit(Surv(time, 1 - status) ~ 1, data = d, conf.type = "log-log"))$table["median"]
    _close([m.median], [r["median"]], TOL_EST)
    _close([m.ci_low, m.ci_high], [r["lcl"], r["ucl"]], TOL_CI)


def test_timefix_merges_near_ties_as_aeqsurv():
    # R: survfit(..., timefix = TRUE) treats 1 and 1 + 1e-12 as one time (aeqSurv)
    fixed = r_timefix(np.array([1.0, 1.0 + 1e-12, 2.0, 3.0, 3.0 + 3e-10]))
    assert fixed.tolist() == [1.0, 1.0, 2.0, 3.0, 3.0]
    fit = _fit("nearly")
    assert fit.time.tolist() == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert fit.n_event[0] == 2


def test_empty_fit_and_ard_rows():
    fit = kaplan_meier([], [])
    at = survival_at(fit, [91.3125])
    assert at["surv"].isna().all() and (at["n_risk"] == 0).all()
    frame = to_frame(km_ard_rows(fit, "RFS", {"month_3": 91.3125}))
    assert set(frame["stat_label"]) == {NOT_ESTIMABLE_N0}
    assert dict(zip(frame["stat_name"], frame["stat_value"]))["n_risk"] == 0


def test_km_ard_rows():
    d = DATA["lung_all"]
    fit = kaplan_meier(d["time"], d["status"])
    months = {"month_3": 3 * 30.4375, "month_6": 6 * 30.4375, "month_12": 12 * 30.4375, "month_48": 48 * 30.4375}
    frame = to_frame(km_ard_rows(fit, "OS", months))
    assert len(frame) == 16 and set(frame["method"]) == {""}
    m48 = frame[frame["variable"] == "month_48"].set_index("stat_name")["stat_value"]
    assert math.isnan(m48["surv"]) and m48["n_risk"] == 0  # beyond the longest follow-up (1022 d)
    r = TIMES[(TIMES["dataset"] == "lung_all") & (TIMES["time"] == 182.625)].iloc[0]
    m6 = frame[frame["variable"] == "month_6"].set_index("stat_name")["stat_value"]
    # R: summary(survfit(Surv(time, status) ~ 1, lung, conf.type = "log-log"), times = 182.625)
    assert m6["surv"] == pytest.approx(r["surv"], abs=TOL_EST)
    assert m6["ci_low"] == pytest.approx(r["lower"], abs=TOL_CI)


def test_follow_up_row_in_months():
    d = DATA["lung_all"]
    rows = follow_up_ard_rows(median_follow_up(d["time"], d["status"]), n=len(d), scale=30.4375)
    # R: summary(survfit(Surv(time, 1 - status) ~ 1, lung))$table["median"]  ->  588 (days)
    assert rows[0].stat_value == pytest.approx(588 / 30.4375)


def test_lifelines_differs_from_r_by_design():
    """lifelines 0.30's KaplanMeierFitter: same estimates and same log-log limits where 0 < S < 1, but
    (a) limits 1/1 at S = 1 and 0/0 at S = 0 where R gives NA, (b) its median CI reads the upper band
    at S = 0 as 0 (R: NA, the median's upper limit is not reached), (c) no midpoint rule when S is
    exactly 0.5. That is why this module does not use lifelines."""
    lifelines = pytest.importorskip("lifelines")
    from lifelines.utils import median_survival_times

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d = DATA["tied"]
        kmf = lifelines.KaplanMeierFitter().fit(d["time"], d["status"])
        ours = _fit("tied")
        sf = kmf.survival_function_["KM_estimate"].loc[ours.time]
        np.testing.assert_allclose(sf.to_numpy(), ours.surv, atol=1e-12)
        ci = kmf.confidence_interval_.loc[ours.time].to_numpy()
        inner = (ours.surv > 0) & (ours.surv < 1)
        np.testing.assert_allclose(ci[inner, 0], ours.lower[inner], atol=1e-9)
        assert ci[~inner, 0].tolist() == [1.0, 0.0] and np.isnan(ours.lower[~inner]).all()  # (a)
        ll_ci = median_survival_times(kmf.confidence_interval_)
        assert ll_ci.iloc[0, 1] == 8.0 and math.isnan(median_survival(ours).ci_high)  # (b)
        h = DATA["half"]
        kmf_half = lifelines.KaplanMeierFitter().fit(h["time"], h["status"])
        assert kmf_half.median_survival_time_ == 5.0 and median_survival(_fit("half")).median == 5.5  # (c)


@pytest.mark.parametrize("time, event", [([1, -1], [1, 0]), ([1, np.nan], [1, 0]), ([1, 2], [1, 2]), ([1, 2], [1])])
def test_invalid_input(time, event):
    with pytest.raises(ValueError):
        kaplan_meier(time, event)
