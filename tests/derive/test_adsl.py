"""ADSL on the hand-built outcome cohort (tests/derive/builders_outcomes.py), with an explicit expected table.

Rules: grading.md "Analysis sets", "Burden", "Response and 12-month outcomes" (LKA, day-28
response), "Treatment-related death" (crs/icans/infection within 100 days, any cause other than
disease within 30 days, both ends included).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from builders_outcomes import OUTCOME_COHORT, Participant, build, death, last_contact, ra

from analysis.derive.adsl import ADSL_COLUMNS, SAFETY_COLUMNS, build_adsl, compute_treatment_related_death
from analysis.settings import AnalysisPlan

NA = None
H = 365.25

# participant: infused, death, death_days, death_cause, treatment_related_death, withdrawn, withdrawal_reason,
#              completed_12_months, ongoing_at_cut, response_day28, mrd_negative_day28, best_response_3mo,
#              last_known_alive_days
EXPECTED = {
    "P01": (True, False, NA, NA, False, False, NA, True, False, "CR", True, "CR", 370),
    "P02": (True, True, 100, "infection", True, False, NA, False, False, "CR", False, "CR", 100),
    "P03": (True, True, 200, "disease", False, False, NA, False, False, "CR", True, "CR", 200),
    "P04": (True, False, NA, NA, False, False, NA, False, True, "CRi", True, "CRi", 300),
    "P05": (True, False, NA, NA, False, False, NA, True, False, "CR", True, "CR", 380),
    "P06": (True, False, NA, NA, False, False, NA, False, True, "NR", False, "NR", 120),
    "P07": (True, False, NA, NA, False, False, NA, False, True, NA, NA, "CR", 200),
    "P08": (True, False, NA, NA, False, False, NA, True, False, "CR", NA, "CR", 380),
    "P09": (True, False, NA, NA, False, False, NA, True, False, NA, NA, "CR", 380),
    "P10": (True, False, NA, NA, False, False, NA, False, True, "NR", False, "CR", 150),
    "P11": (True, False, NA, NA, False, False, NA, False, True, "CR", True, "CR", 300),
    "P12": (True, False, NA, NA, False, True, "lost to follow-up", False, False, "CR", True, "CR", 120),
    "P13": (True, False, NA, NA, False, True, "consent withdrawn", False, False, NA, NA, NA, 10),
    "P14": (True, True, 80, "other", False, True, "consent withdrawn", False, False, "CR", True, "CR", 80),
    "P15": (True, False, NA, NA, False, False, NA, False, True, "CR", True, "CR", 100),  # death after the cut unseen
    "P16": (True, False, NA, NA, False, False, NA, False, True, "CR", True, "CR", 91),
    "P17": (False, False, NA, NA, False, False, NA, False, True, NA, NA, NA, NA),  # infused after the cut
    "P18": (False, True, NA, "disease", False, False, NA, False, False, NA, NA, NA, NA),  # never infused, died
    "P19": (True, True, 47 / 24, "crs", True, False, NA, False, False, NA, NA, NA, 47 / 24),
    "P20": (True, True, 121 / 24, "icans", True, False, NA, False, False, NA, NA, NA, 121 / 24),
    "P21": (True, True, 25, "other", True, False, NA, False, False, NA, NA, NA, 25),  # other within 30 d
    "P22": (True, True, 20, "disease", False, False, NA, False, False, NA, NA, NA, 20),  # disease: never TRM
    "P23": (True, True, 101, "infection", False, False, NA, False, False, "NR", False, "NR", 101),  # day 101
    "P24": (True, True, 30, "other", True, False, NA, False, False, NA, NA, NA, 30),  # day 30 included
    "P25": (True, True, 0, "disease", False, False, NA, False, False, NA, NA, NA, 0),  # before infusion -> 0
    "P26": (True, True, 150, "disease", False, False, NA, False, False, "CR", True, "CR", 150),
    "P27": (True, True, 200, "disease", False, False, NA, False, False, "CR", True, "CR", 200),  # LKA capped
    "P28": (True, False, NA, NA, False, False, NA, False, True, "NR", False, "NR", 30),
    "P29": (True, False, NA, NA, False, False, NA, True, False, "CR", True, "CR", 380),
    "P30": (True, True, 300, "disease", False, False, NA, False, False, "NR", False, "NR", 300),
    "P31": (True, True, 380, "disease", False, False, NA, True, False, "CR", True, "CR", 380),
    "P32": (True, False, NA, NA, False, False, NA, True, False, "CR", True, "CR", 370),
    "P33": (True, False, NA, NA, False, False, NA, False, True, NA, NA, NA, 0),
    "P34": (True, False, NA, NA, False, False, NA, True, False, "CR", True, "CR", 380),
    "P35": (True, True, 200, "disease", False, False, NA, False, False, "CR", True, "CR", 200),
    "P36": (True, False, NA, NA, False, False, NA, False, True, "CR", True, "CR", 300),
}
NAMES = [
    "infused",
    "death",
    "death_days",
    "death_cause",
    "treatment_related_death",
    "withdrawn",
    "withdrawal_reason",
    "completed_12_months",
    "ongoing_at_cut",
    "response_day28",
    "mrd_negative_day28",
    "best_response_3mo",
    "last_known_alive_days",
]


def _same(a, b) -> bool:
    if b is None:
        return pd.isna(a)
    if isinstance(b, float | int) and not isinstance(b, bool):
        return not pd.isna(a) and a == pytest.approx(b)
    return not pd.isna(a) and a == b


@pytest.fixture(scope="module")
def cohort():
    return build(OUTCOME_COHORT)


@pytest.fixture(scope="module")
def adsl(cohort):
    participants, events = cohort
    return build_adsl(participants, events, AnalysisPlan())


def test_expected_table(adsl):
    table, _ = adsl
    assert table["participant_id"].tolist() == sorted(EXPECTED)
    got = table.set_index("participant_id")
    for pid, want in EXPECTED.items():
        for name, value in zip(NAMES, want, strict=True):
            assert _same(got.loc[pid, name], value), f"{pid} {name}: {got.loc[pid, name]!r} != {value!r}"


def test_columns_and_types(adsl):
    table, _ = adsl
    assert list(table.columns) == ADSL_COLUMNS
    for column in (
        "high_burden",
        "infused",
        "safety",
        "crs_evaluable",
        "efficacy_evaluable",
        "death",
        "withdrawn",
        "treatment_related_death",
        "completed_12_months",
        "ongoing_at_cut",
    ):
        assert table[column].dtype == np.bool_, column
    assert str(table["mrd_negative_day28"].dtype) == "boolean"
    assert table["death_days"].dtype == np.float64 and table["last_known_alive_days"].dtype == np.float64


def test_analysis_sets_come_from_participants(adsl):
    table, _ = adsl
    got = table.set_index("participant_id")
    assert not got.loc["P17", "safety"] and not got.loc["P18", "safety"]
    assert got.loc["P28", "crs_evaluable"] and not got.loc["P28", "efficacy_evaluable"]  # cut at day 35
    assert not got.loc["P33", "crs_evaluable"] and not got.loc["P33", "efficacy_evaluable"]  # cut at day 10
    assert got.loc["P19", "efficacy_evaluable"]


def test_adsl_queries(adsl):
    _, queries = adsl
    assert list(zip(queries["participant_id"], queries["kind"], strict=True)) == [
        ("P10", "day28_equidistant_assessments")
    ]
    assert "day 24.00 (NR)" in queries["detail"].iloc[0]


@pytest.mark.parametrize(("blasts", "high"), [(39.99, False), (40.0, True), (85.0, True), (5.0, False)])
def test_high_burden_threshold(blasts, high):
    """grading.md, "Burden": marrow blasts ≥ 40 % [choice high_burden_pct]."""
    participants, events = build([Participant("A", (last_contact(10),), marrow_blast_pct=blasts)])
    table, _ = build_adsl(participants, events, AnalysisPlan())
    assert table["high_burden"].tolist() == [high]


def test_high_burden_is_a_setting():
    participants, events = build([Participant("A", (last_contact(10),), marrow_blast_pct=30.0)])
    table, _ = build_adsl(participants, events, AnalysisPlan(high_burden_pct=25.0))
    assert table["high_burden"].tolist() == [True]


# cause, death day, expected TRM under the default plan
TRM_CASES = [
    ("crs", 100.0, True),
    ("icans", 99.0, True),
    ("infection", 100.0, True),
    ("infection", 100.01, False),
    ("other", 30.0, True),
    ("other", 30.01, False),
    ("disease", 5.0, False),
    (None, 10.0, True),
    ("crs", 150.0, False),
    (None, np.nan, False),
]


def test_treatment_related_death_rule():
    cause = pd.Series([c for c, _, _ in TRM_CASES], dtype="string")
    days = pd.Series([d for _, d, _ in TRM_CASES], dtype="float64")
    assert compute_treatment_related_death(cause, days, AnalysisPlan()).tolist() == [t for _, _, t in TRM_CASES]


def test_treatment_related_death_settings():
    cause = pd.Series(["infection", "other"], dtype="string")
    days = pd.Series([50.0, 50.0])
    plan = AnalysisPlan(trm_causes=("crs", "icans"), trm_any_cause_days=60.0)
    assert compute_treatment_related_death(cause, days, plan).tolist() == [True, True]
    plan = AnalysisPlan(trm_causes=("crs", "icans"), trm_any_cause_days=30.0)
    assert compute_treatment_related_death(cause, days, plan).tolist() == [False, False]


def test_safety_frames_absent_give_na_columns(adsl):
    table, _ = adsl
    for name, columns in SAFETY_COLUMNS.items():
        for column in columns:
            assert table[column].isna().all(), (name, column)
    assert table["anakinra_given"].isna().all()


def _safety_cohort():
    return build(
        [
            Participant("A", (ra(28, "CR", 0.0), last_contact(60))),
            Participant("B", (death(10, "crs"),)),
            Participant("C", (last_contact(5),)),
            Participant("N", (), not_infused=True),
        ]
    )


def test_safety_frames_joined():
    participants, events = _safety_cohort()
    crs = pd.DataFrame(
        {
            "participant_id": ["A", "B", "C"],
            "crs_any": [True, True, False],
            "crs_onset_hours": [20.0, 5.0, np.nan],
            "crs_max_grade": [2, 5, 0],
            "crs_max_grade_penn": [3, 5, 0],
            "crs_episodes": [1, 1, 0],
        }
    )
    icans = pd.DataFrame(
        {
            "participant_id": ["A", "B"],
            "icans_any": [False, True],
            "icans_max_grade": [0, 3],
            "icans_assessed": [True, True],
        }
    )
    anakinra = pd.DataFrame(
        {
            "participant_id": ["A", "B", "C"],
            "first_anakinra_hours": [30.0, 8.0, np.nan],
            "anakinra_doses": [4, 2, 0],
            "tocilizumab_given": [False, True, False],
            "corticosteroids_given": [False, True, False],
        }
    )
    table, queries = build_adsl(participants, events, AnalysisPlan(), crs=crs, icans=icans, anakinra=anakinra)
    got = table.set_index("participant_id")
    expected = {
        # crs_any, crs_max_grade, crs_max_grade_penn, icans_max_grade, anakinra_given, anakinra_doses, tocilizumab
        "A": (True, 2, 3, 0, True, 4, False),
        "B": (True, 5, 5, 3, True, 2, True),
        "C": (False, 0, 0, NA, False, 0, False),  # absent from the ICANS frame: NA (queried)
        "N": (NA, NA, NA, NA, NA, NA, NA),  # not infused
    }
    names = [
        "crs_any",
        "crs_max_grade",
        "crs_max_grade_penn",
        "icans_max_grade",
        "anakinra_given",
        "anakinra_doses",
        "tocilizumab_given",
    ]
    for pid, want in expected.items():
        for name, value in zip(names, want, strict=True):
            assert _same(got.loc[pid, name], value), f"{pid} {name}"
    assert str(table["crs_max_grade"].dtype) == "Int64" and str(table["crs_any"].dtype) == "boolean"
    assert list(zip(queries["participant_id"], queries["kind"], strict=True)) == [("C", "icans_missing")]


def test_safety_frame_missing_a_column_is_an_error():
    participants, events = _safety_cohort()
    with pytest.raises(ValueError, match="crs_max_grade_penn"):
        build_adsl(
            participants,
            events,
            AnalysisPlan(),
            crs=pd.DataFrame(
                {
                    "participant_id": ["A"],
                    "crs_any": [True],
                    "crs_onset_hours": [1.0],
                    "crs_max_grade": [1],
                    "crs_episodes": [1],
                }
            ),
        )
