"""The report step: the DSMB open and closed reports, HTML and PDF, into ``<output folder>/report/``."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from prefect import flow, task

from analysis.report.inputs import load_inputs
from analysis.report.render import render_reports
from analysis.settings import AnalysisPlan
from pipelines import prefect_env  # noqa: F401  (offline defaults before Prefect loads)
from pipelines.audit import RunLog
from pipelines.outcome import as_user_outcome, pass_on
from pipelines.step_keys import report_key_parts
from pipelines.step_runner import StepOutputs, in_one_commit, run_step
from pipelines.steps import PROGRESS, StepOutcome

REPORT_DIR = "report"


def run_report(processed: Path, plan: AnalysisPlan, rendered_at: str | None = None) -> StepOutcome:
    """Render both reports from ``processed`` into ``processed/report/`` and record them in the manifest.

    Reuses the reports (and so their declared render time) when the tables, settings and code are
    unchanged; ``rendered_at`` (ISO 8601) defaults to now, in UTC. While it renders, one line per section
    and one per PDF (pages, size, layout time) go to the progress log (:data:`pipelines.steps.PROGRESS`).
    """

    def compute() -> StepOutputs:
        at = rendered_at or datetime.now(UTC).isoformat(timespec="seconds")
        return StepOutputs(
            files={
                f"{REPORT_DIR}/{name}": content
                for name, content in render_reports(load_inputs(processed), plan, at, PROGRESS.info).items()
            },
            details={"rendered_at": at, "analysis_plan_sha256": plan.settings_hash()},
        )

    return run_step("report", processed, lambda: report_key_parts(processed, plan), compute)


@task(name="report")
def report_task(processed: Path, plan: AnalysisPlan) -> StepOutcome:
    """Prefect task around :func:`run_report`."""
    return as_user_outcome(run_report, processed, plan)


@flow(name="pacer-report")
def report_flow(processed: Path, plan: AnalysisPlan | None = None) -> StepOutcome:
    """Write ``report/dsmb_open_report.{html,pdf}`` and ``report/dsmb_report.{html,pdf}`` for one output folder (one line in the run log)."""
    plan = plan or AnalysisPlan()
    log = RunLog("report", {"processed": processed}, processed)
    return log.record(
        plan,
        lambda: in_one_commit(
            processed, lambda folder: pass_on(report_task(folder, plan, return_state=True), "report")
        ),
    )
