"""The analyze step: read the derived tables of one output folder, write ard.parquet, the tables beside it and the
comparison notes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from prefect import flow, task

from analysis.reference.cohorts import HISTORICAL_COHORTS_PATH, load_cohorts
from analysis.settings import AnalysisPlan
from analysis.stats.results import analyze_trial
from analysis.store import file_sha256, read_provenance
from pipelines import prefect_env  # noqa: F401  (offline defaults before Prefect loads)
from pipelines.audit import RunLog
from pipelines.map_priors_ahead import map_fits_made_ahead
from pipelines.outcome import as_user_outcome, pass_on
from pipelines.step_keys import analyze_key_parts
from pipelines.step_runner import StepOutputs, in_one_commit, run_step
from pipelines.steps import StepOutcome

ANALYSIS_INPUTS = ("adsl", "crs", "icans", "anakinra", "crs_timeline", "adtte")


def run_analyze(processed: Path, plan: AnalysisPlan, historical: Path | None = None) -> StepOutcome:
    """Compute every analysis result from the derived tables; write ``ard.parquet``, the tables beside it
    (:func:`analysis.stats.results.analyze_trial`) and ``comparison_notes.json``.

    The historical cohorts are read and validated here, once (a malformed file is a settings error).

    ``historical``: the processed folder of the site's historical export (ingested and derived
    exactly as the trial's), which adds the trial-vs-historical regression rows.

    Within `pacer run`, the MAP priors fitted while the run ingested and derived are taken
    (:mod:`pipelines.map_priors_ahead`); the results are the same without them.
    """

    def compute() -> StepOutputs:
        cohorts = load_cohorts(HISTORICAL_COHORTS_PATH).cohorts
        results = analyze_trial(
            read_tables(processed),
            cohorts,
            plan,
            None if historical is None else read_tables(historical),
            map_fits_made_ahead(plan),
        )
        notes = results.skipped_comparisons
        return StepOutputs(
            tables={f"{name}.parquet": table for name, table in results.tables.items()},
            provenance={
                **read_provenance(processed / "adsl.parquet"),
                "historical_cohorts_sha256": file_sha256(HISTORICAL_COHORTS_PATH),
            },
            documents={"comparison_notes.json": ({"skipped_comparisons": notes}, len(notes))},
        )

    return run_step("analyze", processed, lambda: analyze_key_parts(processed, plan, historical), compute)


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
    return log.record(
        plan, lambda: in_one_commit(processed, lambda folder: analyze_in(folder, processed, plan, historical))
    )


def analyze_in(folder: Path, processed: Path, plan: AnalysisPlan, historical: Path | None) -> StepOutcome:
    """The analyze task on ``folder``, the run's staging copy of ``processed``; a historical folder inside ``processed`` is read from the copy."""
    if historical is not None and historical.resolve().is_relative_to(processed.resolve()):
        historical = folder / historical.resolve().relative_to(processed.resolve())
    return pass_on(analyze_task(folder, plan, historical, return_state=True), "analyze")
