"""`pacer bootstrap`: the stratified bootstrap of the IPTW risk difference, optionally on a Dask cluster.

Reads the derived tables of the trial's output folder and of the site's historical patients
(``<processed>/historical/``, written by ``pacer run --historical-export``), builds the subject
frame of both cohorts as the ARD's IPTW rows do, and resamples it in fixed blocks with independent
seeds (:mod:`analysis.stats.iptw_bootstrap`). A task refits one chunk of blocks and returns its
replicates; the flow summarizes them. With ``dask_address`` the chunks run on that Dask cluster
(:func:`pipelines.dask_runner.on_dask_cluster`); the table is identical either way, whatever the
number of chunks or workers.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines import prefect_env  # noqa: F401  (offline defaults before Prefect loads)
from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.states import Failed, State

from analysis.settings import AnalysisPlan
from analysis.stats.chunking import split_blocks
from analysis.stats.cohort_comparison import subject_frame
from analysis.stats.iptw_bootstrap import (BootstrapBlock, BootstrapSample, bootstrap_blocks, bootstrap_sample, observed_effect,
                                           replicate_effects, summarize_bootstrap)
from pipelines.dask_runner import on_dask_cluster

DEFAULT_CHUNKS = 8
"""Tasks the replicates are split into (a few per worker keeps a cluster busy)."""

SUBJECT_TABLES = ("adsl", "crs", "adtte")


@task(name="bootstrap-chunk", cache_policy=NO_CACHE)
def bootstrap_chunk_task(sample: BootstrapSample, blocks: Sequence[BootstrapBlock], seed: int) -> pd.DataFrame:
    """Refit the replicates of one chunk of blocks; return their weighted risks and differences."""
    return replicate_effects(sample, blocks, seed)


def cohort_subjects(processed: Path, historical: Path) -> pd.DataFrame:
    """The subject frame of both cohorts (CRS-evaluable set), from their output folders' derived tables.

    Raises
    ------
    FileNotFoundError
        naming the folder and the table that is missing.
    """
    frames = []
    for folder, cohort in ((processed, "trial"), (historical, "historical")):
        missing = [name for name in SUBJECT_TABLES if not (folder / f"{name}.parquet").is_file()]
        if missing:
            raise FileNotFoundError(f"{folder}: no {', '.join(f'{name}.parquet' for name in missing)}; "
                                    f"run `pacer run --historical-export PATH` (or `pacer derive`) first")
        tables = {name: pd.read_parquet(folder / f"{name}.parquet") for name in SUBJECT_TABLES}
        frames.append(subject_frame(tables["adsl"], tables["crs"], tables["adtte"], cohort))
    return pd.concat(frames, ignore_index=True)


@flow(name="pacer-bootstrap")
def bootstrap_flow(processed: Path, historical: Path | None = None, plan: AnalysisPlan | None = None,
                   replicates: int | None = None, chunks: int = DEFAULT_CHUNKS) -> pd.DataFrame | State:
    """Bootstrap the IPTW (ATE) risk difference of severe CRS, trial − historical.

    ``historical``: the historical cohort's output folder (default ``<processed>/historical``);
    ``replicates``: default the settings' ``iptw_bootstrap.replicates``; ``chunks``: how many tasks
    share the work (it never changes the result).
    """
    settings = (plan or AnalysisPlan()).iptw_bootstrap
    try:
        sample = bootstrap_sample(cohort_subjects(processed, historical or processed / "historical"))
        effect = observed_effect(sample)
    except (FileNotFoundError, ValueError, np.linalg.LinAlgError) as exc:
        return Failed(message=f"IPTW bootstrap: {exc}")
    blocks = bootstrap_blocks(replicates or settings.replicates)
    futures = [bootstrap_chunk_task.submit(sample, chunk, settings.seed) for chunk in split_blocks(blocks, chunks)]
    effects = pd.concat([future.result() for future in futures], ignore_index=True)
    return summarize_bootstrap(effect, effects, seed=settings.seed)


def run_bootstrap(processed: Path, historical: Path | None = None, plan: AnalysisPlan | None = None,
                  replicates: int | None = None, chunks: int = DEFAULT_CHUNKS, dask_address: str | None = None,
                  connect_timeout: float = 30.0, return_state: bool = False) -> pd.DataFrame | State:
    """Run :func:`bootstrap_flow`, on the Dask cluster at ``dask_address`` when given
    (:func:`pipelines.dask_runner.on_dask_cluster`)."""
    return on_dask_cluster(bootstrap_flow, dask_address, connect_timeout)(
        processed=processed, historical=historical, plan=plan, replicates=replicates, chunks=chunks,
        return_state=return_state)
