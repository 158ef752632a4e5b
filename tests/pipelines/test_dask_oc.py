"""`pacer simulate-oc` on a Dask cluster (prefect-dask) gives exactly the table of a local run."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.settings import AnalysisPlan

pytestmark = pytest.mark.flow

TRIALS = 2_500


def test_simulation_on_a_dask_cluster_equals_the_local_run(prefect_harness: None) -> None:
    from distributed import LocalCluster

    from pipelines.simulation import run_simulate_oc

    plan = AnalysisPlan()
    local = run_simulate_oc(trials=TRIALS, plan=plan, chunks=1)
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1"
    ) as cluster:
        on_dask = run_simulate_oc(trials=TRIALS, plan=plan, chunks=5, dask_address=cluster.scheduler_address)
        ran_on_cluster = any("chunk" in prefix for prefix in cluster.scheduler.task_prefixes)
    assert ran_on_cluster, "the chunks did not go through the Dask scheduler"
    assert len(local) == 2 * len(plan.stopping.oc_true_rates)
    assert (local["trials"] == TRIALS).all()
    # the simulation cross-checks the exact probability of stopping the ARD carries: within 4 Monte Carlo SE
    exact = local["exact_prob_stop"]
    assert ((local["prob_stop"] - exact).abs() <= 4 * (exact * (1 - exact) / TRIALS) ** 0.5 + 1e-3).all()
    pd.testing.assert_frame_equal(on_dask, local, check_exact=True)


def test_an_unreachable_cluster_fails_the_flow(prefect_harness: None) -> None:
    from pipelines.simulation import run_simulate_oc

    state = run_simulate_oc(
        trials=100, chunks=1, dask_address="tcp://127.0.0.1:9", connect_timeout=2, return_state=True
    )
    assert state.is_failed()


def test_simulate_oc_rejects_a_malformed_address_in_one_line() -> None:
    from typer.testing import CliRunner

    from pipelines.cli import app

    result = CliRunner().invoke(app, ["simulate-oc", "--trials", "100", "--dask-address", "10.0.0.5:8786"])
    assert result.exit_code == 2
    assert "not a Dask scheduler address" in result.output
