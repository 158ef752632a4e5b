"""Historical cohorts: which comparisons are made, the comparison plan table, and the historical_comparison ARD rows."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from analysis.reference.cohorts import HISTORICAL_COHORTS_PATH, HistoricalCohort, load_cohorts
from analysis.stats.ard import NOT_ESTIMABLE_N0, to_frame
from analysis.stats.comparisons import compare_rates
from analysis.stats.historical import (
    PLAN_COLUMNS,
    compare_with_cohorts,
    comparison_plan_frame,
    plan_comparisons,
    skipped_notes,
    trial_counts_from_ard,
)
from analysis.stats.proportions import rate_rows

REPO = Path(__file__).resolve().parents[2]
SHARED_YAML = REPO.parent / "shared" / "reference" / "historical_cohorts.yaml"
R = REPO / "tests" / "fixtures" / "r"

COHORTS = load_cohorts().cohorts
VARIABLES = (
    "crs_any",
    "crs_grade3plus",
    "crs_grade4plus",
    "crs_penn_grade3plus",
    "crs_penn_grade4plus",
    "crs_grade4",
    "crs_penn_grade4",
    "icans_any",
    "icans_grade3plus",
)
TRIAL = {(g, v): (3, 20) for g in ("all", "high_burden", "low_burden") for v in VARIABLES}


def test_project_copy_is_verbatim_with_citation_header():
    text = HISTORICAL_COHORTS_PATH.read_text(encoding="utf-8")
    assert text.startswith("# Historical tisagenlecleucel cohorts, as published")
    assert "ahnafnafee/car-t" in text  # the provenance line of the header
    if SHARED_YAML.exists():
        assert text == SHARED_YAML.read_text(encoding="utf-8")


def test_plan_on_the_reference_file():
    comparable, skipped = plan_comparisons(COHORTS)
    got = {
        (p.cohort_id, p.endpoint): (
            p.trial_group,
            p.trial_variable,
            p.historical_n,
            p.historical_N,
            p.burden_matched,
            p.overlapping,
            p.primary,
        )
        for p in comparable
    }
    assert got == {
        ("eliana_2018", "crs_any"): ("all", "crs_any", 58, 75, True, True, False),
        ("eliana_2018", "crs_grade3plus"): ("all", "crs_penn_grade3plus", 35, 75, True, True, True),
        ("eliana_2018", "crs_grade4plus"): (
            "all",
            "crs_penn_grade4plus",
            19,
            75,
            True,
            True,
            False,
        ),  # 19 grade 4 + 0 grade 5
        ("eliana_n79_in_pasquini2020", "crs_any"): ("all", "crs_any", 61, 79, True, True, False),
        ("eliana_n79_in_pasquini2020", "crs_grade3plus"): ("all", "crs_penn_grade3plus", 38, 79, True, True, False),
        ("pooled_levine_2021", "crs_any"): ("all", "crs_any", 108, 137, False, True, False),
        ("cibmtr_pasquini_2020", "crs_any"): ("all", "crs_any", 140, 255, False, False, False),
        ("cibmtr_pasquini_2020", "crs_grade3plus"): ("all", "crs_grade3plus", 41, 255, False, False, False),
        ("cibmtr_pasquini_2020", "icans_any"): ("all", "icans_any", 69, 255, False, False, False),
        ("cibmtr_pasquini_2020", "icans_grade3plus"): ("all", "icans_grade3plus", 23, 255, False, False, False),
        ("kadauke_pt_htb", "crs_any"): ("high_burden", "crs_any", 15, 15, True, False, False),
        ("kadauke_stdcrs_htb_historical", "crs_any"): ("high_burden", "crs_any", 26, 26, True, False, False),
        # grade 4 alone, as the CHOP cohorts published it (crs_grade4_n, no crs_grade5_n): 4/15 and 13/26
        ("kadauke_pt_htb", "crs_grade4"): ("high_burden", "crs_penn_grade4", 4, 15, True, False, False),
        ("kadauke_stdcrs_htb_historical", "crs_grade4"): ("high_burden", "crs_penn_grade4", 13, 26, True, False, False),
    }
    reasons = {(s.cohort_id, s.endpoint): s.reason for s in skipped}
    # five endpoints for every cohort; grade 4 alone only for the two cohorts that report it
    assert len(comparable) + len(skipped) == len(COHORTS) * 5 + 2
    assert "confirmed: false" in reasons[("prwcc_schultz_2022", "crs_any")]
    assert "unknown CRS grading scale" in reasons[("cibmtr_john_2025", "crs_grade3plus")]
    assert "crs_any_n is null" in reasons[("eliana_laetsch_2023", "crs_any")]
    assert "crs_grade5_n is null" in reasons[("kadauke_pt_htb", "crs_grade4plus")]
    assert "not graded as ASTCT ICANS" in reasons[("eliana_2018", "icans_any")]
    assert all(note.endswith(".") and " × " in note for note in skipped_notes(skipped))


def test_penn_note_and_overlap_note():
    comparable, _ = plan_comparisons(COHORTS)
    primary = next(p for p in comparable if p.primary)
    assert primary.penn_approximation and any("under-grade" in n for n in primary.notes)
    assert any("not independent" in n for n in primary.notes)
    astct = next(p for p in comparable if (p.cohort_id, p.endpoint) == ("cibmtr_pasquini_2020", "crs_grade3plus"))
    assert not astct.penn_approximation and any("not burden-matched" in n for n in astct.notes)


def test_options_grade4_lower_bound_and_icans_scale():
    comparable, _ = plan_comparisons(COHORTS, grade4_as_grade4plus=True, icans_require_astct=False)
    got = {(p.cohort_id, p.endpoint): p for p in comparable}
    k = got[("kadauke_pt_htb", "crs_grade4plus")]
    assert (k.trial_group, k.trial_variable, k.historical_n, k.historical_N) == (
        "high_burden",
        "crs_penn_grade4plus",
        4,
        15,
    )
    assert any("lower bound" in n for n in k.notes)
    assert got[("eliana_2018", "icans_any")].historical_n == 30


def test_synthetic_edge_cases():
    cohorts = [
        {"id": "a", "name": "A", "confirmed": True, "crs_scale": "astct", "n_infused": None, "crs_any_n": 3},
        {"id": "b", "name": "B", "crs_scale": "astct", "n_infused": 10, "crs_any_n": 3},
        {"id": "c", "name": "C", "confirmed": True, "crs_scale": "astct", "n_infused": 10, "crs_any_n": 11},
        {
            "id": "d",
            "name": "D",
            "nct": ["NCT02435849"],
            "confirmed": True,
            "crs_scale": "astct",
            "n_infused": 10,
            "crs_any_n": 0,
            "min_marrow_blast_pct": 1,
        },
    ]
    cohorts = [HistoricalCohort.model_validate(cohort) for cohort in cohorts]
    comparable, skipped = plan_comparisons(cohorts, ["crs_any"])
    reasons = {s.cohort_id: s.reason for s in skipped}
    assert "n_infused is null" in reasons["a"]
    assert reasons["b"] == "confirmed: false (key figures not verified in the cited source)"  # absent: not confirmed
    assert "not within" in reasons["c"]
    (d,) = comparable
    assert d.overlapping and not d.burden_matched and d.trial_group == "all"  # floor 1 % < the trial's 5 %
    with pytest.raises(ValueError):
        plan_comparisons(cohorts, ["os_12mo"])


SPEC_STATS = {
    ("trial_n", "descriptive"), ("trial_N", "descriptive"), ("trial_p", "descriptive"),
    ("historical_n", "descriptive"), ("historical_N", "descriptive"), ("historical_p", "descriptive"),
    ("burden_matched", "descriptive"), ("p_value", "binom_exact_1s"), ("p_value", "fisher_exact"),
    ("rd", "newcombe_hybrid"), ("rd_ci_low", "newcombe_hybrid"), ("rd_ci_high", "newcombe_hybrid"),
    ("rr", "katz_log"), ("rr_ci_low", "katz_log"), ("rr_ci_high", "katz_log"), ("p_value", "katz_log"),
    ("prob_lower", "beta_binomial"),
}  # fmt: skip


def test_compare_with_cohorts_rows():
    frame = to_frame(compare_with_cohorts(TRIAL, COHORTS))
    for (_, _), block in frame.groupby(["group", "variable"]):
        assert set(zip(block["stat_name"], block["method"])) == SPEC_STATS
    primary = frame[(frame["group"] == "eliana_2018") & (frame["variable"] == "crs_grade3plus")]
    val = {(s, m): v for s, m, v in zip(primary["stat_name"], primary["method"], primary["stat_value"])}
    binom = pd.read_csv(R / "binom.csv").query("x == 3 and n == 20 and m == 35 and M == 75").iloc[0]
    # R: binom.test(3, 20, p = 35/75, alternative = "less")$p.value
    assert val[("p_value", "binom_exact_1s")] == pytest.approx(binom["p_value"], abs=1e-4)
    c = compare_rates(3, 20, 35, 75)
    assert val[("rr", "katz_log")] == c.ratio.rr and val[("prob_lower", "beta_binomial")] == c.prob_lower
    assert val[("historical_p", "descriptive")] == pytest.approx(35 / 75)
    assert val[("burden_matched", "descriptive")] == 1.0
    label = primary.set_index(["stat_name", "method"]).loc[("p_value", "binom_exact_1s"), "stat_label"]
    assert "primary analysis" in label
    other = frame[(frame["group"] == "eliana_2018") & (frame["variable"] == "crs_any")]
    assert other["stat_label"].str.contains("supportive").any()
    # the high-burden cohorts used the trial's high-burden counts
    kad = frame[(frame["group"] == "kadauke_pt_htb") & (frame["stat_name"] == "trial_N")]
    assert kad["stat_label"].iloc[0].startswith("trial high_burden")


def test_interim_labels_every_p_value_descriptive():
    frame = to_frame(compare_with_cohorts(TRIAL, COHORTS, interim=True))
    p = frame[frame["stat_name"] == "p_value"]
    assert p["stat_label"].str.contains("descriptive (interim look)", regex=False).all()
    primary = p[(p["group"] == "eliana_2018") & (p["variable"] == "crs_grade3plus") & (p["method"] == "binom_exact_1s")]
    assert primary["stat_label"].str.endswith("; primary analysis; descriptive (interim look)").all()


def test_trial_n_zero_and_missing_counts():
    trial = dict(TRIAL)
    trial[("high_burden", "crs_any")] = (0, 0)
    frame = to_frame(compare_with_cohorts(trial, COHORTS))
    k = frame[(frame["group"] == "kadauke_pt_htb") & (frame["variable"] == "crs_any")].set_index(
        ["stat_name", "method"]
    )
    assert k.loc[("trial_N", "descriptive"), "stat_value"] == 0
    assert math.isnan(k.loc[("p_value", "fisher_exact"), "stat_value"])
    assert k.loc[("p_value", "fisher_exact"), "stat_label"] == NOT_ESTIMABLE_N0
    assert k.loc[("historical_N", "descriptive"), "stat_value"] == 15  # the published figure stays
    del trial[("all", "crs_penn_grade3plus")]
    with pytest.raises(KeyError, match="crs_penn_grade3plus"):
        compare_with_cohorts(trial, COHORTS)


def test_trial_counts_from_ard():
    rows = rate_rows("crs_rate", "all", "crs_penn_grade3plus", 3, 20) + rate_rows(
        "crs_rate", "high_burden", "crs_any", 0, 0
    )
    counts = trial_counts_from_ard(to_frame(rows))
    assert counts == {("all", "crs_penn_grade3plus"): (3, 20), ("high_burden", "crs_any"): (0, 0)}


def test_comparison_plan_table_on_the_reference_file():
    """One row per cohort × endpoint; how each comparison is made; the published proportions' exact CIs (R)."""
    comparable, skipped = plan_comparisons(COHORTS)
    plan = comparison_plan_frame(COHORTS, comparable, skipped)
    assert list(plan.columns) == list(PLAN_COLUMNS)
    assert {column: str(dtype) for column, dtype in plan.dtypes.items()} == PLAN_COLUMNS
    assert len(plan) == len(COHORTS) * 5 + 2 and plan["compared"].sum() == len(comparable) == 14
    assert list(plan["cohort_id"]) == sorted(plan["cohort_id"])
    rows = plan.set_index(["cohort_id", "endpoint"])
    primary = rows.loc[("eliana_2018", "crs_grade3plus")]
    assert (primary["role"], primary["scale"], primary["trial_group"], primary["trial_variable"]) == (
        "primary",
        "penn",
        "all",
        "crs_penn_grade3plus",
    )
    assert primary["burden_matched"] and primary["overlapping"]
    assert (primary["historical_n"], primary["historical_N"]) == (35, 75)
    # R: binom.test(35, 75)$conf.int -> 0.3505004903 0.5855458179
    assert primary["historical_ci_low"] == pytest.approx(0.3505004903, abs=1e-9)
    assert primary["historical_ci_high"] == pytest.approx(0.5855458179, abs=1e-9)
    assert "under-grade" in primary["notes"] and "not independent" in primary["notes"]
    assert (rows["role"] == "primary").sum() == 1
    kadauke = rows.loc[("kadauke_pt_htb", "crs_any")]
    # R: binom.test(15, 15)$conf.int -> 0.7819806391 1
    assert (kadauke["trial_group"], kadauke["historical_ci_high"]) == ("high_burden", 1.0)
    assert kadauke["historical_ci_low"] == pytest.approx(0.7819806391, abs=1e-9)
    assert kadauke["fever_trigger"] == "tocilizumab at two readings ≥ 38.5 °C within 24 h (CHOP)"
    cibmtr = rows.loc[("cibmtr_pasquini_2020", "crs_any")]
    assert cibmtr["scale"] == "astct" and not cibmtr["burden_matched"] and not cibmtr["overlapping"]
    assert pd.isna(cibmtr["fever_trigger"])
    # R: binom.test(140, 255)$conf.int -> 0.4857188923 0.6111676371
    assert cibmtr["historical_ci_low"] == pytest.approx(0.4857188923, abs=1e-9)
    # a comparison not made: every reason, and nothing of how (nothing is filled in)
    unconfirmed = rows.loc[("prwcc_schultz_2022", "crs_grade3plus")]
    assert not unconfirmed["compared"]
    assert unconfirmed["not_compared_reasons"].startswith("confirmed: false")
    assert unconfirmed[["role", "scale", "trial_group", "burden_matched", "historical_n"]].isna().all()
    eliana_icans = rows.loc[("eliana_2018", "icans_any")]
    assert not eliana_icans["compared"] and eliana_icans["overlapping"]  # a property of the cohort, known either way
    # the same reasons as the report's notes (comparison_notes.json)
    notes = skipped_notes(skipped)
    not_made = plan[~plan["compared"]]
    assert len(notes) == len(not_made)
    assert all(
        f"{cohort} × {endpoint}: not compared — {reasons}." in notes
        for cohort, endpoint, reasons in zip(
            not_made["cohort_id"], not_made["endpoint"], not_made["not_compared_reasons"]
        )
    )
