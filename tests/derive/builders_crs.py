"""Tiny builders for the CRS tests: participants and events frames with the columns of
docs/processed-tables.md, events given as hours after infusion."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

INFUSION = pd.Timestamp("2026-03-02T15:00:00Z")

EVENT_COLUMNS = [
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


@dataclass
class Person:
    """One participant: age at infusion, where the data end (hours), and its events."""

    participant_id: str
    events: list[dict] = field(default_factory=list)
    age: float = 12.0
    data_end: float = 2000.0
    cut: float | None = None
    infused: bool = True


def _row(
    hours: float,
    event_type: str,
    value: float | None = None,
    unit: str | None = None,
    detail: str | None = None,
    end: float | None = None,
) -> dict:
    return {"hours": hours, "event_type": event_type, "value": value, "unit": unit, "detail": detail, "end": end}


def temp(hours: float, celsius: float) -> dict:
    return _row(hours, "temperature", celsius, "C")


def sbp(hours: float, mmhg: float) -> dict:
    return _row(hours, "systolic_bp", mmhg, "mmHg")


def bolus(hours: float, ml_per_kg: float = 20.0) -> dict:
    return _row(hours, "fluid_bolus", ml_per_kg, "mL/kg")


def vaso(hours: float, drug: str, dose: float, end: float | None = None) -> dict:
    unit = "units/kg/min" if drug == "vasopressin" else "mcg/kg/min"
    return _row(hours, "vasopressor", dose, unit, drug, end)


def o2(hours: float, device: str, flow: float | None = None, end: float | None = None) -> dict:
    return _row(hours, "oxygen", flow, None if flow is None else "L/min", device, end)


def med(hours: float, drug: str, dose: float = 1.0, unit: str = "mg/kg") -> dict:
    return _row(hours, "medication", dose, unit, drug)


def death(hours: float, cause: str) -> dict:
    return _row(hours, "death", None, None, cause)


def reported(hours: float, grade: int) -> dict:
    return _row(hours, "crs_grade_reported", float(grade))


def build(people: list[Person]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """participants and events frames (processed-tables.md columns) for ``people``."""
    participants = pd.DataFrame(
        [
            {
                "participant_id": p.participant_id,
                "site_id": "S01",
                "age_years": p.age,
                "sex": "F",
                "weight_kg": 30.0,
                "enrollment_date": date(2026, 2, 20),
                "infusion_datetime": INFUSION if p.infused else pd.NaT,
                "marrow_blast_pct": 50.0,
                "prior_hsct": False,
                "cns_status": "CNS1",
                "car_t_dose_per_kg": 2.0e6,
                "infused": p.infused,
                "age_at_infusion_years": p.age if p.infused else np.nan,
                "cut_hours": (p.cut if p.cut is not None else p.data_end) if p.infused else np.nan,
                "data_end_hours": p.data_end if p.infused else np.nan,
                "safety": p.infused,
                "crs_evaluable": p.infused and p.data_end >= 720,
                "efficacy_evaluable": p.infused and p.data_end >= 1008,
            }
            for p in people
        ]
    )
    participants["infusion_datetime"] = pd.to_datetime(participants["infusion_datetime"], utc=True).astype(
        "datetime64[us, UTC]"
    )
    participants["enrollment_date"] = pd.to_datetime(participants["enrollment_date"]).dt.date

    rows = [{"participant_id": p.participant_id, "infused": p.infused, **e} for p in people for e in p.events]
    if not rows:
        return participants, pd.DataFrame(
            {
                c: pd.Series(dtype=t)
                for c, t in [
                    ("participant_id", object),
                    ("line", "int64"),
                    ("event_type", object),
                    ("event_time", "datetime64[us, UTC]"),
                    ("end_time", "datetime64[us, UTC]"),
                    ("hours_from_infusion", "float64"),
                    ("end_hours_from_infusion", "float64"),
                    ("value", "float64"),
                    ("unit", object),
                    ("detail", object),
                    ("detail_text", object),
                    ("time_flag", object),
                ]
            }
        )
    frame = pd.DataFrame(rows)
    frame["line"] = np.arange(2, len(frame) + 2, dtype="int64")
    frame["event_time"] = (INFUSION + pd.to_timedelta(frame["hours"], unit="h")).astype("datetime64[us, UTC]")
    frame["end_time"] = (INFUSION + pd.to_timedelta(frame["end"].astype(float), unit="h")).astype("datetime64[us, UTC]")
    infused = frame["infused"].astype(bool)
    frame["hours_from_infusion"] = frame["hours"].astype(float).where(infused)
    frame["end_hours_from_infusion"] = frame["end"].astype(float).where(infused)
    frame["value"] = frame["value"].astype(float)
    frame["detail_text"] = None
    frame["time_flag"] = None
    frame = frame.sort_values(["participant_id", "event_time", "event_type", "line"], kind="mergesort")
    return participants, frame.reset_index(drop=True)[EVENT_COLUMNS]
