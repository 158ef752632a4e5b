"""Cohort comparison and within-trial regression as ARD rows (analysis/stats/cohort_comparison.py).

Every number is checked against the R fixture of the estimator behind it
(tests/fixtures/r/regression.R on tests/fixtures/r/regression/cohorts*.csv); the ARD contract of
outputs.md (columns, types, unique key) and the sample-size caveat in stat_label are checked too.
"""

from __future__ import annotations

import doctest
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import analysis.stats.cohort_comparison as cc
from analysis.stats.ard import ARD_COLUMNS, ARD_KEY, to_frame, validate_ard
from analysis.stats.cohort_comparison import (
    cohort_comparison_ard,
    model_frame,
    subject_frame,
    trial_regression_ard,
)

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "r" / "regression"
TOL_EST = 1e-6
TOL_CI = 1e-4
COHORT_FORMULA = "severe_crs ~ cohort_trial + log2_marrow_blasts + age_years + prior_hsct"
DAYS_PER_MONTH = 30.4375  # the analysis plan's default; regression.R reads KM at 3, 6, 12 of these months

SUBJECTS = pd.read_csv(FIX / "cohorts.csv")
SEPARATED = pd.read_csv(FIX / "cohorts_separated.csv")
ARD = cohort_comparison_ard(SUBJECTS, days_per_month=DAYS_PER_MONTH)
TRIAL_ARD = trial_regression_ard(SUBJECTS)
ARD_SEP = cohort_comparison_ard(SEPARATED, days_per_month=DAYS_PER_MONTH)
DEMO = pd.read_csv(FIX / "demo_subjects.csv")  # data/raw/demo + demo_historical through PACER's derivations
ARD_DEMO = cohort_comparison_ard(DEMO, days_per_month=DAYS_PER_MONTH)
TRIAL_ARD_DEMO = trial_regression_ard(DEMO)


def r(file: str, dataset: str, model: str, term: str, stat: str) -> float:
    frame = pd.read_csv(FIX / file)
    sel = frame[
        (frame["dataset"] == dataset) & (frame["model"] == model) & (frame["term"] == term) & (frame["stat"] == stat)
    ]
    assert len(sel) == 1, (file, dataset, model, term, stat)
    return float(sel["value"].iloc[0])


def row(ard: pd.DataFrame, analysis: str, group: str, variable: str, stat_name: str, method: str) -> pd.Series:
    sel = ard[
        (ard["analysis"] == analysis)
        & (ard["group"] == group)
        & (ard["variable"] == variable)
        & (ard["stat_name"] == stat_name)
        & (ard["method"] == method)
    ]
    assert len(sel) == 1, (analysis, group, variable, stat_name, method)
    return sel.iloc[0]


def value(ard, *key) -> float:
    return float(row(ard, *key)["stat_value"])


# ---------------------------------------------------------------------------------------------
# The ARD contract
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "ard",
    [ARD, TRIAL_ARD, ARD_SEP, ARD_DEMO, TRIAL_ARD_DEMO],
    ids=["cohorts", "trial", "separated", "demo", "demo_trial"],
)
def test_ard_contract(ard):
    assert tuple(ard.columns) == ARD_COLUMNS
    assert ard["stat_value"].dtype == np.float64
    assert not ard.duplicated(list(ARD_KEY)).any()
    validate_ard(ard)
    assert ard["stat_label"].str.contains("exploratory: ").all()  # the sample-size caveat on every row


def test_analyses_present():
    assert set(ARD["analysis"]) == {
        "cohort_firth_logistic",
        "cohort_iptw",
        "cohort_smd",
        "cohort_km",
        "cohort_cox",
        "cohort_logrank",
    }
    assert set(TRIAL_ARD["analysis"]) == {"trial_cox", "trial_logistic"}
    assert set(ARD.loc[ARD["analysis"] == "cohort_cox", "group"]) == {"OS", "EFS"}


# ---------------------------------------------------------------------------------------------
# Severe CRS: Firth and IPTW
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("term", ["cohort_trial", "log2_marrow_blasts", "age_years", "prior_hsct"])
def test_firth_rows_match_r(term):
    # R: glm(severe_crs ~ cohort_trial + log2_marrow_blasts + age_years + prior_hsct, family = binomial,
    #        data = cohorts, method = "brglmFit", type = "AS_mean")  + regression.R's profile limits / PLR test
    key = ("cohort_firth_logistic", "severe_crs", term)
    coef = r("firth.csv", "cohorts", COHORT_FORMULA, term, "coef")
    assert value(ARD, *key, "coef", "firth_profile") == pytest.approx(coef, abs=TOL_EST)
    assert value(ARD, *key, "se", "firth_profile") == pytest.approx(
        r("firth.csv", "cohorts", COHORT_FORMULA, term, "se"), abs=TOL_EST
    )
    assert value(ARD, *key, "or", "firth_profile") == pytest.approx(math.exp(coef), rel=TOL_EST)
    for stat, rstat in (("or_ci_low", "ci_low"), ("or_ci_high", "ci_high")):
        expected = math.exp(r("firth.csv", "cohorts", COHORT_FORMULA, term, rstat))
        assert value(ARD, *key, stat, "firth_profile") == pytest.approx(expected, rel=TOL_CI)
    assert value(ARD, *key, "p_value", "firth_profile") == pytest.approx(
        r("firth.csv", "cohorts", COHORT_FORMULA, term, "p_value"), abs=TOL_CI
    )


def test_firth_model_rows_and_caveat():
    key = ("cohort_firth_logistic", "severe_crs", "model")
    assert value(ARD, *key, "n", "") == 100
    assert value(ARD, *key, "events", "") == 54  # R: sum(cohorts$severe_crs)
    assert value(ARD, *key, "events_trial", "") == 15
    assert value(ARD, *key, "separation", "") == 0
    rows = ARD[ARD["analysis"] == "cohort_firth_logistic"]
    assert rows["stat_label"].str.endswith("exploratory: 100 participants (40 trial, 60 historical), 54 events").all()


def test_firth_rows_under_separation():
    # No severe CRS in the trial: ML infinite, Firth finite.
    # R: regression.R on cohorts_separated.csv: cohort_trial coef -4.855648713646195, upper limit -2.8161932237934746
    key = ("cohort_firth_logistic", "severe_crs", "cohort_trial")
    assert value(ARD_SEP, *key, "coef", "firth_profile") == pytest.approx(-4.855648713646195, abs=TOL_EST)
    assert value(ARD_SEP, *key, "or_ci_high", "firth_profile") == pytest.approx(
        math.exp(-2.8161932237934746), rel=TOL_CI
    )
    assert "maximum likelihood infinite: separation" in row(ARD_SEP, *key, "or", "firth_profile")["stat_label"]
    assert value(ARD_SEP, "cohort_firth_logistic", "severe_crs", "model", "separation", "") == 1


@pytest.mark.parametrize(
    "stat",
    [
        "trial_p",
        "historical_p",
        "rd",
        "rd_ci_low",
        "rd_ci_high",
        "rd_p_value",
        "or",
        "or_ci_low",
        "or_ci_high",
        "or_p_value",
    ],
)
def test_iptw_rows_match_r(stat):
    # R: regression.R iptw_reference(cohorts, "ATE") (stabilized ATE weights, HC0 sandwich)
    tol = TOL_EST if stat in ("trial_p", "historical_p", "rd", "or") else TOL_CI
    assert value(ARD, "cohort_iptw", "severe_crs", "cohort_trial", stat, "iptw_ate_robust") == pytest.approx(
        r("iptw.csv", "cohorts", "ATE", "severe_crs", stat), abs=tol
    )


def test_iptw_att_and_weights_rows():
    att = cohort_comparison_ard(SUBJECTS, days_per_month=DAYS_PER_MONTH, estimand="ATT")
    # R: regression.R iptw_reference(cohorts, "ATT")
    assert value(att, "cohort_iptw", "severe_crs", "cohort_trial", "rd", "iptw_att_robust") == pytest.approx(
        r("iptw.csv", "cohorts", "ATT", "severe_crs", "rd"), abs=TOL_EST
    )
    assert value(ARD, "cohort_iptw", "severe_crs", "weights", "ess_trial", "iptw_ate_robust") == pytest.approx(
        r("iptw.csv", "cohorts", "ATE", "severe_crs", "ess_trial"), abs=TOL_EST
    )
    assert set(att.loc[att["analysis"] == "cohort_smd", "method"]) == {"unweighted", "iptw_att"}


def test_iptw_under_separation_reports_nan_odds_ratio_with_reason():
    r_or = r("iptw.csv", "cohorts_separated", "ATE", "severe_crs", "or")
    assert math.isnan(r_or)  # R: NA — a weighted risk of 0
    rec = row(ARD_SEP, "cohort_iptw", "severe_crs", "cohort_trial", "or", "iptw_ate_robust")
    assert math.isnan(rec["stat_value"]) and "not estimable" in rec["stat_label"]
    assert value(ARD_SEP, "cohort_iptw", "severe_crs", "cohort_trial", "rd", "iptw_ate_robust") == pytest.approx(
        r("iptw.csv", "cohorts_separated", "ATE", "severe_crs", "rd"), abs=TOL_EST
    )
    assert (
        "too narrow"
        in row(ARD_SEP, "cohort_iptw", "severe_crs", "cohort_trial", "rd_ci_low", "iptw_ate_robust")["stat_label"]
    )


@pytest.mark.parametrize("cov", ["log2_marrow_blasts", "age_years", "prior_hsct"])
def test_smd_rows_match_r(cov):
    # R: regression.R, smd.csv (cohorts, ATE)
    assert value(ARD, "cohort_smd", "trial_vs_historical", cov, "smd", "unweighted") == pytest.approx(
        r("smd.csv", "cohorts", "ATE", cov, "smd_before"), abs=TOL_EST
    )
    assert value(ARD, "cohort_smd", "trial_vs_historical", cov, "smd", "iptw_ate") == pytest.approx(
        r("smd.csv", "cohorts", "ATE", cov, "smd_after"), abs=TOL_EST
    )
    assert value(ARD, "cohort_smd", "trial_vs_historical", cov, "mean_trial", "iptw_ate") == pytest.approx(
        r("smd.csv", "cohorts", "ATE", cov, "wmean_trial"), abs=TOL_EST
    )


# ---------------------------------------------------------------------------------------------
# Survival by cohort
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("group", ["OS_trial", "OS_historical", "EFS_trial", "EFS_historical"])
@pytest.mark.parametrize("month", ["month_3", "month_6", "month_12"])
def test_km_rows_match_survfit(group, month):
    # R: summary(survfit(Surv(aval, event) ~ 1, conf.type = "log-log"), times = c(3, 6, 12) * 30.4375)
    for stat, tol in (("surv", TOL_EST), ("ci_low", TOL_CI), ("ci_high", TOL_CI), ("n_risk", 0)):
        assert value(ARD, "cohort_km", group, month, stat, "") == pytest.approx(
            r("km.csv", "cohorts", group, month, stat), abs=tol
        )


def test_cohort_km_time_points_follow_the_plans_days_per_month():
    # Trial OS: deaths at days 50 and 70, censored at 150 and 300 (the historical cohort mirrors it).
    # By hand, KM: S = 3/4 after day 50, 3/4 · 2/3 = 1/2 after day 70.
    # days_per_month = 20: month_3 = day 60 → S = 0.75 (3 at risk: 70, 150, 300); month_6 = day 120 → 0.5
    # (2 at risk); month_12 = day 240 → 0.5 (1 at risk). With 30.4375-day months month_3 is day 91.3 → 0.5.
    times = [50.0, 70.0, 150.0, 300.0]
    cnsr = [0, 0, 1, 1]
    subjects = pd.DataFrame(
        {
            "participant_id": [f"P{i}" for i in range(8)],
            "cohort": ["trial"] * 4 + ["historical"] * 4,
            "severe_crs": [True, False] * 4,
            "marrow_blast_pct": [10.0, 20.0, 30.0, 40.0] * 2,
            "age_years": [10.0, 12.0, 14.0, 16.0] * 2,
            "prior_hsct": [False, True] * 4,
            "os_aval": times * 2,
            "os_cnsr": cnsr * 2,
            "efs_aval": times * 2,
            "efs_cnsr": cnsr * 2,
        }
    )
    short = validate_ard(to_frame(cc.cohort_survival_rows(subjects, days_per_month=20.0)))
    expected = {"month_3": (0.75, 3), "month_6": (0.5, 2), "month_12": (0.5, 1)}
    for month, (surv, n_risk) in expected.items():
        assert value(short, "cohort_km", "OS_trial", month, "surv", "") == pytest.approx(surv, abs=1e-12)
        assert value(short, "cohort_km", "OS_trial", month, "n_risk", "") == n_risk
    default = to_frame(cc.cohort_survival_rows(subjects, days_per_month=DAYS_PER_MONTH))
    assert value(default, "cohort_km", "OS_trial", "month_3", "surv", "") == pytest.approx(0.5, abs=1e-12)


@pytest.mark.parametrize("ep", ["OS", "EFS"])
def test_cohort_cox_and_logrank_rows_match_r(ep):
    model = f"Surv({ep.lower()}_aval, {ep.lower()}_event) ~ cohort_trial"
    # R: summary(coxph(Surv(aval, event) ~ cohort_trial, data = cohorts, ties = "efron"))
    for stat, tol in (
        ("coef", TOL_EST),
        ("se", TOL_EST),
        ("hr", TOL_EST),
        ("hr_ci_low", TOL_CI),
        ("hr_ci_high", TOL_CI),
        ("p_value", TOL_CI),
    ):
        assert value(ARD, "cohort_cox", ep, "cohort_trial", stat, "efron_wald") == pytest.approx(
            r("cox.csv", "cohorts", model, "cohort_trial", stat), abs=tol
        )
    assert value(ARD, "cohort_cox", ep, "model", "lr_chisq", "efron_lrt") == pytest.approx(
        r("cox.csv", "cohorts", model, "(model)", "lr_chisq"), abs=TOL_CI
    )
    assert value(ARD, "cohort_cox", ep, "model", "p_value", "efron_lrt") == pytest.approx(
        r("cox.csv", "cohorts", model, "(model)", "lr_p"), abs=TOL_CI
    )
    # R: survdiff(Surv(aval, event) ~ cohort, data = cohorts)
    lr_model = f"Surv({ep.lower()}_aval, {ep.lower()}_event) ~ cohort"
    assert value(ARD, "cohort_logrank", ep, "cohort", "chisq", "logrank") == pytest.approx(
        r("logrank.csv", "cohorts", lr_model, "(test)", "chisq"), abs=TOL_CI
    )
    assert value(ARD, "cohort_logrank", ep, "cohort", "p_value", "logrank") == pytest.approx(
        r("logrank.csv", "cohorts", lr_model, "(test)", "p_value"), abs=TOL_CI
    )
    assert value(ARD, "cohort_logrank", ep, "trial", "expected", "logrank") == pytest.approx(
        r("logrank.csv", "cohorts", lr_model, "trial", "expected"), abs=TOL_EST
    )


# ---------------------------------------------------------------------------------------------
# Within the trial
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("ep", ["OS", "EFS"])
@pytest.mark.parametrize("term", ["log2_marrow_blasts", "severe_crs"])
def test_trial_cox_rows_match_r(ep, term):
    model = f"Surv({ep.lower()}_aval, {ep.lower()}_event) ~ log2_marrow_blasts + severe_crs"
    # R: summary(coxph(Surv(aval, event) ~ log2_marrow_blasts + severe_crs, data = trial, ties = "efron"))
    for stat, tol in (
        ("coef", TOL_EST),
        ("hr", TOL_EST),
        ("hr_ci_low", TOL_CI),
        ("hr_ci_high", TOL_CI),
        ("p_value", TOL_CI),
    ):
        assert value(TRIAL_ARD, "trial_cox", ep, term, stat, "efron_wald") == pytest.approx(
            r("cox.csv", "trial", model, term, stat), abs=tol
        )
    events = int(r("cox.csv", "trial", model, "(model)", "events"))
    label = row(TRIAL_ARD, "trial_cox", ep, term, "hr", "efron_wald")["stat_label"]
    assert label.endswith(f"exploratory: 40 participants, {events} events")


def test_trial_logistic_rows_match_r():
    # R: glm(severe_crs ~ log2_marrow_blasts, family = binomial, data = trial); exact profile limits (uniroot);
    #    drop1(fit, test = "Chisq")
    m = "severe_crs ~ log2_marrow_blasts"
    key = ("trial_logistic", "severe_crs", "log2_marrow_blasts")
    assert value(TRIAL_ARD, *key, "coef", "ml_profile") == pytest.approx(
        r("logistic.csv", "trial", m, key[2], "coef"), abs=TOL_EST
    )
    assert value(TRIAL_ARD, *key, "or_ci_low", "ml_profile") == pytest.approx(
        math.exp(r("logistic.csv", "trial", m, key[2], "profile_ci_low")), rel=TOL_CI
    )
    assert value(TRIAL_ARD, *key, "or_ci_high", "ml_profile") == pytest.approx(
        math.exp(r("logistic.csv", "trial", m, key[2], "profile_ci_high")), rel=TOL_CI
    )
    assert value(TRIAL_ARD, *key, "p_value", "ml_profile") == pytest.approx(
        r("logistic.csv", "trial", m, key[2], "lr_p"), abs=TOL_CI
    )
    assert row(TRIAL_ARD, *key, "or", "ml_profile")["stat_label"].endswith("exploratory: 40 participants, 15 events")


def test_trial_logistic_without_events_is_labelled_not_estimable():
    ard = trial_regression_ard(SEPARATED)  # no severe CRS in the trial
    rec = row(ard, "trial_logistic", "severe_crs", "log2_marrow_blasts", "or", "ml_profile")
    assert math.isnan(rec["stat_value"])
    assert (
        rec["stat_label"].startswith("not estimable") and "exploratory: 40 participants, 0 events" in rec["stat_label"]
    )


# ---------------------------------------------------------------------------------------------
# The demo bundles
# ---------------------------------------------------------------------------------------------
def test_demo_rows_match_r():
    # R: regression.R on demo_subjects.csv — Firth (brglm2 + profile), IPTW (ATE), coxph, survdiff, glm
    firth = ("cohort_firth_logistic", "severe_crs", "cohort_trial")
    assert value(ARD_DEMO, *firth, "coef", "firth_profile") == pytest.approx(
        r("firth.csv", "demo", COHORT_FORMULA, "cohort_trial", "coef"), abs=TOL_EST
    )
    assert value(ARD_DEMO, *firth, "or_ci_high", "firth_profile") == pytest.approx(
        math.exp(r("firth.csv", "demo", COHORT_FORMULA, "cohort_trial", "ci_high")), rel=TOL_CI
    )
    assert value(ARD_DEMO, *firth, "p_value", "firth_profile") == pytest.approx(
        r("firth.csv", "demo", COHORT_FORMULA, "cohort_trial", "p_value"), abs=TOL_CI
    )
    assert value(ARD_DEMO, "cohort_iptw", "severe_crs", "cohort_trial", "rd", "iptw_ate_robust") == pytest.approx(
        r("iptw.csv", "demo", "ATE", "severe_crs", "rd"), abs=TOL_EST
    )
    assert value(
        ARD_DEMO, "cohort_iptw", "severe_crs", "cohort_trial", "or_ci_low", "iptw_ate_robust"
    ) == pytest.approx(r("iptw.csv", "demo", "ATE", "severe_crs", "or_ci_low"), abs=TOL_CI)
    assert value(ARD_DEMO, "cohort_cox", "EFS", "cohort_trial", "hr", "efron_wald") == pytest.approx(
        r("cox.csv", "demo", "Surv(efs_aval, efs_event) ~ cohort_trial", "cohort_trial", "hr"), abs=TOL_EST
    )
    assert value(ARD_DEMO, "cohort_logrank", "OS", "cohort", "p_value", "logrank") == pytest.approx(
        r("logrank.csv", "demo", "Surv(os_aval, os_event) ~ cohort", "(test)", "p_value"), abs=TOL_CI
    )
    assert value(
        TRIAL_ARD_DEMO, "trial_logistic", "severe_crs", "log2_marrow_blasts", "or_ci_low", "ml_profile"
    ) == pytest.approx(
        math.exp(
            r("logistic.csv", "demo_trial", "severe_crs ~ log2_marrow_blasts", "log2_marrow_blasts", "profile_ci_low")
        ),
        rel=TOL_CI,
    )
    assert row(ARD_DEMO, *firth, "or", "firth_profile")["stat_label"].endswith(
        "exploratory: 72 participants (36 trial, 36 historical), 25 events"
    )


# ---------------------------------------------------------------------------------------------
# Degenerate inputs keep their rows
# ---------------------------------------------------------------------------------------------
def test_empty_historical_cohort_gives_labelled_nan_rows():
    ard = cohort_comparison_ard(SUBJECTS[SUBJECTS["cohort"] == "trial"], days_per_month=DAYS_PER_MONTH)
    validate_ard(ard)
    for analysis, method in (
        ("cohort_firth_logistic", "firth_profile"),
        ("cohort_iptw", "iptw_ate_robust"),
        ("cohort_cox", "efron_wald"),
    ):
        sub = ard[(ard["analysis"] == analysis) & (ard["method"] == method) & (ard["variable"] == "cohort_trial")]
        assert len(sub) > 0
        assert sub["stat_value"].isna().all()
        assert sub["stat_label"].str.contains("not estimable: one cohort is empty").all()
    assert ard[ard["analysis"] == "cohort_logrank"]["stat_value"].isna().all()


def test_no_participants_at_all():
    ard = cohort_comparison_ard(SUBJECTS.iloc[:0], days_per_month=DAYS_PER_MONTH)
    validate_ard(ard)
    assert (
        ard.loc[
            ~ard["stat_name"].isin(
                ["n", "events", "n_trial", "n_historical", "events_trial", "events_historical", "n_risk"]
            ),
            "stat_value",
        ]
        .isna()
        .all()
    )


def test_monotone_cox_likelihood_gives_labelled_nan_rows():
    d = SUBJECTS.copy()
    trial = d["cohort"] == "trial"
    d.loc[trial & ~d["severe_crs"].astype(bool), "os_cnsr"] = 1  # every trial death after severe CRS
    ard = trial_regression_ard(d)
    rec = row(ard, "trial_cox", "OS", "severe_crs", "hr", "efron_wald")
    assert math.isnan(rec["stat_value"])
    assert "monotone likelihood" in rec["stat_label"]


# ---------------------------------------------------------------------------------------------
# Building the subject frame from processed tables
# ---------------------------------------------------------------------------------------------
def test_subject_frame_from_processed_tables():
    adsl = pd.DataFrame(
        {
            "participant_id": ["P3", "P1", "P2", "P4"],
            "marrow_blast_pct": [80.0, 0.0, 20.0, 50.0],
            "age_years": [10.0, 5.0, 15.0, 8.0],
            "prior_hsct": [True, False, True, False],
            "crs_evaluable": [True, True, True, False],
        }
    )
    crs = pd.DataFrame({"participant_id": ["P1", "P2", "P3", "P4"], "crs_max_grade": [3, 2, 4, 1]})
    adsl_na = adsl.assign(prior_hsct=pd.array([True, None, True, False], dtype="boolean"))
    crs_na = crs.assign(crs_max_grade=pd.array([None, 2, 4, 1], dtype="Int64"))
    adtte = pd.DataFrame(
        {
            "participant_id": ["P1", "P1", "P2", "P3", "P3"],
            "paramcd": ["OS", "EFS", "OS", "OS", "EFS"],
            "aval": [365.25, 100.0, 200.0, 50.0, 30.0],
            "cnsr": [2, 0, 1, 0, 0],
        }
    )
    f = subject_frame(adsl, crs, adtte, "historical")
    assert tuple(f.columns) == cc.SUBJECT_COLUMNS
    assert f["participant_id"].tolist() == ["P1", "P2", "P3"]  # P4 is not CRS-evaluable
    assert f["severe_crs"].tolist() == [True, False, True]
    assert (f["cohort"] == "historical").all()
    assert np.isnan(f.loc[f["participant_id"] == "P2", "efs_aval"]).all()
    mf = model_frame(f)
    assert mf["log2_marrow_blasts"].tolist() == [
        0.0,
        pytest.approx(np.log2(20.0)),
        pytest.approx(np.log2(80.0)),
    ]  # 0 % floored at 1 %
    assert mf["os_event"].tolist() == [0.0, 0.0, 1.0]
    with pytest.raises(ValueError, match="cohort"):
        subject_frame(adsl, crs, adtte, "external")
    # A missing grade or HSCT history stays missing (and drops out of the models), never False.
    g = subject_frame(adsl_na, crs_na, adtte, "trial")
    assert g["severe_crs"].isna().tolist() == [True, False, False]
    assert g["prior_hsct"].isna().tolist() == [True, False, False]
    assert model_frame(g)["severe_crs"].isna().tolist() == [True, False, False]


def test_model_frame_rejects_unknown_cohorts_and_missing_columns():
    with pytest.raises(ValueError, match="unknown cohorts"):
        model_frame(SUBJECTS.assign(cohort="other"))
    with pytest.raises(ValueError, match="lacks columns"):
        model_frame(SUBJECTS.drop(columns=["efs_cnsr"]))


def test_docstring_examples():
    assert doctest.testmod(cc, optionflags=doctest.NORMALIZE_WHITESPACE).failed == 0
