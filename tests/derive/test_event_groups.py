"""The cohort derived a group of participants at a time from its files: the groups, their rows, the same tables."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis.derive import event_groups
from analysis.derive.all_tables import EVENT_COLUMNS_READ, derive_all_tables, read_for_derivation
from analysis.derive.event_groups import derive_event_group, plan_event_groups, read_event_rows
from analysis.derive.partitions import combine_partitions
from analysis.settings import AnalysisPlan
from pipelines.derive import derive_by_event_groups
from pipelines.ingest import run_ingest
from pipelines.paths import DEMO_EXPORT

EVENT_IDS = ["P01"] * 3 + ["P02"] * 2 + ["P04"] * 4 + ["P05"]
"""Ten event rows, sorted: P01 rows 0-2, P02 rows 3-4, P04 rows 5-8, P05 row 9 (P00 and P03 have none)."""


def write_events(path: Path, participant_ids: list[str], row_group_size: int) -> Path:
    """A small events file: participant_id, line (its row number) and a value, in row groups of ``row_group_size``."""
    table = pa.table(
        {
            "participant_id": pa.array(participant_ids, pa.large_string()),
            "line": pa.array(range(len(participant_ids)), pa.int64()),
            "value": pa.array([float(row) / 2 for row in range(len(participant_ids))], pa.float64()),
        }
    )
    pq.write_table(table, path, row_group_size=row_group_size)
    return path


def participants_of(ids: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"participant_id": pd.array(ids, dtype=pd.StringDtype("pyarrow")), "age": range(len(ids))})


def test_groups_cut_where_the_participant_changes_at_or_after_each_multiple_of_the_group_size(tmp_path: Path) -> None:
    # Changes of participant at rows 3, 5 and 9; multiples of 3 rows: 3, 6, 9. The first change at or
    # after 3 is 3, after 6 is 9, after 9 is 9: groups [0, 3), [3, 9), [9, 10).
    events = write_events(tmp_path / "events.parquet", EVENT_IDS, row_group_size=4)
    groups = plan_event_groups(participants_of(["P00", "P01", "P02", "P03", "P04", "P05"]), events, rows_per_group=3)
    assert [(group.start, group.stop) for group in groups] == [(0, 3), (3, 9), (9, 10)]
    # P00 sorts before every event: first group. P03 has no events: the group of P02, the last first id before it.
    assert [list(group.participants["participant_id"]) for group in groups] == [
        ["P00", "P01"],
        ["P02", "P03", "P04"],
        ["P05"],
    ]
    assert [list(group.participants.index) for group in groups] == [[0, 1], [0, 1, 2], [0]]
    assert list(groups[1].participants["age"]) == [2, 3, 4]


def test_groups_default_to_the_files_row_group_length(tmp_path: Path) -> None:
    # Row groups of 4: the first change at or after row 4 is 5, after 8 is 9.
    events = write_events(tmp_path / "events.parquet", EVENT_IDS, row_group_size=4)
    groups = plan_event_groups(participants_of(["P01", "P02", "P04", "P05"]), events)
    assert [(group.start, group.stop) for group in groups] == [(0, 5), (5, 9), (9, 10)]


def test_a_file_without_rows_is_one_empty_group_with_every_participant(tmp_path: Path) -> None:
    events = write_events(tmp_path / "events.parquet", [], row_group_size=4)
    [group] = plan_event_groups(participants_of(["P01", "P02"]), events)
    assert (group.start, group.stop) == (0, 0)
    assert list(group.participants["participant_id"]) == ["P01", "P02"]
    assert read_event_rows(events, 0, 0, ("participant_id", "value")).shape == (0, 2)


def test_events_not_sorted_by_participant_are_refused_naming_the_file(tmp_path: Path) -> None:
    events = write_events(tmp_path / "events.parquet", ["P01", "P02", "P01"], row_group_size=4)
    with pytest.raises(ValueError, match=r"events\.parquet: the rows are not sorted by participant_id"):
        plan_event_groups(participants_of(["P01", "P02"]), events)


@pytest.mark.parametrize(("start", "stop"), [(0, 10), (0, 3), (3, 9), (5, 9), (9, 10), (2, 7)])
def test_rows_read_are_the_whole_files_rows_across_row_groups_and_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, start: int, stop: int
) -> None:
    monkeypatch.setattr(event_groups, "BATCH_ROWS", 3)  # batches of 3 in row groups of 4: every kind of cut
    events = write_events(tmp_path / "events.parquet", EVENT_IDS, row_group_size=4)
    rows = read_event_rows(events, start, stop, ("participant_id", "line", "value"))
    assert list(rows["line"]) == list(range(start, stop))
    assert list(rows["value"]) == [row / 2 for row in range(start, stop)]
    assert rows["participant_id"].dtype == pd.StringDtype("pyarrow")
    assert rows["participant_id"].array.__arrow_array__().num_chunks == 1
    whole = read_for_derivation(events, ("participant_id", "line", "value"))
    pd.testing.assert_frame_equal(rows, whole.iloc[start:stop].reset_index(drop=True), check_exact=True)


@pytest.fixture(scope="module")
def demo_in_small_row_groups(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo ingested, its events.parquet rewritten in row groups of 2,000 rows (the demo has 9,242): five groups."""
    out = tmp_path_factory.mktemp("event_groups") / "out"
    run_ingest(DEMO_EXPORT, data_cut=None, out_dir=out, time_zone=None, plan=AnalysisPlan())
    events = pq.read_table(out / "events.parquet")
    pq.write_table(events, out / "events.parquet", row_group_size=2_000)
    return out


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    sink = io.BytesIO()
    frame.to_parquet(sink, index=False)
    return sink.getvalue()


def test_the_demo_derived_in_groups_gives_the_bytes_of_the_derivation_in_one_piece(
    demo_in_small_row_groups: Path,
) -> None:
    plan = AnalysisPlan()
    participants = read_for_derivation(demo_in_small_row_groups / "participants.parquet")
    events_path = demo_in_small_row_groups / "events.parquet"
    whole = derive_all_tables(participants, read_for_derivation(events_path, EVENT_COLUMNS_READ), plan)
    groups = plan_event_groups(participants, events_path)
    assert len(groups) == 5
    assert sum(len(group.participants) for group in groups) == len(participants) == 45
    in_groups = combine_partitions([derive_event_group(group, events_path, plan) for group in groups])
    assert list(in_groups) == list(whole)
    assert {name: parquet_bytes(frame) for name, frame in in_groups.items()} == {
        name: parquet_bytes(frame) for name, frame in whole.items()
    }


def test_the_derive_steps_worker_processes_give_the_same_bytes(demo_in_small_row_groups: Path) -> None:
    """Five groups on this machine's cores (two worker processes where two are available, else this process)."""
    plan = AnalysisPlan()
    participants = read_for_derivation(demo_in_small_row_groups / "participants.parquet")
    events_path = demo_in_small_row_groups / "events.parquet"
    whole = derive_all_tables(participants, read_for_derivation(events_path, EVENT_COLUMNS_READ), plan)
    in_workers = derive_by_event_groups(participants, events_path, plan)
    assert {name: parquet_bytes(frame) for name, frame in in_workers.items()} == {
        name: parquet_bytes(frame) for name, frame in whole.items()
    }
