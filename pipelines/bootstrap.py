"""`pacer bootstrap`: the stratified bootstrap of the IPTW risk difference, optionally on a Dask cluster.

Reads the derived tables of the trial's output folder and of the site's historical patients
(``<processed>/historical/``, written by ``pacer run --historical-export``), builds the subject
frame of both cohorts as the ARD's IPTW rows do, and resamples it in fixed blocks with independent
seeds (:mod:`analysis.stats.iptw_bootstrap`). A task refits one chunk of blocks and returns its
replicates; the flow summarizes them into ``<processed>/iptw_bootstrap.parquet`` with provenance
(the trial's, the historical cohort's input SHA-256s, the replicates and the seed), recorded in the
manifest as the step ``bootstrap`` and reused while nothing it depends on changes. With
``dask_address`` the chunks run on that Dask cluster (:func:`pipelines.dask_runner.on_dask_cluster`);
the table is identical either way, whatever the number of chunks or workers.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.states import Failed, State

from analysis.settings import AnalysisPlan
from analysis.stats.chunking import split_blocks
from analysis.stats.cohort_comparison import subject_frame
from analysis.stats.iptw_bootstrap import (
    BOOTSTRAP_BLOCK_REPLICATES,
    BootstrapBlock,
    BootstrapSample,
    bootstrap_blocks,
    bootstrap_sample,
    observed_effect,
    replicate_effects,
    summarize_bootstrap,
)
from analysis.store import OutputError, read_provenance
from pipelines import prefect_env  # noqa: F401  (offline defaults before Prefect loads)
from pipelines.dask_runner import on_dask_cluster
from pipelines.step_keys import step_key
from pipelines.step_runner import StepOutputs, run_step
from pipelines.steps import PROGRESS

DASK_CHUNKS = 8
"""Tasks the replicates are split into on a Dask cluster (a few per worker keeps it busy). On this
machine they run as one task: Prefect's default runner uses threads, which only contend for
Python's interpreter lock (2,000 replicates: 21.5 s in 8 threads, 15.6 s in one)."""

SUBJECT_TABLES = ("adsl", "crs", "adtte")
BOOTSTRAP_TABLE = "iptw_bootstrap.parquet"


class BootstrapInputError(ValueError):
    """Nothing to bootstrap: a derived table is missing, a cohort is empty, or the observed propensity model cannot be fitted."""


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
            raise FileNotFoundError(
                f"{folder}: no {', '.join(f'{name}.parquet' for name in missing)}; "
                f"run `pacer run --historical-export PATH` (or `pacer derive`) first"
            )
        tables = {name: pd.read_parquet(folder / f"{name}.parquet") for name in SUBJECT_TABLES}
        frames.append(subject_frame(tables["adsl"], tables["crs"], tables["adtte"], cohort))
    return pd.concat(frames, ignore_index=True)


def bootstrap_key_parts(processed: Path, historical: Path, plan: AnalysisPlan, replicates: int) -> dict:
    """What determines the bootstrap table: both cohorts' derived tables, the settings and the replicates."""
    return {
        "derive": {"trial": step_key(processed, "derive"), "historical": step_key(historical, "derive")},
        "settings": plan.settings_hash(),
        "replicates": replicates,
    }


def bootstrap_provenance(processed: Path, historical: Path, replicates: int, seed: int) -> dict:
    """The trial's provenance, the historical cohort's inputs and the bootstrap's own definition."""
    return {
        **read_provenance(processed / "adsl.parquet"),
        "historical_input_sha256": read_provenance(historical / "adsl.parquet")["input_sha256"],
        "bootstrap": {
            "replicates": replicates,
            "seed": seed,
            "block_replicates": BOOTSTRAP_BLOCK_REPLICATES,
            "estimand": "ATE",
            "resampling": "stratified by cohort",
        },
    }


def bootstrap_step(processed: Path, historical: Path, plan: AnalysisPlan, replicates: int, chunks: int) -> pd.DataFrame:
    """Write ``<processed>/iptw_bootstrap.parquet`` (reused when nothing it depends on changed); return the table."""
    seed = plan.iptw_bootstrap.seed

    def compute() -> StepOutputs:
        try:
            sample = bootstrap_sample(cohort_subjects(processed, historical))
            effect = observed_effect(sample)
        except (FileNotFoundError, ValueError, np.linalg.LinAlgError) as exc:
            raise BootstrapInputError(str(exc)) from exc
        futures = [
            bootstrap_chunk_task.submit(sample, chunk, seed)
            for chunk in split_blocks(bootstrap_blocks(replicates), chunks)
        ]
        replicated = pd.concat([future.result() for future in futures], ignore_index=True)
        return StepOutputs(
            tables={BOOTSTRAP_TABLE: summarize_bootstrap(effect, replicated, seed=seed)},
            provenance=bootstrap_provenance(processed, historical, replicates, seed),
            details={"historical": historical.name, "replicates": replicates, "seed": seed},
        )

    outcome = run_step(
        "bootstrap", processed, lambda: bootstrap_key_parts(processed, historical, plan, replicates), compute
    )
    PROGRESS.info(outcome.line())
    return pd.read_parquet(processed / BOOTSTRAP_TABLE)


@flow(name="pacer-bootstrap")
def bootstrap_flow(
    processed: Path,
    historical: Path | None = None,
    plan: AnalysisPlan | None = None,
    replicates: int | None = None,
    chunks: int = 1,
) -> pd.DataFrame | State:
    """Bootstrap the IPTW (ATE) risk difference of severe CRS, trial − historical, into ``iptw_bootstrap.parquet``.

    ``historical``: the historical cohort's output folder (default ``<processed>/historical``);
    ``replicates``: default the settings' ``iptw_bootstrap.replicates``; ``chunks``: how many tasks
    share the work (it never changes the result).
    """
    plan = plan or AnalysisPlan()
    try:
        return bootstrap_step(
            processed,
            historical or processed / "historical",
            plan,
            replicates or plan.iptw_bootstrap.replicates,
            chunks,
        )
    except (BootstrapInputError, OutputError) as exc:
        return Failed(message=f"IPTW bootstrap: {exc}")


def run_bootstrap(
    processed: Path,
    historical: Path | None = None,
    plan: AnalysisPlan | None = None,
    replicates: int | None = None,
    chunks: int | None = None,
    dask_address: str | None = None,
    connect_timeout: float = 30.0,
    return_state: bool = False,
) -> pd.DataFrame | State:
    """Run :func:`bootstrap_flow`, on the Dask cluster at ``dask_address`` when given
    (:func:`pipelines.dask_runner.on_dask_cluster`); ``chunks`` by default :data:`DASK_CHUNKS` there, 1 here."""
    return on_dask_cluster(bootstrap_flow, dask_address, connect_timeout)(
        processed=processed,
        historical=historical,
        plan=plan,
        replicates=replicates,
        chunks=chunks or (1 if dask_address is None else DASK_CHUNKS),
        return_state=return_state,
    )
