"""ASTCT CRS and the Penn approximation on hand-built participants — grading.md, "CRS, ASTCT 2019",
"CRS, Penn scale" and "The physiological state over time".

Each case is one participant (age 12 unless said: PALS threshold 90 mmHg; data to hour 2000, so
CRS follow-up ends at day 60 = hour 1440) with its expected ASTCT maximum grade, Penn-approximate
maximum grade, onset hour and episode count, worked out by hand in the comment beside it.
``F`` is a fever of 39 °C at hour 0: with the 12 h reading hold it makes [0, 12) febrile, so an
episode starting at 0 with nothing else ends at hour 12 (the clean span [12, 36) is ≥ 24 h).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest
from builders_crs import Person, bolus, build, death, med, o2, reported, sbp, temp, vaso

from analysis.derive.crs import CRS_COLUMNS, TIMELINE_COLUMNS, build_crs_tables
from analysis.settings import AnalysisPlan

PLAN = AnalysisPlan()
EXACT = AnalysisPlan(pals_age="exact")

F = temp(0, 39.0)


@dataclass
class Case:
    name: str
    events: list[dict]
    astct: int
    penn: int
    onset: float | None
    episodes: int
    age: float = 12.0
    data_end: float = 2000.0
    plan: AnalysisPlan = PLAN
    extra: dict = field(default_factory=dict)  # further crs columns to check

    def person(self) -> Person:
        return Person(self.name, self.events, age=self.age, data_end=self.data_end)


CASES: list[Case] = [
    # --- fever -------------------------------------------------------------------------------
    Case("fever_38_0", [temp(5, 38.0)], 1, 1, 5.0, 1, extra={"first_fever_hours": 5.0, "crs_duration_hours": 12.0}),
    Case("temp_37_9", [temp(5, 37.9)], 0, 0, None, 0, extra={"first_fever_hours": None, "crs_any": False}),
    # same time: 37.0 and 38.4 -> the worst (38.4) wins -> fever at 5
    Case("fever_shares_time_with_normal", [temp(5, 37.0), temp(5, 38.4)], 1, 1, 5.0, 1),
    # a pre-infusion fever and vasopressor are never carried into day 0; 37.0 at 5 is normal
    Case(
        "pre_infusion_rows_not_carried",
        [temp(-1, 39.0), vaso(-2, "norepinephrine", 0.1, end=5), temp(5, 37.0)],
        0,
        0,
        None,
        0,
    ),
    # --- PALS thresholds: fever at 0, SBP at 1 (holds [1, 13)) ---------------------------------
    Case("age1_5_completed_sbp72", [F, sbp(1, 72)], 1, 1, 0.0, 1, age=1.5),  # threshold 70 + 2*1 = 72
    Case("age1_5_completed_sbp71", [F, sbp(1, 71)], 2, 2, 0.0, 1, age=1.5),
    Case("age1_5_exact_sbp73", [F, sbp(1, 73)], 1, 1, 0.0, 1, age=1.5, plan=EXACT),  # 70 + 2*1.5 = 73
    Case("age1_5_exact_sbp72", [F, sbp(1, 72)], 2, 2, 0.0, 1, age=1.5, plan=EXACT),
    Case("age9_9_completed_sbp88", [F, sbp(1, 88)], 1, 1, 0.0, 1, age=9.9),  # 70 + 2*9 = 88
    Case("age9_9_completed_sbp87", [F, sbp(1, 87)], 2, 2, 0.0, 1, age=9.9),
    Case("age9_9_exact_sbp89", [F, sbp(1, 89)], 2, 2, 0.0, 1, age=9.9, plan=EXACT),  # 70 + 19.8 = 89.8
    Case("age9_9_exact_sbp90", [F, sbp(1, 90)], 1, 1, 0.0, 1, age=9.9, plan=EXACT),
    Case("age10_completed_sbp90", [F, sbp(1, 90)], 1, 1, 0.0, 1, age=10.0),  # 90 from age 10
    Case("age10_completed_sbp89", [F, sbp(1, 89)], 2, 2, 0.0, 1, age=10.0),
    Case("age10_exact_sbp90", [F, sbp(1, 90)], 1, 1, 0.0, 1, age=10.0, plan=EXACT),
    Case("age10_exact_sbp89", [F, sbp(1, 89)], 2, 2, 0.0, 1, age=10.0, plan=EXACT),
    Case("age9_9_exact_sbp89_8", [F, sbp(1, 89.8)], 1, 1, 0.0, 1, age=9.9, plan=EXACT),  # at the threshold: not below
    Case("age17_completed_sbp90", [F, sbp(1, 90)], 1, 1, 0.0, 1, age=17.0),
    Case("age17_completed_sbp89", [F, sbp(1, 89)], 2, 2, 0.0, 1, age=17.0),
    Case("age17_exact_sbp90", [F, sbp(1, 90)], 1, 1, 0.0, 1, age=17.0, plan=EXACT),
    Case("age17_exact_sbp89", [F, sbp(1, 89)], 2, 2, 0.0, 1, age=17.0, plan=EXACT),
    # --- boluses -----------------------------------------------------------------------------
    Case("one_bolus", [F, bolus(2)], 2, 2, 0.0, 1),
    # second bolus at 20 has one 18 h before it: Penn 3 during [20, 21); D false [12, 20) only 8 h
    Case("two_boluses_in_24h", [F, bolus(2), bolus(20)], 2, 3, 0.0, 1, extra={"crs_duration_hours": 21.0}),
    Case("two_boluses_exactly_24h", [F, bolus(2), bolus(26)], 2, 3, 0.0, 1),
    # 25 h apart: each a single bolus for Penn (2); D false [12, 27) = 15 h, so one episode to 28
    Case("two_boluses_25h_apart", [F, bolus(2), bolus(27)], 2, 2, 0.0, 1, extra={"crs_duration_hours": 28.0}),
    # --- vasopressors ------------------------------------------------------------------------
    Case("vasopressin_alone", [F, vaso(1, "vasopressin", 0.0003, end=5)], 3, 3, 0.0, 1),
    # NE 0.1 with vasopressin: one vasopressor (3); NE-equivalent 0.1 < 0.14: not high dose
    Case(
        "vasopressor_plus_vasopressin",
        [F, vaso(1, "norepinephrine", 0.1, end=5), vaso(2, "vasopressin", 0.0003, end=4)],
        3,
        3,
        0.0,
        1,
    ),
    # NE 0.15 with vasopressin for 4 h: NE-equivalent 0.15 >= 0.14 -> high dose >= 3 h: Penn 4
    Case(
        "vasopressor_plus_vasopressin_high_dose",
        [F, vaso(1, "norepinephrine", 0.15, end=5), vaso(1, "vasopressin", 0.0003, end=5)],
        3,
        4,
        0.0,
        1,
    ),
    Case(
        "two_vasopressors_overlapping",
        [F, vaso(1, "norepinephrine", 0.1, end=5), vaso(3, "epinephrine", 0.05, end=6)],
        4,
        3,
        0.0,
        1,
    ),
    Case(
        "two_vasopressors_one_after_the_other",
        [F, vaso(1, "norepinephrine", 0.1, end=5), vaso(5, "epinephrine", 0.05, end=8)],
        3,
        3,
        0.0,
        1,
    ),
    # NE rows at 1 (end 10), 4 (no end), 6 (end 8): each replaces the earlier -> [1,4) [4,6) [6,8), one drug (3);
    # 0.3 only 2 h: Penn 3
    Case(
        "titrated_vasopressor",
        [
            F,
            vaso(1, "norepinephrine", 0.1, end=10),
            vaso(4, "norepinephrine", 0.3),
            vaso(6, "norepinephrine", 0.05, end=8),
        ],
        3,
        3,
        0.0,
        1,
    ),
    # titration 0.28 -> 0.5 at 2.5 does not interrupt the high-dose run [1, 4) = 3 h
    Case(
        "titrated_high_dose_run_3h",
        [F, vaso(1, "norepinephrine", 0.28, end=2.5), vaso(2.5, "norepinephrine", 0.5, end=4)],
        3,
        4,
        0.0,
        1,
    ),
    Case("high_dose_2_9h", [F, vaso(1, "norepinephrine", 0.3, end=3.9)], 3, 3, 0.0, 1),
    Case("high_dose_3h", [F, vaso(1, "norepinephrine", 0.3, end=4)], 3, 4, 0.0, 1),
    Case("epinephrine_monotherapy_high_dose", [F, vaso(1, "epinephrine", 0.14, end=4)], 3, 4, 0.0, 1),
    # NE 0.2 + phenylephrine 1.0: NE-equivalent 0.2 + 0.1 = 0.3 >= 0.28
    Case(
        "combination_ne_equivalent_high",
        [F, vaso(1, "norepinephrine", 0.2, end=4), vaso(1, "phenylephrine", 1.0, end=4)],
        4,
        4,
        0.0,
        1,
    ),
    # NE 0.2 + phenylephrine 0.5: 0.25 < 0.28
    Case(
        "combination_ne_equivalent_below",
        [F, vaso(1, "norepinephrine", 0.2, end=4), vaso(1, "phenylephrine", 0.5, end=4)],
        4,
        3,
        0.0,
        1,
    ),
    # dopamine 10 stays high dose when NE 0.01 is added (choice: a monotherapy high dose is not lowered)
    Case(
        "dopamine_high_with_low_norepinephrine",
        [F, vaso(1, "dopamine", 10.0, end=4), vaso(1, "norepinephrine", 0.01, end=4)],
        4,
        4,
        0.0,
        1,
    ),
    # no end and no later row: runs to the data end (hour 30): the episode is open at the cut
    Case(
        "vasopressor_without_end",
        [F, vaso(1, "norepinephrine", 0.1)],
        3,
        3,
        0.0,
        1,
        data_end=30.0,
        extra={"crs_open": True, "crs_duration_hours": 30.0},
    ),
    # --- oxygen: fever at 0, device [1, 5) -----------------------------------------------------
    Case("nasal_cannula_6", [F, o2(1, "nasal_cannula", 6.0, end=5)], 2, 3, 0.0, 1),
    Case("nasal_cannula_6_5", [F, o2(1, "nasal_cannula", 6.5, end=5)], 3, 3, 0.0, 1),
    Case("blow_by", [F, o2(1, "blow_by", 2.0, end=5)], 2, 3, 0.0, 1),
    Case("high_flow_nasal_cannula_low_flow", [F, o2(1, "high_flow_nasal_cannula", 2.0, end=5)], 3, 3, 0.0, 1),
    Case("simple_face_mask", [F, o2(1, "simple_face_mask", 8.0, end=5)], 3, 3, 0.0, 1),
    Case("venturi_mask", [F, o2(1, "venturi_mask", 8.0, end=5)], 3, 3, 0.0, 1),
    Case("nonrebreather_mask", [F, o2(1, "nonrebreather_mask", 15.0, end=5)], 3, 3, 0.0, 1),
    Case("cpap", [F, o2(1, "cpap", end=5)], 4, 3, 0.0, 1),
    Case("bipap", [F, o2(1, "bipap", end=5)], 4, 3, 0.0, 1),
    Case("mechanical_ventilation", [F, o2(1, "mechanical_ventilation", end=5)], 4, 4, 0.0, 1),
    # the nasal cannula [1, 20) is replaced by CPAP at 3 (to 4) and does not resume: episode ends at 12
    Case(
        "oxygen_device_replaced",
        [F, o2(1, "nasal_cannula", 2.0, end=20), o2(3, "cpap", end=4)],
        4,
        3,
        0.0,
        1,
        extra={"crs_duration_hours": 12.0},
    ),
    # --- before the first fever ----------------------------------------------------------------
    # SBP 80, NE and 8 L/min oxygen before the fever at 20 are not CRS; at 20 they are over (SBP held to 12)
    Case(
        "hypotension_and_oxygen_before_fever",
        [sbp(0, 80), vaso(0, "norepinephrine", 0.1, end=10), o2(0, "nasal_cannula", 8.0, end=10), temp(20, 39.0)],
        1,
        1,
        20.0,
        1,
    ),
    Case("hypotension_without_fever", [sbp(0, 80), vaso(0, "norepinephrine", 0.1, end=10)], 0, 0, None, 0),
    # oxygen running when the fever comes: grade 3 from the onset
    Case("oxygen_running_at_first_fever", [o2(0, "nasal_cannula", 8.0, end=30), temp(10, 39.0)], 3, 3, 10.0, 1),
    Case("premedication_acetaminophen_at_0", [med(0, "acetaminophen", 15.0), sbp(1, 80), temp(1, 37.5)], 0, 0, None, 0),
    # anakinra at 0 precedes the first fever (2): it does not mask the hypotension at 40
    Case("masking_dose_before_first_fever", [med(0, "anakinra", 2.0), temp(2, 39.0), sbp(40, 80)], 1, 1, 2.0, 1),
    # --- new episodes without fever --------------------------------------------------------------
    # episode 1 [0, 12); clean [12, 40); SBP 80 at 40 is 34 h after anakinra at 6 -> episode 2 [40, 52), grade 2
    Case(
        "masked_episode_after_anakinra",
        [F, med(6, "anakinra", 2.0), sbp(40, 80)],
        2,
        2,
        0.0,
        2,
        extra={"crs_duration_hours": 24.0},
    ),
    Case(
        "masked_episode_after_tocilizumab",
        [F, med(6, "tocilizumab", 8.0), o2(40, "nasal_cannula", 8.0, end=45)],
        3,
        3,
        0.0,
        2,
    ),
    Case("masked_episode_after_dexamethasone", [F, med(6, "dexamethasone", 0.15), sbp(40, 80)], 2, 2, 0.0, 2),
    Case("no_new_episode_without_masking_drug", [F, sbp(40, 80)], 1, 1, 0.0, 1),
    Case("no_new_episode_after_acetaminophen", [F, med(6, "acetaminophen", 15.0), sbp(40, 80)], 1, 1, 0.0, 1),
    Case("masked_episode_at_exactly_72h", [F, med(6, "anakinra", 2.0), sbp(78, 80)], 2, 2, 0.0, 2),
    Case("no_masked_episode_after_72h", [F, med(6, "anakinra", 2.0), sbp(78.1, 80)], 1, 1, 0.0, 1),
    # hypotension from 40 (no dose yet); anakinra at 45 -> episode 2 starts at 45 (choice: first masked moment)
    Case(
        "masked_episode_hypotension_before_dose",
        [F, sbp(40, 80), med(45, "anakinra", 2.0)],
        2,
        2,
        0.0,
        2,
        extra={"crs_duration_hours": 12.0 + 7.0},
    ),
    # --- episode end -----------------------------------------------------------------------------
    # fever [0, 2); 37 at 2 holds to 14, then unobserved; fever at 26: clean [2, 26) = 24 h exactly -> two episodes
    Case(
        "clean_span_exactly_24h",
        [temp(0, 39.0), temp(2, 37.0), temp(26, 39.0)],
        1,
        1,
        0.0,
        2,
        extra={"crs_duration_hours": 2.0 + 12.0},
    ),
    Case(
        "clean_span_23_9h",
        [temp(0, 39.0), temp(2, 37.0), temp(25.9, 39.0)],
        1,
        1,
        0.0,
        1,
        extra={"crs_duration_hours": 37.9},
    ),
    # episode 2 at the new fever at 100, with SBP 80 at 101 (to 113): [100, 113)
    Case(
        "second_episode_new_fever",
        [F, temp(100, 39.0), sbp(101, 80)],
        2,
        2,
        0.0,
        2,
        extra={"crs_duration_hours": 12.0 + 13.0},
    ),
    Case("second_fever_after_window", [F, temp(800, 39.0)], 1, 1, 0.0, 1),
    Case("first_fever_on_day_30", [temp(720, 38.5)], 1, 1, 720.0, 1),
    Case(
        "first_fever_after_day_30",
        [temp(720.5, 38.5)],
        0,
        0,
        None,
        0,
        extra={"first_fever_hours": 720.5, "crs_any": False},
    ),
    # --- open, cut, death ---------------------------------------------------------------------------
    Case(
        "episode_open_at_cut",
        [temp(10, 39.0)],
        1,
        1,
        10.0,
        1,
        data_end=20.0,
        extra={"crs_open": True, "crs_duration_hours": 10.0},
    ),
    Case(
        "episode_open_clean_span_short_at_cut",
        [temp(10, 39.0)],
        1,
        1,
        10.0,
        1,
        data_end=30.0,
        extra={"crs_open": True, "crs_duration_hours": 20.0},
    ),
    Case(
        "episode_closed_exactly_at_cut",
        [temp(10, 39.0)],
        1,
        1,
        10.0,
        1,
        data_end=46.0,
        extra={"crs_open": False, "crs_duration_hours": 12.0},
    ),
    Case(
        "death_from_crs",
        [F, vaso(1, "norepinephrine", 0.1, end=10), death(8, "crs")],
        5,
        5,
        0.0,
        1,
        extra={"crs_open": True, "crs_duration_hours": 8.0, "crs_death": True},
    ),
    Case("death_from_crs_after_episode_in_window", [F, death(100, "crs")], 5, 5, 0.0, 1, extra={"crs_open": False}),
    Case("death_from_crs_without_episode", [death(100, "crs")], 5, 5, None, 0, extra={"crs_any": True}),
    Case("death_from_crs_after_window_without_episode", [death(800, "crs")], 0, 0, None, 0, extra={"crs_any": False}),
    Case(
        "death_other_cause_during_episode",
        [F, vaso(1, "norepinephrine", 0.1, end=10), death(8, "infection")],
        3,
        3,
        0.0,
        1,
        extra={"crs_open": True, "crs_death": False},
    ),
    # infused 5 days before the cut: not CRS-evaluable, graded all the same
    Case("not_yet_crs_evaluable", [temp(10, 39.0), sbp(11, 80)], 2, 2, 10.0, 1, data_end=120.0),
    Case(
        "no_readings", [], 0, 0, None, 0, extra={"crs_any": False, "crs_duration_hours": 0.0, "first_fever_hours": None}
    ),
    Case("reported_grade_carried", [F, reported(30, 2)], 1, 1, 0.0, 1, extra={"crs_grade_reported_max": 2}),
]


def _grade_one(case: Case) -> pd.Series:
    participants, events = build([case.person()])
    crs = build_crs_tables(participants, events, case.plan)["crs"]
    assert len(crs) == 1
    return crs.iloc[0]


def test_at_least_forty_cases_with_unique_names():
    assert len(CASES) >= 40
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case: Case):
    row = _grade_one(case)
    assert row["crs_max_grade"] == case.astct, "ASTCT max grade"
    assert row["crs_max_grade_penn"] == case.penn, "Penn-approximate max grade"
    assert row["crs_episodes"] == case.episodes, "episodes"
    if case.onset is None:
        assert math.isnan(row["crs_onset_hours"])
    else:
        assert row["crs_onset_hours"] == pytest.approx(case.onset, abs=1e-9)
    assert row["crs_any"] == (case.episodes > 0 or case.astct == 5)
    for column, expected in case.extra.items():
        value = row[column]
        if expected is None:
            assert pd.isna(value), column
        elif isinstance(expected, float):
            assert value == pytest.approx(expected, abs=1e-9), column
        else:
            assert value == expected, column


def test_all_cases_graded_together_equal_one_by_one():
    """Splitting participants into separate calls never changes a result (default-plan cases)."""
    cases = [c for c in CASES if c.plan is PLAN]
    participants, events = build([c.person() for c in cases])
    together = build_crs_tables(participants, events, PLAN)
    singles = [build_crs_tables(*build([c.person()]), PLAN) for c in cases]
    for name in ("crs", "crs_timeline", "queries"):
        expected = pd.concat([s[name] for s in singles], ignore_index=True)
        expected = expected.sort_values(["participant_id"], kind="mergesort").reset_index(drop=True)
        pd.testing.assert_frame_equal(together[name], expected, check_dtype=False)


# --- table shapes ----------------------------------------------------------------------------------


def test_not_infused_has_no_row():
    participants, events = build([Person("infused", [F]), Person("not_infused", [], infused=False)])
    tables = build_crs_tables(participants, events, PLAN)
    assert tables["crs"]["participant_id"].tolist() == ["infused"]
    assert set(tables["crs_timeline"]["participant_id"]) == {"infused"}
    assert "not_infused" not in set(tables["queries"]["participant_id"])


def test_crs_columns_and_types():
    participants, events = build([Person("A", [F, reported(3, 1)]), Person("B", [])])
    crs = build_crs_tables(participants, events, PLAN)["crs"]
    assert list(crs.columns) == CRS_COLUMNS
    assert crs["crs_any"].dtype == bool and crs["crs_open"].dtype == bool
    assert crs["crs_max_grade"].dtype == "int64" and crs["crs_episodes"].dtype == "int64"
    assert str(crs["crs_grade_reported_max"].dtype) == "Int64"
    assert crs["crs_grade_reported_max"].tolist()[0] == 1 and pd.isna(crs["crs_grade_reported_max"].tolist()[1])


def test_empty_inputs():
    participants, events = build([Person("X", [], infused=False)])
    tables = build_crs_tables(participants, events, PLAN)
    assert tables["crs"].empty and tables["crs_timeline"].empty and tables["queries"].empty
    assert list(tables["crs_timeline"].columns) == TIMELINE_COLUMNS


def test_timeline_is_sorted_contiguous_and_merged():
    participants, events = build([c.person() for c in CASES if c.plan is PLAN])
    timeline = build_crs_tables(participants, events, PLAN)["crs_timeline"]
    assert timeline.equals(timeline.sort_values(["participant_id", "start_hours"], kind="mergesort"))
    same = timeline["participant_id"].to_numpy()[1:] == timeline["participant_id"].to_numpy()[:-1]
    assert (timeline["start_hours"].to_numpy()[1:][same] == timeline["end_hours"].to_numpy()[:-1][same]).all()
    assert (timeline["end_hours"] > timeline["start_hours"]).all()
    shown = [c for c in TIMELINE_COLUMNS if c not in ("participant_id", "start_hours", "end_hours")]
    values = timeline[shown].astype(str).to_numpy()
    assert not (same & (values[1:] == values[:-1]).all(axis=1)).any(), "unmerged neighbours"
    assert (timeline.groupby("participant_id")["start_hours"].min() == 0).all()


# --- explicit expected timelines (admiral style) ---------------------------------------------------

_COLUMNS = [
    "start_hours",
    "end_hours",
    "episode",
    "crs_grade",
    "crs_grade_penn",
    "fever",
    "hypotension_level",
    "hypoxia_level",
    "bolus",
    "repeat_bolus",
    "vasopressor_count",
    "high_dose",
    "high_dose_run",
]


def _timeline(person: Person) -> pd.DataFrame:
    timeline = build_crs_tables(*build([person]), PLAN)["crs_timeline"]
    return timeline[_COLUMNS].reset_index(drop=True)


def _expected(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=_COLUMNS)
    return frame.astype(
        {
            "start_hours": float,
            "end_hours": float,
            "fever": bool,
            "bolus": bool,
            "repeat_bolus": bool,
            "high_dose": bool,
            "high_dose_run": bool,
        }
    )


def test_timeline_two_boluses():
    T, f = True, False
    expected = _expected(
        [
            # start end   ep ast penn fever hyp hox bolus repeat vaso high run
            (0.0, 2.0, 1, 1, 1, T, 0, 0, f, f, 0, f, f),
            (2.0, 3.0, 1, 2, 2, T, 2, 0, T, f, 0, f, f),  # first bolus: its hour
            (3.0, 12.0, 1, 1, 1, T, 0, 0, f, f, 0, f, f),
            (12.0, 20.0, 1, 1, 1, f, 0, 0, f, f, 0, f, f),  # temperature unobserved: episode goes on (8 h < 24 h)
            (20.0, 21.0, 1, 2, 3, f, 2, 0, T, T, 0, f, f),  # second bolus 18 h after the first: Penn 3
            (21.0, 1440.0, 0, 0, 0, f, 0, 0, f, f, 0, f, f),  # clean from 21: episode ended; day 60 ends follow-up
        ]
    )
    pd.testing.assert_frame_equal(_timeline(Person("A", [F, bolus(2), bolus(20)])), expected, check_dtype=False)


def test_timeline_titration_and_high_dose_run():
    T, f = True, False
    events = [
        F,
        vaso(1, "norepinephrine", 0.1, end=10),
        vaso(2, "norepinephrine", 0.3),
        vaso(5, "norepinephrine", 0.1, end=6),
        sbp(0.5, 80),
    ]
    expected = _expected(
        [
            (0.0, 0.5, 1, 1, 1, T, 0, 0, f, f, 0, f, f),
            (0.5, 1.0, 1, 2, 2, T, 2, 0, f, f, 0, f, f),  # SBP 80 < 90
            (1.0, 2.0, 1, 3, 3, T, 3, 0, f, f, 1, f, f),  # NE 0.1
            (2.0, 5.0, 1, 3, 4, T, 3, 0, f, f, 1, T, T),  # NE 0.3 for exactly 3 h: the whole run is Penn 4
            (5.0, 6.0, 1, 3, 3, T, 3, 0, f, f, 1, f, f),  # NE 0.1 again; the row at 1 (end 10) was replaced at 2
            (6.0, 12.0, 1, 2, 2, T, 2, 0, f, f, 0, f, f),  # SBP 80 held to 12.5
            (12.0, 12.5, 1, 2, 2, f, 2, 0, f, f, 0, f, f),
            (12.5, 1440.0, 0, 0, 0, f, 0, 0, f, f, 0, f, f),
        ]
    )
    pd.testing.assert_frame_equal(_timeline(Person("B", events)), expected, check_dtype=False)


def test_timeline_masked_second_episode_and_hypotension_before_fever():
    T, f = True, False
    events = [sbp(0, 80), temp(3, 39.0), med(6, "anakinra", 2.0), sbp(10, 100), sbp(40, 80)]
    expected = _expected(
        [
            (0.0, 3.0, 0, 0, 0, f, 2, 0, f, f, 0, f, f),  # hypotension before the first fever: no CRS
            (3.0, 10.0, 1, 2, 2, T, 2, 0, f, f, 0, f, f),
            (10.0, 15.0, 1, 1, 1, T, 0, 0, f, f, 0, f, f),
            (15.0, 22.0, 0, 0, 0, f, 0, 0, f, f, 0, f, f),  # clean 25 h: episode 1 ended at 15
            (22.0, 40.0, 0, 0, 0, f, 0, 0, f, f, 0, f, f),  # (SBP 100 at 10 no longer observed from 22)
            (40.0, 52.0, 2, 2, 2, f, 2, 0, f, f, 0, f, f),  # hypotension 34 h after anakinra: episode 2 without fever
            (52.0, 1440.0, 0, 0, 0, f, 0, 0, f, f, 0, f, f),
        ]
    )
    pd.testing.assert_frame_equal(_timeline(Person("C", events)), expected, check_dtype=False)


# --- queries ---------------------------------------------------------------------------------------


def _queries(person: Person, plan: AnalysisPlan = PLAN) -> pd.DataFrame:
    return build_crs_tables(*build([person]), plan)["queries"]


def test_query_open_interval_and_open_episode():
    q = _queries(Person("Q", [F, vaso(1, "norepinephrine", 0.1), o2(2, "nasal_cannula", 2.0)], data_end=30.0))
    open_rows = q.loc[q["kind"] == "open_interval", "detail"].tolist()
    assert open_rows == [
        "norepinephrine from hour 1 has no end time and no later norepinephrine row: taken as running until hour 30"
        " (the export time or the cut)",
        "oxygen (nasal_cannula) from hour 2 has no end time and no later oxygen row: taken as running until hour 30"
        " (the export time or the cut)",
    ]
    assert q.loc[q["kind"] == "crs_episode_open", "detail"].tolist() == [
        "CRS episode 1 (onset hour 0) has no clean 24 h span by hour 30 (data cut): duration censored at 30 h"
    ]


def test_query_titration_rows_are_not_open_intervals():
    q = _queries(Person("Q", [F, vaso(1, "norepinephrine", 0.1), vaso(3, "norepinephrine", 0.2, end=4)]))
    assert "open_interval" not in set(q["kind"])


def test_query_open_episode_at_death_and_follow_up_end():
    q = _queries(Person("D", [F, vaso(1, "norepinephrine", 0.1, end=10), death(8, "crs")]))
    assert q.loc[q["kind"] == "crs_episode_open", "detail"].tolist() == [
        "CRS episode 1 (onset hour 0) has no clean 24 h span by hour 8 (death): duration censored at 8 h"
    ]
    q = _queries(Person("L", [temp(700, 39.0), o2(700, "nasal_cannula", 2.0, end=1500)]))
    assert q.loc[q["kind"] == "crs_episode_open", "detail"].tolist() == [
        "CRS episode 1 (onset hour 700) has no clean 24 h span by hour 1440 (end of CRS follow-up (day 60)):"
        " duration censored at 740 h"
    ]


def test_query_no_temperature_and_gaps():
    q = _queries(Person("N", [sbp(0, 100), sbp(6, 100), sbp(30, 100), sbp(715, 100)]))
    assert q["kind"].tolist() == ["no_temperature_in_window", "reading_gap"]
    # gaps 6→30 (unobserved 18→30: 12 h) and 30→715 (unobserved 42→715: 673 h); 685 h is the longest
    assert q["detail"].tolist() == [
        "no temperature reading in days 0-30 (observed to hour 720): fever, and so CRS onset, cannot be assessed",
        "2 gaps in systolic_bp readings longer than the 12 h a reading holds, in days 0-30 (observed to hour 720):"
        " 685 h unobserved in all, read as normal; longest from hour 30 to hour 715 (685 h)",
    ]


def test_query_gap_from_infusion_and_not_beyond_the_data():
    # first temperature at 13 (a 13 h gap from infusion); data end at 20: the window stops there
    q = _queries(Person("G", [temp(13, 37.0), sbp(0, 100), sbp(12, 100)], data_end=20.0))
    assert q["detail"].tolist() == [
        "1 gap in temperature readings longer than the 12 h a reading holds, in days 0-30 (observed to hour 20):"
        " 13 h unobserved in all, read as normal; longest from hour 0 to hour 13 (13 h)"
    ]


def test_reported_grade_max_over_rows():
    participants, events = build([Person("R", [F, reported(10, 1), reported(40, 3), reported(80, 2)])])
    crs = build_crs_tables(participants, events, PLAN)["crs"]
    assert crs["crs_grade_reported_max"].tolist() == [3]
    assert np.issubdtype(crs["crs_max_grade"].dtype, np.integer)


@pytest.mark.parametrize("backend", ["numpy_nullable", "pyarrow"])
def test_nullable_and_arrow_dtypes_give_the_same_tables(backend):
    """Frames read back from Parquet may carry nullable or Arrow dtypes: same results."""
    cases = [c for c in CASES if c.plan is PLAN]
    participants, events = build([c.person() for c in cases])
    plain = build_crs_tables(participants, events, PLAN)
    converted = build_crs_tables(
        participants.convert_dtypes(dtype_backend=backend), events.convert_dtypes(dtype_backend=backend), PLAN
    )
    for name in ("crs", "crs_timeline", "queries"):
        pd.testing.assert_frame_equal(plain[name], converted[name], check_dtype=False)
