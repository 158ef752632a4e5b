"""`pacer simulate-oc`: the stopping rules' operating characteristics by simulation, optionally on a Dask cluster.

The analyze step writes the exact operating characteristics to the ARD (``stopping_oc``, by
recursion over the binomial paths); this simulation is an optional cross-check of them, printed
beside the exact probability of stopping (``exact_prob_stop``), and the way to spread a large
simulation over a cluster. The simulated trials are cut into fixed blocks with independent seeds
(:mod:`analysis.stats.oc_simulation`); a task simulates one chunk of blocks and returns integer
counts, and the flow adds them up. With ``dask_address`` the chunks run on that Dask cluster
through ``prefect_dask.DaskTaskRunner``; without it, on Prefect's default (thread-pool) runner. The
table is identical either way, whatever the number of chunks or workers.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.states import State

from analysis.settings import AnalysisPlan
from analysis.stats.monitoring import MonitoredRule, rules_from_settings
from analysis.stats.oc_simulation import OcBlock, oc_blocks, simulate_blocks, split_blocks, summarize_blocks
from pipelines import prefect_env  # noqa: F401  (offline defaults before Prefect loads)
from pipelines.dask_runner import on_dask_cluster

DEFAULT_CHUNKS = 8
"""Tasks the simulation is split into (a few per worker keeps a cluster busy)."""


@task(name="oc-chunk", cache_policy=NO_CACHE)
def oc_chunk_task(
    rules: Sequence[MonitoredRule], true_rates: Sequence[float], blocks: Sequence[OcBlock], seed: int
) -> pd.DataFrame:
    """Simulate one chunk of blocks; return their integer counts."""
    return simulate_blocks(rules, true_rates, blocks, seed)


@flow(name="pacer-simulate-oc")
def simulate_oc_flow(
    trials: int | None = None, plan: AnalysisPlan | None = None, chunks: int = DEFAULT_CHUNKS
) -> pd.DataFrame:
    """Simulated operating characteristics of both stopping rules under the settings' true rates.

    The table of :func:`analysis.stats.oc_simulation.summarize_blocks`, and ``exact_prob_stop``:
    the exact probability the simulated ``prob_stop`` estimates. ``trials``: simulated trials per true rate (default: the settings' ``stopping.oc_trials``);
    ``chunks``: how many tasks share the work (it never changes the result).
    """
    stopping = (plan or AnalysisPlan()).stopping
    rules = rules_from_settings(stopping)
    blocks = oc_blocks(len(stopping.oc_true_rates), trials or stopping.oc_trials)
    futures = [
        oc_chunk_task.submit(rules, stopping.oc_true_rates, chunk, stopping.oc_seed)
        for chunk in split_blocks(blocks, chunks)
    ]
    counts = pd.concat([future.result() for future in futures], ignore_index=True)
    table = summarize_blocks(rules, stopping.oc_true_rates, counts)
    exact = {
        (rule.name, record["true_rate"]): record["prob_stop"]
        for rule in rules
        for record in rule.design.operating_characteristics(stopping.oc_true_rates)
    }
    table["exact_prob_stop"] = [exact[key] for key in zip(table["rule"], table["true_rate"])]
    return table


def run_simulate_oc(
    trials: int | None = None,
    plan: AnalysisPlan | None = None,
    chunks: int = DEFAULT_CHUNKS,
    dask_address: str | None = None,
    connect_timeout: float = 30.0,
    return_state: bool = False,
) -> pd.DataFrame | State:
    """Run :func:`simulate_oc_flow`, on the Dask cluster at ``dask_address`` when given.

    See :func:`pipelines.dask_runner.on_dask_cluster`.
    """
    return on_dask_cluster(simulate_oc_flow, dask_address, connect_timeout)(
        trials=trials, plan=plan, chunks=chunks, return_state=return_state
    )
