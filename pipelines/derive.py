"""The derive step: read participants and events of one output folder, write every derived table.

A registry-sized cohort can be derived in groups of participants (``partitions``), one Prefect task
per group, on an existing Dask cluster (``dask_address``, through ``prefect_dask.DaskTaskRunner``).
The groups' tables are put back together before anything is written, so the tables, their bytes
and the step's cache key are exactly those of a derivation in one piece
(:mod:`analysis.derive.partitions`).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

import pandas as pd
from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.states import State

from analysis.derive.all_tables import EVENT_COLUMNS_READ, derive_all_tables, read_for_derivation
from analysis.derive.event_groups import derive_event_group, plan_event_groups
from analysis.derive.partitions import combine_partitions, partitions_for_workers
from analysis.settings import AnalysisPlan
from analysis.store import read_provenance
from pipelines import prefect_env  # noqa: F401  (offline defaults before Prefect loads)
from pipelines.audit import RunLog
from pipelines.dask_runner import on_dask_cluster, partitions_on
from pipelines.memory_policy import keep_memory_for_the_run
from pipelines.outcome import as_user_outcome, pass_on
from pipelines.step_keys import derive_key_parts
from pipelines.step_runner import StepOutputs, in_one_commit, run_step
from pipelines.steps import StepOutcome

DEFAULT_PARTITIONS = 16
"""Groups of participants a cohort is derived in on a Dask cluster (a few per worker keeps it busy)."""

DeriveTables = Callable[[pd.DataFrame, Path, AnalysisPlan], dict[str, pd.DataFrame]]
"""Every derived table from the participants, the path of ``events.parquet`` and the plan."""


def derive_by_event_groups(
    participants: pd.DataFrame, events_path: Path, plan: AnalysisPlan
) -> dict[str, pd.DataFrame]:
    """Every derived table, the events read and derived a group of participants at a time (:mod:`analysis.derive.event_groups`).

    A cohort of one group (up to about a million event rows: the demo, a site's cohort) is derived
    in this process. Several groups are derived in one worker process per core available to this
    one, started fresh (``spawn``: nothing of this process's threads is inherited) under pacer's
    memory policy; each reads its own rows of ``events.parquet``, and its tables come back to be put
    together here. Either way the tables are the same.
    """
    groups = plan_event_groups(participants, events_path)
    derive_group = partial(derive_event_group, events_path=events_path, plan=plan)
    workers = min(len(groups), len(os.sched_getaffinity(0)))
    if workers < 2:
        return combine_partitions([derive_group(group) for group in groups])
    with ProcessPoolExecutor(
        workers, mp_context=multiprocessing.get_context("spawn"), initializer=keep_memory_for_the_run
    ) as pool:
        return combine_partitions(list(pool.map(derive_group, groups)))


def run_derive(
    processed: Path, plan: AnalysisPlan, derive_tables: DeriveTables = derive_by_event_groups
) -> StepOutcome:
    """Derive from ``processed/participants.parquet`` and ``events.parquet``; write beside them.

    Reuses the folder's derived tables when they were derived from the same ingest with the same
    settings and code. ``derive_tables`` does the derivation: in this process, reading the events a
    group of participants at a time, by default; or in groups of participants on task workers
    (:func:`derive_in_partition_tasks`). Both give the same tables, so it is not part of the cache key.
    """

    def compute() -> StepOutputs:
        participants = read_for_derivation(processed / "participants.parquet")
        tables = derive_tables(participants, processed / "events.parquet", plan)
        return StepOutputs(
            tables={f"{name}.parquet": frame for name, frame in tables.items()},
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
    participants: pd.DataFrame, events_path: Path, plan: AnalysisPlan, partitions: int
) -> dict[str, pd.DataFrame]:
    """:func:`derive_all_tables` in ``partitions`` groups of participants, one task each on the flow's task runner.

    Must run inside a flow: the tasks go to that flow's runner (a Dask cluster's workers under
    :func:`pipelines.dask_runner.on_dask_cluster`). The result is the whole cohort's tables.
    """
    events = read_for_derivation(events_path, EVENT_COLUMNS_READ)
    futures = [
        derive_partition_task.submit(group_participants, group_events, plan)
        for group_participants, group_events in partitions_for_workers(participants, events, partitions)
    ]
    return combine_partitions([future.result() for future in futures])


def table_derivation(partitions: int | None) -> DeriveTables:
    """In this process (``partitions`` None), or in that many partition tasks."""
    if partitions is None:
        return derive_by_event_groups
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
