"""The Penn-scale approximation — grading.md, "CRS, Penn scale (approximation, for Penn-graded cohorts)"."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from builders_crs import Person, bolus, build, death, o2, sbp, temp, vaso

from analysis.derive.crs import build_crs_tables
from analysis.derive.penn import (
    PENN_APPROXIMATION_NOTE,
    compute_high_dose_run,
    compute_penn_level,
    derive_var_crs_grade_penn,
)
from analysis.derive.ticks import hours_to_ticks
from analysis.settings import AnalysisPlan, HighDoseVasopressors

PLAN = AnalysisPlan()
F = temp(0, 39.0)


@pytest.mark.parametrize(
    ("hypotension", "hypoxia", "mv", "run", "repeat", "grade"),
    [
        (0, 0, False, False, False, 1),  # inside an episode: at least 1, no fever needed
        (2, 0, False, False, False, 2),  # SBP low or a single bolus
        (2, 0, False, False, True, 3),  # a bolus counting with another within 24 h
        (3, 0, False, False, False, 3),  # vasopressor below high dose (or vasopressin alone)
        (4, 0, False, False, False, 3),  # two vasopressors, not high dose
        (0, 2, False, False, False, 3),  # any low-flow oxygen
        (0, 4, False, False, False, 3),  # CPAP / BiPAP: short of mechanical ventilation
        (0, 4, True, False, False, 4),  # mechanical ventilation
        (3, 0, False, True, False, 4),  # inside a high-dose run of >= 3 h
    ],
)
def test_penn_level(hypotension, hypoxia, mv, run, repeat, grade):
    got = compute_penn_level(
        np.array([hypotension]), np.array([hypoxia]), np.array([mv]), np.array([run]), np.array([repeat])
    )
    assert got.tolist() == [grade]


def test_penn_is_zero_outside_episodes():
    state = pd.DataFrame(
        {
            "episode": [0, 1, 0],
            "hypotension_level": [3, 0, 0],
            "hypoxia_level": [0, 0, 4],
            "mechanical_ventilation": [False, False, True],
            "high_dose_run": [True, False, False],
            "repeat_bolus": [False, False, False],
        }
    )
    assert derive_var_crs_grade_penn(state)["crs_grade_penn"].tolist() == [0, 1, 0]


def _penn_timeline(person: Person, plan: AnalysisPlan = PLAN) -> list[tuple[float, float, int]]:
    t = build_crs_tables(*build([person]), plan)["crs_timeline"]
    return list(zip(t["start_hours"], t["end_hours"], t["crs_grade_penn"]))


def test_whole_high_dose_run_is_grade_4_including_its_first_3_hours():
    got = _penn_timeline(Person("A", [F, vaso(2, "norepinephrine", 0.3, end=6)]))
    assert got[:3] == [(0.0, 2.0, 1), (2.0, 6.0, 4), (6.0, 12.0, 1)]


def test_high_dose_run_cut_by_death_counts_what_was_observed():
    # 2 h of high dose, then death (other cause): never 3 h -> Penn 3
    got = build_crs_tables(*build([Person("A", [F, vaso(2, "norepinephrine", 0.3, end=6), death(4, "other")])]), PLAN)
    assert got["crs"]["crs_max_grade_penn"].tolist() == [3]


def test_high_dose_run_across_a_drug_switch_is_uninterrupted():
    # NE 0.3 [1, 2.5) then epinephrine 0.2 [2.5, 4): high dose throughout, 3 h
    person = Person("A", [F, vaso(1, "norepinephrine", 0.3, end=2.5), vaso(2.5, "epinephrine", 0.2, end=4)])
    assert build_crs_tables(*build([person]), PLAN)["crs"]["crs_max_grade_penn"].tolist() == [4]


def test_interrupted_high_dose_is_two_short_runs():
    # 2 h high, 0.5 h at 0.1, 2 h high: no run of 3 h
    person = Person(
        "A",
        [
            F,
            vaso(1, "norepinephrine", 0.3, end=3),
            vaso(3, "norepinephrine", 0.1, end=3.5),
            vaso(3.5, "norepinephrine", 0.3, end=5.5),
        ],
    )
    assert build_crs_tables(*build([person]), PLAN)["crs"]["crs_max_grade_penn"].tolist() == [3]


def test_high_dose_duration_setting():
    plan = AnalysisPlan(high_dose=HighDoseVasopressors(min_duration_hours=2.0))
    person = Person("A", [F, vaso(1, "norepinephrine", 0.3, end=3)])
    assert build_crs_tables(*build([person]), plan)["crs"]["crs_max_grade_penn"].tolist() == [4]
    assert build_crs_tables(*build([person]), PLAN)["crs"]["crs_max_grade_penn"].tolist() == [3]


def test_repeat_bolus_only_during_the_second_bolus_hour():
    got = _penn_timeline(Person("A", [F, bolus(2), bolus(5)]))
    assert got[:5] == [(0.0, 2.0, 1), (2.0, 3.0, 2), (3.0, 5.0, 1), (5.0, 6.0, 3), (6.0, 12.0, 1)]


def test_no_penn_before_first_fever():
    got = _penn_timeline(Person("A", [o2(0, "mechanical_ventilation", end=5), sbp(0, 70), temp(8, 38.5)]))
    assert got[:2] == [(0.0, 5.0, 0), (5.0, 8.0, 0)]
    assert got[2][2] == 2  # SBP 70 still held at 8 (< 90): Penn 2


def test_grade_5_applies_to_penn():
    person = Person("A", [F, death(5, "crs")])
    crs = build_crs_tables(*build([person]), PLAN)["crs"]
    assert crs[["crs_max_grade", "crs_max_grade_penn", "crs_penn_grade4plus"]].values.tolist() == [[5, 5, True]]


def test_note_states_the_bias():
    assert "under-grade" in PENN_APPROXIMATION_NOTE and "favours PACER" in PENN_APPROXIMATION_NOTE


def test_high_dose_run_expected_flags():
    """grading.md, "CRS, Penn scale": every moment of an uninterrupted high-dose run of >= 3 h, its first 3 h included."""
    hour = hours_to_ticks(1.0)
    participant = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2])
    high_dose = np.array([True, True, False, True, True, True, True, True, True])
    # P0: 1 h + 2 h = exactly 3 h (a titration boundary does not interrupt), then a gap, then 2.5 h
    # P1: 1 h + 1 h + 0.5 h = 2.5 h, short, although P2's run follows it at once (runs never cross
    # participants); P2: 2 h + 1 h = 3 h
    duration = np.array([1.0, 2.0, 1.0, 2.5, 1.0, 1.0, 0.5, 2.0, 1.0]) * hour
    got = compute_high_dose_run(participant, high_dose, duration, PLAN)
    assert got.tolist() == [True, True, False, False, False, False, False, True, True]
    longer = PLAN.model_copy(update={"high_dose": HighDoseVasopressors(min_duration_hours=3.5)})
    assert compute_high_dose_run(participant, high_dose, duration, longer).tolist() == [False] * 9
