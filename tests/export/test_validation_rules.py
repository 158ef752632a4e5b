"""Every row rule of export-format.md: one failing example each, with the quarantine row it must produce."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.export.bundle import read_bundle
from analysis.export.ingest import ingest_bundle
from tests.export.bundle_builder import P001, P002, P003, base_events, write_bundle

P001_EVENT = ["P001", "2026-01-21T10:00:00", ""]

EVENT_FAULTS = [
    # (case, row, column, reason)
    (
        "missing participant",
        ["", "2026-01-21T10:00:00", "", "temperature", "37", "C", ""],
        "participant_id",
        "participant_id is missing",
    ),
    (
        "unknown participant",
        ["P999", "2026-01-21T10:00:00", "", "temperature", "37", "C", ""],
        "participant_id",
        "participant_id is not in participants.csv",
    ),
    ("missing event_time", ["P001", "", "", "temperature", "37", "C", ""], "event_time", "event_time is missing"),
    (
        "unparseable time",
        ["P001", "21/01/2026 10:00", "", "temperature", "37", "C", ""],
        "event_time",
        "not an ISO-8601 date-time",
    ),
    (
        "February 30",
        ["P001", "2026-02-30T10:00:00", "", "temperature", "37", "C", ""],
        "event_time",
        "not an ISO-8601 date-time",
    ),
    (
        "spring-forward gap",
        ["P001", "2026-03-08T02:30:00", "", "temperature", "37", "C", ""],
        "event_time",
        "does not exist",
    ),
    (
        "year 1900",
        ["P001", "1900-01-21T10:00:00", "", "temperature", "37", "C", ""],
        "event_time",
        "more than 30 days before the participant's enrollment",
    ),
    (
        "after export",
        ["P001", "2026-04-02T10:00:00", "", "temperature", "37", "C", ""],
        "event_time",
        "after the export time",
    ),
    (
        "end before start",
        ["P001", "2026-01-21T10:00:00", "2026-01-21T09:00:00", "oxygen", "2", "L/min", "nasal_cannula"],
        "end_time",
        "end_time is before event_time",
    ),
    ("unknown event type", P001_EVENT + ["heart_rate", "120", "", ""], "event_type", "unknown event_type"),
    ("missing event type", P001_EVENT + ["", "", "", ""], "event_type", "event_type is missing"),
    (
        "temperature without unit",
        P001_EVENT + ["temperature", "101.2", "", ""],
        "unit",
        "temperature needs a unit (C or F)",
    ),
    ("unknown unit", P001_EVENT + ["temperature", "37", "K", ""], "unit", "unknown temperature unit"),
    ("value not a number", P001_EVENT + ["temperature", "high", "C", ""], "value", "value is not a number"),
    ("missing value", P001_EVENT + ["systolic_bp", "", "mmHg", ""], "value", "value is missing"),
    ("temperature 380 C", P001_EVENT + ["temperature", "380", "C", ""], "value", "temperature outside 30–45 °C"),
    ("temperature 3.8 C", P001_EVENT + ["temperature", "3.8", "C", ""], "value", "temperature outside 30–45 °C"),
    ("temperature 120 F", P001_EVENT + ["temperature", "120", "F", ""], "value", "temperature outside 86–113 °F"),
    ("SBP 300", P001_EVENT + ["systolic_bp", "300", "mmHg", ""], "value", "systolic_bp outside 20–250 mmHg"),
    (
        "oxygen flow 600",
        ["P001", "2026-01-21T10:00:00", "2026-01-21T12:00:00", "oxygen", "600", "L/min", "high_flow_nasal_cannula"],
        "value",
        "oxygen flow outside 0–80 L/min",
    ),
    (
        "nasal cannula no flow",
        ["P001", "2026-01-21T10:00:00", "2026-01-21T12:00:00", "oxygen", "", "", "nasal_cannula"],
        "value",
        "value is missing",
    ),
    (
        "unknown device",
        ["P001", "2026-01-21T10:00:00", "", "oxygen", "2", "L/min", "face tent"],
        "detail",
        "unknown oxygen code",
    ),
    (
        "synonym NE",
        ["P001", "2026-01-21T10:00:00", "", "vasopressor", "0.1", "mcg/kg/min", "NE"],
        "detail",
        "unknown vasopressor code; expected one of norepinephrine",
    ),
    (
        "synonym Levophed",
        ["P001", "2026-01-21T10:00:00", "", "vasopressor", "0.1", "mcg/kg/min", "Levophed"],
        "detail",
        "unknown vasopressor code",
    ),
    (
        "vasopressor dose 0",
        ["P001", "2026-01-21T10:00:00", "", "vasopressor", "0", "mcg/kg/min", "norepinephrine"],
        "value",
        "vasopressor dose not above 0",
    ),
    (
        "norepinephrine 6",
        ["P001", "2026-01-21T10:00:00", "", "vasopressor", "6", "mcg/kg/min", "norepinephrine"],
        "value",
        "plausible maximum",
    ),
    (
        "vasopressin 0.05",
        ["P001", "2026-01-21T10:00:00", "", "vasopressor", "0.05", "units/kg/min", "vasopressin"],
        "value",
        "plausible maximum",
    ),
    (
        "vasopressin in mcg",
        ["P001", "2026-01-21T10:00:00", "", "vasopressor", "0.001", "mcg/kg/min", "vasopressin"],
        "unit",
        "vasopressin is dosed in units/kg/min",
    ),
    ("negative dose", P001_EVENT + ["medication", "-80", "mg", "anakinra"], "value", "medication dose must be above 0"),
    ("unknown drug", P001_EVENT + ["medication", "80", "mg", "kineret"], "detail", "unknown medication code"),
    ("missing drug", P001_EVENT + ["medication", "80", "mg", ""], "detail", "detail is missing"),
    (
        "bolus 150",
        P001_EVENT + ["fluid_bolus", "150", "mL/kg", ""],
        "value",
        "fluid bolus must be above 0 and at most 100",
    ),
    ("ICE 11", P001_EVENT + ["ice_score", "11", "", ""], "value", "ICE score must be an integer 0–10"),
    ("ICE 7.5", P001_EVENT + ["ice_score", "7.5", "", ""], "value", "ICE score must be an integer 0–10"),
    ("CAPD 33", P001_EVENT + ["capd_score", "33", "", ""], "value", "CAPD score must be an integer 0–32"),
    ("MRD 120", P001_EVENT + ["response_assessment", "120", "%", "CR"], "value", "MRD must be 0–100 %"),
    (
        "AE grade 6",
        ["P001", "2026-01-21T10:00:00", "", "adverse_event", "6", "", "infection"],
        "value",
        "adverse event grade must be an integer 1–5",
    ),
    (
        "AE unknown term",
        ["P001", "2026-01-21T10:00:00", "", "adverse_event", "3", "", "rash"],
        "detail",
        "unknown adverse_event code",
    ),
    (
        "reported CRS 7",
        P001_EVENT + ["crs_grade_reported", "7", "", ""],
        "value",
        "reported CRS grade must be an integer 0–5",
    ),
    ("unknown consciousness", P001_EVENT + ["consciousness", "", "", "drowsy"], "detail", "unknown consciousness code"),
]

PARTICIPANT_FAULTS = [
    ("missing id", ["", *P001[1:]], "participant_id", "participant_id is missing"),
    (
        "duplicated id",
        ["P001", "S2", *P001[2:]],
        "participant_id",
        "participant_id is not unique: first given at line 2",
    ),
    ("age 0.5", ["P010", "S1", "0.5", *P001[3:]], "age_years", "age_years must be at least 1 and below 27"),
    ("age 27", ["P010", "S1", "27", *P001[3:]], "age_years", "age_years must be at least 1 and below 27"),
    ("age text", ["P010", "S1", "ten", *P001[3:]], "age_years", "age_years is not a number"),
    ("sex X", ["P010", "S1", "10", "X", *P001[4:]], "sex", "sex must be M or F"),
    ("weight 0", ["P010", "S1", "10", "F", "0", *P001[5:]], "weight_kg", "weight_kg must be above 0 and below 250"),
    (
        "enrollment US date",
        ["P010", "S1", "10", "F", "30", "01/05/2026", *P001[6:]],
        "enrollment_date",
        "enrollment_date must be a date YYYY-MM-DD",
    ),
    (
        "infusion unparseable",
        ["P010", "S1", "10", "F", "30", "2026-01-05", "soon", *P001[7:]],
        "infusion_datetime",
        "not an ISO-8601 date-time",
    ),
    (
        "blasts 120",
        ["P010", "S1", "10", "F", "30", "2026-01-05", "", "120", *P001[8:]],
        "marrow_blast_pct",
        "marrow_blast_pct must be 0 to 100",
    ),
    (
        "prior_hsct maybe",
        ["P010", "S1", "10", "F", "30", "2026-01-05", "", "50", "maybe", *P001[9:]],
        "prior_hsct",
        "prior_hsct must be true/false",
    ),
    (
        "cns 4",
        ["P010", "S1", "10", "F", "30", "2026-01-05", "", "50", "no", "CNS4", ""],
        "cns_status",
        "cns_status must be CNS1, CNS2 or CNS3",
    ),
    (
        "dose negative",
        ["P010", "S1", "10", "F", "30", "2026-01-05", "", "50", "no", "", "-1"],
        "car_t_dose_per_kg",
        "car_t_dose_per_kg must be above 0",
    ),
]


@pytest.mark.parametrize(("case", "row", "column", "reason"), EVENT_FAULTS, ids=[c[0] for c in EVENT_FAULTS])
def test_event_fault_is_quarantined_with_its_reason(
    tmp_path: Path, case: str, row: list[str], column: str, reason: str
) -> None:
    events = base_events() + [row]
    result = ingest_bundle(read_bundle(write_bundle(tmp_path / "b", events=events)))
    quarantined = result.quarantine
    assert len(quarantined) == 1, quarantined.to_dict("records")
    record = quarantined.iloc[0]
    assert (record["file"], record["line"]) == ("events.csv", len(events) + 1)
    assert column in record["column"].split("; ")
    assert reason in record["reason"]
    assert len(result.events) == len(base_events())


@pytest.mark.parametrize(
    ("case", "row", "column", "reason"), PARTICIPANT_FAULTS, ids=[c[0] for c in PARTICIPANT_FAULTS]
)
def test_participant_fault_is_quarantined_with_its_reason(
    tmp_path: Path, case: str, row: list[str], column: str, reason: str
) -> None:
    result = ingest_bundle(read_bundle(write_bundle(tmp_path / "b", participants=[P001, P002, P003, row])))
    participant_rows = result.quarantine.loc[result.quarantine["file"] == "participants.csv"]
    assert participant_rows[["line", "column"]].to_dict("records") == [{"line": 5, "column": column}]
    assert reason in participant_rows.iloc[0]["reason"]
    assert (
        participant_rows.iloc[0]["value"]
        == (
            row[
                [
                    i
                    for i, c in enumerate(
                        [
                            "participant_id",
                            "site_id",
                            "age_years",
                            "sex",
                            "weight_kg",
                            "enrollment_date",
                            "infusion_datetime",
                            "marrow_blast_pct",
                            "prior_hsct",
                            "cns_status",
                            "car_t_dose_per_kg",
                        ]
                    )
                    if c == column
                ][0]
            ]
        )
    )


def test_events_of_a_quarantined_participant_are_quarantined_with_that_line(tmp_path: Path) -> None:
    bad_p002 = ["P002", "S1", "17", "X", *P002[4:]]
    result = ingest_bundle(read_bundle(write_bundle(tmp_path / "b", participants=[P001, bad_p002, P003])))
    event_rows = result.quarantine.loc[result.quarantine["file"] == "events.csv"]
    assert event_rows["line"].tolist() == [7, 8]
    assert set(event_rows["reason"]) == {"the participant's row in participants.csv (line 3) was quarantined"}


def test_a_row_with_several_faults_lists_them_all(tmp_path: Path) -> None:
    row = ["P999", "2026-01-21T10:00:00", "", "temperature", "380", "C", ""]
    result = ingest_bundle(read_bundle(write_bundle(tmp_path / "b", events=base_events() + [row])))
    record = result.quarantine.iloc[0]
    assert record["column"] == "participant_id; value"
    assert record["value"] == "P999; 380"
    assert record["reason"] == "participant_id is not in participants.csv; temperature outside 30–45 °C"
