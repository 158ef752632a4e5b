"""A cohort derived in groups of participants gives exactly the tables of the whole cohort."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest

from analysis.derive.all_tables import TABLE_KEYS, derive_all_tables
from analysis.derive.partitions import combine_partitions, participant_partitions, partitions_for_workers
from analysis.settings import AnalysisPlan
from pipelines.ingest import run_ingest
from pipelines.paths import DEMO_EXPORT

Cohort = tuple[pd.DataFrame, pd.DataFrame]


@pytest.fixture(scope="module")
def demo_cohort(tmp_path_factory: pytest.TempPathFactory) -> Cohort:
    """The demo export's processed participants and events (45 enrolled, 5 not infused, planted faults)."""
    out = tmp_path_factory.mktemp("partitions") / "out"
    run_ingest(DEMO_EXPORT, data_cut=None, out_dir=out, time_zone=None, plan=AnalysisPlan())
    return pd.read_parquet(out / "participants.parquet"), pd.read_parquet(out / "events.parquet")


@pytest.fixture(scope="module")
def whole_cohort_tables(demo_cohort: Cohort) -> dict[str, pd.DataFrame]:
    participants, events = demo_cohort
    return derive_all_tables(participants, events, AnalysisPlan())


@pytest.mark.parametrize(
    ("split", "n"),
    [
        (participant_partitions, 1),
        (participant_partitions, 3),
        (participant_partitions, 7),
        (participant_partitions, 200),
        (partitions_for_workers, 5),
    ],
)
def test_the_groups_tables_combined_are_the_whole_cohorts(
    demo_cohort: Cohort, whole_cohort_tables: dict[str, pd.DataFrame], split: Callable[..., list[Cohort]], n: int
) -> None:
    plan = AnalysisPlan()
    combined = combine_partitions(
        [derive_all_tables(participants, events, plan) for participants, events in split(*demo_cohort, n)]
    )
    assert list(combined) == list(TABLE_KEYS)
    assert len(whole_cohort_tables["queries"]) > 0 and len(whole_cohort_tables["ae"]) > 0
    for name, table in whole_cohort_tables.items():
        pd.testing.assert_frame_equal(combined[name], table, check_exact=True, obj=name)


def test_every_participant_is_in_exactly_one_group_of_consecutive_ids(demo_cohort: Cohort) -> None:
    participants, events = demo_cohort
    groups = participant_partitions(participants, events, 7)
    ids = [sorted(group["participant_id"]) for group, _ in groups]
    assert [len(group) for group in ids] == [7, 7, 7, 6, 6, 6, 6]
    assert sum(ids, []) == sorted(participants["participant_id"])
    assert all(group.index.equals(pd.RangeIndex(len(group))) for pair in groups for group in pair)


def test_more_groups_than_participants_gives_one_participant_a_group(demo_cohort: Cohort) -> None:
    participants, events = demo_cohort
    groups = participant_partitions(participants, events, 200)
    assert len(groups) == 45
    assert all(len(group) == 1 for group, _ in groups)


def test_every_event_goes_with_its_participant_in_its_original_order(demo_cohort: Cohort) -> None:
    participants, events = demo_cohort
    groups = participant_partitions(participants, events, 3)
    assert sum(len(group_events) for _, group_events in groups) == len(events) == 9242
    for group_participants, group_events in groups:
        assert set(group_events["participant_id"]) <= set(group_participants["participant_id"])
        expected = events.loc[events["participant_id"].isin(group_participants["participant_id"])].reset_index(
            drop=True
        )
        pd.testing.assert_frame_equal(group_events, expected, check_exact=True)


def test_rows_keep_their_order_and_an_unknown_participants_event_goes_where_its_id_sorts() -> None:
    participants = pd.DataFrame({"participant_id": ["P03", "P01", "P05", "P07"], "age_years": [3.0, 1.0, 5.0, 7.0]})
    events = pd.DataFrame({"participant_id": ["P07", "P01", "P06", "P03", "P01"], "line": [2, 3, 4, 5, 6]})
    groups = participant_partitions(participants, events, 2)
    assert [group["participant_id"].tolist() for group, _ in groups] == [["P03", "P01"], ["P05", "P07"]]
    assert [group["line"].tolist() for _, group in groups] == [[3, 5, 6], [2, 4]]


def test_the_groups_for_workers_carry_arrow_backed_text(demo_cohort: Cohort) -> None:
    participants, events = demo_cohort
    [(group_participants, group_events)] = partitions_for_workers(participants, events, 1)
    assert group_events["event_type"].dtype == pd.StringDtype("pyarrow")
    assert group_participants["participant_id"].dtype == pd.StringDtype("pyarrow")
    assert group_events["event_type"].tolist() == events["event_type"].tolist()


def test_no_participants_gives_one_empty_group() -> None:
    participants = pd.DataFrame({"participant_id": pd.Series(dtype="string")})
    events = pd.DataFrame({"participant_id": pd.Series(dtype="string"), "line": pd.Series(dtype="int64")})
    [(group_participants, group_events)] = participant_partitions(participants, events, 4)
    assert group_participants.empty and group_events.empty


def test_fewer_than_one_group_is_refused(demo_cohort: Cohort) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        participant_partitions(*demo_cohort, 0)


def test_an_empty_groups_table_does_not_change_the_column_types() -> None:
    with_rows = pd.DataFrame(
        {
            "participant_id": pd.Series(["P02", "P01"], dtype="string"),
            "paramcd": ["OS", "OS"],
            "cnsr": pd.Series([0, 1], dtype="Int64"),
        }
    )
    untyped_empty = pd.DataFrame({"participant_id": [], "paramcd": [], "cnsr": []}, dtype=object)
    combined = combine_partitions([{"adtte": untyped_empty}, {"adtte": with_rows}, {"adtte": untyped_empty}])
    expected = pd.DataFrame(
        {
            "participant_id": pd.Series(["P01", "P02"], dtype="string"),
            "paramcd": ["OS", "OS"],
            "cnsr": pd.Series([1, 0], dtype="Int64"),
        }
    )
    pd.testing.assert_frame_equal(combined["adtte"], expected, check_exact=True)


def test_a_table_empty_in_every_group_keeps_the_first_groups_types() -> None:
    empty = pd.DataFrame(
        {
            "participant_id": pd.Series(dtype="string"),
            "kind": pd.Series(dtype="string"),
            "detail": pd.Series(dtype="string"),
            "source": pd.Series(dtype="string"),
        }
    )
    combined = combine_partitions([{"queries": empty}, {"queries": empty.copy()}])
    pd.testing.assert_frame_equal(combined["queries"], empty, check_exact=True)


def test_arrow_backed_columns_come_back_in_one_chunk_as_from_a_derivation_in_one_piece() -> None:
    def group(ids: list[str]) -> dict[str, pd.DataFrame]:
        text = pd.Series(ids, dtype=pd.StringDtype("pyarrow"))
        return {"queries": pd.DataFrame({"participant_id": text, "kind": text, "detail": text, "source": text})}

    combined = combine_partitions([group(["P01", "P02"]), group(["P03"]), group(["P04", "P05"])])["queries"]
    assert combined["detail"].tolist() == ["P01", "P02", "P03", "P04", "P05"]
    assert [combined[name].array.__arrow_array__().num_chunks for name in combined] == [1, 1, 1, 1]
    assert combined["detail"].dtype == pd.StringDtype("pyarrow")
