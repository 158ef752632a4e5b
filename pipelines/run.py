"""`pacer run`: the one flow that chains the steps (today: ingest; derive, analyze, report follow)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pipelines import prefect_env  # noqa: F401  (offline defaults before Prefect loads)
from prefect import flow

from analysis.settings import AnalysisPlan
from pipelines.ingest import ingest_task
from pipelines.outcome import pass_on


@flow(name="pacer-run")
def run_flow(export: Path, data_cut: date | None = None, out_dir: Path | None = None, time_zone: str | None = None,
             plan: AnalysisPlan | None = None) -> Path:
    """Ingest an export bundle, then every later step on what it wrote; return the output folder."""
    plan = plan or AnalysisPlan()
    ingested = ingest_task(export, data_cut, out_dir, time_zone, plan, return_state=True)
    return pass_on(ingested)
