"""The derive step: read participants and events of one output folder, write every derived table."""

from __future__ import annotations

import time

from pathlib import Path

import pandas as pd

from pipelines import prefect_env  # noqa: F401  (offline defaults before Prefect loads)
from prefect import flow, task

from analysis.derive.all_tables import derive_all_tables
from analysis.settings import AnalysisPlan
from analysis.store import StepWriter, cache_key, code_version, read_manifest, read_provenance, step_is_current
from pipelines.audit import RunLog
from pipelines.outcome import as_user_outcome, pass_on
from pipelines.steps import StepOutcome


def run_derive(processed: Path, plan: AnalysisPlan) -> StepOutcome:
    """Derive from ``processed/participants.parquet`` and ``events.parquet``; write beside them.

    Reuses the folder's derived tables when they were derived from the same ingest with the same
    settings and code.
    """
    started = time.perf_counter()
    with StepWriter(processed, "derive") as writer:
        key = derive_cache_key(processed, plan)
        if step_is_current(processed, "derive", key):
            return StepOutcome("derive", processed, reused=True, seconds=time.perf_counter() - started)
        participants = pd.read_parquet(processed / "participants.parquet")
        events = pd.read_parquet(processed / "events.parquet")
        record = {**read_provenance(processed / "events.parquet"),
                  "analysis_plan": plan.model_dump(mode="json"), "analysis_plan_sha256": plan.settings_hash()}
        for name, frame in derive_all_tables(participants, events, plan).items():
            writer.table(f"{name}.parquet", frame, record)
        writer.commit({"analysis_plan_sha256": plan.settings_hash(), "key": key})
    return StepOutcome("derive", processed, reused=False, seconds=time.perf_counter() - started)


def derive_cache_key(processed: Path, plan: AnalysisPlan) -> str:
    """What determines the derived tables: the ingest's own key, the settings and the code."""
    ingest = read_manifest(processed)["steps"].get("ingest", {})
    return cache_key({"ingest": ingest.get("key"), "settings": plan.settings_hash(), "code": code_version()})


@task(name="derive")
def derive_task(processed: Path, plan: AnalysisPlan) -> StepOutcome:
    """Prefect task around :func:`run_derive`."""
    return as_user_outcome(run_derive, processed, plan)


@flow(name="pacer-derive")
def derive_flow(processed: Path, plan: AnalysisPlan | None = None) -> StepOutcome:
    """Derive every table of one processed output folder (one line in the run log)."""
    plan = plan or AnalysisPlan()
    log = RunLog("derive", {"processed": processed}, processed)
    return log.finish(pass_on(derive_task(processed, plan, return_state=True)), plan)
