"""The derive step: read participants and events of one output folder, write every derived table.

A registry-sized cohort can be derived in groups of participants (``partitions``), one Prefect task
per group, on an existing Dask cluster (``dask_address``, through ``prefect_dask.DaskTaskRunner``).
The groups' tables are put back together before anything is written, so the tables, their bytes
and the step's cache key are exactly those of a derivation in one piece
(:mod:`analysis.derive.partitions`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import pandas as pd
from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.states import State

from analysis.derive.all_tables import EVENT_COLUMNS_READ, derive_all_tables, read_for_derivation
from analysis.derive.partitions import combine_partitions, partitions_for_workers
from analysis.settings import AnalysisPlan
from analysis.store import read_provenance
from pipelines import prefect_env  # noqa: F401  (offline defaults before Prefect loads)
from pipelines.audit import RunLog
from pipelines.dask_runner import on_dask_cluster, partitions_on
from pipelines.outcome import as_user_outcome, pass_on
from pipelines.step_keys import derive_key_parts
from pipelines.step_runner import StepOutputs, in_one_commit, run_step
from pipelines.steps import StepOutcome

DEFAULT_PARTITIONS = 16
"""Groups of participants a cohort is derived in on a Dask cluster (a few per worker keeps it busy)."""

DeriveTables = Callable[[pd.DataFrame, pd.DataFrame, AnalysisPlan], dict[str, pd.DataFrame]]
"""Every derived table from participants, events and the plan (:func:`derive_all_tables` or an equivalent)."""


def run_derive(processed: Path, plan: AnalysisPlan, derive_tables: DeriveTables = derive_all_tables) -> StepOutcome:
    """Derive from ``processed/participants.parquet`` and ``events.parquet``; write beside them.

    Reuses the folder's derived tables when they were derived from the same ingest with the same
    settings and code. ``derive_tables`` does the derivation: in this process by default, or in
    groups of participants on task workers (:func:`derive_in_partition_tasks`), which gives the same
    tables, so it is not part of the cache key.
    """

    def compute() -> StepOutputs:
        participants = read_for_derivation(processed / "participants.parquet")
        events = read_for_derivation(processed / "events.parquet", EVENT_COLUMNS_READ)
        return StepOutputs(
            tables={f"{name}.parquet": frame for name, frame in derive_tables(participants, events, plan).items()},
            provenance={
                **read_provenance(processed / "events.parquet"),
                "analysis_plan": plan.model_dump(mode="json"),
                "analysis_plan_sha256": plan.settings_hash(),
            },
            details={"analysis_plan_sha256": plan.settings_hash()},
        )

    return run_step("derive", processed, lambda: derive_key_parts(processed, plan), compute)


@task(name="derive-partition", cache_policy=NO_CACHE)
def derive_partition_task(
    participants: pd.DataFrame, events: pd.DataFrame, plan: AnalysisPlan
) -> dict[str, pd.DataFrame]:
    """Every derived table of one group of participants."""
    return derive_all_tables(participants, events, plan)


def derive_in_partition_tasks(
    participants: pd.DataFrame, events: pd.DataFrame, plan: AnalysisPlan, partitions: int
) -> dict[str, pd.DataFrame]:
    """:func:`derive_all_tables` in ``partitions`` groups of participants, one task each on the flow's task runner.

    Must run inside a flow: the tasks go to that flow's runner (a Dask cluster's workers under
    :func:`pipelines.dask_runner.on_dask_cluster`). The result is the whole cohort's tables.
    """
    futures = [
        derive_partition_task.submit(group_participants, group_events, plan)
        for group_participants, group_events in partitions_for_workers(participants, events, partitions)
    ]
    return combine_partitions([future.result() for future in futures])


def table_derivation(partitions: int | None) -> DeriveTables:
    """In this process (``partitions`` None), or in that many partition tasks."""
    if partitions is None:
        return derive_all_tables
    return partial(derive_in_partition_tasks, partitions=partitions)


@task(name="derive")
def derive_task(processed: Path, plan: AnalysisPlan, partitions: int | None = None) -> StepOutcome:
    """Prefect task around :func:`run_derive`; ``partitions``: see :func:`derive_flow`."""
    return as_user_outcome(run_derive, processed, plan, table_derivation(partitions))


@flow(name="pacer-derive")
def derive_flow(processed: Path, plan: AnalysisPlan | None = None, partitions: int | None = None) -> StepOutcome:
    """Derive every table of one processed output folder (one line in the run log).

    ``partitions``: None derives the whole cohort in this process; a number derives that many
    groups of participants as separate tasks on the flow's task runner (a Dask cluster with
    :func:`run_derive_flow`). It never changes the tables.
    """
    plan = plan or AnalysisPlan()
    log = RunLog("derive", {"processed": processed, "partitions": partitions}, processed)
    return log.record(
        plan,
        lambda: in_one_commit(
            processed, lambda folder: pass_on(derive_task(folder, plan, partitions, return_state=True), "derive")
        ),
    )


def run_derive_flow(
    processed: Path,
    plan: AnalysisPlan | None = None,
    dask_address: str | None = None,
    partitions: int = DEFAULT_PARTITIONS,
    connect_timeout: float = 30.0,
    return_state: bool = False,
) -> StepOutcome | State:
    """Run :func:`derive_flow`: in this process, or in ``partitions`` groups on the Dask cluster at ``dask_address``.

    See :func:`pipelines.dask_runner.on_dask_cluster`; a cluster that does not answer fails the flow.
    """
    derive_on = on_dask_cluster(derive_flow, dask_address, connect_timeout)
    return derive_on(
        processed=processed, plan=plan, partitions=partitions_on(dask_address, partitions), return_state=return_state
    )
