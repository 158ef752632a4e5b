"""The analyze step's tables beside the ARD: survival step curves, published figures, and all of them together."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_trial_ard import tables

from analysis.reference.cohorts import HistoricalCohort, load_cohorts
from analysis.settings import AnalysisPlan
from analysis.stats.published import PUBLISHED_COLUMNS, published_outcome_rows, published_outcomes_frame
from analysis.stats.results import (
    CIF_CURVE_COLUMNS,
    KM_CURVE_COLUMNS,
    analyze_trial,
    cif_curves_frame,
    km_curves_frame,
)

MONTH = AnalysisPlan().days_per_month
COHORTS = load_cohorts().cohorts


def test_km_curve_is_the_survfit_step_function_from_the_origin():
    """OS of the small tables: censored at days 20 and 50, a death at 100 (3 at risk), censored at 200 and 365.25.

    R: ``f <- survfit(Surv(c(100, 365.25, 200, 50, 20), c(1, 0, 0, 0, 0)) ~ 1)`` gives time 20 50 100 200 365.25,
    n.risk 5 4 3 2 1, n.event 0 0 1 0 0, n.censor 1 1 0 1 1, surv 1 1 0.6666667 0.6666667 0.6666667.
    """
    curves = km_curves_frame(tables()["adtte"], AnalysisPlan())
    assert {column: str(dtype) for column, dtype in curves.dtypes.items()} == KM_CURVE_COLUMNS
    assert list(curves["parameter"].unique()) == ["OS", "EFS", "RFS"]
    os_curve = curves[curves["parameter"] == "OS"]
    assert os_curve["step"].tolist() == [0, 1, 2, 3, 4, 5]
    assert os_curve["time_days"].tolist() == [0.0, 20.0, 50.0, 100.0, 200.0, 365.25]
    assert os_curve["time_months"].tolist() == pytest.approx([0.0, *(t / MONTH for t in (20, 50, 100, 200, 365.25))])
    assert os_curve["n_risk"].tolist() == [5, 5, 4, 3, 2, 1]
    assert os_curve["n_event"].tolist() == [0, 0, 0, 1, 0, 0]
    assert os_curve["n_censor"].tolist() == [0, 1, 1, 0, 1, 1]
    assert os_curve["surv"].tolist() == pytest.approx([1, 1, 1, 2 / 3, 2 / 3, 2 / 3])


def test_km_curve_carries_the_log_log_limits_of_survfit():
    """The pointwise 95 % limits: 1 and 1 at the origin (survfit0), NA while S = 1, then R's log-log limits.

    R: ``survfit(Surv(c(100, 365.25, 200, 50, 20), c(1, 0, 0, 0, 0)) ~ 1, conf.type = "log-log")`` gives
    lower NA NA 0.05407342679 0.05407342679 0.05407342679 and upper NA NA 0.9452063873 (three times).
    """
    os_curve = km_curves_frame(tables()["adtte"], AnalysisPlan()).query("parameter == 'OS'")
    low, high = os_curve["ci_low"].to_numpy(), os_curve["ci_high"].to_numpy()
    assert (low[0], high[0]) == (1.0, 1.0)
    assert math.isnan(low[1]) and math.isnan(low[2]) and math.isnan(high[1]) and math.isnan(high[2])
    assert low[3:] == pytest.approx([0.05407342679] * 3, abs=1e-9)
    assert high[3:] == pytest.approx([0.9452063873] * 3, abs=1e-9)


def test_km_curve_limits_match_survfit_on_aml():
    """R's aml data as an OS parameter: every step's limits are survfit's ``lower`` and ``upper``
    (tests/fixtures/r/km_curve.csv, dataset ``aml_all``, ``conf.type = "log-log"``)."""
    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "r"
    aml = pd.read_csv(fixtures / "data_aml.csv")
    adtte = pd.DataFrame({"paramcd": "OS", "aval": aml["time"].astype(float), "cnsr": 1 - aml["status"]})
    curve = km_curves_frame(adtte, AnalysisPlan())
    expected = pd.read_csv(fixtures / "km_curve.csv").query("dataset == 'aml_all'")
    assert curve["time_days"].tolist()[1:] == expected["time"].astype(float).tolist()
    np.testing.assert_allclose(curve["ci_low"].to_numpy()[1:], expected["lower"].to_numpy(), atol=1e-9)
    np.testing.assert_allclose(curve["ci_high"].to_numpy()[1:], expected["upper"].to_numpy(), atol=1e-9)


def test_cif_curve_is_the_cuminc_corner_points():
    """CIR: competing death at day 100, relapse at day 200 with 2 at risk (all-cause S = 2/3 before it).

    R: ``cmprsk::cuminc(c(100, 365.25, 200, 50, 20), c(2, 0, 1, 0, 0))[["1 1"]]`` gives time 0 200 200 365.25,
    est 0 0 0.3333333 0.3333333.
    """
    curve = cif_curves_frame(tables()["adtte"], AnalysisPlan())
    assert {column: str(dtype) for column, dtype in curve.dtypes.items()} == CIF_CURVE_COLUMNS
    assert curve["parameter"].tolist() == ["CIR"] * 4 and curve["step"].tolist() == [0, 1, 2, 3]
    assert curve["time_days"].tolist() == [0.0, 200.0, 200.0, 365.25]
    assert curve["cif"].tolist() == pytest.approx([0, 0, 1 / 3, 1 / 3])


def test_no_participant_gives_empty_typed_curves():
    adtte = tables()["adtte"].iloc[0:0]
    km, cif = km_curves_frame(adtte, AnalysisPlan()), cif_curves_frame(adtte, AnalysisPlan())
    assert km.empty and cif.empty
    assert {c: str(d) for c, d in km.dtypes.items()} == KM_CURVE_COLUMNS
    assert {c: str(d) for c, d in cif.dtypes.items()} == CIF_CURVE_COLUMNS


def test_published_outcomes_of_the_reference_as_published():
    published = published_outcomes_frame(COHORTS)
    assert {column: str(dtype) for column, dtype in published.dtypes.items()} == PUBLISHED_COLUMNS
    rows = published.set_index(["cohort_id", "variable"])
    eliana = rows.loc[("eliana_2018", "orr_3mo")]
    assert (eliana["cohort_order"], eliana["estimate_pct"], eliana["ci_low_pct"], eliana["ci_high_pct"]) == (
        1,
        81,
        71,
        89,
    )
    assert eliana["note"].startswith("CR 45 (60%)")
    assert rows.loc[("eliana_2018", "efs_12mo"), "definition"].startswith("infusion to no response")
    # a bare published percentage: a figure without a CI; a null CI stays null
    john = rows.loc[("cibmtr_john_2025", "cr_cri_best_response_pct")]
    assert john["estimate_pct"] == 86 and math.isnan(john["ci_low_pct"]) and math.isnan(john["ci_high_pct"])
    assert math.isnan(rows.loc[("cibmtr_john_2025", "os_12mo"), "ci_low_pct"])
    # null figures (eliana_laetsch_2023's os_12mo) give no row; the reference's order is kept
    assert ("eliana_laetsch_2023", "os_12mo") not in rows.index
    assert published["cohort_order"].is_monotonic_increasing
    assert len(published) == 12


def test_an_unconfirmed_cohort_gives_no_published_figure():
    confirmed = {"id": "a", "name": "A", "confirmed": True, "os_12mo": {"estimate": 70, "ci": [60, 80]}}
    cohorts = [
        HistoricalCohort.model_validate(confirmed),
        HistoricalCohort.model_validate({**confirmed, "id": "b", "confirmed": False}),
        HistoricalCohort.model_validate({**confirmed, "id": "c", "confirmed": None}),
    ]
    published = published_outcomes_frame(cohorts)
    assert published["cohort_id"].tolist() == ["a"]
    rows = {(r.group, r.variable, r.stat_name): (r.stat_value, r.stat_label) for r in published_outcome_rows(published)}
    assert rows == {
        ("a", "os_12mo", "estimate"): (0.70, "A: os_12mo as published"),
        ("a", "os_12mo", "ci_low"): (0.60, "A: os_12mo as published"),
        ("a", "os_12mo", "ci_high"): (0.80, "A: os_12mo as published"),
    }


def test_analyze_trial_writes_every_table_from_the_same_fits():
    results = analyze_trial(tables(), COHORTS, AnalysisPlan())
    assert list(results.tables) == [
        "ard",
        "comparison_plan",
        "published_outcomes",
        "km_curves",
        "cif_curves",
        "map_prior_densities",
    ]
    ard = results.tables["ard"].set_index(["analysis", "group", "variable", "stat_name", "method"])["stat_value"]
    # the curve at month 6 is the ARD's km value there: S = 2/3 after the death at day 100
    km = results.tables["km_curves"]
    os_curve = km[(km["parameter"] == "OS") & (km["time_days"] <= 6 * MONTH)]
    assert os_curve["surv"].iloc[-1] == ard.loc[("km", "OS", "month_6", "surv", "")]
    cif = results.tables["cif_curves"]
    assert cif.loc[cif["time_days"] <= 12 * MONTH, "cif"].iloc[-1] == ard.loc[("cif", "CIR", "month_12", "cif", "")]
    # every published figure is an ARD published_outcome row, as a proportion
    published = results.tables["published_outcomes"]
    for row in published.itertuples(index=False):
        assert ard.loc[("published_outcome", row.cohort_id, row.variable, "estimate", "")] == row.estimate_pct / 100
    assert len(ard.loc["published_outcome"]) == 3 * len(published)
    # the plan's compared rows are exactly the ARD's historical comparisons
    plan = results.tables["comparison_plan"]
    compared = set(zip(plan.loc[plan["compared"], "cohort_id"], plan.loc[plan["compared"], "endpoint"]))
    assert compared == {(group, variable) for group, variable, *_ in ard.loc["historical_comparison"].index}
    # the comparison notes (in the reference's order; the MAP prior's notes follow) say what the plan's rows
    # not compared say (sorted by key)
    comparison_notes = [note for note in results.skipped_comparisons if ": not compared — " in note]
    assert sorted(comparison_notes) == sorted(
        f"{r.cohort_id} × {r.endpoint}: not compared — {r.not_compared_reasons}."
        for r in plan[~plan["compared"]].itertuples(index=False)
    )
