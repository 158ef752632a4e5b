"""The trial ARD assembled from small derived tables whose results are worked out by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from analysis.reference.cohorts import load_cohorts
from analysis.settings import AnalysisPlan
from analysis.stats.trial_ard import build_trial_ard, derive_rate_endpoints

IDS = ["P1", "P2", "P3", "P4", "P5"]


def tables() -> dict[str, pd.DataFrame]:
    """Five infused participants; P5 is not yet CRS-evaluable."""
    adsl = pd.DataFrame(
        {
            "participant_id": IDS,
            "crs_evaluable": [True, True, True, True, False],
            "efficacy_evaluable": [True, True, True, False, False],
            "high_burden": [True, True, False, False, True],
            "marrow_blast_pct": [80.0, 60.0, 20.0, 10.0, 90.0],
            "age_years": [5.0, 12.0, 17.0, 9.0, 21.0],
            "prior_hsct": [True, False, True, False, False],
            "cr_cri_day28": [True, True, False, pd.NA, pd.NA],
            "mrd_negative_day28": [True, pd.NA, False, pd.NA, pd.NA],
            "best_cr_cri_3mo": [True, True, True, pd.NA, pd.NA],
            "ongoing_at_cut": [False, False, False, True, True],
            "treatment_related_death": [False, True, False, False, True],
            "infused": [True] * 5,
            "death": [True, False, False, False, False],
            "withdrawn": [False] * 5,
            "completed_12_months": [False] * 5,
        }
    )
    crs = pd.DataFrame(
        {
            "participant_id": IDS,
            "crs_any": [True, True, True, False, True],
            "crs_max_grade": [4, 3, 1, 0, 2],
            "crs_max_grade_penn": [4, 3, 2, 0, 3],
        }
    )
    icans = pd.DataFrame(
        {
            "participant_id": IDS,
            "icans_any": [True, False, False, False, False],
            "icans_max_grade": [3, 0, 0, 0, 0],
            "icans_assessed": [True, True, False, True, True],
        }
    )
    anakinra = pd.DataFrame(
        {
            "participant_id": IDS,
            "tocilizumab_given": [True, False, False, False, False],
            "fever_to_anakinra_hours": [2.0, 4.0, 10.0, math.nan, 1.0],
            "trigger_to_anakinra_hours": [0.5, 1.5, math.nan, math.nan, 0.0],
        }
    )
    crs_timeline = pd.DataFrame(
        {
            "participant_id": ["P1", "P2", "P3"],
            "start_hours": [10.0, 20.0, 5.0],
            "hypotension_level": [3, 0, 2],
            "hypoxia_level": [0, 4, 2],
        }
    )
    adtte = pd.DataFrame(
        {
            "participant_id": IDS * 4,
            "paramcd": ["OS"] * 5 + ["EFS"] * 5 + ["RFS"] * 5 + ["CIR"] * 5,
            "aval": [100.0, 365.25, 200.0, 50.0, 20.0] * 4,
            "cnsr": [0, 2, 1, 1, 1] * 4,
            "event_code": [pd.NA] * 15 + [2, 0, 1, 0, 0],
        }
    )
    return {
        "adsl": adsl,
        "crs": crs,
        "icans": icans,
        "anakinra": anakinra,
        "crs_timeline": crs_timeline,
        "adtte": adtte,
    }


def value(ard: pd.DataFrame, analysis: str, group: str, variable: str, stat: str, method: str = "") -> float:
    row = ard[
        (ard["analysis"] == analysis)
        & (ard["group"] == group)
        & (ard["variable"] == variable)
        & (ard["stat_name"] == stat)
        & (ard["method"] == method)
    ]
    assert len(row) == 1, (analysis, group, variable, stat, method)
    return float(row["stat_value"].iloc[0])


def test_rate_endpoints_per_evaluable_participant() -> None:
    t = tables()
    endpoints = derive_rate_endpoints(t["adsl"], t["crs"], t["icans"], t["anakinra"], t["crs_timeline"])
    assert endpoints.set_index("participant_id").astype(int).to_dict("index") == {
        "P1": {
            "high_burden": 1,
            "crs_any": 1,
            "crs_grade3plus": 1,
            "crs_grade4plus": 1,
            "crs_penn_grade3plus": 1,
            "crs_penn_grade4plus": 1,
            "crs_grade4": 1,
            "crs_penn_grade4": 1,
            "icans_any": 1,
            "icans_grade3plus": 1,
            "tocilizumab_given": 1,
            "icu_level_support": 1,
        },
        "P2": {
            "high_burden": 1,
            "crs_any": 1,
            "crs_grade3plus": 1,
            "crs_grade4plus": 0,
            "crs_penn_grade3plus": 1,
            "crs_penn_grade4plus": 0,
            "crs_grade4": 0,
            "crs_penn_grade4": 0,
            "icans_any": 0,
            "icans_grade3plus": 0,
            "tocilizumab_given": 0,
            "icu_level_support": 1,
        },
        "P3": {
            "high_burden": 0,
            "crs_any": 1,
            "crs_grade3plus": 0,
            "crs_grade4plus": 0,
            "crs_penn_grade3plus": 0,
            "crs_penn_grade4plus": 0,
            "crs_grade4": 0,
            "crs_penn_grade4": 0,
            "icans_any": 0,
            "icans_grade3plus": 0,
            "tocilizumab_given": 0,
            "icu_level_support": 0,
        },
        "P4": {
            "high_burden": 0,
            "crs_any": 0,
            "crs_grade3plus": 0,
            "crs_grade4plus": 0,
            "crs_penn_grade3plus": 0,
            "crs_penn_grade4plus": 0,
            "crs_grade4": 0,
            "crs_penn_grade4": 0,
            "icans_any": 0,
            "icans_grade3plus": 0,
            "tocilizumab_given": 0,
            "icu_level_support": 0,
        },
    }


def test_grade4_alone_does_not_count_grade5() -> None:
    # P1 dies of CRS (grade 5 on both scales), P2 reaches grade 4 on both, P3 grade 4 on Penn only:
    # grade ≥ 4 counts P1 and P2 (ASTCT) and P1–P3 (Penn); grade 4 alone P2 (ASTCT) and P2, P3 (Penn).
    t = tables()
    t["crs"]["crs_max_grade"] = [5, 4, 3, 0, 2]
    t["crs"]["crs_max_grade_penn"] = [5, 4, 4, 0, 3]
    endpoints = derive_rate_endpoints(t["adsl"], t["crs"], t["icans"], t["anakinra"], t["crs_timeline"])
    flags = endpoints.set_index("participant_id")
    assert list(flags["crs_grade4plus"]) == [True, True, False, False]
    assert list(flags["crs_grade4"]) == [False, True, False, False]
    assert list(flags["crs_penn_grade4plus"]) == [True, True, True, False]
    assert list(flags["crs_penn_grade4"]) == [False, True, True, False]


def test_ard_rates_response_and_summaries_by_hand() -> None:
    ard, notes = build_trial_ard(tables(), load_cohorts().cohorts, AnalysisPlan())
    # CRS-evaluable P1–P4: grade ≥ 3 in P1, P2 → 2/4; high burden P1, P2 → 2/2; low burden P3, P4 → 0/2
    assert [value(ard, "crs_rate", "all", "crs_grade3plus", s) for s in ("n", "N", "p")] == [2, 4, 0.5]
    assert value(ard, "crs_rate", "high_burden", "crs_grade3plus", "ci_high") == 1.0  # n = N
    assert value(ard, "crs_rate", "low_burden", "crs_grade3plus", "ci_low") == 0.0  # n = 0
    # Clopper–Pearson 2/4: R binom.test(2, 4)$conf.int = 0.06758599 0.93241401
    assert value(ard, "crs_rate", "all", "crs_grade3plus", "ci_low") == pytest.approx(0.06758599, abs=1e-8)
    # ICANS: P3 never assessed (grade 0) → 1/4 of the CRS-evaluable; among the 3 assessed any ICANS 1/3 (P1)
    assert [value(ard, "icans_assessed", "all", "not_assessed", s) for s in ("n", "N")] == [1, 4]
    assert [value(ard, "crs_rate", "all", "icans_any", s) for s in ("n", "N")] == [1, 4]
    assert [value(ard, "icans_assessed", "all", "icans_any", s) for s in ("n", "N")] == [1, 3]
    assert [value(ard, "icans_assessed", "low_burden", "icans_grade3plus", s) for s in ("n", "N")] == [0, 1]
    # participant flow: 5 infused, P5 in the CRS window, P4 before day 42; of P1–P3, P1 died, 2 in follow-up
    assert [value(ard, "participant_flow", "infused", v, "n") for v in ("total", "crs_evaluable", "in_crs_window")] == [
        5,
        4,
        1,
    ]
    assert value(ard, "participant_flow", "crs_evaluable", "before_day_42", "n") == 1
    assert [value(ard, "participant_flow", "efficacy_evaluable", v, "n") for v in ("died", "in_follow_up")] == [1, 2]
    # response over efficacy-evaluable P1–P3: CR/CRi 2/3, MRD-negative 1/3 (missing = not), best 3/3
    assert [
        value(ard, "response", "all", v, "n") for v in ("cr_cri_day28", "mrd_negative_day28", "best_cr_cri_3mo")
    ] == [2, 1, 3]
    # type-7 quartiles of fever→anakinra hours 1, 2, 4, 10: median 3, q1 1.75, q3 5.5
    assert [value(ard, "fever_to_anakinra", "all", "hours", s) for s in ("n", "median", "q1", "q3", "min", "max")] == [
        4,
        3,
        1.75,
        5.5,
        1,
        10,
    ]
    # OS: censored at days 20 and 50, then one death at day 100 among 3 at risk → S(month 6 = 182.6 d) = 2/3
    assert value(ard, "km", "OS", "month_6", "surv") == pytest.approx(2 / 3)
    assert value(ard, "km", "OS", "month_6", "n_risk") == 2
    # CIR: competing death at day 100 (3 at risk: S = 2/3), relapse at day 200 with 2 at risk: F(month 12) = 2/3 × 1/2
    assert value(ard, "cif", "CIR", "month_12", "cif") == pytest.approx(1 / 3)
    # stopping rules over the CRS-evaluable P1–P4: grade ≥ 4 CRS in P1, a treatment-related death in P2
    # (P5's is not counted); 4 evaluated is before the first look (5), so no boundary yet
    for rule in ("crs_grade4plus", "treatment_related_death"):
        assert [value(ard, "stopping_status", rule, "cut", s) for s in ("events", "evaluated", "crossed")] == [1, 4, 0]
        assert math.isnan(value(ard, "stopping_status", rule, "cut", "boundary"))
    # the primary comparison is present and labelled; an interim look (P4, P5 ongoing)
    primary = ard[
        (ard["analysis"] == "historical_comparison")
        & (ard["group"] == "eliana_2018")
        & (ard["variable"] == "crs_grade3plus")
        & (ard["method"] == "binom_exact_1s")
        & (ard["stat_name"] == "p_value")
    ]
    assert primary["stat_label"].iloc[0].endswith("primary analysis; descriptive (interim look)")
    assert (
        value(ard, "historical_comparison", "eliana_2018", "crs_grade3plus", "trial_n", "descriptive") == 2
    )  # Penn ≥ 3: P1, P2
    assert value(ard, "published_outcome", "eliana_2018", "os_12mo", "estimate") == pytest.approx(0.76)
    assert any(note.startswith("prwcc_schultz_2022 × crs_any: not compared") for note in notes)


def test_a_primary_comparison_that_cannot_be_made_is_a_settings_error() -> None:
    from analysis.settings import PrimaryAnalysis, SettingsError

    plan = AnalysisPlan(primary=PrimaryAnalysis(comparator="eliana_2019"))
    with pytest.raises(
        SettingsError, match="primary analysis: no comparable cohort 'eliana_2019' with endpoint 'crs_grade3plus'"
    ):
        build_trial_ard(tables(), load_cohorts().cohorts, plan)


def test_the_plans_days_per_month_reaches_the_cohort_km_rows() -> None:
    # CRS-evaluable P1–P4 with OS deaths at days 50 and 70, censored at 150 and 300, in both cohorts.
    # By hand: S = 3/4 after day 50, 1/2 after day 70. With 20-day months month_3 is day 60 → 0.75;
    # with the default 30.4375-day months it is day 91.3 → 0.5.
    t = tables()
    os_rows = t["adtte"]["paramcd"] == "OS"
    t["adtte"].loc[os_rows, "aval"] = [50.0, 70.0, 150.0, 300.0, 20.0]
    t["adtte"].loc[os_rows, "cnsr"] = [0, 0, 1, 1, 1]
    short, _ = build_trial_ard(t, load_cohorts().cohorts, AnalysisPlan(days_per_month=20.0), historical=t)
    default, _ = build_trial_ard(t, load_cohorts().cohorts, AnalysisPlan(), historical=t)
    for cohort in ("trial", "historical"):
        assert value(short, "cohort_km", f"OS_{cohort}", "month_3", "surv") == pytest.approx(0.75, abs=1e-12)
        assert value(short, "cohort_km", f"OS_{cohort}", "month_3", "n_risk") == 3
        assert value(default, "cohort_km", f"OS_{cohort}", "month_3", "surv") == pytest.approx(0.5, abs=1e-12)
    # the trial's own KM (all infused, P5 censored at day 20) moves with it: month_3 = day 60 → 3/4 of 4 at risk
    assert value(short, "km", "OS", "month_3", "surv") == pytest.approx(0.75, abs=1e-12)
