"""Ingest end to end on hand-built bundles: whole-file errors, the data cut, time, reconciliation, zip, bytes."""

from __future__ import annotations

import json
import math
import zipfile
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from analysis.export.bundle import read_bundle
from analysis.export.errors import ExportError
from analysis.export.ingest import ingest_bundle
from analysis.settings import AnalysisPlan
from analysis.store import read_provenance
from pipelines.ingest import run_ingest
from tests.export.bundle_builder import (
    EVENT_HEADER,
    MANIFEST,
    P001,
    P002,
    P003,
    PARTICIPANT_HEADER,
    base_events,
    csv_text,
    write_bundle,
)


def ingest(folder: Path, **kwargs):
    return ingest_bundle(read_bundle(folder), **kwargs)


# --- whole-file errors stop the run, naming the file ---------------------------------------------


@pytest.mark.parametrize(
    ("events_text", "message"),
    [
        ("", "events.csv: the file is empty"),
        (
            "participant_id;event_time;event_type\nP001;2026-01-21T10:00:00;temperature\n",
            "events.csv: missing required column(s) participant_id, event_time, event_type; found one column 'participant_id;event_time;event_type' (is the file comma-separated?)",
        ),
        ("participant_id,event_time\nP001,2026-01-21T10:00:00\n", "events.csv: missing required column(s) event_type"),
        ("participant_id,event_time,event_type,Event_Type\n", "events.csv: duplicated column name(s) event_type"),
        (
            "participant_id,event_time,event_type,patient_name\n",
            "events.csv: column 'patient_name' looks like a direct identifier",
        ),
        (
            "participant_id,event_time,event_type,Parent Email\n",
            "events.csv: column 'Parent Email' looks like a direct identifier",
        ),
    ],
)
def test_whole_file_fault_stops_the_run(tmp_path: Path, events_text: str, message: str) -> None:
    with pytest.raises(ExportError) as raised:
        ingest(write_bundle(tmp_path / "b", events_text=events_text))
    assert str(raised.value).startswith(message)


def test_latin1_file_is_refused_with_the_line(tmp_path: Path) -> None:
    folder = write_bundle(tmp_path / "b")
    (folder / "events.csv").write_bytes(
        "participant_id,event_time,event_type,detail\nP001,2026-01-21T10:00:00,new_therapy,Blinatumomab é\n".encode(
            "latin-1"
        )
    )
    with pytest.raises(ExportError, match=r"events.csv: not UTF-8 \(byte 0xe9 at line 2\)"):
        ingest(folder)


def test_missing_file_is_refused(tmp_path: Path) -> None:
    folder = write_bundle(tmp_path / "b")
    (folder / "participants.csv").unlink()
    with pytest.raises(ExportError, match="required file participants.csv is missing"):
        read_bundle(folder)


def test_bom_and_header_case_and_spaces_are_tolerated(tmp_path: Path) -> None:
    text = "\ufeff" + csv_text(
        [" Participant_ID ", "EVENT_TIME", "event type", "value", "unit", "detail", "end_time"],
        [["P001", "2026-01-21T10:00:00", "Temperature", "38.1", "c", "", ""]],
    )
    result = ingest(write_bundle(tmp_path / "b", events_text=text))
    assert result.events[["participant_id", "event_type", "value", "unit"]].to_dict("records") == [
        {"participant_id": "P001", "event_type": "temperature", "value": 38.1, "unit": "C"}
    ]


def test_malformed_row_is_quarantined_with_its_line(tmp_path: Path) -> None:
    text = csv_text(EVENT_HEADER, base_events()) + "P001,2026-01-21T10:00:00,temperature\n"
    result = ingest(write_bundle(tmp_path / "b", events_text=text))
    assert result.quarantine[["file", "line", "column", "reason"]].to_dict("records") == [
        {"file": "events.csv", "line": 9, "column": "(row)", "reason": "row has 3 fields, the header has 7"}
    ]


# --- time ----------------------------------------------------------------------------------------


def test_naive_time_with_no_time_zone_stops_the_run(tmp_path: Path) -> None:
    manifest = {k: v for k, v in MANIFEST.items() if k != "timezone"}
    with pytest.raises(ExportError, match="the export's time zone is unknown"):
        ingest(write_bundle(tmp_path / "b", manifest=manifest))


def test_naive_time_with_no_zone_but_a_cut_zone_names_the_line(tmp_path: Path) -> None:
    manifest = {k: v for k, v in MANIFEST.items() if k != "timezone"}
    participants = [[*P001[:6], "2026-01-20T10:00:00-06:00", *P001[7:]]]
    events = [
        ["P001", "2026-01-20T12:00:00-06:00", "", "temperature", "38.2", "C", ""],
        ["P001", "2026-01-20T13:00:00", "", "temperature", "38.2", "C", ""],
    ]
    folder = write_bundle(tmp_path / "b", manifest=manifest, participants=participants, events=events)
    # with a zone from --timezone the naive time is local time there
    assert ingest(folder, timezone="America/Chicago").events["hours_from_infusion"].tolist() == [2.0, 3.0]
    with pytest.raises(ExportError, match="the export's time zone is unknown"):
        ingest(folder)


def test_offset_times_are_absolute_and_fahrenheit_is_converted(tmp_path: Path) -> None:
    result = ingest(write_bundle(tmp_path / "b"))
    p001 = result.events.loc[result.events["participant_id"] == "P001"]
    # infusion 2026-01-20T10:00 Chicago (UTC-6); 101.5 °F → (101.5 − 32) × 5/9 = 38.611 → 38.61 °C
    assert p001.loc[p001["event_type"] == "temperature", ["hours_from_infusion", "value", "unit"]].to_dict(
        "records"
    ) == [
        {"hours_from_infusion": 2.0, "value": 38.2, "unit": "C"},
        {"hours_from_infusion": 6.0, "value": 38.61, "unit": "C"},
    ]
    p002 = result.events.loc[result.events["participant_id"] == "P002"]
    assert p002["hours_from_infusion"].tolist() == [24.0, 792.0]


def test_daylight_saving_change_does_not_add_an_hour(tmp_path: Path) -> None:
    participants = [[*P001[:6], "2026-03-07T12:00:00", *P001[7:]]]
    events = [["P001", "2026-03-08T12:00:00", "", "temperature", "38.2", "C", ""]]
    result = ingest(write_bundle(tmp_path / "b", participants=participants, events=events))
    assert result.events["hours_from_infusion"].tolist() == [23.0]


def test_ambiguous_fall_back_time_is_first_occurrence_and_flagged(tmp_path: Path) -> None:
    manifest = {**MANIFEST, "exported_at": "2026-11-20T09:00:00-06:00"}
    participants = [[*P001[:5], "2026-10-20", "2026-10-31T01:30:00", *P001[7:]]]
    events = [
        ["P001", "2026-11-01T01:30:00", "", "temperature", "38.2", "C", ""],
        ["P001", "2026-11-01T03:30:00", "", "temperature", "37.2", "C", ""],
    ]
    result = ingest(write_bundle(tmp_path / "b", manifest=manifest, participants=participants, events=events))
    # 01:30 CDT (UTC-5) is 24 h after infusion; 03:30 CST (UTC-6) is 27 h after
    assert result.events["hours_from_infusion"].tolist() == [24.0, 27.0]
    assert result.events["time_flag"].iloc[0] == "ambiguous_local_time"
    assert pd.isna(result.events["time_flag"].iloc[1])


# --- data cut ------------------------------------------------------------------------------------


def test_default_cut_is_the_manifest_export_date(tmp_path: Path) -> None:
    result = ingest(write_bundle(tmp_path / "b"))
    assert result.data_cut == date(2026, 4, 1)
    assert result.cut_instant.isoformat() == "2026-04-02T00:00:00-05:00"


def test_no_cut_and_no_export_date_stops_and_asks(tmp_path: Path) -> None:
    manifest = {k: v for k, v in MANIFEST.items() if k != "exported_at"}
    with pytest.raises(ExportError, match="no data cut given and the manifest has no exported_at; pass --data-cut"):
        ingest(write_bundle(tmp_path / "b", manifest=manifest))


def test_cut_includes_all_of_day_d_and_nothing_after(tmp_path: Path) -> None:
    events = [
        ["P001", "2026-01-25T23:59:00", "", "temperature", "37.0", "C", ""],
        ["P001", "2026-01-26T00:00:00", "", "temperature", "37.1", "C", ""],
    ]
    result = ingest(write_bundle(tmp_path / "b", events=events), data_cut=date(2026, 1, 25))
    assert result.events["value"].tolist() == [37.0]
    counts = result.counts["events.csv"]
    assert (counts.read, counts.kept, counts.left_out_by_cut) == (2, 1, 1)
    # P002 (enrolled 2026-02-01) and P003 (2026-03-01) are enrolled after the cut: left out and counted
    assert result.participants["participant_id"].tolist() == ["P001"]
    assert result.counts["participants.csv"].left_out_by_cut == 2


def test_infusion_after_the_cut_is_enrolled_not_infused(tmp_path: Path) -> None:
    result = ingest(write_bundle(tmp_path / "b"), data_cut=date(2026, 2, 10))
    p002 = result.participants.set_index("participant_id").loc["P002"]
    assert (bool(p002["infused"]), bool(p002["safety"])) == (False, False)
    assert math.isnan(p002["cut_hours"])


def test_analysis_sets_follow_the_30_and_42_day_rules(tmp_path: Path) -> None:
    participants = [P001, [*P002[:6], "2026-03-02T09:00:00", *P002[7:]], P003]
    events = [["P002", "2026-03-10T09:00:00", "", "death", "", "", "crs"]]
    result = ingest(write_bundle(tmp_path / "b", participants=participants, events=events))
    sets = result.participants.set_index("participant_id")[["safety", "crs_evaluable", "efficacy_evaluable"]]
    # cut instant 2026-04-02 00:00 CDT. P001 infused 2026-01-20: 71 days. P002 infused 2026-03-02 (31 days,
    # evaluable for CRS) and died on day 8 (< 42: efficacy-evaluable too). P003 not infused.
    assert sets.to_dict("index") == {
        "P001": {"safety": True, "crs_evaluable": True, "efficacy_evaluable": True},
        "P002": {"safety": True, "crs_evaluable": True, "efficacy_evaluable": True},
        "P003": {"safety": False, "crs_evaluable": False, "efficacy_evaluable": False},
    }
    short = ingest(write_bundle(tmp_path / "c", participants=participants, events=[]), data_cut=date(2026, 3, 31))
    assert short.participants.set_index("participant_id").loc[
        "P002", ["crs_evaluable", "efficacy_evaluable"]
    ].tolist() == [False, False]


# --- reconciliation, zip, determinism --------------------------------------------------------------


def test_reconciliation_accounts_for_every_row(tmp_path: Path) -> None:
    events = base_events() + [
        base_events()[0],
        ["P999", "2026-01-21T10:00:00", "", "temperature", "37", "C", ""],
        ["P001", "2026-05-01T10:00:00", "", "temperature", "37", "C", ""],
    ]
    result = ingest(write_bundle(tmp_path / "b", participants=[P001, P002, P003, P001], events=events))
    assert result.counts["events.csv"].__dict__ == {
        "read": 10,
        "kept": 7,
        "quarantined": 2,
        "duplicates": 1,
        "left_out_by_cut": 0,
    }
    assert result.counts["participants.csv"].__dict__ == {
        "read": 4,
        "kept": 3,
        "quarantined": 0,
        "duplicates": 1,
        "left_out_by_cut": 0,
    }
    assert all(c.balanced() for c in result.counts.values())


def test_zip_bundle_reads_like_the_folder(tmp_path: Path) -> None:
    folder = write_bundle(tmp_path / "demo")
    archive = tmp_path / "demo.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for name in ("manifest.json", "participants.csv", "events.csv"):
            z.write(folder / name, f"demo/{name}")
    from_zip, from_folder = ingest(archive), ingest(folder)
    pd.testing.assert_frame_equal(from_zip.events, from_folder.events)
    assert read_bundle(archive).sha256() == read_bundle(folder).sha256()


def test_zip_with_path_traversal_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("../../x", "boom")
        z.writestr("participants.csv", csv_text(PARTICIPANT_HEADER, [P001]))
    with pytest.raises(ExportError, match=r"unsafe entry '../../x'"):
        read_bundle(archive)


def test_same_bundle_and_cut_give_byte_identical_tables(tmp_path: Path) -> None:
    folder = write_bundle(tmp_path / "b")
    first = run_ingest(folder, data_cut=None, out_dir=tmp_path / "one", time_zone=None, plan=AnalysisPlan()).out_dir
    second = run_ingest(folder, data_cut=None, out_dir=tmp_path / "two", time_zone=None, plan=AnalysisPlan()).out_dir
    for name in ("participants.parquet", "events.parquet", "quarantine.parquet"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    manifest = json.loads((first / "manifest.json").read_text())
    assert manifest["steps"]["ingest"]["reconciliation"]["events.csv"]["balanced"] is True
    assert manifest["files"]["events.parquet"]["rows"] == 7
    provenance = read_provenance(first / "events.parquet")
    assert provenance["data_cut"] == "2026-04-01"
    assert provenance["analysis_plan_sha256"] == AnalysisPlan().settings_hash()
    assert set(provenance["input_sha256"]) == {"manifest.json", "participants.csv", "events.csv"}
    assert "run_time" not in json.dumps(provenance)


def test_second_ingest_on_unchanged_input_is_reused_and_any_change_recomputes(tmp_path: Path) -> None:
    folder = write_bundle(tmp_path / "b")
    out = tmp_path / "out"
    assert run_ingest(folder, data_cut=None, out_dir=out, time_zone=None, plan=AnalysisPlan()).reused is False
    assert run_ingest(folder, data_cut=None, out_dir=out, time_zone=None, plan=AnalysisPlan()).reused is True
    assert (
        run_ingest(folder, data_cut=None, out_dir=out, time_zone=None, plan=AnalysisPlan(high_burden_pct=50)).reused
        is False
    )
    assert (
        run_ingest(
            folder, data_cut=date(2026, 3, 31), out_dir=out, time_zone=None, plan=AnalysisPlan(high_burden_pct=50)
        ).reused
        is False
    )
    write_bundle(folder, events=base_events()[:-1])
    assert (
        run_ingest(
            folder, data_cut=date(2026, 3, 31), out_dir=out, time_zone=None, plan=AnalysisPlan(high_burden_pct=50)
        ).reused
        is False
    )
    (out / "events.parquet").write_bytes(b"tampered")
    assert (
        run_ingest(
            folder, data_cut=date(2026, 3, 31), out_dir=out, time_zone=None, plan=AnalysisPlan(high_burden_pct=50)
        ).reused
        is False
    )
    assert len(pd.read_parquet(out / "events.parquet")) == 6
