"""`pacer scale`: a cohort simulated in parts, ingested and derived part by part on a Dask LocalCluster,
is the cohort's export ingested and derived in one process — every table, data and schema."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis.derive.all_tables import TABLE_KEYS
from analysis.export.errors import ExportError
from analysis.export.parts import concatenate_parts, part_folders
from analysis.settings import AnalysisPlan
from analysis.simulate.parts import cohort_parts
from analysis.store import read_manifest
from pipelines.derive import run_derive
from pipelines.ingest import run_ingest
from pipelines.scale import SUBJECT_TABLES, SUMMARY_FILE, checked_parts, part_path, run_scale, simulate_parts

pytestmark = pytest.mark.flow

PARTICIPANTS = 240
PARTS = 4
SEED = 20261204
BAD_TEMPERATURE_LINE = 3
"""The line of part-00001's events.csv whose temperature is made unreadable."""


def plant_faults(parts: list[Path]) -> None:
    """A bad temperature in part 1, an event of an unknown participant in part 2, a bad sex in part 3 (so its events
    quote the participant's line in participants.csv)."""
    events = parts[1] / "events.csv"
    lines = events.read_text().splitlines(keepends=True)
    assert ",temperature," in lines[BAD_TEMPERATURE_LINE - 1]
    fields = lines[BAD_TEMPERATURE_LINE - 1].split(",")
    fields[4] = "hot"
    lines[BAD_TEMPERATURE_LINE - 1] = ",".join(fields)
    events.write_text("".join(lines))
    with open(parts[2] / "events.csv", "a") as stream:
        stream.write("NOBODY-1,2025-06-01T08:00:00,,temperature,37.0,C,\n")
    participants = parts[3] / "participants.csv"
    rows = participants.read_text().splitlines(keepends=True)
    fields = rows[2].split(",")
    fields[3] = "X"
    rows[2] = ",".join(fields)
    participants.write_text("".join(rows))


@pytest.fixture(scope="module")
def scaled_and_whole(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    """The parts scaled on a two-worker LocalCluster, and their concatenation ingested and derived in one process."""
    from distributed import Client, LocalCluster

    root = tmp_path_factory.mktemp("scale")
    simulate_parts(PARTICIPANTS, PARTS, SEED, root / "parts", hourly_vitals_days=1)
    parts = part_folders(root / "parts")
    plant_faults(parts)
    plan = AnalysisPlan()
    whole = root / "whole"
    run_ingest(concatenate_parts(parts, root / "export"), data_cut=None, out_dir=whole, time_zone=None, plan=plan)
    run_derive(whole, plan)
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1"
        ) as cluster,
        Client(cluster) as client,
    ):
        summary = run_scale(checked_parts(root / "parts"), root / "scaled", client, plan=plan)
    return root / "scaled", whole, summary


def parts_one_after_the_other(scaled: Path, table: str) -> pa.Table:
    return pa.concat_tables(
        pq.read_table(part_path(scaled, table, index)).replace_schema_metadata(None) for index in range(PARTS)
    )


def whole_table(folder: Path, table: str) -> pa.Table:
    return pq.read_table(folder / f"{table}.parquet").replace_schema_metadata(None)


@pytest.mark.parametrize("table", ["participants", "events", *TABLE_KEYS])
def test_each_partitioned_table_is_the_one_process_table(scaled_and_whole: tuple[Path, Path, dict], table: str) -> None:
    scaled, whole, _ = scaled_and_whole
    expected = whole_table(whole, table)
    assert expected.num_rows > 0
    assert parts_one_after_the_other(scaled, table).equals(expected)


@pytest.mark.parametrize("table", [*SUBJECT_TABLES, "quarantine"])
def test_each_whole_table_is_the_one_process_table(scaled_and_whole: tuple[Path, Path, dict], table: str) -> None:
    scaled, whole, _ = scaled_and_whole
    assert whole_table(scaled, table).equals(whole_table(whole, table))


def test_the_planted_faults_are_quarantined_at_the_whole_exports_lines(
    scaled_and_whole: tuple[Path, Path, dict],
) -> None:
    scaled, _, _ = scaled_and_whole
    quarantine = whole_table(scaled, "quarantine").to_pandas()
    parts = part_folders(scaled.parent / "parts")
    event_lines_before = sum(len((part / "events.csv").read_text().splitlines()) - 1 for part in parts[:1])
    participant_lines_before = sum(len((part / "participants.csv").read_text().splitlines()) - 1 for part in parts[:3])
    events = quarantine[quarantine["file"] == "events.csv"]
    assert BAD_TEMPERATURE_LINE + event_lines_before in set(events["line"])
    assert events["reason"].str.contains("participant_id is not in participants.csv").sum() == 1
    sex_line = 3 + participant_lines_before
    assert quarantine.loc[quarantine["file"] == "participants.csv", "line"].tolist() == [sex_line]
    quoting = events["reason"].str.contains("participants.csv (line ", regex=False)
    assert quoting.any()
    assert events.loc[quoting, "reason"].str.contains(f"(line {sex_line})", regex=False).all()


def test_the_reconciliation_is_the_one_process_ingests(scaled_and_whole: tuple[Path, Path, dict]) -> None:
    scaled, whole, summary = scaled_and_whole
    expected = read_manifest(whole)["steps"]["ingest"]["reconciliation"]
    assert summary["reconciliation"] == expected
    assert json.loads((scaled / SUMMARY_FILE).read_text())["reconciliation"] == expected
    assert set(summary["workers_peak_rss_mb"]) and all(peak > 0 for peak in summary["workers_peak_rss_mb"].values())


def test_the_parts_number_one_cohort_and_are_reproducible(tmp_path: Path) -> None:
    assert [(part.first_number, part.n_participants) for part in cohort_parts(PARTICIPANTS, PARTS, SEED)] == [
        (1, 60),
        (61, 60),
        (121, 60),
        (181, 60),
    ]
    first = simulate_parts(9, 2, SEED, tmp_path / "first")
    again = simulate_parts(9, 2, SEED, tmp_path / "again")
    ids = [line.split(",")[0] for part in first for line in (part / "participants.csv").read_text().splitlines()[1:]]
    assert ids == [f"PACER-{number:03d}" for number in range(1, 10)]
    for part, same in zip(first, again):
        for name in ("manifest.json", "participants.csv", "events.csv"):
            assert (part / name).read_bytes() == (same / name).read_bytes()


def test_a_participant_in_two_parts_is_refused_in_one_line_before_a_cluster_starts(tmp_path: Path) -> None:
    parts = simulate_parts(6, 2, SEED, tmp_path / "parts")
    with open(parts[1] / "participants.csv", "a") as stream:
        stream.write((parts[0] / "participants.csv").read_text().splitlines()[1] + "\n")
    with pytest.raises(ExportError, match="participant PACER-001 is also in"):
        checked_parts(tmp_path / "parts")
    completed = subprocess.run(
        [
            str(Path(sys.executable).parent / "pacer"),
            "scale",
            "--parts",
            str(tmp_path / "parts"),
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 2
    assert (
        completed.stderr
        == f"error: {parts[1]}: participant PACER-001 is also in {parts[0]}: each participant must be in exactly one part\n"
    )
    assert not (tmp_path / "out").exists()
