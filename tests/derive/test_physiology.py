"""The physiological state over time — grading.md, "The physiological state over time" (building blocks)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from builders_crs import Person, bolus, build, o2, sbp, temp, vaso

from analysis.derive.penn import compute_high_dose
from analysis.derive.physiology import (
    build_grid,
    build_physiology,
    compute_oxygen_level,
    derive_bolus_intervals,
    derive_oxygen_intervals,
    derive_reading_intervals,
    derive_vasopressor_intervals,
    pals_sbp_threshold,
    prepare_events,
    prepare_participants,
)
from analysis.derive.ticks import NEVER, asof_index, to_hours, to_ticks
from analysis.settings import AnalysisPlan

PLAN = AnalysisPlan()


def _prepared(*people: Person, plan: AnalysisPlan = PLAN):
    participants, events = build(list(people))
    pp = prepare_participants(participants, events, plan)
    return pp, prepare_events(events, pp)


def _hours(frame: pd.DataFrame, *columns: str) -> list[tuple]:
    return list(
        zip(*(to_hours(frame[c].to_numpy()).tolist() if c in ("start", "end") else frame[c].tolist() for c in columns))
    )


# --- PALS thresholds -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("age", "completed", "exact"),
    [
        (0.0, 70.0, 70.0),
        (0.5, 70.0, 70.0),  # age < 1: SBP < 70
        (0.99, 70.0, 70.0),
        (1.0, 72.0, 72.0),  # 70 + 2 x 1
        (1.5, 72.0, 73.0),
        (9.9, 88.0, 89.8),
        (10.0, 90.0, 90.0),  # age >= 10: SBP < 90
        (17.0, 90.0, 90.0),
        (25.5, 90.0, 90.0),
    ],
)
def test_pals_threshold(age, completed, exact):
    assert pals_sbp_threshold([age], "completed_years")[0] == pytest.approx(completed)
    assert pals_sbp_threshold([age], "exact")[0] == pytest.approx(exact)


def test_pals_threshold_unknown_age_and_bad_setting():
    assert np.isnan(pals_sbp_threshold([np.nan], "exact")[0])
    with pytest.raises(ValueError):
        pals_sbp_threshold([1.0], "months")


# --- oxygen levels and high dose ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("device", "flow", "level"),
    [
        ("blow_by", 2.0, 2),
        ("nasal_cannula", 6.0, 2),
        ("nasal_cannula", 6.01, 3),
        ("nasal_cannula", 6.5, 3),
        ("high_flow_nasal_cannula", 1.0, 3),
        ("simple_face_mask", 6.0, 3),
        ("venturi_mask", 8.0, 3),
        ("nonrebreather_mask", 15.0, 3),
        ("cpap", np.nan, 4),
        ("bipap", np.nan, 4),
        ("mechanical_ventilation", np.nan, 4),
    ],
)
def test_oxygen_level(device, flow, level):
    assert compute_oxygen_level([device], [flow], PLAN).tolist() == [level]


def _high(doses: dict[str, float], vasopressin: bool = False) -> bool:
    running = sum(1 for d in doses.values() if d > 0) + vasopressin
    arrays = {k: np.array([v]) for k, v in doses.items()}
    return bool(compute_high_dose(arrays, np.array([vasopressin]), np.array([running]), PLAN)[0])


@pytest.mark.parametrize(
    ("doses", "vasopressin", "high"),
    [
        ({"norepinephrine": 0.28}, False, True),
        ({"norepinephrine": 0.27}, False, False),
        ({"epinephrine": 0.14}, False, True),
        ({"epinephrine": 0.13}, False, False),
        ({"dopamine": 10.0}, False, True),
        ({"dopamine": 9.9}, False, False),
        ({"phenylephrine": 2.86}, False, True),
        ({"phenylephrine": 2.85}, False, False),
        ({}, True, False),  # vasopressin alone
        ({"norepinephrine": 0.14}, True, True),  # with vasopressin: NE-eq >= 0.14
        ({"norepinephrine": 0.13}, True, False),
        ({"norepinephrine": 0.14, "epinephrine": 0.14}, False, True),  # 0.28
        ({"norepinephrine": 0.1, "dopamine": 7.0}, False, False),  # 0.1 + 7/140 = 0.15
        ({"norepinephrine": 0.23, "dopamine": 7.0}, False, True),  # 0.23 + 0.05 = 0.28
        ({"phenylephrine": 1.5, "epinephrine": 0.13}, False, True),  # 0.15 + 0.13 = 0.28
        ({"dopamine": 10.0, "norepinephrine": 0.01}, False, True),  # choice: monotherapy threshold still counts
    ],
)
def test_high_dose(doses, vasopressin, high):
    assert _high(doses, vasopressin) is high


# --- readings --------------------------------------------------------------------------------------


def test_readings_hold_at_most_12h_and_worst_wins():
    pp, ev = _prepared(Person("A", [temp(0, 37.0), temp(0, 38.2), temp(5, 37.1), temp(30, 36.5), temp(-2, 40.0)]))
    r = derive_reading_intervals(ev, pp, "temperature", PLAN)
    # the pre-infusion 40.0 is not used; at 0 the worst (38.2) wins; 5 holds 12 h (to 17), not to 30
    assert _hours(r, "start", "end", "value") == [(0.0, 5.0, 38.2), (5.0, 17.0, 37.1), (30.0, 42.0, 36.5)]


def test_sbp_worst_is_lowest():
    pp, ev = _prepared(Person("A", [sbp(1, 100), sbp(1, 85), sbp(2, 95)]))
    r = derive_reading_intervals(ev, pp, "systolic_bp", PLAN)
    assert _hours(r, "start", "end", "value") == [(1.0, 2.0, 85.0), (2.0, 14.0, 95.0)]


def test_readings_stop_at_the_horizon():
    pp, ev = _prepared(Person("A", [temp(15, 38.0), temp(25, 38.0)], data_end=20.0))
    r = derive_reading_intervals(ev, pp, "temperature", PLAN)
    assert _hours(r, "start", "end") == [(15.0, 20.0)]


def test_bolus_hour_and_repeat():
    pp, ev = _prepared(Person("A", [bolus(1), bolus(10), bolus(34), bolus(58.5)]))
    b = derive_bolus_intervals(ev, pp, PLAN)
    # 10 has 1 nine hours before; 34 has 10 exactly 24 h before; 58.5 has 34 24.5 h before: not a repeat
    assert _hours(b, "start", "end", "repeat") == [
        (1.0, 2.0, False),
        (10.0, 11.0, True),
        (34.0, 35.0, True),
        (58.5, 59.5, False),
    ]


# --- intervals ---------------------------------------------------------------------------------------


def test_vasopressor_titration_and_open_end():
    pp, ev = _prepared(
        Person(
            "A",
            [
                vaso(1, "norepinephrine", 0.1, end=10),
                vaso(4, "norepinephrine", 0.3),
                vaso(6, "norepinephrine", 0.05),
                vaso(2, "vasopressin", 0.0003, end=3),
            ],
            data_end=50.0,
        )
    )
    v = derive_vasopressor_intervals(ev, pp, PLAN)
    assert _hours(v, "drug", "start", "end", "dose", "open") == [
        ("norepinephrine", 1.0, 4.0, 0.1, False),  # replaced at 4 although its end is 10
        ("norepinephrine", 4.0, 6.0, 0.3, False),  # no end: the next row of the drug ends it
        ("norepinephrine", 6.0, 50.0, 0.05, True),  # no end, no later row: to the data end, flagged
        ("vasopressin", 2.0, 3.0, 0.0003, False),
    ]


def test_vasopressor_same_time_rows_take_the_worst():
    pp, ev = _prepared(Person("A", [vaso(1, "epinephrine", 0.05, end=3), vaso(1, "epinephrine", 0.2, end=2)]))
    v = derive_vasopressor_intervals(ev, pp, PLAN)
    assert _hours(v, "start", "end", "dose") == [(1.0, 3.0, 0.2)]


def test_oxygen_replacement_and_same_time():
    pp, ev = _prepared(
        Person(
            "A",
            [
                o2(1, "nasal_cannula", 2.0, end=20),
                o2(3, "cpap", end=4),
                o2(30, "nasal_cannula", 2.0, end=31),
                o2(30, "mechanical_ventilation", end=32),
            ],
        )
    )
    o = derive_oxygen_intervals(ev, pp, PLAN)
    assert _hours(o, "device", "level", "start", "end") == [
        ("nasal_cannula", 2, 1.0, 3.0),
        ("cpap", 4, 3.0, 4.0),
        ("mechanical_ventilation", 4, 30.0, 32.0),
    ]


def test_pre_infusion_interval_is_not_used():
    pp, ev = _prepared(Person("A", [vaso(-1, "norepinephrine", 0.1, end=5), o2(-1, "cpap", end=5)]))
    assert derive_vasopressor_intervals(ev, pp, PLAN).empty
    assert derive_oxygen_intervals(ev, pp, PLAN).empty


# --- helpers and the state -------------------------------------------------------------------------------


def test_ticks_round_trip():
    hours = np.array([0.0, 12.1, 25.9, np.nan])
    ticks = to_ticks(hours)
    assert ticks[-1] == NEVER
    assert to_hours(ticks)[:3].tolist() == [0.0, 12.1, 25.9] and np.isnan(to_hours(ticks)[3])


def test_asof_index():
    right_pid = np.array([0, 0, 1])
    right_t = np.array([5, 10, 3])
    got = asof_index(right_pid, right_t, np.array([0, 0, 0, 1, 1, 2]), np.array([4, 5, 11, 2, 3, 9]))
    assert got.tolist() == [-1, 0, 1, -1, 2, -1]
    assert asof_index(
        np.array([], dtype="int64"), np.array([], dtype="int64"), np.array([0]), np.array([1])
    ).tolist() == [-1]


def test_grid_covers_zero_to_horizon():
    pp, _ = _prepared(Person("A", [], data_end=10.0), Person("B", [], data_end=0.0))
    grid = build_grid(pp, [(np.array([0, 0, 1]), to_ticks([4.0, 11.0, 1.0]))])
    assert _hours(grid, "pid", "start", "end") == [(0, 0.0, 4.0), (0, 4.0, 10.0)]


def test_state_levels():
    person = Person(
        "A",
        [
            temp(0, 38.0),
            sbp(1, 89),
            bolus(3),
            vaso(5, "norepinephrine", 0.1, end=7),
            vaso(6, "epinephrine", 0.05, end=8),
            vaso(7.5, "vasopressin", 0.0003, end=9),
            o2(2, "nasal_cannula", 8.0, end=4),
        ],
        age=12.0,
    )
    pp, ev = _prepared(person)
    state = build_physiology(pp, ev, PLAN).state
    state = state.loc[state["start"] < to_ticks([10.0])[0]]
    got = list(
        zip(
            to_hours(state["start"].to_numpy()).tolist(),
            state["fever"],
            state["hypotension_level"],
            state["hypoxia_level"],
            state["vasopressor_count"],
        )
    )
    assert got == [
        (0.0, True, 0, 0, 0),
        (1.0, True, 2, 0, 0),  # SBP 89 < 90
        (2.0, True, 2, 3, 0),  # 8 L/min nasal cannula
        (3.0, True, 2, 3, 0),  # bolus (SBP still low)
        (4.0, True, 2, 0, 0),
        (5.0, True, 3, 0, 1),  # NE
        (6.0, True, 4, 0, 2),  # NE + epinephrine
        (7.0, True, 3, 0, 1),  # epinephrine
        (7.5, True, 3, 0, 2),  # epinephrine + vasopressin: still 3
        (8.0, True, 3, 0, 1),  # vasopressin alone counts as one
        (9.0, True, 2, 0, 0),
    ]
