"""`pacer bootstrap` on the demo: on a Dask cluster (prefect-dask) the table of the whole bootstrap in one process."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis.settings import AnalysisPlan
from analysis.stats.cohort_comparison import subject_frame
from analysis.stats.iptw_bootstrap import iptw_bootstrap

pytestmark = pytest.mark.flow

REPLICATES = 300
"""Only the cluster test asks for this many, so its run is never a reuse of another test's table."""


@pytest.fixture(scope="module")
def demo_folders(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo and its historical cohort, ingested and derived (without Prefect) as `pacer run --historical-export` lays them out."""
    from pipelines.derive import run_derive
    from pipelines.ingest import run_ingest
    from pipelines.paths import DEMO_EXPORT, PROJECT_ROOT

    out = tmp_path_factory.mktemp("bootstrap") / "out"
    plan = AnalysisPlan()
    for export, folder in ((DEMO_EXPORT, out), (PROJECT_ROOT / "data" / "raw" / "demo_historical", out / "historical")):
        run_ingest(export, data_cut=None, out_dir=folder, time_zone=None, plan=plan)
        run_derive(folder, plan)
    return out


def test_the_bootstrap_on_a_dask_cluster_equals_the_whole_bootstrap_in_one_process(
    prefect_harness: None, demo_folders: Path
) -> None:
    from distributed import LocalCluster

    from pipelines.bootstrap import run_bootstrap

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1"
    ) as cluster:
        on_dask = run_bootstrap(demo_folders, replicates=REPLICATES, chunks=3, dask_address=cluster.scheduler_address)
        ran_on_cluster = "bootstrap_chunk_task" in cluster.scheduler.task_prefixes
    assert ran_on_cluster, "the chunks did not go through the Dask scheduler"
    # the whole bootstrap in one process, on the subject frame the ARD's IPTW rows use
    tables = {
        cohort: {name: pd.read_parquet(folder / f"{name}.parquet") for name in ("adsl", "crs", "adtte")}
        for cohort, folder in (("trial", demo_folders), ("historical", demo_folders / "historical"))
    }
    subjects = pd.concat(
        [subject_frame(t["adsl"], t["crs"], t["adtte"], cohort) for cohort, t in tables.items()], ignore_index=True
    )
    pd.testing.assert_frame_equal(
        on_dask, iptw_bootstrap(subjects, REPLICATES, AnalysisPlan().iptw_bootstrap.seed), check_exact=True
    )
    rd = on_dask.set_index("statistic").loc["rd"]
    assert (rd["replicates"], rd["failed"]) == (REPLICATES, 0)
    assert rd["boot_ci_low"] < rd["estimate"] < rd["boot_ci_high"]


def test_the_estimate_is_the_ards_iptw_risk_difference(prefect_harness: None, demo_folders: Path) -> None:
    from pipelines.analyze import run_analyze
    from pipelines.bootstrap import run_bootstrap

    run_analyze(demo_folders, AnalysisPlan(), demo_folders / "historical")
    ard = pd.read_parquet(demo_folders / "ard.parquet")
    iptw_rows = ard[(ard["analysis"] == "cohort_iptw") & (ard["variable"] == "cohort_trial")].set_index("stat_name")[
        "stat_value"
    ]
    rd = run_bootstrap(demo_folders, replicates=100, chunks=1).set_index("statistic").loc["rd"]
    assert rd["estimate"] == iptw_rows["rd"]
    assert (rd["sandwich_ci_low"], rd["sandwich_ci_high"]) == (iptw_rows["rd_ci_low"], iptw_rows["rd_ci_high"])


def test_the_table_is_written_with_provenance_and_reused_until_an_input_changes(
    prefect_harness: None, demo_folders: Path
) -> None:
    from analysis.store import read_manifest, read_provenance
    from pipelines.bootstrap import run_bootstrap

    first = run_bootstrap(demo_folders, replicates=120, chunks=2)
    written = demo_folders / "iptw_bootstrap.parquet"
    pd.testing.assert_frame_equal(pd.read_parquet(written), first)
    record = read_provenance(written)
    assert record["bootstrap"] == {
        "replicates": 120,
        "seed": 20261125,
        "block_replicates": 100,
        "estimand": "ATE",
        "resampling": "stratified by cohort",
    }
    assert record["input_sha256"] == read_provenance(demo_folders / "adsl.parquet")["input_sha256"]
    assert (
        record["historical_input_sha256"]
        == read_provenance(demo_folders / "historical" / "adsl.parquet")["input_sha256"]
    )
    step = read_manifest(demo_folders)["steps"]["bootstrap"]
    assert (step["replicates"], step["files"]) == (120, ["iptw_bootstrap.parquet"])
    stamp = written.stat().st_mtime_ns
    pd.testing.assert_frame_equal(run_bootstrap(demo_folders, replicates=120, chunks=5), first)
    assert written.stat().st_mtime_ns == stamp, "an unchanged bootstrap was recomputed"
    more = run_bootstrap(demo_folders, replicates=200, chunks=2)
    assert (more["replicates"] == 200).all() and written.stat().st_mtime_ns != stamp


def test_a_folder_without_the_historical_cohort_is_one_line(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from pipelines.cli import app
    from pipelines.derive import run_derive
    from pipelines.ingest import run_ingest
    from pipelines.paths import DEMO_EXPORT

    run_ingest(DEMO_EXPORT, data_cut=None, out_dir=tmp_path, time_zone=None, plan=AnalysisPlan())
    result = CliRunner().invoke(app, ["bootstrap", "--processed", str(tmp_path), "--replicates", "100"])
    assert (result.exit_code, result.output) == (
        2,
        f"error: --processed {tmp_path}: the derive step has not run there; run `pacer derive --processed {tmp_path}` first\n",
    )
    run_derive(tmp_path, AnalysisPlan())
    result = CliRunner().invoke(app, ["bootstrap", "--processed", str(tmp_path), "--replicates", "100"])
    assert (result.exit_code, result.output) == (
        2,
        f"error: IPTW bootstrap: {tmp_path / 'historical'}: no adsl.parquet, crs.parquet, adtte.parquet; "
        "run `pacer run --historical-export PATH` (or `pacer derive`) first\n",
    )


def test_bootstrap_rejects_a_malformed_address_in_one_line(demo_folders: Path) -> None:
    from typer.testing import CliRunner

    from pipelines.cli import app

    result = CliRunner().invoke(app, ["bootstrap", "--processed", str(demo_folders), "--dask-address", "10.0.0.5:8786"])
    assert result.exit_code == 2
    assert "not a Dask scheduler address" in result.output
