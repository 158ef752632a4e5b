"""The Prefect artifact of each `pacer run`: a Markdown summary with open-session counts and the open report links.

The Prefect UI has no login: the summary, built by
:func:`analysis.report.run_summary.build_run_summary`, carries open-report content only (the
analysis sets' sizes, the open reports' paths; no outcome rate, comparison or stopping-rule
status, never a participant row) and is published with ``prefect.artifacts.create_markdown_artifact`` under the key
:data:`RUN_SUMMARY_KEY`, so the Prefect UI shows the latest summary and its history.
"""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from analysis.report.run_summary import build_run_summary
from analysis.settings import AnalysisPlan
from pipelines import prefect_env  # noqa: F401  (offline defaults before Prefect loads)

RUN_SUMMARY_KEY = "pacer-run-summary"


@task(name="run-summary-artifact", cache_policy=NO_CACHE)
def run_summary_artifact_task(processed: Path, plan: AnalysisPlan) -> str:
    """Publish the run summary of ``processed`` as a Markdown artifact; return the Markdown."""
    markdown = build_run_summary(processed, plan)
    create_markdown_artifact(
        markdown=markdown,
        key=RUN_SUMMARY_KEY,
        description="PACER run summary (open session): analysis sets, open reports",
    )
    return markdown
