"""Small export bundles written by hand for the ingest tests."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

PARTICIPANT_HEADER = [
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
EVENT_HEADER = ["participant_id", "event_time", "end_time", "event_type", "value", "unit", "detail"]

P001 = ["P001", "S1", "10", "F", "32", "2026-01-05", "2026-01-20T10:00:00", "60", "true", "CNS1", "2000000"]
P002 = ["P002", "S1", "17", "M", "60", "2026-02-01", "2026-02-15T09:00:00", "20", "no", "", ""]
P003 = ["P003", "S1", "4", "M", "17", "2026-03-01", "", "80", "0", "CNS2", ""]

MANIFEST = {
    "study_id": "PACER",
    "exported_at": "2026-04-01T09:00:00-05:00",
    "source": "test",
    "format_version": "1",
    "timezone": "America/Chicago",
}


def csv_text(header: list[str], rows: list[list[str]]) -> str:
    """CSV text with the header and rows, ``""`` quoting where needed."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def base_events() -> list[list[str]]:
    """A few valid events for P001 and P002."""
    return [
        ["P001", "2026-01-20T12:00:00", "", "temperature", "38.2", "C", ""],
        ["P001", "2026-01-20T16:00:00", "", "temperature", "101.5", "F", ""],
        ["P001", "2026-01-20T16:00:00", "", "systolic_bp", "85", "mmHg", ""],
        ["P001", "2026-01-21T08:00:00", "2026-01-21T20:00:00", "oxygen", "2", "L/min", "Nasal Cannula"],
        ["P001", "2026-01-21T09:00:00", "", "medication", "80", "mg", "anakinra"],
        ["P002", "2026-02-16T09:00:00-06:00", "", "temperature", "37.1", "c", ""],
        ["P002", "2026-03-20T10:00:00", "", "response_assessment", "0.001", "%", "CR"],
    ]


def write_bundle(
    folder: Path,
    *,
    participants: list[list[str]] | None = None,
    events: list[list[str]] | None = None,
    manifest: dict | None = MANIFEST,
    participant_header: list[str] = PARTICIPANT_HEADER,
    event_header: list[str] = EVENT_HEADER,
    participants_text: str | None = None,
    events_text: str | None = None,
) -> Path:
    """Write a bundle folder; every part can be replaced to plant one fault."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [P001, P002, P003] if participants is None else participants
    (folder / "participants.csv").write_text(
        participants_text if participants_text is not None else csv_text(participant_header, rows), encoding="utf-8"
    )
    (folder / "events.csv").write_text(
        events_text if events_text is not None else csv_text(event_header, base_events() if events is None else events),
        encoding="utf-8",
    )
    if manifest is not None:
        (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder
