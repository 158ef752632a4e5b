"""`pacer run`: the one flow that chains the steps, ingest → derive → analyze (report follows)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pipelines import prefect_env  # noqa: F401  (offline defaults before Prefect loads)
from prefect import flow
from prefect.states import Failed

from analysis.settings import AnalysisPlan
from pipelines.analyze import analyze_task
from pipelines.derive import derive_task
from pipelines.ingest import ingest_task
from pipelines.steps import StepOutcome


@flow(name="pacer-run")
def run_flow(export: Path, data_cut: date | None = None, out_dir: Path | None = None, time_zone: str | None = None,
             plan: AnalysisPlan | None = None) -> list[StepOutcome]:
    """Ingest an export bundle, then every later step on what it wrote; return each step's outcome."""
    plan = plan or AnalysisPlan()
    outcomes: list[StepOutcome] = []
    ingested = ingest_task(export, data_cut, out_dir, time_zone, plan, return_state=True)
    if ingested.is_failed():
        return Failed(message=ingested.message)
    outcomes.append(ingested.result())
    processed = outcomes[-1].out_dir
    for step in (derive_task, analyze_task):
        state = step(processed, plan, return_state=True)
        if state.is_failed():
            return Failed(message=state.message)
        outcomes.append(state.result())
    return outcomes
