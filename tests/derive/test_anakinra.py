"""Anakinra timing, dosing and rescue — grading.md, "Anakinra timing (PACER protocol)".

Every expected value below is worked out by hand from the rows of its test.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from builders_processed import INFUSION, processed_participants

from analysis.derive.anakinra import build_anakinra, compute_persistent_fever_trigger
from analysis.settings import AnalysisPlan

PLAN = AnalysisPlan()


# -- builders: frames with exactly the columns of docs/processed-tables.md -----------------------


def make_participants(*rows: dict) -> pd.DataFrame:
    """participants.parquet rows; each dict needs ``participant_id`` and overrides the defaults."""
    return processed_participants(*rows)


def ev(
    participant_id: str,
    hours: float,
    event_type: str,
    value: float | None = None,
    unit: str | None = None,
    detail: str | None = None,
    end_hours: float | None = None,
    detail_text: str | None = None,
) -> dict:
    """One events row, its time given in hours after the participant's infusion (or after INFUSION)."""
    return {
        "participant_id": participant_id,
        "hours": hours,
        "event_type": event_type,
        "value": value,
        "unit": unit,
        "detail": detail,
        "end_hours": end_hours,
        "detail_text": detail_text,
    }


def make_events(participants: pd.DataFrame, *rows: dict) -> pd.DataFrame:
    """events.parquet: line numbers in the order given, times from the infusion, sorted as ingest sorts."""
    frame = pd.DataFrame(list(rows))
    frame["line"] = np.arange(2, len(frame) + 2, dtype="int64")
    infusion = frame["participant_id"].map(participants.set_index("participant_id")["infusion_datetime"])
    anchor = infusion.fillna(INFUSION)
    frame["event_time"] = (anchor + pd.to_timedelta(frame["hours"], unit="h")).astype("datetime64[us, UTC]")
    end = pd.to_timedelta(frame["end_hours"].astype(float), unit="h")
    frame["end_time"] = (anchor + end).astype("datetime64[us, UTC]")
    frame["hours_from_infusion"] = (frame["event_time"] - infusion) / pd.Timedelta(hours=1)
    frame["end_hours_from_infusion"] = (frame["end_time"] - infusion) / pd.Timedelta(hours=1)
    frame["value"] = frame["value"].astype(float)
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


def temperature(participant_id: str, hours: float, celsius: float) -> dict:
    return ev(participant_id, hours, "temperature", celsius, "C")


def anakinra(participant_id: str, hours: float, dose: float | None, unit: str | None) -> dict:
    return ev(participant_id, hours, "medication", dose, unit, "anakinra")


def fahrenheit_to_celsius(fahrenheit: float) -> float:
    """As ingest converts (grading.md, "Fever": rounded to 0.01 °C before any comparison)."""
    return round((fahrenheit - 32.0) * 5.0 / 9.0, 2)


# -- the persistent-fever trigger ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("readings", "expected_trigger_hours"),
    [
        pytest.param([(10.0, 39.0), (14.0, 39.0), (20.0, 39.0)], 14.0, id="exactly 4 h apart: met, earliest t_j"),
        pytest.param([(10.0, 39.0), (13.9, 39.0)], np.nan, id="3.9 h apart: not met"),
        pytest.param([(10.0, 39.0), (16.0, 38.5)], np.nan, id="second reading 38.5 is not above 38.5"),
        pytest.param([(10.0, 38.5), (16.0, 39.0)], np.nan, id="first reading 38.5 is not above 38.5"),
        pytest.param(
            [(10.0, 38.9), (12.0, 38.6), (13.0, 37.5), (15.0, 38.8)],
            15.0,
            id="non-consecutive pair: 15 h pairs with 10 h, not with 12 h (3 h)",
        ),
        pytest.param([(10.0, 39.0), (34.0, 39.0)], 34.0, id="exactly 24 h apart: met"),
        pytest.param([(10.0, 39.0), (34.1, 39.0)], np.nan, id="24.1 h apart: not met"),
        pytest.param([(10.0, 39.0), (12.0, 39.0), (34.1, 39.0)], 34.1, id="24.1 h from one, 22.1 h from another: met"),
        pytest.param([(10.0, fahrenheit_to_celsius(101.5)), (16.0, 38.7)], 16.0, id="101.5 F = 38.61 C counts"),
        pytest.param([(10.0, fahrenheit_to_celsius(101.3)), (16.0, 38.7)], np.nan, id="101.3 F = 38.50 C does not"),
        pytest.param([(-6.0, 39.5), (0.0, 39.5)], np.nan, id="readings before infusion never pair"),
    ],
)
def test_persistent_fever_trigger(readings: list[tuple[float, float]], expected_trigger_hours: float) -> None:
    participants = make_participants({"participant_id": "P01"})
    events = make_events(participants, *(temperature("P01", hours, celsius) for hours, celsius in readings))
    trigger = compute_persistent_fever_trigger(events, PLAN)
    if np.isnan(expected_trigger_hours):
        assert trigger.empty
    else:
        assert trigger["participant_id"].tolist() == ["P01"]
        assert trigger["trigger_hours"].iloc[0] == pytest.approx(expected_trigger_hours)


def test_fahrenheit_conversion_as_ingest_does_it() -> None:
    assert fahrenheit_to_celsius(101.5) == 38.61
    assert fahrenheit_to_celsius(101.3) == 38.5


def test_trigger_per_participant_never_pairs_across_participants() -> None:
    participants = make_participants({"participant_id": "P01"}, {"participant_id": "P02"})
    events = make_events(
        participants, temperature("P01", 10.0, 39.0), temperature("P02", 14.0, 39.0), temperature("P02", 30.0, 39.0)
    )
    trigger = compute_persistent_fever_trigger(events, PLAN)
    assert trigger[["participant_id", "trigger_hours"]].to_dict("records") == [
        {"participant_id": "P02", "trigger_hours": 30.0}
    ]


# -- the anakinra table --------------------------------------------------------------------------


def _trial() -> tuple[pd.DataFrame, pd.DataFrame]:
    participants = make_participants(
        {"participant_id": "P01"},  # on time, 2 mg/kg every 12 h
        {"participant_id": "P02", "weight_kg": 20.0},  # 7 h late, then every 6 h; tocilizumab rescue
        {"participant_id": "P03", "weight_kg": 20.0},  # 1 → 2 mg/kg; dexamethasone after day 30
        {"participant_id": "P04", "weight_kg": 60.0},  # 100 mg capped, every 12 h
        {"participant_id": "P05", "weight_kg": 50.0},  # 2 mg/kg then 100 mg: the same dose
        {"participant_id": "P06"},  # fever but no trigger; a dose with no unit
        {"participant_id": "P07"},  # dose before the trigger, two doses over the limit
        {"participant_id": "P08", "weight_kg": 50.0},  # 110 mg: over 100 mg though 2.2 mg/kg
        {"participant_id": "P09"},  # fever, no anakinra
        {"participant_id": "P10", "infused": False},  # enrolled, not infused: no row
    )
    events = make_events(
        participants,
        temperature("P01", -1.0, 39.0),
        anakinra("P01", -2.0, 60.0, "mg"),
        temperature("P01", 8.0, 38.2),
        temperature("P01", 10.0, 38.8),
        temperature("P01", 14.0, 38.9),
        anakinra("P01", 17.0, 60.0, "mg"),
        anakinra("P01", 29.0, 60.0, "mg"),
        anakinra("P01", 41.0, 60.0, "mg"),
        ev("P01", 17.0, "medication", 500.0, "mg", "acetaminophen"),
        temperature("P02", 5.0, 38.6),
        temperature("P02", 9.0, 38.7),
        anakinra("P02", 16.0, 2.0, "mg/kg"),
        anakinra("P02", 22.0, 2.0, "mg/kg"),
        ev("P02", 30.0, "medication", 8.0, "mg/kg", "tocilizumab"),
        temperature("P03", 2.0, 39.0),
        temperature("P03", 6.0, 39.0),
        anakinra("P03", 7.0, 1.0, "mg/kg"),
        anakinra("P03", 19.0, 40.0, "mg"),
        ev("P03", 750.0, "medication", 10.0, "mg", "dexamethasone"),
        temperature("P04", 20.0, 38.6),
        temperature("P04", 30.0, 38.6),
        anakinra("P04", 32.0, 100.0, "mg"),
        anakinra("P04", 44.0, 100.0, "mg"),
        anakinra("P04", 56.0, 100.0, "mg"),
        temperature("P05", 20.0, 38.6),
        temperature("P05", 30.0, 38.6),
        anakinra("P05", 32.0, 2.0, "mg/kg"),
        anakinra("P05", 44.0, 100.0, "mg"),
        temperature("P06", 6.0, 38.3),
        anakinra("P06", 10.0, 60.0, "mg"),
        anakinra("P06", 22.0, 60.0, None),
        ev("P06", 5.0, "medication", 4.0, "mg", "dexamethasone"),
        temperature("P07", 10.0, 38.7),
        temperature("P07", 20.0, 38.9),
        anakinra("P07", 12.0, 3.0, "mg/kg"),
        anakinra("P07", 24.0, 120.0, "mg"),
        ev("P07", 11.0, "medication", 8.0, "mg/kg", "tocilizumab"),
        temperature("P08", 3.0, 38.9),
        temperature("P08", 8.0, 38.9),
        anakinra("P08", 9.0, 110.0, "mg"),
        temperature("P09", 30.0, 38.1),
        temperature("P10", np.nan, 39.5),
    )
    return participants, events


def test_anakinra_table() -> None:
    participants, events = _trial()
    table, _ = build_anakinra(participants, events, PLAN)
    limit = "limit 2.5 mg/kg or 100 mg"
    expected = pd.DataFrame(
        {
            "participant_id": ["P01", "P02", "P03", "P04", "P05", "P06", "P07", "P08", "P09"],
            "first_fever_hours": [8.0, 5.0, 2.0, 20.0, 20.0, 6.0, 10.0, 3.0, 30.0],
            "trigger_hours": [14.0, 9.0, 6.0, 30.0, 30.0, np.nan, 20.0, 8.0, np.nan],
            "first_anakinra_hours": [17.0, 16.0, 7.0, 32.0, 32.0, 10.0, 12.0, 9.0, np.nan],
            "fever_to_anakinra_hours": [9.0, 11.0, 5.0, 12.0, 12.0, 4.0, 2.0, 6.0, np.nan],
            "trigger_to_anakinra_hours": [3.0, 7.0, 1.0, 2.0, 2.0, np.nan, -8.0, 1.0, np.nan],
            "anakinra_doses": np.array([3, 2, 2, 3, 2, 2, 2, 1, 0], dtype="int64"),
            "anakinra_escalated": [False, True, True, False, False, False, True, False, False],
            "max_dose_mg_per_kg": [2.0, 2.0, 2.0, 100.0 / 60.0, 2.0, 2.0, 4.0, 2.2, np.nan],
            "doses_over_limit": np.array([0, 0, 0, 0, 0, 0, 2, 1, 0], dtype="int64"),
            "tocilizumab_given": [False, True, False, False, False, False, True, False, False],
            "corticosteroids_given": [False, False, False, False, False, True, False, False, False],
            "rescue_after_anakinra": [False, True, True, False, False, False, False, False, False],
            "deviation": pd.array(
                [
                    pd.NA,
                    "first anakinra dose at 16.0 h, 7.0 h after the trigger at 9.0 h (more than 6 h)",
                    pd.NA,
                    pd.NA,
                    pd.NA,
                    "anakinra given with no persistent-fever trigger (first dose at 10.0 h)",
                    "first anakinra dose at 12.0 h, 8.0 h before the trigger at 20.0 h; "
                    f"dose at 12.0 h above the limit: 3.00 mg/kg (90.0 mg; {limit}); "
                    f"dose at 24.0 h above the limit: 4.00 mg/kg (120.0 mg; {limit})",
                    f"dose at 9.0 h above the limit: 2.20 mg/kg (110.0 mg; {limit})",
                    pd.NA,
                ],
                dtype="string",
            ),
        }
    )
    pd.testing.assert_frame_equal(table, expected, check_exact=False, rtol=1e-12)


def test_anakinra_queries() -> None:
    participants, events = _trial()
    _, queries = build_anakinra(participants, events, PLAN)
    before_line, unreadable_line = 3, 32  # the 2nd and the 31st row given to make_events (the header is line 1)
    expected = pd.DataFrame(
        {
            "participant_id": ["P01", "P06"],
            "kind": ["anakinra_before_infusion", "anakinra_dose_unreadable"],
            "detail": [
                f"anakinra dose at -2.0 h, before infusion: shown, not counted (events.csv line {before_line})",
                "anakinra dose at 22.0 h has no amount in mg or mg/kg: counted, left out of the mg/kg checks "
                f"(events.csv line {unreadable_line})",
            ],
            "hours": [-2.0, 22.0],
        }
    )
    pd.testing.assert_frame_equal(queries, expected)


def test_escalation_interval_boundary_is_strict() -> None:
    """Exactly 9 h apart is not escalation (less than 9 h is); 8.99 h is."""
    participants = make_participants({"participant_id": "A"}, {"participant_id": "B"})
    events = make_events(
        participants,
        anakinra("A", 10.0, 2.0, "mg/kg"),
        anakinra("A", 19.0, 2.0, "mg/kg"),
        anakinra("B", 10.0, 2.0, "mg/kg"),
        anakinra("B", 18.99, 2.0, "mg/kg"),
    )
    table, _ = build_anakinra(participants, events, PLAN)
    assert table.set_index("participant_id")["anakinra_escalated"].to_dict() == {"A": False, "B": True}


def test_window_boundary_and_limits_are_strict() -> None:
    """First dose exactly 6 h after the trigger is on time; exactly 2.5 mg/kg and exactly 100 mg are within the limit."""
    participants = make_participants(
        {"participant_id": "A", "weight_kg": 40.0}, {"participant_id": "B", "weight_kg": 30.0}
    )
    events = make_events(
        participants,
        temperature("A", 1.0, 39.0),
        temperature("A", 5.0, 39.0),
        anakinra("A", 11.0, 100.0, "mg"),
        temperature("B", 1.0, 39.0),
        temperature("B", 5.0, 39.0),
        anakinra("B", 11.0, 2.5, "mg/kg"),
    )
    table, _ = build_anakinra(participants, events, PLAN)
    assert table["deviation"].isna().all()
    assert table["doses_over_limit"].tolist() == [0, 0]
    assert table["trigger_to_anakinra_hours"].tolist() == [6.0, 6.0]
    assert table["max_dose_mg_per_kg"].tolist() == [2.5, 2.5]


def test_window_setting_is_used() -> None:
    participants = make_participants({"participant_id": "A"})
    events = make_events(
        participants, temperature("A", 1.0, 39.0), temperature("A", 5.0, 39.0), anakinra("A", 9.0, 2.0, "mg/kg")
    )
    table, _ = build_anakinra(participants, events, PLAN.model_copy(update={"anakinra_window_hours": 3.0}))
    assert table["deviation"].tolist() == [
        "first anakinra dose at 9.0 h, 4.0 h after the trigger at 5.0 h (more than 3 h)"
    ]


def test_no_participants_infused() -> None:
    participants = make_participants({"participant_id": "A", "infused": False})
    events = make_events(participants, temperature("A", np.nan, 39.0))
    table, queries = build_anakinra(participants, events, PLAN)
    assert table.empty and list(table.columns)[0] == "participant_id"
    assert queries.empty and list(queries.columns) == ["participant_id", "kind", "detail", "hours"]
