"""Every table the pipeline writes matches its schema, and a wrong table fails naming the table, column and check.

The demo and its historical cohort go through ingest → derive → analyze in this process (no
Prefect), as ``pacer run --historical-export data/raw/demo_historical`` lays them out; every frame
handed to the output writer is kept, exactly as it is written. The bootstrap table is the
in-process bootstrap that ``pacer bootstrap`` writes (the Dask test asserts they are equal).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from analysis import store
from analysis.schemas import OUTPUT_SCHEMAS, OutputSchemaError, validate_output
from analysis.schemas.base import written_type
from analysis.schemas.beside_ard import BESIDE_ARD_TABLES
from analysis.settings import AnalysisPlan
from analysis.stats.cohort_comparison import subject_frame
from analysis.stats.iptw_bootstrap import iptw_bootstrap

HISTORICAL_EXPORT = Path(__file__).resolve().parents[2] / "data" / "raw" / "demo_historical"


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    """``{path relative to the output folder: frame as written}`` for the demo, its historical cohort and the bootstrap."""
    from pipelines.analyze import run_analyze
    from pipelines.derive import run_derive
    from pipelines.ingest import run_ingest
    from pipelines.paths import DEMO_EXPORT

    out = tmp_path_factory.mktemp("schemas") / "out"
    tables: dict[str, pd.DataFrame] = {}
    write = store.StepWriter.table

    def keep(writer: store.StepWriter, name: str, frame: pd.DataFrame, record: dict) -> None:
        tables[(writer.out_dir / name).relative_to(out).as_posix()] = frame.copy()
        write(writer, name, frame, record)

    plan = AnalysisPlan()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(store.StepWriter, "table", keep)
        for export, folder in ((DEMO_EXPORT, out), (HISTORICAL_EXPORT, out / "historical")):
            run_ingest(export, data_cut=None, out_dir=folder, time_zone=None, plan=plan)
            run_derive(folder, plan)
        run_analyze(out, plan, out / "historical")
    subjects = pd.concat(
        [
            subject_frame(*(tables[f"{prefix}{name}.parquet"] for name in ("adsl", "crs", "adtte")), cohort)
            for prefix, cohort in (("", "trial"), ("historical/", "historical"))
        ],
        ignore_index=True,
    )
    tables["iptw_bootstrap.parquet"] = iptw_bootstrap(subjects, 100, plan.iptw_bootstrap.seed)
    return tables


def test_every_table_of_the_demo_and_the_historical_demo_is_written_and_has_a_schema(
    written: dict[str, pd.DataFrame],
) -> None:
    trial = {name for name in written if "/" not in name}
    historical = {name.removeprefix("historical/") for name in written if name.startswith("historical/")}
    # the analyze step's tables (the ARD and the tables beside it) and the bootstrap are the trial's alone
    trial_only = {"ard.parquet", "iptw_bootstrap.parquet"} | {table.file_name for table in BESIDE_ARD_TABLES}
    assert trial == set(OUTPUT_SCHEMAS)
    assert historical == set(OUTPUT_SCHEMAS) - trial_only
    assert len(written) == 18 + 11


def test_every_written_table_matches_its_schema(written: dict[str, pd.DataFrame]) -> None:
    failures = {}
    for name, frame in written.items():
        try:
            assert validate_output(name, frame) is frame
        except OutputSchemaError as error:
            failures[name] = str(error)
    assert failures == {}


def test_the_documented_parquet_type_is_the_type_written(written: dict[str, pd.DataFrame]) -> None:
    differences = []
    for name, frame in written.items():
        if frame.empty:  # an empty object column is written as Arrow null (the historical quarantine)
            continue
        arrow = pa.Schema.from_pandas(frame, preserve_index=False)
        for column, declared in OUTPUT_SCHEMAS[Path(name).name].model.to_schema().columns.items():
            if arrow.field(column).type != written_type(declared.dtype):
                differences.append((name, column, str(arrow.field(column).type), str(written_type(declared.dtype))))
    assert differences == []


def test_validation_leaves_the_frame_unchanged(written: dict[str, pd.DataFrame]) -> None:
    adsl = written["adsl.parquet"]
    before = adsl.copy()
    validate_output("adsl.parquet", adsl)
    pd.testing.assert_frame_equal(adsl, before, check_exact=True)
    assert adsl.dtypes.equals(before.dtypes)


def failure_message(file_name: str, frame: pd.DataFrame) -> str:
    with pytest.raises(OutputSchemaError) as raised:
        validate_output(file_name, frame)
    return str(raised.value)


def test_a_grade_out_of_its_contract_range_names_table_column_and_check(written: dict[str, pd.DataFrame]) -> None:
    crs = written["crs.parquet"].copy()
    crs.loc[3, "crs_max_grade"] = 6
    message = failure_message("crs.parquet", crs)
    assert message.splitlines()[0] == "crs.parquet does not match its schema (2 failures):"
    assert "  - column 'crs_max_grade', check in_range(0, 5): 1 failing: 6 (row 3)" in message
    # grade 6 is not ≥ 3 "severe" in the flags: the cross-column rule fails on the same row
    participant = crs.loc[3, "participant_id"]
    assert f"  - check severity_flags_follow_the_maximum_grades: 1 row(s) fail: 3 ({participant})" in message


def test_every_failure_is_listed_at_once(written: dict[str, pd.DataFrame]) -> None:
    adtte = written["historical/adtte.parquet"].copy()
    adtte.loc[0, "cnsr"] = 5
    adtte.loc[1, "paramcd"] = "PFS"
    adtte["participant_id"] = adtte["participant_id"].astype(object)
    message = failure_message("historical/adtte.parquet", adtte)
    assert message.startswith("historical/adtte.parquet does not match its schema")
    assert "column 'cnsr', check isin([0, 1, 2, 3, 4]): 1 failing: 5 (row 0)" in message
    assert "column 'paramcd', check isin(['OS', 'EFS', 'RFS', 'CIR']): 1 failing: 'PFS' (row 1)" in message
    assert "column 'participant_id', check dtype: expected string[pyarrow], found object" in message


def test_an_event_code_outside_cir_fails(written: dict[str, pd.DataFrame]) -> None:
    adtte = written["adtte.parquet"].copy()
    os_row = adtte.index[adtte["paramcd"] == "OS"][0]
    adtte.loc[os_row, "event_code"] = 1
    message = failure_message("adtte.parquet", adtte)
    participant = adtte.loc[os_row, "participant_id"]
    assert f"check event_code_is_for_cir_only: 1 row(s) fail: {os_row} ({participant})" in message


def test_a_duplicated_ard_key_and_a_missing_column_fail(written: dict[str, pd.DataFrame]) -> None:
    ard = written["ard.parquet"]
    duplicated = pd.concat([ard.iloc[:1], ard], ignore_index=True)
    message = failure_message("ard.parquet", duplicated)
    assert (
        "check multiple_fields_uniqueness on columns analysis, group, variable, stat_name, method: 2 row(s) fail: 0, 1"
        in message
    )
    assert "check column_in_dataframe: 'method'" in failure_message("ard.parquet", ard.drop(columns="method"))


def test_rows_out_of_key_order_fail(written: dict[str, pd.DataFrame]) -> None:
    timeline = written["crs_timeline.parquet"]
    swapped = timeline.iloc[[1, 0, *range(2, len(timeline))]].reset_index(drop=True)
    first = timeline.loc[0, "participant_id"]
    message = failure_message("crs_timeline.parquet", swapped)
    assert message.splitlines() == [
        "crs_timeline.parquet does not match its schema (2 failures):",
        # each of the first three rows now starts where its predecessor did not end (the first not at 0)
        f"  - check rows_run_without_a_gap_from_hour_0: 3 row(s) fail: 0 ({first}), 1 ({first}), 2 ({first})",
        f"  - check sorted_by_key: 2 row(s) fail: 0 ({first}), 1 ({first})",
    ]


def test_a_gap_in_the_timeline_fails(written: dict[str, pd.DataFrame]) -> None:
    timeline = written["crs_timeline.parquet"].copy()
    second_row_of_a_participant = timeline.index[timeline["participant_id"].duplicated()][0]
    timeline.loc[second_row_of_a_participant, "start_hours"] = (
        timeline.loc[second_row_of_a_participant - 1, "end_hours"] + 0.25
    )
    message = failure_message("crs_timeline.parquet", timeline)
    assert f"check rows_run_without_a_gap_from_hour_0: 1 row(s) fail: {second_row_of_a_participant} (" in message


def test_a_query_kind_without_documentation_fails(written: dict[str, pd.DataFrame]) -> None:
    queries = written["queries.parquet"].copy()
    queries.loc[0, "kind"] = "undocumented_kind"
    message = failure_message("queries.parquet", queries)
    assert "column 'kind', check isin(" in message and "'undocumented_kind' (row 0)" in message


def test_a_table_without_a_schema_is_refused() -> None:
    with pytest.raises(KeyError, match="no output schema for stray.parquet"):
        validate_output("stray.parquet", pd.DataFrame())


def test_an_ae_cannot_resolve_before_its_onset_and_its_study_day_is_the_floor(
    written: dict[str, pd.DataFrame],
) -> None:
    ae = written["ae.parquet"].copy()
    ae.loc[0, "resolved_hours"] = ae.loc[0, "onset_hours"] - 1
    ae.loc[1, "study_day_onset"] = ae.loc[1, "onset_hours"] // 24 + 1
    message = failure_message("ae.parquet", ae)
    assert "check resolved_after_onset: 1 row(s) fail: 0 (" in message
    assert "check study_day_is_the_floor_of_onset_days: 1 row(s) fail: 1 (" in message


def test_a_run_before_any_infusion_writes_empty_tables_that_match_their_schemas(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Cut 2024-11-20: one participant enrolled (PACER-001, enrolled 2024-11-12), nobody infused yet."""
    from pipelines.analyze import run_analyze
    from pipelines.derive import run_derive
    from pipelines.ingest import run_ingest
    from pipelines.paths import DEMO_EXPORT

    out = tmp_path_factory.mktemp("before-infusion")
    tables: dict[str, pd.DataFrame] = {}
    write = store.StepWriter.table

    def keep(writer: store.StepWriter, name: str, frame: pd.DataFrame, record: dict) -> None:
        tables[name] = frame.copy()
        write(writer, name, frame, record)

    plan = AnalysisPlan()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(store.StepWriter, "table", keep)
        run_ingest(DEMO_EXPORT, data_cut=date(2024, 11, 20), out_dir=out, time_zone=None, plan=plan)
        run_derive(out, plan)
        run_analyze(out, plan)
    empty = {"events", "crs_timeline", "crs", "icans", "anakinra", "ae", "adtte", "queries", "km_curves", "cif_curves"}
    assert {name.removesuffix(".parquet") for name, frame in tables.items() if frame.empty} == empty
    assert len(tables["adsl.parquet"]) == 1
    for name, frame in tables.items():
        validate_output(name, frame)


def test_an_identifier_that_is_not_a_plain_token_fails(written: dict[str, pd.DataFrame]) -> None:
    participants = written["participants.parquet"].copy()
    participants.loc[0, "participant_id"] = "=HYPERLINK(1)"
    message = failure_message("participants.parquet", participants)
    assert "column 'participant_id', check str_matches('^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$'): 1 failing:" in message
    assert "'=HYPERLINK(1)' (row 0)" in message
