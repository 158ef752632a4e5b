"""The analyze step: read the derived tables of one output folder, write ard.parquet and the comparison notes."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from pipelines import prefect_env  # noqa: F401  (offline defaults before Prefect loads)
from prefect import flow, task

from analysis.settings import AnalysisPlan
from analysis.stats.historical import DEFAULT_COHORTS_PATH, load_cohorts
from analysis.stats.trial_ard import build_trial_ard
from analysis.store import (cache_key, code_version, file_sha256, read_manifest, read_provenance, step_is_current,
                            update_manifest, write_json, write_table)
from pipelines.outcome import as_user_outcome, pass_on
from pipelines.steps import StepOutcome

ANALYSIS_INPUTS = ("adsl", "crs", "icans", "anakinra", "crs_timeline", "adtte")


def run_analyze(processed: Path, plan: AnalysisPlan, historical: Path | None = None) -> StepOutcome:
    """Compute every analysis result from the derived tables; write ``ard.parquet`` and ``comparison_notes.json``.

    ``historical``: the processed folder of the site's historical export (ingested and derived
    exactly as the trial's), which adds the trial-vs-historical regression rows.
    """
    started = time.perf_counter()
    key = cache_key({"derive": read_manifest(processed)["steps"].get("derive", {}).get("key"),
                     "historical": None if historical is None else read_manifest(historical)["steps"].get("derive", {}).get("key"),
                     "cohorts": file_sha256(DEFAULT_COHORTS_PATH), "settings": plan.settings_hash(), "code": code_version()})
    if step_is_current(processed, "analyze", key):
        return StepOutcome("analyze", processed, reused=True, seconds=time.perf_counter() - started)
    tables = read_tables(processed)
    ard, notes = build_trial_ard(tables, load_cohorts(), plan, None if historical is None else read_tables(historical))
    record = {**read_provenance(processed / "adsl.parquet"), "historical_cohorts_sha256": file_sha256(DEFAULT_COHORTS_PATH)}
    written = {"ard.parquet": {"sha256": write_table(ard, processed / "ard.parquet", record), "rows": len(ard)}}
    write_json({"skipped_comparisons": notes}, processed / "comparison_notes.json")
    written["comparison_notes.json"] = {"sha256": file_sha256(processed / "comparison_notes.json"), "rows": len(notes)}
    update_manifest(processed, "analyze", written, {"key": key})
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
    """Analyze one processed output folder (and the historical one beside it, when given)."""
    return pass_on(analyze_task(processed, plan or AnalysisPlan(), historical, return_state=True))
