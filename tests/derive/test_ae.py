"""Adverse events — outputs.md ``ae.parquet``; grading.md, "Time" (day 0 = infusion, rows at or after it)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from builders_processed import INFUSION, processed_participants

from analysis.derive.ae import derive_ae


def make_participants(*rows: dict) -> pd.DataFrame:
    """participants.parquet rows; each dict needs ``participant_id`` and overrides the defaults."""
    return processed_participants(*rows)


def adverse_event(
    participant_id: str, hours: float, term: str, grade: int, end_hours: float | None = None, text: str | None = None
) -> dict:
    return {
        "participant_id": participant_id,
        "hours": hours,
        "event_type": "adverse_event",
        "value": float(grade),
        "detail": term,
        "detail_text": text,
        "end_hours": end_hours,
    }


def make_events(participants: pd.DataFrame, *rows: dict) -> pd.DataFrame:
    """events.parquet (docs/processed-tables.md): line numbers in the order given, times from the infusion."""
    frame = pd.DataFrame(list(rows))
    frame["line"] = np.arange(2, len(frame) + 2, dtype="int64")
    infusion = frame["participant_id"].map(participants.set_index("participant_id")["infusion_datetime"])
    anchor = infusion.fillna(INFUSION)
    frame["event_time"] = (anchor + pd.to_timedelta(frame["hours"], unit="h")).astype("datetime64[us, UTC]")
    frame["end_time"] = (anchor + pd.to_timedelta(frame["end_hours"].astype(float), unit="h")).astype(
        "datetime64[us, UTC]"
    )
    frame["hours_from_infusion"] = (frame["event_time"] - infusion) / pd.Timedelta(hours=1)
    frame["end_hours_from_infusion"] = (frame["end_time"] - infusion) / pd.Timedelta(hours=1)
    frame["unit"] = None
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


def test_ae_table() -> None:
    participants = make_participants(
        {"participant_id": "A"}, {"participant_id": "B"}, {"participant_id": "C", "infused": False}
    )
    events = make_events(
        participants,
        adverse_event("A", 50.0, "infection", 3, end_hours=120.0, text="bacteremia"),
        adverse_event("A", 10.0, "neutropenia", 4),
        adverse_event("A", -5.0, "anemia", 1, end_hours=30.0),  # before infusion: not an AE row
        adverse_event("B", 30.0, "thrombocytopenia", 3),
        adverse_event("B", 30.0, "anemia", 2, end_hours=200.5),
        adverse_event("B", 24.0, "other", 1, end_hours=25.0, text="rash"),  # exactly 24 h: day 1
        adverse_event("B", 0.0, "tumor_lysis", 2, end_hours=23.9),  # at infusion: day 0
        adverse_event("C", np.nan, "infection", 2),  # not infused
    )
    expected = pd.DataFrame(
        {
            "participant_id": ["A", "A", "B", "B", "B", "B"],
            "term": ["neutropenia", "infection", "tumor_lysis", "other", "anemia", "thrombocytopenia"],
            "term_text": [None, "bacteremia", None, "rash", None, None],
            "grade": np.array([4, 3, 2, 1, 2, 3], dtype="int64"),
            "onset_hours": [10.0, 50.0, 0.0, 24.0, 30.0, 30.0],
            "resolved_hours": [np.nan, 120.0, 23.9, 25.0, 200.5, np.nan],
            "study_day_onset": np.array([0, 2, 0, 1, 1, 1], dtype="int64"),
            "outcome": pd.array(
                ["ongoing", "resolved", "resolved", "resolved", "resolved", "ongoing"], dtype="string[pyarrow]"
            ),
        }
    )
    pd.testing.assert_frame_equal(derive_ae(participants, events), expected)


def test_grade_5_is_fatal_even_with_an_end_time() -> None:
    """A grade-5 infection closed at the death (end_time at day 20) is fatal, not resolved on day 20."""
    participants = make_participants({"participant_id": "A"}, {"participant_id": "B"})
    events = make_events(
        participants,
        adverse_event("A", 300.0, "infection", 5, end_hours=480.0),
        adverse_event("A", 100.0, "infection", 3, end_hours=200.0),
        adverse_event("B", 48.0, "febrile_neutropenia", 5),
        adverse_event("B", 72.0, "neutropenia", 4),
    )
    table = derive_ae(participants, events)
    assert table["outcome"].tolist() == ["resolved", "fatal", "fatal", "ongoing"]
    assert table["resolved_hours"].iloc[1] == 480.0


def test_no_adverse_events() -> None:
    participants = make_participants({"participant_id": "A"})
    events = make_events(
        participants,
        {
            "participant_id": "A",
            "hours": 5.0,
            "event_type": "temperature",
            "value": 38.2,
            "detail": None,
            "detail_text": None,
            "end_hours": None,
        },
    )
    table = derive_ae(participants, events)
    assert table.empty
    assert list(table.columns) == [
        "participant_id",
        "term",
        "term_text",
        "grade",
        "onset_hours",
        "resolved_hours",
        "study_day_onset",
        "outcome",
    ]
