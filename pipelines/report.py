"""The report step: the DSMB open and closed reports, HTML and PDF, into ``<output folder>/report/``."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path

from pipelines import prefect_env  # noqa: F401  (offline defaults before Prefect loads)
from prefect import flow, task

from analysis.report.inputs import load_inputs
from analysis.report.render import render_reports, write_documents
from analysis.settings import AnalysisPlan
from analysis.store import cache_key, code_version, file_sha256, read_manifest, step_is_current, update_manifest
from pipelines.outcome import as_user_outcome, pass_on
from pipelines.steps import StepOutcome

REPORT_DIR = "report"


def report_cache_key(processed: Path, plan: AnalysisPlan) -> str:
    """What determines the reports: the derive and analyze steps' keys, the settings and the code (templates included)."""
    steps = read_manifest(processed)["steps"]
    return cache_key({"derive": steps.get("derive", {}).get("key"), "analyze": steps.get("analyze", {}).get("key"),
                      "settings": plan.settings_hash(), "code": code_version()})


def run_report(processed: Path, plan: AnalysisPlan, rendered_at: str | None = None) -> StepOutcome:
    """Render both reports from ``processed`` into ``processed/report/`` and record them in the manifest.

    Reuses the reports (and so their declared render time) when the tables, settings and code are
    unchanged; ``rendered_at`` (ISO 8601) defaults to now, in UTC.
    """
    started = time.perf_counter()
    key = report_cache_key(processed, plan)
    if step_is_current(processed, "report", key):
        return StepOutcome("report", processed, reused=True, seconds=time.perf_counter() - started)
    rendered_at = rendered_at or datetime.now(timezone.utc).isoformat(timespec="seconds")
    documents = render_reports(load_inputs(processed), plan, rendered_at)
    written = write_documents(documents, processed / REPORT_DIR)
    files = {f"{REPORT_DIR}/{name}": {"sha256": file_sha256(path), "bytes": path.stat().st_size}
             for name, path in written.items()}
    update_manifest(processed, "report", files, {"rendered_at": rendered_at, "key": key,
                                                 "analysis_plan_sha256": plan.settings_hash()})
    return StepOutcome("report", processed, reused=False, seconds=time.perf_counter() - started)


@task(name="report")
def report_task(processed: Path, plan: AnalysisPlan) -> StepOutcome:
    """Prefect task around :func:`run_report`."""
    return as_user_outcome(run_report, processed, plan)


@flow(name="pacer-report")
def report_flow(processed: Path, plan: AnalysisPlan | None = None) -> StepOutcome:
    """Write ``report/dsmb_open_report.{html,pdf}`` and ``report/dsmb_report.{html,pdf}`` for one output folder."""
    return pass_on(report_task(processed, plan or AnalysisPlan(), return_state=True))
