"""The report step: the DSMB open and closed reports, HTML and PDF, into ``<output folder>/report/``."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from prefect import flow, task

from analysis.report.inputs import load_inputs
from analysis.report.render import render_reports
from analysis.settings import AnalysisPlan
from analysis.store import StepWriter, cache_key, code_version, read_manifest, step_is_current
from pipelines import prefect_env  # noqa: F401  (offline defaults before Prefect loads)
from pipelines.audit import RunLog
from pipelines.outcome import as_user_outcome, pass_on
from pipelines.steps import StepOutcome

REPORT_DIR = "report"


def report_cache_key(processed: Path, plan: AnalysisPlan) -> str:
    """What determines the reports: the derive and analyze steps' keys, the settings and the code (templates included)."""
    steps = read_manifest(processed)["steps"]
    return cache_key(
        {
            "derive": steps.get("derive", {}).get("key"),
            "analyze": steps.get("analyze", {}).get("key"),
            "settings": plan.settings_hash(),
            "code": code_version(),
        }
    )


def run_report(processed: Path, plan: AnalysisPlan, rendered_at: str | None = None) -> StepOutcome:
    """Render both reports from ``processed`` into ``processed/report/`` and record them in the manifest.

    Reuses the reports (and so their declared render time) when the tables, settings and code are
    unchanged; ``rendered_at`` (ISO 8601) defaults to now, in UTC.
    """
    started = time.perf_counter()
    with StepWriter(processed, "report") as writer:
        key = report_cache_key(processed, plan)
        if step_is_current(processed, "report", key):
            return StepOutcome("report", processed, reused=True, seconds=time.perf_counter() - started)
        rendered_at = rendered_at or datetime.now(UTC).isoformat(timespec="seconds")
        for name, content in render_reports(load_inputs(processed), plan, rendered_at).items():
            writer.file(f"{REPORT_DIR}/{name}", content)
        writer.commit({"rendered_at": rendered_at, "key": key, "analysis_plan_sha256": plan.settings_hash()})
    return StepOutcome("report", processed, reused=False, seconds=time.perf_counter() - started)


@task(name="report")
def report_task(processed: Path, plan: AnalysisPlan) -> StepOutcome:
    """Prefect task around :func:`run_report`."""
    return as_user_outcome(run_report, processed, plan)


@flow(name="pacer-report")
def report_flow(processed: Path, plan: AnalysisPlan | None = None) -> StepOutcome:
    """Write ``report/dsmb_open_report.{html,pdf}`` and ``report/dsmb_report.{html,pdf}`` for one output folder (one line in the run log)."""
    plan = plan or AnalysisPlan()
    log = RunLog("report", {"processed": processed}, processed)
    return log.finish(pass_on(report_task(processed, plan, return_state=True)), plan)
