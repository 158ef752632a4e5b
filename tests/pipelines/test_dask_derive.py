"""`pacer derive --dask-address`: the partitioned derivation on a Dask cluster (prefect-dask) writes exactly the local tables."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from analysis.derive.all_tables import TABLE_KEYS
from analysis.settings import AnalysisPlan
from analysis.store import read_manifest
from pipelines.derive import run_derive
from pipelines.ingest import run_ingest
from pipelines.paths import DEMO_EXPORT

pytestmark = pytest.mark.flow


@pytest.fixture
def ingested_twice(tmp_path: Path) -> tuple[Path, Path]:
    """Two copies of the demo export's ingested folder: one to derive here, one on the cluster."""
    local = tmp_path / "local"
    run_ingest(DEMO_EXPORT, data_cut=None, out_dir=local, time_zone=None, plan=AnalysisPlan())
    shutil.copytree(local, tmp_path / "on_dask")
    return local, tmp_path / "on_dask"


def test_derive_on_a_dask_cluster_writes_the_local_tables(
    prefect_harness: None, ingested_twice: tuple[Path, Path]
) -> None:
    from distributed import LocalCluster

    from pipelines.derive import run_derive_flow

    local, on_dask = ingested_twice
    plan = AnalysisPlan()
    run_derive(local, plan)
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1"
    ) as cluster:
        outcome = run_derive_flow(on_dask, plan, dask_address=cluster.scheduler_address, partitions=5)
        ran_on_cluster = "derive_partition_task" in cluster.scheduler.task_prefixes
    assert ran_on_cluster, "the partitions did not go through the Dask scheduler"
    assert not outcome.reused
    assert read_manifest(on_dask)["steps"]["derive"]["key"] == read_manifest(local)["steps"]["derive"]["key"]
    for name in TABLE_KEYS:
        table = pd.read_parquet(on_dask / f"{name}.parquet")
        pd.testing.assert_frame_equal(table, pd.read_parquet(local / f"{name}.parquet"), check_exact=True, obj=name)
        assert (on_dask / f"{name}.parquet").read_bytes() == (local / f"{name}.parquet").read_bytes()


def test_an_unreachable_cluster_fails_the_derive_flow(prefect_harness: None, ingested_twice: tuple[Path, Path]) -> None:
    from pipelines.derive import run_derive_flow

    _, on_dask = ingested_twice
    state = run_derive_flow(on_dask, dask_address="tcp://127.0.0.1:9", connect_timeout=2, return_state=True)
    assert state.is_failed()
    assert not (on_dask / "crs.parquet").exists()


@pytest.mark.parametrize("command", [["derive", "--processed", "."], ["run"]])
def test_derive_and_run_reject_a_malformed_address_in_one_line(command: list[str]) -> None:
    from typer.testing import CliRunner

    from pipelines.cli import app

    result = CliRunner().invoke(app, [*command, "--dask-address", "10.0.0.5:8786"])
    assert result.exit_code == 2
    assert "not a Dask scheduler address" in result.output


def test_pacer_run_on_a_dask_cluster_derives_both_cohorts_there(prefect_harness: None, tmp_path: Path) -> None:
    from distributed import LocalCluster
    from typer.testing import CliRunner

    from pipelines.cli import app
    from pipelines.paths import PROJECT_ROOT

    out = tmp_path / "out"
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1"
    ) as cluster:
        result = CliRunner().invoke(
            app,
            [
                "run",
                "--out",
                str(out),
                "--historical-export",
                str(PROJECT_ROOT / "data" / "raw" / "demo_historical"),
                "--dask-address",
                cluster.scheduler_address,
                "--partitions",
                "3",
            ],
        )
        ran_on_cluster = "derive_partition_task" in cluster.scheduler.task_prefixes
    assert result.exit_code == 0, result.output
    assert ran_on_cluster, "the groups did not go through the Dask scheduler"
    assert [line.split()[0] for line in result.output.splitlines() if " done in " in line] == [
        "ingest",
        "ingest",
        "derive",
        "derive",
        "analyze",
        "report",
    ]
    for folder in (out, out / "historical"):
        local = tmp_path / f"local-{folder.name}"
        shutil.copytree(folder, local, ignore=shutil.ignore_patterns(*(f"{name}.parquet" for name in TABLE_KEYS)))
        run_derive(local, AnalysisPlan())
        for name in TABLE_KEYS:
            assert (folder / f"{name}.parquet").read_bytes() == (local / f"{name}.parquet").read_bytes(), (
                f"{folder.name}/{name}"
            )
    assert (out / "report" / "dsmb_report.pdf").is_file()
