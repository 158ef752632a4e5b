"""The analyze step: read the derived tables of one output folder, write ard.parquet, the tables beside it and the
comparison notes."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
from prefect import flow, task

from analysis.reference.cohorts import HISTORICAL_COHORTS_PATH, load_cohorts
from analysis.settings import AnalysisPlan
from analysis.stats.results import analyze_trial
from analysis.store import (
    StepWriter,
    cache_key,
    code_version,
    file_sha256,
    read_manifest,
    read_provenance,
    step_is_current,
)
from pipelines import prefect_env  # noqa: F401  (offline defaults before Prefect loads)
from pipelines.audit import RunLog
from pipelines.outcome import as_user_outcome, pass_on
from pipelines.steps import StepOutcome

ANALYSIS_INPUTS = ("adsl", "crs", "icans", "anakinra", "crs_timeline", "adtte")


def run_analyze(processed: Path, plan: AnalysisPlan, historical: Path | None = None) -> StepOutcome:
    """Compute every analysis result from the derived tables; write ``ard.parquet``, the tables beside it
    (:func:`analysis.stats.results.analyze_trial`) and ``comparison_notes.json``.

    The historical cohorts are read and validated here, once (a malformed file is a settings error).

    ``historical``: the processed folder of the site's historical export (ingested and derived
    exactly as the trial's), which adds the trial-vs-historical regression rows.
    """
    started = time.perf_counter()
    with StepWriter(processed, "analyze") as writer:
        key = cache_key(
            {
                "derive": read_manifest(processed)["steps"].get("derive", {}).get("key"),
                "historical": None
                if historical is None
                else read_manifest(historical)["steps"].get("derive", {}).get("key"),
                "cohorts": file_sha256(HISTORICAL_COHORTS_PATH),
                "settings": plan.settings_hash(),
                "code": code_version(),
            }
        )
        if step_is_current(processed, "analyze", key):
            return StepOutcome("analyze", processed, reused=True, seconds=time.perf_counter() - started)
        cohorts = load_cohorts(HISTORICAL_COHORTS_PATH).cohorts
        results = analyze_trial(
            read_tables(processed), cohorts, plan, None if historical is None else read_tables(historical)
        )
        record = {
            **read_provenance(processed / "adsl.parquet"),
            "historical_cohorts_sha256": file_sha256(HISTORICAL_COHORTS_PATH),
        }
        for name, table in results.tables.items():
            writer.table(f"{name}.parquet", table, record)
        notes = results.skipped_comparisons
        writer.json_file("comparison_notes.json", {"skipped_comparisons": notes}, rows=len(notes))
        writer.commit({"key": key})
    return StepOutcome("analyze", processed, reused=False, seconds=time.perf_counter() - started)


def read_tables(processed: Path) -> dict[str, pd.DataFrame]:
    """The derived tables the analyses read."""
    return {name: pd.read_parquet(processed / f"{name}.parquet") for name in ANALYSIS_INPUTS}


@task(name="analyze")
def analyze_task(processed: Path, plan: AnalysisPlan, historical: Path | None = None) -> StepOutcome:
    """Prefect task around :func:`run_analyze`."""
    return as_user_outcome(run_analyze, processed, plan, historical)


@flow(name="pacer-analyze")
def analyze_flow(processed: Path, plan: AnalysisPlan | None = None, historical: Path | None = None) -> StepOutcome:
    """Analyze one processed output folder (and the historical one beside it, when given); one line in the run log."""
    plan = plan or AnalysisPlan()
    log = RunLog("analyze", {"processed": processed, "historical": historical}, processed)
    return log.finish(pass_on(analyze_task(processed, plan, historical, return_state=True)), plan)
