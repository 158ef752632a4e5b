"""ICANS, ASTCT 2019 — grading.md, "ICANS, ASTCT 2019".

Every expected value below is worked out by hand from the rows of its test. Age at an
assessment = age at infusion + hours / 8766.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from builders_processed import INFUSION, processed_participants

from analysis.derive.icans import build_icans, compute_capd_grade, compute_ice_grade, derive_icans_assessments
from analysis.settings import AnalysisPlan

PLAN = AnalysisPlan()


# -- builders: frames with exactly the columns of docs/processed-tables.md -----------------------


def make_participants(*rows: dict) -> pd.DataFrame:
    """participants.parquet rows; each dict needs ``participant_id`` and overrides the defaults."""
    return processed_participants(*rows, age_years=14.0, sex="M", weight_kg=45.0, age_at_infusion_years=14.0)


def ev(
    participant_id: str, hours: float, event_type: str, value: float | None = None, detail: str | None = None
) -> dict:
    """One events row, its time given in hours after the participant's infusion (or after INFUSION)."""
    return {
        "participant_id": participant_id,
        "hours": hours,
        "event_type": event_type,
        "value": value,
        "detail": detail,
    }


def make_events(participants: pd.DataFrame, *rows: dict) -> pd.DataFrame:
    """events.parquet: line numbers in the order given, times from the infusion, sorted as ingest sorts."""
    frame = pd.DataFrame(list(rows))
    frame["line"] = np.arange(2, len(frame) + 2, dtype="int64")
    infusion = frame["participant_id"].map(participants.set_index("participant_id")["infusion_datetime"])
    frame["event_time"] = (infusion.fillna(INFUSION) + pd.to_timedelta(frame["hours"], unit="h")).astype(
        "datetime64[us, UTC]"
    )
    frame["end_time"] = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[us, UTC]")
    frame["hours_from_infusion"] = (frame["event_time"] - infusion) / pd.Timedelta(hours=1)
    frame["end_hours_from_infusion"] = np.nan
    frame["value"] = frame["value"].astype(float)
    frame["unit"] = None
    frame["detail_text"] = None
    frame["time_flag"] = None
    columns = [
        "participant_id",
        "line",
        "event_type",
        "event_time",
        "end_time",
        "hours_from_infusion",
        "end_hours_from_infusion",
        "value",
        "unit",
        "detail",
        "detail_text",
        "time_flag",
    ]
    return frame.sort_values(["participant_id", "event_time", "event_type", "line"]).reset_index(drop=True)[columns]


# -- the encephalopathy tools --------------------------------------------------------------------


def test_ice_boundaries() -> None:
    scores = pd.Series([10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0], dtype=float)
    assert compute_ice_grade(scores).tolist() == [0, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3]


def test_capd_boundaries() -> None:
    scores = pd.Series([0, 1, 8, 9, 32], dtype=float)
    assert compute_capd_grade(scores).tolist() == [0, 1, 1, 3, 3]


# -- every domain, each at its own time ----------------------------------------------------------


@pytest.mark.parametrize(
    ("event_type", "value", "detail", "age", "expected_grade"),
    [
        ("ice_score", 10.0, None, 14.0, 0),
        ("ice_score", 9.0, None, 14.0, 1),
        ("ice_score", 7.0, None, 14.0, 1),
        ("ice_score", 6.0, None, 14.0, 2),
        ("ice_score", 3.0, None, 14.0, 2),
        ("ice_score", 2.0, None, 14.0, 3),
        ("ice_score", 0.0, None, 14.0, 3),
        ("capd_score", 0.0, None, 8.0, 0),
        ("capd_score", 8.0, None, 8.0, 1),
        ("capd_score", 9.0, None, 8.0, 3),
        ("consciousness", None, "awake", 14.0, 0),
        ("consciousness", None, "awakens_to_voice", 14.0, 2),
        ("consciousness", None, "awakens_to_tactile", 14.0, 3),
        ("consciousness", None, "unarousable", 8.0, 4),
        ("seizure", None, "focal_or_generalized_resolving", 14.0, 3),
        ("seizure", None, "nonconvulsive_on_eeg", 8.0, 3),
        ("seizure", None, "prolonged_or_repetitive", 14.0, 4),
        ("motor_weakness", None, "deep_focal", 14.0, 4),
        ("cerebral_edema", None, "focal", 14.0, 3),
        ("cerebral_edema", None, "diffuse", 8.0, 4),
    ],
)
def test_one_assessment_gives_its_domain_grade(
    event_type: str, value: float | None, detail: str | None, age: float, expected_grade: int
) -> None:
    participants = make_participants({"participant_id": "A", "age_at_infusion_years": age})
    events = make_events(participants, ev("A", 36.0, event_type, value, detail))
    table, queries = build_icans(participants, events, PLAN)
    expected = pd.DataFrame(
        {
            "participant_id": ["A"],
            "icans_any": [expected_grade >= 1],
            "icans_onset_hours": [36.0 if expected_grade >= 1 else np.nan],
            "icans_max_grade": np.array([expected_grade], dtype="int64"),
            "icans_assessed": [True],
            "icans_grade_reported_max": pd.array([pd.NA], dtype="Int64"),
        }
    )
    pd.testing.assert_frame_equal(table, expected)
    assert queries.empty


# -- the ICANS table over a small trial ----------------------------------------------------------


def _trial() -> tuple[pd.DataFrame, pd.DataFrame]:
    participants = make_participants(
        {"participant_id": "I01"},  # ICE 10 only: assessed, grade 0
        {"participant_id": "I02"},  # ICE 8 then ICE 5: 1 then 2
        {"participant_id": "I03", "age_at_infusion_years": 8.0},  # CAPD 0 then 12: 3 at 50 h
        {"participant_id": "I04", "age_at_infusion_years": 10.0},  # ICE at age 10: used, flagged
        {"participant_id": "I05", "age_at_infusion_years": 15.0},  # CAPD at age 15: used, flagged
        {"participant_id": "I06"},  # no assessment at all
        {"participant_id": "I07", "age_at_infusion_years": 13.0},  # ICE 6, then death from ICANS: 5
        {"participant_id": "I08", "age_at_infusion_years": 11.99},  # turns 12 at 87.66 h
        {"participant_id": "I09"},  # death from CRS, ICE 10: 0
        {"participant_id": "I10"},  # worst domain wins; reported grade 2
        {"participant_id": "I11", "infused": False},  # not infused: no row
    )
    events = make_events(
        participants,
        ev("I01", 24.0, "ice_score", 10.0),
        ev("I02", 30.0, "ice_score", 8.0),
        ev("I02", 40.0, "ice_score", 5.0),
        ev("I02", 60.0, "ice_score", 9.0),
        ev("I03", 20.0, "capd_score", 0.0),
        ev("I03", 50.0, "capd_score", 12.0),
        ev("I04", 24.0, "ice_score", 5.0),
        ev("I05", 24.0, "capd_score", 10.0),
        ev("I06", 10.0, "temperature", 39.0),
        ev("I07", 100.0, "ice_score", 6.0),
        ev("I07", 200.0, "death", None, "icans"),
        ev("I08", 48.0, "capd_score", 4.0),
        ev("I08", 120.0, "ice_score", 5.0),
        ev("I08", 150.0, "capd_score", 2.0),
        ev("I09", 12.0, "ice_score", 10.0),
        ev("I09", 80.0, "death", None, "crs"),
        ev("I10", -5.0, "seizure", None, "prolonged_or_repetitive"),
        ev("I10", 70.0, "consciousness", None, "awake"),
        ev("I10", 70.0, "cerebral_edema", None, "focal"),
        ev("I10", 70.0, "ice_score", 8.0),
        ev("I10", 90.0, "icans_grade_reported", 2.0),
        ev("I10", 95.0, "icans_grade_reported", 1.0),
        ev("I11", np.nan, "ice_score", 0.0),
    )
    return participants, events


def test_icans_table() -> None:
    participants, events = _trial()
    table, _ = build_icans(participants, events, PLAN)
    expected = pd.DataFrame(
        {
            "participant_id": ["I01", "I02", "I03", "I04", "I05", "I06", "I07", "I08", "I09", "I10"],
            "icans_any": [False, True, True, True, True, False, True, True, False, True],
            "icans_onset_hours": [np.nan, 30.0, 50.0, 24.0, 24.0, np.nan, 100.0, 48.0, np.nan, 70.0],
            "icans_max_grade": np.array([0, 2, 3, 2, 3, 0, 5, 2, 0, 3], dtype="int64"),
            "icans_assessed": [True, True, True, True, True, False, True, True, True, True],
            "icans_grade_reported_max": pd.array([pd.NA] * 9 + [2], dtype="Int64"),
        }
    )
    pd.testing.assert_frame_equal(table, expected)


def test_icans_queries_flag_a_tool_used_at_the_wrong_age() -> None:
    participants, events = _trial()
    _, queries = build_icans(participants, events, PLAN)
    expected = pd.DataFrame(
        {
            "participant_id": ["I04", "I05", "I08"],
            "kind": ["icans_tool_wrong_age"] * 3,
            "detail": [
                "ICE score 5 at 24.0 h, age 10.0 y: ICE is for age ≥ 12; graded as recorded",
                "CAPD score 10 at 24.0 h, age 15.0 y: CAPD is for age < 12; graded as recorded",
                "CAPD score 2 at 150.0 h, age 12.0 y: CAPD is for age < 12; graded as recorded",
            ],
            "hours": [24.0, 24.0, 150.0],
        }
    )
    pd.testing.assert_frame_equal(queries, expected)


def test_age_crossing_12_during_follow_up() -> None:
    """11.99 y at infusion: CAPD is right at 48 h (11.9955 y), ICE at 120 h (12.0037 y), CAPD wrong at 150 h (12.0071 y)."""
    participants, events = _trial()
    assessments = derive_icans_assessments(participants, events, PLAN)
    crossing = assessments.loc[assessments["participant_id"] == "I08"]
    assert crossing["hours"].tolist() == [48.0, 120.0, 150.0]
    assert crossing["age_years"].tolist() == pytest.approx([11.99 + 48 / 8766, 11.99 + 120 / 8766, 11.99 + 150 / 8766])
    assert crossing["grade"].tolist() == [1, 2, 1]
    assert crossing["wrong_age_tool"].tolist() == [False, False, True]


def test_ice_min_age_setting_is_used() -> None:
    participants = make_participants({"participant_id": "A", "age_at_infusion_years": 10.0})
    events = make_events(participants, ev("A", 24.0, "ice_score", 5.0))
    _, queries = build_icans(participants, events, PLAN.model_copy(update={"ice_min_age_years": 8.0}))
    assert queries.empty


def test_ungradable_assessment_is_assessed_grade_0_and_queried() -> None:
    participants = make_participants({"participant_id": "A"})
    events = make_events(participants, ev("A", 24.0, "ice_score", None), ev("A", 30.0, "seizure", None, None))
    table, queries = build_icans(participants, events, PLAN)
    assert table[["icans_max_grade", "icans_assessed", "icans_any"]].to_dict("records") == [
        {"icans_max_grade": 0, "icans_assessed": True, "icans_any": False}
    ]
    assert queries[["kind", "detail"]].to_dict("records") == [
        {
            "kind": "icans_assessment_ungradable",
            "detail": "ICE score (no value) at 24.0 h cannot be graded: counted as assessed, grade 0",
        },
        {
            "kind": "icans_assessment_ungradable",
            "detail": "seizure (no code) at 30.0 h cannot be graded: counted as assessed, grade 0",
        },
    ]
